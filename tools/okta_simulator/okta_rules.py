"""How Okta judges a hook's answer, and the exchanges it makes.

From Okta's event hook documentation (https://developer.okta.com/docs/concepts/event-hooks/ and
https://developer.okta.com/docs/guides/hooks-best-practices/):

- A delivery is done when the hook answers 2xx within 3 seconds.
- A 4xx is final: Okta never retries it, and the events are lost to the hook.
- A timeout, a 5xx or anything else (Okta follows no redirects) is retried once, then dropped.
"""

import json
import secrets
import socket
from dataclasses import dataclass, field

from okta_simulator.transport import exchange

OKTA_TIMEOUT_SECONDS = 3.0
ATTEMPTS = 2  # the first try and Okta's one retry


@dataclass(frozen=True)
class Attempt:
    status: int | None  # None: no answer in time, or no connection
    seconds: float
    body: bytes = b""
    error: str = ""

    def describe(self) -> str:
        if self.status is None:
            return f"{self.error} after {self.seconds * 1000:.0f} ms"
        return f"HTTP {self.status} in {self.seconds * 1000:.1f} ms"


@dataclass
class Verdict:
    ok: bool
    summary: str
    attempts: list = field(default_factory=list)

    def line(self, good: str, bad: str) -> str:
        """The one-line verdict: `good` or `bad`, then what happened."""
        return f"{good if self.ok else bad}  {self.summary}"


def attempt(url: str, method: str, headers: dict, body: bytes | None = None,
            timeout: float = OKTA_TIMEOUT_SECONDS) -> Attempt:
    """One request as Okta makes it; an answer later than `timeout` counts as none."""
    try:
        reply = exchange(url, method, headers, body, timeout=timeout)
    except (socket.timeout, TimeoutError) as error:
        return Attempt(None, timeout, error=f"no answer ({error or 'timed out'})")
    except OSError as error:
        return Attempt(None, 0.0, error=f"no connection ({error})")
    if reply.seconds > timeout:
        return Attempt(None, reply.seconds, error="answered too late")
    return Attempt(reply.status, reply.seconds, reply.body)


def judge(send, accept, lost: str) -> Verdict:
    """Play Okta's rules over `send()` (one Attempt per call); `accept(attempt)` says whether a
    2xx answer is right (for example, that a verification echoes the challenge); `lost` says what
    a final failure costs (a delivery's events, or the hook's verification)."""
    attempts = []
    for number in range(1, ATTEMPTS + 1):
        result = send()
        attempts.append(result)
        status = result.status
        if status is not None and 200 <= status < 300:
            if accept(result):
                return Verdict(True, f"{result.describe()} (attempt {number} of {ATTEMPTS})",
                               attempts)
            return Verdict(False, f"{result.describe()} but the answer is wrong: "
                                  f"{result.body[:200]!r}", attempts)
        if status is not None and 400 <= status < 500:
            return Verdict(False, f"{result.describe()} ({_error_of(result)}): Okta never "
                                  f"retries a 4xx, so {lost}", attempts)
    tried = " then ".join(a.describe() + (f" ({_error_of(a)})" if a.status else "")
                          for a in attempts)
    return Verdict(False, f"{tried}: Okta retried once and gave up, so {lost}", attempts)


def verify(url: str, auth_header: str) -> Verdict:
    """Okta's one-time verification: a GET with a random challenge that must be echoed."""
    challenge = secrets.token_urlsafe(24)
    headers = {"Accept": "application/json", "Authorization": auth_header,
               "X-Okta-Verification-Challenge": challenge}

    def echoes(result: Attempt) -> bool:
        try:
            return json.loads(result.body) == {"verification": challenge}
        except ValueError:
            return False

    return judge(lambda: attempt(url, "GET", headers), echoes,
                 "the hook stays unverified and Okta delivers nothing to it")


def deliver(url: str, auth_header: str, body: bytes) -> Verdict:
    """One event hook delivery of `body`, exactly as given."""
    headers = {"Accept": "application/json", "Content-Type": "application/json",
               "Authorization": auth_header}
    return judge(lambda: attempt(url, "POST", headers, body), lambda result: True,
                 "these events are lost to the hook (the System Log catch-up recovers them)")


def _error_of(result: Attempt) -> str:
    try:
        return str(json.loads(result.body)["error"])
    except (ValueError, KeyError, TypeError):
        return result.body[:200].decode(errors="replace") or "no body"
