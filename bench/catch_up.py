"""`make bench-catch-up`: the catch-up's cost, against a floor and against itself without a cursor.

1. One pass over 100,000 deactivations (100 pages of 1,000 and the empty page) by the real
   okta_catch_up function (functions-framework, its own process), three ways in alternating
   rounds against the same fake Okta org: without a cursor (a backfill from the burst's start);
   resuming from a cursor in Cloud Storage (fake-gcs-server behind the fidelity proxy, which
   answers 429 to a second write within a second, as Cloud Storage may), set before each round
   to the burst's first page; and the floor, a bare `requests` loop that fetches and parses the
   same pages with a token it already holds. Medians and ratios are printed: the cursor's writes
   per pass and their cost, Cloud Storage's 429s (none expected), and a pass over the floor
   (kept at most 1.3).
2. 100,000 deactivations read with the cursor by passes of 25 pages, until a pass is caught up:
   the passes it took, the time, and that every user was logged exactly once.
The machine is shared and noisy: read the medians and the ratios.
"""

import json
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import requests

from okta_simulator import payloads
from okta_simulator.cloud_storage import LocalStorage
from okta_simulator.fake_org import FakeOktaOrg, new_app_key
from okta_simulator.local_receiver import LocalReceiver
from okta_simulator.transport import exchange

EVENTS, ROUNDS = 100_000, 5
LARGE_BURST, PAGES_PER_PASS = 100_000, 25
CLIENT_ID = "0oa1bench0catchup001"


def seeded_org(key, events: int) -> FakeOktaOrg:
    org = FakeOktaOrg(CLIENT_ID, key.public_key())
    org.add(*payloads.burst(events, datetime.now(timezone.utc) - timedelta(minutes=100),
                            timedelta(milliseconds=1)))
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


def timed_post(server: LocalReceiver, body: bytes = b"") -> tuple:
    started = time.perf_counter()
    reply = exchange(server.url, "POST", {"Content-Type": "application/json"}, body, timeout=600)
    assert reply.status == 200, reply.body
    return time.perf_counter() - started, json.loads(reply.body)


def one_pass_three_ways(key, pem: str, storage: LocalStorage) -> None:
    pages, name = EVENTS // 1000, "bench-cursor.json"
    with seeded_org(key, EVENTS) as org:
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem,
               "OKTA_CATCH_UP_MAX_PAGES": str(pages + 1)}
        backfill = json.dumps({"since": org.events[0]["published"]}).encode()
        with LocalReceiver(env=env, target="okta_catch_up") as plain, \
                LocalReceiver(env={**env, **storage.environment(name)},
                              target="okta_catch_up") as kept:
            passes, cursor_passes, floors, writes = [], [], [], []
            for _ in range(ROUNDS):
                passes.append(timed_post(plain, backfill)[0])
                first_url = org.url + org.api_requests()[-pages - 1][1]
                [token] = [t for t, v in org.tokens.items() if v["type"] == "Bearer"][:1]
                floors.append(floor_pass(org, token, first_url))
                # The cursor back at the burst's start (a polling link, as Okta gives), and a
                # second for Cloud Storage's rate since the last round's write, as passes
                # minutes apart have.
                storage.write(name, json.dumps({"next": first_url, "published": None}).encode())
                time.sleep(1.1)
                written_before = len(storage.proxy.writes(name))
                seconds, summary = timed_post(kept)
                assert (summary["startedFrom"], summary["pages"], summary["complete"]) == (
                    "cursor", pages, True), summary
                cursor_passes.append(seconds)
                writes.append(storage.proxy.writes(name)[written_before:])
    pass_s, cursor_s, floor_s = (statistics.median(x) for x in (passes, cursor_passes, floors))
    throttled = sum(w.status == 429 for round_writes in writes for w in round_writes)
    gaps = [b.at - a.at for round_writes in writes for a, b in zip(round_writes, round_writes[1:])]
    print(f"one pass over {EVENTS:,} deactivations ({pages} pages and the empty one), "
          f"median of {ROUNDS} rounds")
    print(f"  okta_catch_up, no cursor             {pass_s * 1000:8.0f} ms  "
          f"({EVENTS / pass_s:,.0f} events/s; rounds {spread(passes)})")
    print(f"  okta_catch_up, cursor in storage     {cursor_s * 1000:8.0f} ms  "
          f"(rounds {spread(cursor_passes)})")
    print(f"  floor: fetch + parse the pages       {floor_s * 1000:8.0f} ms  "
          f"(rounds {spread(floors)})")
    print(f"  cursor writes per pass (median)      {statistics.median(map(len, writes)):8.0f}  "
          f"(closest two {min(gaps, default=0):.2f} s apart; Cloud Storage allows one a second)")
    print(f"  Cloud Storage's 429s                 {throttled:8d}")
    print(f"  the cursor's cost per page           {(cursor_s - pass_s) / pages * 1000:8.1f} ms")
    print(f"  ratio cursor / no cursor             {cursor_s / pass_s:8.2f}")
    print(f"  ratio pass / floor (goal <= 1.3)     {pass_s / floor_s:8.2f}")


def a_large_burst_over_several_passes(key, pem: str, storage: LocalStorage) -> None:
    with seeded_org(key, LARGE_BURST) as org:
        env = {"OKTA_ORG_URL": org.url, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_PRIVATE_KEY": pem,
               "OKTA_CATCH_UP_MAX_PAGES": str(PAGES_PER_PASS),
               **storage.environment("bench-100k.json")}
        with LocalReceiver(env=env, target="okta_catch_up", log_dir="/dev/shm") as catch_up:
            started, passes, summary = time.perf_counter(), 0, {"complete": False}
            while not summary["complete"]:
                summary = timed_post(catch_up)[1]
                passes += 1
            took = time.perf_counter() - started
            logins = Counter(r["login"] for r in catch_up.log_records()
                             if r.get("action") == "user.deactivated")
    once = len(logins) == LARGE_BURST and set(logins.values()) == {1}
    print(f"{LARGE_BURST:,} deactivations with the cursor, passes of {PAGES_PER_PASS} pages")
    print(f"  passes until caught up               {passes:8d}  ({took:.1f} s in all, "
          f"{LARGE_BURST / took:,.0f} events/s)")
    print(f"  users logged, each exactly once      {len(logins):8,}  "
          f"({'yes' if once else 'NO'})")


def main() -> int:
    key, pem = new_app_key()
    with LocalStorage() as storage:
        one_pass_three_ways(key, pem, storage)
        a_large_burst_over_several_passes(key, pem, storage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
