"""The catch-up's durable cursor, on real parts: the okta_catch_up function (functions-framework),
the fake Okta org, and fake-gcs-server (a Cloud Storage emulator) reached by the real
google-cloud-storage client. Also the pass's bounds and what a hostile Okta can send."""

import json
import re
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from helpers import (
    CLIENT_ID,
    burst,
    deactivation,
    deactivations,
    env_for,
    minutes_ago,
    stored,
)
from okta_simulator import payloads
from okta_simulator.cloud_storage import EMULATOR_VARIABLE
from okta_simulator.fake_org import FakeOktaOrg
from okta_simulator.local_receiver import LocalReceiver, free_port
from okta_simulator.transport import exchange

# --- what the cursor is for ---------------------------------------------------------------------

def test_a_burst_several_passes_long_is_logged_completely_and_once(instance, org, log, storage,
                                                                  cursor_name):
    logins = burst(org, 5500)
    client = instance(OKTA_CATCH_UP_MAX_PAGES="2")
    summaries = [client.post("/").get_json() for _ in range(4)]
    assert [(s["pages"], s["complete"]) for s in summaries] == [
        (2, False), (2, False), (2, False), (0, True)]
    assert [s["startedFrom"] for s in summaries] == ["look-back", "cursor", "cursor", "cursor"]
    logged = [line["login"] for line in deactivations(log.records())]
    assert logged == logins  # every one, once, in order
    cursor = stored(storage, cursor_name)
    assert set(cursor) == {"next", "published", "saved", "pass"}
    assert cursor["published"] == org.events[-1]["published"]
    assert cursor["next"].startswith(f"{org.url}/api/v1/logs?") and "after=" in cursor["next"]
    # When, to the millisecond (the next writer waits out the second after it).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", cursor["saved"])
    saved = datetime.fromisoformat(cursor["saved"])
    assert timedelta(0) <= datetime.now(timezone.utc) - saved < timedelta(minutes=1)
    assert storage.metadata(cursor_name)["contentType"] == "application/json"
    # Without the cursor every pass starts again at the oldest page: 2,000 of 5,500, for ever.
    assert summaries[0]["behindSeconds"] > summaries[1]["behindSeconds"] > 0


def test_without_a_cursor_the_same_burst_is_never_read_past_the_first_pages(make_catch_up, org,
                                                                            log, app_key):
    burst(org, 5500)
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_PAGES="2"))
    summaries = [client.post("/").get_json() for _ in range(3)]
    assert all(s["complete"] is False and s["cursor"] is None for s in summaries)
    assert len(set(line["login"] for line in deactivations(log.records()))) == 2000


def test_the_cursor_outlives_the_instance(org, app_key, storage, cursor_name):
    """Two functions-framework processes, one after the other, share only the cursor."""
    logins = burst(org, 1500)
    env = {**env_for(org.url, app_key), **storage.environment(cursor_name),
           "OKTA_CATCH_UP_MAX_PAGES": "1"}
    seen = []
    for expected_start in ("look-back", "cursor"):
        with LocalReceiver(env=env, target="okta_catch_up") as server:
            reply = exchange(server.url, "POST", {}, b"", timeout=60)
            assert reply.status == 200
            assert json.loads(reply.body)["startedFrom"] == expected_start
            seen += [line["login"] for line in deactivations(server.log_records())]
            assert "Traceback" not in server.output()
    assert seen == logins


def test_an_outage_longer_than_the_look_back_is_repaired(instance, org, log):
    org.add(deactivation("Before", "before@example.com", minutes=50))
    assert instance(OKTA_CATCH_UP_LOOKBACK_MINUTES="60").post("/").get_json()["complete"]
    # Down for longer than a look-back: what happened meanwhile is older than any window now.
    org.add(deactivation("During", "during@example.com", minutes=30))
    summary = instance(OKTA_CATCH_UP_LOOKBACK_MINUTES="10").post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"]) == ("cursor", 1)
    assert [r["login"] for r in deactivations(log.records())] == ["before@example.com",
                                                                  "during@example.com"]


def test_a_pass_after_a_complete_one_writes_no_line_again(instance, org, log):
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=3))
    org.record_failed_delivery("who1a2b3c4d5e6f7g8h9", "okta-event-hook", "Read timed out")
    client = instance()
    first = client.post("/").get_json()
    assert (first["usersLogged"], first["deliveryFailures"]) == (1, 1)
    written = len(log.records())
    second = client.post("/").get_json()
    assert (second["eventsRead"], second["complete"]) == (0, True)
    later = log.records()[written:]
    assert [r["action"] for r in later] == ["okta.catch_up.pass"]  # one line: the pass's own
    assert len(org.api_requests()) == 3  # the page, the empty page, then the empty page again


