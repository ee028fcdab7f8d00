"""HTTP to Okta for the catch-up: bounded waits, Okta's rate-limit rule, a few retries.

- 429: wait until X-Rate-Limit-Reset (epoch seconds), as Okta's rate-limit guide says, then go on.
- 5xx or no answer: retry with exponential backoff, then give up with OktaUnavailable.
- Anything else is returned to the caller, which knows what a 4xx means for its request.
No wait runs past the pass's deadline: the pass stops instead, and says so.
"""

import time

import requests

USER_AGENT = "okta-event-hook-catch-up"
CONNECT_SECONDS, READ_SECONDS = 5, 30
RETRIES = 3  # after the first try, for a 5xx or no answer
BACKOFF_SECONDS = 0.5  # doubled after each retry


class OktaUnavailable(Exception):
    """Okta could not be read (no answer, 5xx, or not what its API answers): try again later."""


class OktaRefused(Exception):
    """Okta answered and said no (credentials, scope, role): retrying will not help."""


class OutOfTime(Exception):
    """The pass's deadline came, or a wait would pass it. Caught by the pass, which says why."""


class Deadline:
    def __init__(self, seconds: float):
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or raise OutOfTime if that would pass the deadline."""
        if seconds > self.remaining():
            raise OutOfTime
        time.sleep(max(seconds, 0))


class OktaHttp:
    def __init__(self):
        self.session = requests.Session()  # kept across passes: one connection pool
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.start_pass(Deadline(0))

    def start_pass(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.rate_limited = 0  # 429 answers waited out in this pass

    def send(self, method: str, url: str, headers: dict, data: dict | None = None
             ) -> requests.Response:
        backoff, failures = BACKOFF_SECONDS, 0
        while True:
            try:
                response = self.session.request(
                    method, url, headers=headers, data=data, allow_redirects=False,
                    timeout=(CONNECT_SECONDS, min(READ_SECONDS, max(self.deadline.remaining(), 1))))
            except requests.RequestException as error:
                problem = f"no answer from Okta ({type(error).__name__})"
            else:
                if response.status_code == 429:
                    self.rate_limited += 1
                    self.deadline.sleep(_seconds_until_reset(response))
                    continue
                if response.status_code < 500:
                    return response
                problem = f"Okta answered HTTP {response.status_code}"
            failures += 1
            if failures > RETRIES:
                raise OktaUnavailable(f"{problem}, {failures} times")
            try:
                self.deadline.sleep(backoff)
            except OutOfTime:
                raise OktaUnavailable(f"{problem}, and no time is left to retry") from None
            backoff *= 2


def _seconds_until_reset(response: requests.Response) -> float:
    """Until X-Rate-Limit-Reset, plus half a second for clock skew; 1 s if Okta did not say."""
    reset = response.headers.get("X-Rate-Limit-Reset", "")
    if not reset.isascii() or not reset.isdigit():
        return 1.0
    return max(int(reset) - time.time(), 0) + 0.5
