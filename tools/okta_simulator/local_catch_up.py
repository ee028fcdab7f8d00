"""`make run-catch-up`: the System Log catch-up served on this machine, to try by hand.

functions-framework serves function/main.py:okta_catch_up on a port of your choosing; it reads a
fake Okta org (tools/okta_simulator/fake_org.py) seeded with deactivations and one failed hook
delivery, and keeps its cursor in a Cloud Storage emulator (fake-gcs-server). A pass reads one
page of 1,000 events here, so the cursor shows: POST a few times and watch it resume. Ctrl-C stops
everything; nothing is kept.
"""

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone

from okta_simulator import payloads
from okta_simulator.cloud_storage import LocalStorage
from okta_simulator.fake_org import FakeOktaOrg, new_app_key
from okta_simulator.local_receiver import LocalReceiver

CLIENT_ID = "0oa1local0catchup001"
HOOK_ID, HOOK_NAME = "who1local0hook000001", "okta-event-hook"
# The fields of a pass line worth a glance, in this order.
SHOWN = ("startedFrom", "pages", "eventsRead", "usersLogged", "deliveryFailures", "complete",
         "behindSeconds")


def seed(org: FakeOktaOrg, users: int) -> None:
    """`users` deactivations over the last hour, then Okta's record of a failed delivery."""
    org.add(*payloads.burst(users, datetime.now(timezone.utc) - timedelta(minutes=60),
                            timedelta(seconds=1), "Local User"))
    org.record_failed_delivery(HOOK_ID, HOOK_NAME, "Read timed out")


def describe(record: dict) -> str | None:
    """One line for a pass, a failure or an error the catch-up logged; None for the rest."""
    action = record.get("action")
    if action == "okta.catch_up.pass":
        return "pass: " + ", ".join(f"{key} {json.dumps(record.get(key))}" for key in SHOWN)
    if record.get("severity") in ("WARNING", "ERROR", "CRITICAL") and action != "user.deactivated":
        return f"{record['severity']}: {record['message']}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run-catch-up", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--users", type=int, default=2500, help="deactivations in the fake org")
    options = parser.parse_args(argv)
    key, pem = new_app_key()
    with FakeOktaOrg(CLIENT_ID, key.public_key()) as org, LocalStorage() as storage:
        seed(org, options.users)
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem,
               "OKTA_EVENT_HOOK_ID": HOOK_ID, "OKTA_CATCH_UP_MAX_PAGES": "1",
               **storage.environment()}
        with LocalReceiver(env=env, target="okta_catch_up", port=options.port) as catch_up:
            url = catch_up.url
            print(f"Catch-up (function/main.py:okta_catch_up) on {url}, reading a fake Okta org "
                  f"with {options.users:,} deactivations and one failed delivery; one page of "
                  f"1,000 a pass; cursor {storage.environment()['OKTA_CATCH_UP_CURSOR']} in "
                  "fake-gcs-server.")
            print(f"  one pass:   curl -s -X POST {url}")
            since = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            print(f"  a backfill: curl -s -X POST {url} -H 'Content-Type: application/json' "
                  f"-d '{json.dumps({'since': since})}'")
            print("Its log lines of note follow (the user lines are in the JSON answers' counts)."
                  " Ctrl-C stops.", flush=True)
            shown = 0
            try:
                while True:
                    records = catch_up.log_records()
                    for record in records[shown:]:
                        line = describe(record)
                        if line:
                            print(f"  {line}", flush=True)
                    shown = len(records)
                    time.sleep(0.2)
            except KeyboardInterrupt:
                print("\nStopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