def test_an_idle_pass_does_not_write_the_cursor(instance, org, storage, cursor_name):
    org.add(deactivation("Ann Lee", "ann@example.com"))
    client = instance()
    client.post("/")
    generation = storage.metadata(cursor_name)["generation"]
    client.post("/")
    assert storage.metadata(cursor_name)["generation"] == generation
    assert len(storage.proxy.writes(cursor_name)) == 1


# --- two passes at once -------------------------------------------------------------------------

def test_two_concurrent_passes_cannot_both_move_the_cursor(instance, org, log, storage,
                                                          cursor_name):
    burst(org, 3000)
    org.page_delay = 0.3
    clients, answers = [instance(), instance()], []
    start = threading.Barrier(2)

    def run(client):
        start.wait()
        answers.append(client.post("/").get_json())

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    lost = [a for a in answers if not a["complete"]]
    assert len(lost) == 1 and len(answers) == 2
    [line] = [r for r in log.records() if r.get("stoppedBy")]
    assert line["severity"] == "WARNING"
    assert line["stoppedBy"].startswith("a cursor this pass no longer holds (another pass moved "
                                        "gs://")
    assert stored(storage, cursor_name)["published"] == org.events[-1]["published"]


def test_a_stale_pass_cannot_move_the_cursor_back(storage, cursor_name):
    from okta_hook.catch_up.cursor import LostRace, StorageCursor, Stored
    from okta_hook.catch_up.okta_http import Deadline

    first, second = (StorageCursor(storage.bucket, cursor_name) for _ in range(2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EMULATOR_VARIABLE, storage.url)
        deadline = Deadline(30)
        assert first.read(deadline) is None and second.read(deadline) is None
        first.advance(Stored("https://a/api/v1/logs?after=2", "2026-11-30T00:00:02Z"), deadline)
        first.flush(deadline)
        second.advance(Stored("https://a/api/v1/logs?after=1", "2026-11-30T00:00:01Z"), deadline)
        with pytest.raises(LostRace):
            second.flush(deadline)
        first.advance(Stored("https://a/api/v1/logs?after=3", "2026-11-30T00:00:03Z"), deadline)
        first.flush(deadline)
    assert stored(storage, cursor_name)["next"] == "https://a/api/v1/logs?after=3"
    # The second pass may first meet Cloud Storage's rate (429, retried by the client).
    statuses = [w.status for w in storage.proxy.writes(cursor_name)]
    assert [status for status in statuses if status != 429] == [200, 412, 200]


def test_the_last_write_waits_out_the_rest_of_cloud_storage_s_second(storage, cursor_name):
    """A position kept back because the last write was under a second ago is written when the
    pass ends, but not before the second is out: never a 429 from Cloud Storage's one write a
    second, even when less than a second is left to wait."""
    from okta_hook.catch_up.cursor import StorageCursor, Stored
    from okta_hook.catch_up.okta_http import Deadline

    cursor, deadline = StorageCursor(storage.bucket, cursor_name), Deadline(30)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EMULATOR_VARIABLE, storage.url)
        assert cursor.read(deadline) is None
        time.sleep(1.2)  # a pass writes a second after its read at the soonest
        cursor.advance(Stored("https://a/api/v1/logs?after=1", "2026-11-30T00:00:01Z"), deadline)
        time.sleep(0.5)  # half of the second left: the next position is kept back
        cursor.advance(Stored("https://a/api/v1/logs?after=2", "2026-11-30T00:00:02Z"), deadline)
        assert len(storage.proxy.writes(cursor_name)) == 1
        cursor.flush(deadline)
    writes = storage.proxy.writes(cursor_name)
    assert [w.status for w in writes] == [200, 200]
    assert writes[1].at - writes[0].at >= 1.0
    assert stored(storage, cursor_name)["next"] == "https://a/api/v1/logs?after=2"


def test_one_instance_runs_one_pass_at_a_time(instance, org):
    burst(org, 1000)
    org.page_delay = 0.5
    client = instance()
    answers = []
    thread = threading.Thread(target=lambda: answers.append(client.post("/").status_code))
    thread.start()
    org_requested = threading.Event()
    while not org.api_requests() and thread.is_alive():
        org_requested.wait(0.01)
    reply = client.post("/")
    thread.join(30)
    assert (reply.status_code, reply.get_json()) == (
        409, {"error": "a pass is already running on this instance"})
    assert answers == [200]


