"""`make bench-catch-up`: one catch-up pass over 10,000 deactivations, against a floor.

The real okta_catch_up function (functions-framework, its own process) reads a fake Okta org
seeded with 10,000 user.lifecycle.deactivate events, i.e. 10 pages of 1,000 and the empty page,
and writes 10,000 log lines. The floor, in the same run and against the same org, is a bare
`requests` loop that fetches and parses the same 11 pages with a token it already holds: what
reading the System Log costs before the catch-up does anything. Rounds alternate; the medians and
their ratio are printed. The machine is shared and noisy: read the medians and the ratio.
"""

import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import requests

from okta_simulator import payloads
from okta_simulator.fake_org import FakeOktaOrg, new_app_key
from okta_simulator.local_receiver import LocalReceiver
from okta_simulator.transport import exchange

EVENTS, ROUNDS = 10_000, 7
CLIENT_ID = "0oa1bench0catchup001"


def seeded_org(key) -> FakeOktaOrg:
    org = FakeOktaOrg(CLIENT_ID, key.public_key())
    start = datetime.now(timezone.utc) - timedelta(minutes=100)
    for i in range(EVENTS):
        event = payloads.deactivation(f"User {i}", f"user{i}@example.com")
        event["published"] = (start + timedelta(milliseconds=i)).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        org.events.append(event)
    return org


def floor_pass(org: FakeOktaOrg, token: str, first_url: str) -> float:
    """Fetch and parse every page of the same polling request, nothing else."""
    started = time.perf_counter()
    with requests.Session() as session:
        url, pages = first_url, 0
        while url:
            response = session.get(url, headers={"Authorization": f"Bearer {token}"})
            if not response.json():
                break
            pages += 1
            url = response.links["next"]["url"]
    assert pages == EVENTS // 1000, pages
    return time.perf_counter() - started


def spread(seconds: list) -> str:
    return f"{min(seconds) * 1000:.0f}-{max(seconds) * 1000:.0f} ms"


def main() -> int:
    key, pem = new_app_key()
    with seeded_org(key) as org:
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem}
        with LocalReceiver(env=env, target="okta_catch_up") as catch_up:
            passes, floors = [], []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                reply = exchange(catch_up.url, "POST", {}, b"", timeout=300)
                passes.append(time.perf_counter() - started)
                assert reply.status == 200, reply.body
                first_url = org.url + org.api_requests()[-(EVENTS // 1000) - 1][1]
                [token] = [t for t, v in org.tokens.items() if v["type"] == "Bearer"]
                floors.append(floor_pass(org, token, first_url))
            written = sum(1 for r in catch_up.log_records() if r.get("action") ==
                          "user.deactivated")
    assert written == EVENTS * ROUNDS, written
    pass_s, floor_s = statistics.median(passes), statistics.median(floors)
    print(f"catch-up pass over {EVENTS:,} deactivations (11 pages), median of {ROUNDS} rounds")
    print(f"  okta_catch_up, POST to answer      {pass_s * 1000:8.0f} ms  "
          f"({EVENTS / pass_s:,.0f} events/s; rounds {spread(passes)})")
    print(f"  floor: fetch + parse the pages     {floor_s * 1000:8.0f} ms  "
          f"(rounds {spread(floors)})")
    print(f"  ratio pass / floor                 {pass_s / floor_s:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
