"""HTTP to Okta for the catch-up: bounded in time and bytes, Okta's rate-limit rule, a few retries.

- Every exchange ends by the pass's deadline, headers and body included, however slowly Okta's
  bytes trickle in (watched_http.py). One read waits at most READ_SECONDS, so a stalled
  connection is retried while the pass still has time.
- An answer larger than MAX_ANSWER_BYTES (after decompression) is no answer.
- 429: wait until X-Rate-Limit-Reset (epoch seconds), as Okta's rate-limit guide says, then go on.
- 5xx or no answer: retry with exponential backoff, then give up with OktaUnavailable.
- Anything else is returned to the caller, which knows what a 4xx means for its request.
- Each attempt is built anew by the caller (a fresh client assertion or DPoP proof each time).
"""

import time
from typing import Callable, NamedTuple

import requests
from requests.structures import CaseInsensitiveDict

from okta_hook.catch_up.watched_http import WatchedAdapter, watched
from okta_hook.inputs import RequestRejected, load_json

USER_AGENT = "okta-event-hook-catch-up"
CONNECT_SECONDS, READ_SECONDS = 5, 30
RETRIES = 3  # after the first try, for a 5xx or no answer
BACKOFF_SECONDS = 0.5  # doubled after each retry
# A System Log page of 1,000 deactivations in Okta's documented event shape (the simulator's)
# measured 1.2 MB; with every text field of every event 1,024 characters long, 29.5 MB. 32 MiB
# admits both and stays well inside the function's 512 MiB while it is parsed.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
LONGEST_RESET_DIGITS = 12  # epoch seconds for the next 30,000 years; longer is not a time
Build = Callable[[], tuple]  # -> (headers, form data or None), made anew for each attempt


class OktaUnavailable(Exception):
    """Okta could not be read (no answer, 5xx, or not what its API answers): try again later."""


class OktaRefused(Exception):
    """Okta answered and said no (credentials, scope, role): retrying will not help."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # None: the token endpoint refused

    @property
    def about_credentials(self) -> bool:
        """True when Okta refused who asked (no token, 401, 403) rather than what was asked."""
        return self.status in (None, 401, 403)


class OutOfTime(Exception):
    """The pass's deadline came, or a wait would pass it. `reason` says which, in words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def sleep(self, seconds: float, why: str) -> None:
        """Sleep `seconds`, or raise OutOfTime(why) if that would pass the deadline."""
        if seconds > self.remaining():
            raise OutOfTime(why)
        time.sleep(max(seconds, 0))


class Answer(NamedTuple):
    """An HTTP answer read whole (within the limits)."""

    status: int
    headers: CaseInsensitiveDict
    body: bytes
    links: dict  # the Link header, parsed: {"next": {"url": ...}, ...}

    def json(self):
        """The body as JSON, or None if it is not JSON: the receiver's own parser (orjson, and
        the standard library for what orjson refuses, integers past 64 bits say)."""
        try:
            return load_json(self.body)
        except RequestRejected:
            return None


class OktaHttp:
    def __init__(self):
        self.session = requests.Session()  # kept across passes: one connection pool
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        adapter = WatchedAdapter()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.start_pass(Deadline(0))

    def start_pass(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.rate_limited = 0  # 429 answers waited out in this pass

    def send(self, method: str, url: str, build: Build) -> Answer:
        backoff, failures = BACKOFF_SECONDS, 0
        while True:
            headers, data = build()
            try:
                answer = self._exchange(method, url, headers, data)
            except _TooLarge:
                raise OktaUnavailable(f"Okta's answer was larger than {MAX_ANSWER_BYTES} bytes; "
                                      "it is not read") from None
            except requests.RequestException as error:
                if self.deadline.remaining() <= 0:
                    raise OutOfTime(f"the time limit ({self.deadline.seconds:g} s), with Okta's "
                                    "answer still to come") from None
                problem = f"no answer from Okta ({type(error).__name__})"
            else:
                if answer.status == 429:
                    self.rate_limited += 1
                    wait = _seconds_until_reset(answer)
                    self.deadline.sleep(wait, f"Okta's rate limit, which resets in {wait:.0f} s, "
                                              "after the pass's time is up")
                    continue
                if answer.status < 500:
                    return answer
                problem = f"Okta answered HTTP {answer.status}"
            failures += 1
            if failures > RETRIES:
                raise OktaUnavailable(f"{problem}, {failures} times")
            if backoff > self.deadline.remaining():
                raise OktaUnavailable(f"{problem}, and no time is left to retry")
            time.sleep(backoff)
            backoff *= 2

    def _exchange(self, method: str, url: str, headers: dict, data) -> Answer:
        """One request and its whole answer, ended by the watchdog at the pass's deadline."""
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise requests.Timeout("the pass's time was up before the request")
        with watched(remaining) as watchdog, self.session.request(
                method, url, headers=headers, data=data, stream=True, allow_redirects=False,
                timeout=(CONNECT_SECONDS, min(READ_SECONDS, remaining))) as response:
            body = bytearray()
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise _TooLarge
            if watchdog.fired:  # what was read before the cut is not the whole answer
                raise requests.ConnectionError("cut at the pass's deadline")
            return Answer(response.status_code, response.headers, bytes(body), response.links)


def _seconds_until_reset(answer: Answer) -> float:
    """Until X-Rate-Limit-Reset, plus half a second for clock skew; 1 s if Okta did not say."""
    reset = answer.headers.get("X-Rate-Limit-Reset", "")
    if not (reset.isascii() and reset.isdigit() and len(reset) <= LONGEST_RESET_DIGITS):
        return 1.0
    return max(int(reset) - time.time(), 0) + 0.5


class _TooLarge(Exception):
    pass