# --- a cursor that cannot be followed -----------------------------------------------------------

@pytest.mark.parametrize("content, why", [
    (b"not json", "does not hold a cursor"),
    (b'{"published": "2026-11-30T00:00:00Z"}', "does not hold a cursor"),
    (b'{"next": 42}', "does not hold a cursor"),
    (b'{"next": "https://evil.example/api/v1/logs?after=x"}', "points away from this org's"),
])
def test_a_cursor_that_cannot_be_followed_is_an_error_and_the_look_back(instance, org, log,
                                                                       storage, cursor_name,
                                                                       content, why):
    storage.write(cursor_name, content)
    org.add(deactivation("Ann Lee", "ann@example.com"))
    summary = instance().post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"], summary["complete"]) == (
        "look-back", 1, True)
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["action"] == "okta.catch_up.cursor_unusable" and why in error["message"]
    assert error["message"].startswith("The catch-up's cursor cannot be followed: gs://")
    assert ". This pass reads the look-back window instead, from 20" in error["message"]
    assert error["message"].endswith(": events published before then that no pass had read may "
                                     "be missing.")
    assert error["cursor"] == f"gs://{storage.bucket}/{cursor_name}"
    assert "evil.example" not in json.dumps(summary)
    assert stored(storage, cursor_name)["next"].startswith(org.url)  # replaced by a good one


def with_after(storage, cursor_name, after: str) -> None:
    """The stored cursor, its link's `after` replaced: a link of the right shape Okta refuses."""
    cursor = stored(storage, cursor_name)
    parts = urllib.parse.urlsplit(cursor["next"])
    query = {**dict(urllib.parse.parse_qsl(parts.query)), "after": after}
    cursor["next"] = parts._replace(query=urllib.parse.urlencode(query)).geturl()
    storage.write(cursor_name, json.dumps(cursor).encode())


@pytest.mark.parametrize("after, status", [("bm9wZQ==", 400), ("x" * 40_000, 414)])
def test_a_cursor_okta_refuses_falls_back_within_the_pass(instance, org, log, storage,
                                                         cursor_name, after, status):
    """Any 4xx to a stored link's first page but the credentials' own (401, 403) says the link is
    wrong: an ERROR and the look-back window, not a failed pass on every run."""
    assert instance().post("/").status_code == 200
    with_after(storage, cursor_name, after)
    org.add(deactivation("Ann Lee", "ann@example.com"))
    reply = instance().post("/")
    assert reply.status_code == 200
    assert (reply.get_json()["usersLogged"], reply.get_json()["startedFrom"]) == (1, "look-back")
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["message"].startswith(f"Okta refused the stored cursor (HTTP {status}")
    assert error["action"] == "okta.catch_up.cursor_unusable"


def test_a_credential_refusal_of_a_stored_cursor_fails_the_pass_and_keeps_it(instance, org,
                                                                             storage, cursor_name):
    client = instance()
    assert client.post("/").status_code == 200
    before = stored(storage, cursor_name)
    org.answers_ahead.append((403, {"errorCode": "E0000006"}, {}))
    reply = client.post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (
        502, "Okta refused the catch-up's credentials: HTTP 403 (E0000006)")
    assert stored(storage, cursor_name) == before


def test_no_cursor_yet_is_a_warning_naming_where_it_will_be(instance, org, log, storage,
                                                           cursor_name):
    assert instance().post("/").status_code == 200
    [warning] = [r for r in log.records() if r["severity"] == "WARNING"]
    assert warning["action"] == "okta.catch_up.no_cursor"
    assert f"gs://{storage.bucket}/{cursor_name}" in warning["message"]


def test_changed_event_types_are_read_from_where_the_cursor_stood(instance, org, log,
                                                                  monkeypatch):
    from okta_hook.events import HANDLERS

    org.add(deactivation("Ann Lee", "ann@example.com", minutes=20))
    instance().post("/")
    # A type a handler acts on (only those are asked for), as a new version's handler adds.
    monkeypatch.setitem(HANDLERS, "user.lifecycle.suspend", lambda event, fields: 0)
    org.add({**payloads.system_log_event("user.lifecycle.suspend", []),
             "published": minutes_ago(30)},  # before the cursor: not read again
            {**payloads.system_log_event("user.lifecycle.suspend", []),
             "published": minutes_ago(10)})
    summary = instance(OKTA_CATCH_UP_EVENTS="user.lifecycle.deactivate,"
                                            "user.lifecycle.suspend").post("/").get_json()
    assert summary["eventsRead"] == 2  # the deactivation at the cursor, and the new suspension
    assert any(r.get("action") == "okta.catch_up.events_changed" for r in log.records())


