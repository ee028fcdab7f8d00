"""`make demo`: the whole flow on this machine, as Okta would drive it.

Starts the receiver under functions-framework on a free port with the development secret, plays
Okta's verification and a deactivation of John Doe, shows the log line the receiver wrote, shows a
delivery with a wrong secret being refused, and stops the receiver. Exit status 0 only if every
step did what it should.
"""

import json
import sys

from okta_simulator import okta_rules, payloads
from okta_simulator.local_receiver import DEV_SECRET, LocalReceiver

WRONG_SECRET = "Basic bm90OnRoZS1zZWNyZXQ="  # not:the-secret


def step(number: int, text: str) -> None:
    print(f"\n[{number}] {text}")


def main() -> int:
    failures = 0
    with LocalReceiver() as receiver:
        print(f"Receiver: functions-framework serving function/main.py:okta_event_hook "
              f"at {receiver.url} (pid {receiver.pid})")

        step(1, "Okta verifies the hook (GET with X-Okta-Verification-Challenge)")
        verdict = okta_rules.verify(receiver.url, DEV_SECRET)
        print("    " + verdict.line("VERIFIED", "NOT VERIFIED"))
        failures += not verdict.ok

        step(2, "An admin deactivates John Doe; Okta delivers user.lifecycle.deactivate")
        delivery = payloads.envelope([payloads.deactivation("John Doe", "john.doe@example.com")])
        verdict = okta_rules.deliver(receiver.url, DEV_SECRET, json.dumps(delivery).encode())
        print("    " + verdict.line("DELIVERED", "DROPPED"))
        failures += not verdict.ok

        step(3, "The receiver's structured log line (Cloud Logging format)")
        lines = receiver.wait_for_records(
            lambda r: r.get("eventId") == delivery["eventId"] and r.get("login"))
        for line in lines:
            print("    " + json.dumps(line))
        failures += len(lines) != 1

        step(4, "A delivery with the wrong secret is refused")
        verdict = okta_rules.deliver(receiver.url, WRONG_SECRET, json.dumps(delivery).encode())
        refused = [a.status for a in verdict.attempts] == [401]
        print(f"    {'REFUSED' if refused else 'NOT REFUSED'}  {verdict.summary}")
        failures += not refused

    verdict = f"{failures} step(s) failed." if failures else "Demo passed."
    print(f"\nReceiver stopped. {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
