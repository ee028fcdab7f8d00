"""`make demo`: the whole flow on this machine, as Okta would drive it.

Starts the receiver under functions-framework on a free port with the development secret, plays
Okta's verification and a deactivation of John Doe, shows the log line the receiver wrote, shows a
delivery with a wrong secret being refused. Then the hook is down when Jane Roe is deactivated,
Okta gives up, and the System Log catch-up (the okta_catch_up target, against a fake Okta org)
writes her line, with the insertId the hook writes for the same event, and reports Okta's failed
delivery. Last, a burst larger than a pass is read over the next passes, each on a new instance,
resuming from the cursor the catch-up keeps in Cloud Storage (a local emulator). Exit status 0
only if every step did what it should.
"""

import json
import sys
from datetime import datetime, timedelta, timezone

from okta_simulator import okta_rules, payloads
from okta_simulator.cloud_storage import LocalStorage
from okta_simulator.fake_org import FakeOktaOrg, new_app_key
from okta_simulator.local_receiver import DEV_SECRET, LocalReceiver, free_port
from okta_simulator.transport import exchange

WRONG_SECRET = "Basic bm90OnRoZS1zZWNyZXQ="  # not:the-secret
INSERT_ID = "logging.googleapis.com/insertId"
CLIENT_ID = "0oa1demo0catchup0001"
HOOK_ID, HOOK_NAME = "who1demo0hook000001", "okta-event-hook"
# How long a step waits for the log line it shows; a line that never comes fails the step.
WAIT_SECONDS = 10.0
BURST = 2500


def step(number: int, text: str) -> None:
    print(f"\n[{number}] {text}")


def show(record: dict) -> None:
    print("    " + json.dumps(record))


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
            lambda r: r.get("eventId") == delivery["eventId"] and r.get("login"),
            timeout=WAIT_SECONDS)
        for line in lines:
            show(line)
        failures += len(lines) != 1

        step(4, "A delivery with the wrong secret is refused")
        verdict = okta_rules.deliver(receiver.url, WRONG_SECRET, json.dumps(delivery).encode())
        refused = [a.status for a in verdict.attempts] == [401]
        print(f"    {'REFUSED' if refused else 'NOT REFUSED'}  {verdict.summary}")
        failures += not refused

        failures += catch_up_act(receiver)

    verdict = f"{failures} step(s) failed." if failures else "Demo passed."
    print(f"\nReceivers stopped. {verdict}")
    return 1 if failures else 0


def catch_up_act(hook: LocalReceiver) -> int:
    """Steps 5 and 6: what the hook missed, recovered from Okta's System Log."""
    failures = 0
    key, pem = new_app_key()
    with FakeOktaOrg(CLIENT_ID, key.public_key()) as org:
        step(5, "The hook is down when an admin deactivates Jane Roe; Okta tries twice, gives up")
        jane = payloads.deactivation("Jane Roe", "jane.roe@example.com")
        down = f"http://127.0.0.1:{free_port()}/"
        body = json.dumps(payloads.envelope([jane])).encode()
        verdict = okta_rules.deliver(down, DEV_SECRET, body)
        print("    " + verdict.line("DELIVERED", "DROPPED"))
        failures += verdict.ok
        org.add(jane)  # the System Log keeps every event for 90 days...
        org.record_failed_delivery(HOOK_ID, HOOK_NAME, "Connection refused")  # ...and the failure

        step(6, "The catch-up (target okta_catch_up) reads the System Log of a fake Okta org")
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem,
               "OKTA_EVENT_HOOK_ID": HOOK_ID}
        with LocalReceiver(env=env, target="okta_catch_up") as catch_up:
            reply = exchange(catch_up.url, "POST", {}, b"", timeout=60)
            if reply.status == 200:
                summary = json.loads(reply.body)
                print(f"    HTTP 200: {summary['eventsRead']} event(s) read, "
                      f"{summary['usersLogged']} user line(s), "
                      f"{summary['deliveryFailures']} failed delivery(ies) reported")
            else:  # the catch-up's own JSON error, or whatever answered instead
                print(f"    HTTP {reply.status}: {error_of(reply)}")
            recovered = catch_up.wait_for_records(
                lambda r: r.get("uuid") == jane["uuid"]
                or r.get("action") == "okta.event_hook.delivery_failed", count=2,
                timeout=WAIT_SECONDS)
        for line in sorted(recovered, key=lambda r: r["severity"] == "ERROR"):  # Jane first
            show(line)
        failures += reply.status != 200 or len(recovered) != 2

    # Okta's delivery of the same event, had it arrived, writes the same insertId and timestamp:
    # Cloud Logging shows one entry either way.
    late = payloads.envelope([jane])
    okta_rules.deliver(hook.url, DEV_SECRET, json.dumps(late).encode())
    from_hook = hook.wait_for_records(lambda r: r.get("eventId") == late["eventId"],
                                      timeout=WAIT_SECONDS)
    same = [r.get(INSERT_ID) for r in from_hook] == [
        r.get(INSERT_ID) for r in recovered if r.get("action") == "user.deactivated"]
    print(f"    The hook writes the same insertId for Jane Roe's event: {'yes' if same else 'NO'}")
    return failures + (not same) + cursor_act(key, pem)


def cursor_act(key, pem: str) -> int:
    """Step 7: a burst larger than a pass, read over the next passes, each on a new instance,
    from the cursor it keeps in Cloud Storage (a local emulator); the last pass finds Okta's
    empty page."""
    step(7, f"A burst of {BURST:,} deactivations, more than a pass reads (1 page of 1,000 here); "
            "each pass runs on a new instance and resumes from the cursor in Cloud Storage")
    logins = []
    with FakeOktaOrg(CLIENT_ID, key.public_key()) as org, LocalStorage() as storage:
        org.add(*payloads.burst(BURST, datetime.now(timezone.utc) - timedelta(minutes=60),
                                timedelta(seconds=1), "Burst User"))
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem,
               "OKTA_CATCH_UP_MAX_PAGES": "1", **storage.environment()}
        for number in range(1, 5):
            with LocalReceiver(env=env, target="okta_catch_up") as catch_up:
                reply = exchange(catch_up.url, "POST", {}, b"", timeout=60)
                if reply.status != 200:
                    print(f"    pass {number}: HTTP {reply.status}: {error_of(reply)}")
                    return 1
                summary = json.loads(reply.body)
                ending = "caught up" if summary["complete"] else "stopped at its page limit"
                print(f"    pass {number}, new instance, from the {summary['startedFrom']}: "
                      f"{summary['eventsRead']} event(s), {ending}")
                lines = catch_up.wait_for_records(
                    lambda r: r.get("action") == "okta.catch_up.pass", timeout=WAIT_SECONDS)
                logins += [r["login"] for r in catch_up.log_records()
                           if r.get("action") == "user.deactivated"]
                failed = not lines
        whole = sorted(logins) == sorted(f"burstuser{n}@example.com" for n in range(BURST))
        print(f"    {len(set(logins)):,} of {BURST:,} users logged, "
              f"{'each once' if whole else 'NOT each once'}")
    return int(failed or not whole)


def error_of(reply) -> str:
    """The catch-up's "error" words, or the start of whatever else answered."""
    try:
        return json.loads(reply.body)["error"]
    except (ValueError, KeyError, TypeError):
        return reply.body.decode(errors="replace").strip()[:300]


if __name__ == "__main__":
    sys.exit(main())