def test_cloud_storage_unreachable_fails_the_pass_cleanly(make_catch_up, org, app_key, log):
    env = {**env_for(org.url, app_key), EMULATOR_VARIABLE: f"http://127.0.0.1:{free_port()}",
           "OKTA_CATCH_UP_CURSOR": "gs://nowhere/cursor.json", "OKTA_CATCH_UP_MAX_SECONDS": "3"}
    reply = make_catch_up(**env).post("/")
    assert reply.status_code == 503
    assert reply.get_json()["error"] == (
        "the cursor could not be kept: Cloud Storage could not read gs://nowhere/cursor.json: "
        "no answer (ConnectionError), still so when the client stopped retrying")
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["action"] == "okta.catch_up.failed" and org.api_requests() == []


def test_a_missing_bucket_is_cloud_storage_s_own_words(make_catch_up, org, app_key, storage, log):
    env = {**env_for(org.url, app_key), **storage.environment()}
    env["OKTA_CATCH_UP_CURSOR"] = "gs://no-such-bucket/cursor.json"
    org.add(deactivation("Ann Lee", "ann@example.com"))
    reply = make_catch_up(**env).post("/")
    assert reply.status_code == 503
    assert "could not write gs://no-such-bucket/cursor.json: HTTP 404" in reply.get_json()["error"]


# --- backfill -----------------------------------------------------------------------------------

def backfill(client, since) -> tuple:
    reply = client.post("/", data=json.dumps({"since": since}),
                        content_type="application/json")
    return reply.status_code, reply.get_json()


def ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def test_a_backfill_reads_from_the_time_asked_and_leaves_the_cursor_alone(instance, org, log,
                                                                         storage, cursor_name):
    org.add(deactivation("Old", "old@example.com", minutes=60 * 24 * 5))
    client = instance()
    assert client.post("/").get_json()["usersLogged"] == 0  # five days: outside the look-back
    generation = storage.metadata(cursor_name)["generation"]
    status, summary = backfill(client, ago(days=6))
    assert status == 200
    assert (summary["startedFrom"], summary["usersLogged"], summary["tooOldToStore"]) == (
        "backfill", 1, 0)
    assert (summary["cursor"], summary["readTo"]) == (None, org.events[0]["published"])
    assert [r["login"] for r in deactivations(log.records())] == ["old@example.com"]
    assert storage.metadata(cursor_name)["generation"] == generation


def test_a_backfill_later_than_the_cursor_skips_nothing_the_cursor_has_not_read(instance, org,
                                                                               log):
    """The cursor stands before a backlog; a backfill of the last minutes must not carry it past
    the backlog, or later passes would say complete while five users were never logged."""
    client = instance()
    assert client.post("/").get_json()["complete"] is True
    backlog = burst(org, 5, oldest_minutes=30)
    org.add(deactivation("Recent", "recent@example.com", minutes=1))
    status, summary = backfill(client, ago(minutes=2))
    assert (status, summary["usersLogged"], summary["complete"]) == (200, 1, True)
    summary = client.post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"], summary["complete"]) == (
        "cursor", 6, True)
    assert set(backlog) <= {r["login"] for r in deactivations(log.records())}


def test_a_backfill_past_thirty_days_says_its_lines_cannot_be_stored(instance, org, log):
    org.add(deactivation("Very Old", "very.old@example.com", minutes=60 * 24 * 40))
    status, summary = backfill(instance(), ago(days=45))
    assert status == 200 and summary["tooOldToStore"] == 1
    [warning] = [r for r in log.records() if r.get("action") == "okta.catch_up.too_old_to_store"]
    assert (warning["severity"], warning["tooOldToStore"]) == ("WARNING", 1)
    assert warning["message"] == ("1 event(s) read are dated more than 30 days ago: Cloud "
                                  "Logging stores no entry dated that far back, so their lines "
                                  "are written but not kept.")


@pytest.mark.parametrize("body, status, error", [
    (lambda: {"since": ago(days=90, minutes=1)}, 400,
     "since must be at most 90 days back: Okta keeps the System Log that long"),
    (lambda: {"since": ago(minutes=-5)}, 400, "since must not be in the future"),
    (lambda: {"since": "yesterday"}, 400,
     "since must be an RFC 3339 time with its offset, e.g. 2026-11-01T00:00:00Z"),
    (lambda: {"since": "2026-11-01T00:00:00"}, 400,
     "since must be an RFC 3339 time with its offset, e.g. 2026-11-01T00:00:00Z"),
    (lambda: {"since": ago(days=1), "until": "now"}, 400,
     'the body must be empty (one pass) or {"since": "2026-11-01T00:00:00Z"}'),
    (lambda: ["since"], 400,
     'the body must be empty (one pass) or {"since": "2026-11-01T00:00:00Z"}'),
    (lambda: "{", 400, 'the body must be empty (one pass) or {"since": "2026-11-01T00:00:00Z"}'),
    (lambda: {"since": ago(days=1), "pad": "x" * 5000}, 413,
     "the body is larger than 4096 bytes"),
], ids=["91-days", "future", "words", "no-offset", "extra-key", "list", "not-json", "large"])
def test_a_backfill_request_the_catch_up_cannot_serve_is_a_clear_4xx(instance, org, log, body,
                                                                     status, error):
    document = body()
    data = document if isinstance(document, str) else json.dumps(document)
    reply = instance().post("/", data=data, content_type="application/json")
    assert (reply.status_code, reply.get_json()) == (status, {"error": error})
    assert org.requests == []
    [warning] = log.records()
    assert (warning["severity"], warning["message"], warning["status"]) == (
        "WARNING", f"Refused a catch-up request: {error}", status)


def test_a_backfill_of_exactly_ninety_days_is_accepted(instance, org):
    status, summary = backfill(instance(), ago(days=90, seconds=-30))
    assert status == 200 and summary["startedFrom"] == "backfill"


# --- bounded in time and bytes ------------------------------------------------------------------

@pytest.mark.parametrize("after_token", [False, True])
def test_a_trickling_answer_ends_at_the_pass_s_limit_with_the_cursor_unmoved(
        instance, org, storage, cursor_name, after_token):
    """Every byte arrives within the per-read timeout, so only a deadline over the whole answer
    ends it: here the token's answer, or a page's once the token is held."""
    org.add(deactivation("Ann Lee", "ann@example.com"))
    client = instance(OKTA_CATCH_UP_MAX_SECONDS="2")
    if after_token:
        assert client.post("/").status_code == 200
        org.add(deactivation("Bo Ng", "bo@example.com", minutes=1))
    before = stored(storage, cursor_name)
    org.trickle = 0.02  # a page of one event takes about 30 s this way
    started = datetime.now(timezone.utc)
    reply = client.post("/")
    took = (datetime.now(timezone.utc) - started).total_seconds()
    org.trickle = 0
    assert reply.status_code == 200 and took < 3
    summary = reply.get_json()
    assert (summary["complete"], summary["pages"]) == (False, 0)
    assert stored(storage, cursor_name) == before


def test_an_answer_over_the_byte_cap_is_no_answer(instance, org, monkeypatch, storage,
                                                 cursor_name):
    from okta_hook.catch_up import okta_http

    client = instance()
    assert client.post("/").status_code == 200
    burst(org, 100)
    monkeypatch.setattr(okta_http, "MAX_ANSWER_BYTES", 20_000)  # a page of 100 is ~160 KB
    reply = client.post("/")
    assert reply.status_code == 503
    assert reply.get_json()["error"] == ("Okta could not be read: Okta's answer was larger than "
                                         "20000 bytes; it is not read")
    assert reply.get_json()["pages"] == 0 and len(org.api_requests()) == 2  # no retry


# --- what a hostile Okta can send ---------------------------------------------------------------

def token_answer(**changes) -> tuple:
    return 200, {"token_type": "Bearer", "access_token": "abc", "expires_in": 3600, **changes}, {}


@pytest.mark.parametrize("answer, error", [
    (token_answer(access_token="t\u00f6k\u0100n"),
     "Okta could not be read: Okta issued a token that no Authorization header can carry"),
    (token_answer(access_token="a" * 20_000),
     "Okta could not be read: Okta issued a token that no Authorization header can carry"),
    (token_answer(token_type="x" * 2_000_000),
     "Okta could not be read: Okta issued a token of an unexpected type ('" + "x" * 100 + "...')"),
])
def test_a_hostile_token_answer_ends_in_a_clean_error(make_catch_up, org, app_key, log, answer,
                                                     error):
    org.answers_ahead.append(answer)
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (503, error)
    [line] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert line["action"] == "okta.catch_up.failed" and len(json.dumps(line)) < 2000


def test_an_absurd_token_lifetime_is_taken_as_five_minutes(make_catch_up, org, app_key):
    org.tokens["by-hand"] = {"type": "Bearer", "jkt": None,
                             "expires": datetime.now().timestamp() + 600}
    org.answers_ahead.append(token_answer(access_token="by-hand", expires_in=10 ** 400))
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 200


def test_a_rate_limit_reset_of_five_thousand_digits_waits_a_second(make_catch_up, org, app_key):
    client = make_catch_up(**env_for(org.url, app_key))
    assert client.post("/").status_code == 200
    org.answers_ahead.append((429, {"errorCode": "E0000047"},
                              {"X-Rate-Limit-Reset": "9" * 5000}))
    reply = client.post("/")
    assert reply.status_code == 200 and reply.get_json()["rateLimitWaits"] == 1


def test_hostile_answers_on_the_real_server_never_show_a_traceback(org, app_key, storage,
                                                                  cursor_name):
    env = {**env_for(org.url, app_key), **storage.environment(cursor_name)}
    org.answers_ahead += [token_answer(access_token="t\u00f6k\u0100n"),
                          token_answer(expires_in=10 ** 400, access_token="by-hand")]
    org.tokens["by-hand"] = {"type": "Bearer", "jkt": None,
                             "expires": datetime.now().timestamp() + 600}
    with LocalReceiver(env=env, target="okta_catch_up") as server:
        statuses = [exchange(server.url, "POST", {}, b"", timeout=60).status for _ in range(2)]
        output = server.output()
    assert statuses == [503, 200]
    assert "Traceback" not in output


def test_each_token_request_carries_a_new_assertion(make_catch_up, org, app_key):
    """A retried token request must not present a jti Okta may have recorded already."""
    org.fail_next(503, 2)
    assert make_catch_up(**env_for(org.url, app_key)).post("/").status_code == 200
    forms = [dict(urllib.parse.parse_qsl(body)) for (_, path, _), body
             in zip(org.requests, org.request_bodies) if path == "/oauth2/v1/token"]
    claims = [jwt.decode(f["client_assertion"], options={"verify_signature": False})
              for f in forms]
    assert len(claims) == 3 and len({c["jti"] for c in claims}) == 3


def test_each_attempt_is_a_new_dpop_proof(make_catch_up, app_key):
    with FakeOktaOrg(CLIENT_ID, app_key.public_key(), require_dpop=True) as dpop_org:
        client = make_catch_up(**env_for(dpop_org.url, app_key))
        assert client.post("/").status_code == 200
        dpop_org.add(deactivation("Ann Lee", "ann@example.com"))
        dpop_org.rate_limit_next(1)  # the page's first attempt
        assert client.post("/").get_json()["usersLogged"] == 1
        proofs = [jwt.decode(h["DPoP"], options={"verify_signature": False})["jti"]
                  for _, path, h in dpop_org.requests if "DPoP" in h]
        assert len(proofs) == len(set(proofs))  # the fake org refuses a reused jti anyway


def test_one_read_waits_at_most_its_own_limit_when_the_pass_has_more_time(make_catch_up, org,
                                                                         app_key, monkeypatch):
    """A stalled answer is retried while the pass has time, rather than waited for until the
    pass's deadline (30 s per read deployed; half a second here)."""
    from okta_hook.catch_up import okta_http

    monkeypatch.setattr(okta_http, "READ_SECONDS", 0.5)
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="20"))
    assert client.post("/").status_code == 200
    org.page_delay = 1.0
    reply = client.post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (
        503, "Okta could not be read: no answer from Okta (ReadTimeout), 4 times")


def test_a_token_of_unstated_lifetime_is_renewed_after_four_minutes_exactly(org, app_key):
    """expires_in that is not a whole number means five minutes, renewed a minute early."""
    from okta_hook.catch_up.okta_http import Deadline, OktaHttp
    from okta_hook.catch_up.okta_oauth import OktaClient
    from okta_hook.catch_up.system_log import polling_url

    now = [time.time()]
    client = OktaClient(OktaHttp(), org.url, CLIENT_ID, app_key, clock=lambda: now[0])
    client.http.start_pass(Deadline(30))
    url = polling_url(org.url, datetime.now(timezone.utc), ["user.lifecycle.deactivate"])

    def okta_issues(token: str) -> None:  # the next answer, whatever is asked
        org.tokens[token] = {"type": "Bearer", "jkt": None, "expires": time.time() + 600}
        org.answers_ahead.append(token_answer(access_token=token, expires_in=299.5))

    okta_issues("first")
    client.get(url)
    now[0] += 240 - 0.001  # 300 s less the minute's margin, not yet
    client.get(url)
    assert len(org.token_requests()) == 1
    now[0] += 0.002
    okta_issues("second")
    client.get(url)
    assert len(org.token_requests()) == 2
    assert org.api_requests()[-1][2]["Authorization"] == "Bearer second"


def test_no_credentials_for_cloud_storage_say_how_to_get_some(make_catch_up, org, app_key,
                                                           tmp_path):
    """Off Google Cloud without an emulator or application default credentials: one ERROR that
    says what to do, and no request to any metadata server."""
    env = {**env_for(org.url, app_key), "OKTA_CATCH_UP_CURSOR": "gs://a-bucket/cursor.json",
           "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "no-such-key.json")}
    reply = make_catch_up(**env).post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (
        503, "the cursor could not be kept: no Cloud Storage client (DefaultCredentialsError); "
             "on a workstation, set STORAGE_EMULATOR_HOST for an emulator or sign in with "
             "`gcloud auth application-default login`")


def test_a_first_pass_that_finds_nothing_still_remembers_where_it_looked(instance, org, storage,
                                                                        cursor_name):
    """Okta's empty page carries the link to poll from: kept, so that an outage after a quiet
    first pass is still read from there."""
    assert instance().post("/").get_json()["complete"] is True
    cursor = stored(storage, cursor_name)
    assert cursor["next"].startswith(f"{org.url}/api/v1/logs?") and "since=" in cursor["next"]
    org.add(deactivation("Later", "later@example.com", minutes=1))
    summary = instance(OKTA_CATCH_UP_LOOKBACK_MINUTES="1").post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"]) == ("cursor", 1)


def test_a_page_without_a_next_link_leaves_the_cursor_where_it_was(instance, org, storage,
                                                                   cursor_name):
    client = instance()
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    client.post("/")
    before = stored(storage, cursor_name)
    org.answers_ahead.append((200, [deactivation("Bo Ng", "bo@example.com", minutes=1)], {}))
    summary = client.post("/").get_json()
    assert summary["complete"] is False and stored(storage, cursor_name) == before


def test_every_old_event_is_counted_and_a_time_without_offset_is_no_position(instance, org):
    old = [deactivation(f"Old {n}", f"old{n}@example.com", minutes=60 * 24 * 40) for n in (1, 2)]
    naive = deactivation("Naive", "naive@example.com", minutes=60 * 24 * 41)
    naive["published"] = naive["published"].removesuffix("Z")  # no offset: not a time we use
    client = instance()
    assert client.post("/").status_code == 200  # holds a token: the next answer is a page
    poll_on = f"{org.url}/api/v1/logs?sortOrder=ASCENDING&limit=1000&since={ago(days=1)}"
    org.answers_ahead.append((200, [naive, *old], {"Link": f'<{poll_on}>; rel="next"'}))
    status, summary = backfill(client, ago(days=45))
    assert status == 200 and (summary["eventsRead"], summary["tooOldToStore"]) == (3, 2)


@pytest.mark.parametrize("reset, stopped", [
    ("1" + "0" * 11, True),  # 12 digits: a time, far beyond the pass's deadline
    ("1" + "0" * 12, False),  # 13 digits: not a time Okta would send, so a second's wait
])
def test_the_longest_rate_limit_reset_read_as_a_time_has_twelve_digits(make_catch_up, org,
                                                                       app_key, reset, stopped):
    client = make_catch_up(**env_for(org.url, app_key))
    assert client.post("/").status_code == 200
    org.answers_ahead.append((429, {"errorCode": "E0000047"}, {"X-Rate-Limit-Reset": reset}))
    summary = client.post("/").get_json()
    assert summary["complete"] is not stopped and summary["rateLimitWaits"] == 1


@pytest.mark.parametrize("expires_in, lifetime", [
    (1, 1), (86_400, 86_400), (0, 300), (86_401, 300), (True, 300), (299.5, 300),
    (10 ** 400, 300), ("3600", 300)])
def test_a_token_lifetime_is_okta_s_only_when_it_is_a_sensible_whole_number(expires_in,
                                                                           lifetime):
    from okta_hook.catch_up.okta_oauth import token_lifetime

    assert token_lifetime(expires_in) == lifetime


def test_clipped_values_are_whole_up_to_the_limit():
    from okta_hook.catch_up.okta_oauth import clip

    assert clip("x" * 100) == "x" * 100
    assert clip("x" * 101) == "x" * 100 + "..."
    assert clip(12345, limit=3) == "123..."


def test_a_pass_leaves_no_background_work_of_the_storage_client(make_catch_up, org, app_key,
                                                              monkeypatch):
    """google-cloud-storage would otherwise fetch the bucket's metadata in a thread of its own,
    for tracing this function does not do, retrying on after the pass when it gets no answer."""
    monkeypatch.delenv("DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA", raising=False)
    env = {**env_for(org.url, app_key), EMULATOR_VARIABLE: f"http://127.0.0.1:{free_port()}",
           "OKTA_CATCH_UP_CURSOR": "gs://nowhere/cursor.json", "OKTA_CATCH_UP_MAX_SECONDS": "2"}
    assert make_catch_up(**env).post("/").status_code == 503
    assert not [t for t in threading.enumerate() if "_fetch_background" in t.name]


# --- a refused link or an odd time never skips a backlog or stalls ------------------------------

@pytest.mark.parametrize("status", [400, 404, 408])
def test_a_refused_stored_link_is_read_again_from_the_cursor_s_own_time(instance, org, log,
                                                                       storage, cursor_name,
                                                                       status):
    """A cursor five hours behind and Okta refusing its link once: the pass used to read the
    look-back window and move the cursor past the hours before it, for good."""
    client = instance()
    assert client.post("/").status_code == 200
    cursor = stored(storage, cursor_name)
    cursor["published"] = minutes_ago(300)
    storage.write(cursor_name, json.dumps(cursor).encode())
    logins = burst(org, 600, oldest_minutes=299)
    org.fail_next(status)  # the stored link's first page (the token is cached)
    summary = client.post("/").get_json()
    assert (summary["startedFrom"], summary["since"], summary["complete"]) == (
        "cursor", cursor["published"], True)
    assert {r["login"] for r in deactivations(log.records())} == set(logins)
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["message"].startswith(f"Okta refused the stored cursor (HTTP {status}")
    assert error["message"].endswith(f"; this pass reads again from the cursor's own time, "
                                     f"{cursor['published']}, with a new polling request.")
    assert stored(storage, cursor_name)["published"] >= cursor["published"]  # never backwards


def test_a_refused_link_of_a_cursor_that_read_events_never_moves_it_backwards(instance, org,
                                                                            log, storage,
                                                                            cursor_name):
    client = instance()
    org.add(deactivation("Old One", "old@example.com", minutes=90),
            deactivation("Last One", "last@example.com", minutes=10))
    assert client.post("/").get_json()["usersLogged"] == 2
    before = stored(storage, cursor_name)["published"]
    org.fail_next(400)
    summary = client.post("/").get_json()
    assert (summary["startedFrom"], summary["since"]) == ("cursor", before)
    assert summary["usersLogged"] <= 1  # at most the event at the cursor's own time, again
    assert "Old One" not in {r.get("displayName") for r in deactivations(log.records()[2:])}
    assert stored(storage, cursor_name)["published"] == before


def test_a_refused_link_without_a_usable_time_says_which_events_may_be_missing(instance, org,
                                                                             log, storage,
                                                                             cursor_name):
    client = instance()
    assert client.post("/").status_code == 200  # nothing read yet: the cursor holds no time
    saved = stored(storage, cursor_name)["saved"]
    org.fail_next(400)
    summary = client.post("/").get_json()
    assert summary["startedFrom"] == "look-back"
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["message"].endswith(
        f"this pass reads the look-back window instead: events published from the cursor's last "
        f"write ({saved.replace('+00:00', 'Z')}) to {summary['since']} that no pass had read may "
        "be missing.")


@pytest.mark.parametrize("published", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                       "0001-01-01T00:00:00Z"])
@pytest.mark.parametrize("events_changed", [False, True])
def test_a_cursor_time_at_the_calendar_s_edge_is_an_error_and_the_look_back(
        instance, org, log, storage, cursor_name, published, events_changed):
    """It raised OverflowError on every pass: a 503 forever, never the look-back."""
    assert instance().post("/").status_code == 200
    cursor = stored(storage, cursor_name)
    cursor["published"] = published
    if events_changed:
        cursor["next"] = cursor["next"].replace("user.lifecycle.deactivate", "user.other.type")
    storage.write(cursor_name, json.dumps(cursor).encode())
    org.add(deactivation("Ann Lee", "ann@example.com"))
    reply = instance().post("/")
    assert reply.status_code == 200
    assert (reply.get_json()["startedFrom"], reply.get_json()["usersLogged"]) == ("look-back", 1)
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["action"] == "okta.catch_up.cursor_unusable"

