"""The cursor on Cloud Storage's real semantics, and against any content the object may hold.

fake-gcs-server sits behind the fidelity proxy (okta_simulator/storage_fidelity.py), which gives
it what the emulator lacks and real Cloud Storage has: a mediaLink that names its generation (so
google-cloud-storage pins a Blob's later downloads to it), a 429 beyond one write a second per
object, and answers that can be lost or fail.
"""

import gc
import json
import threading
import time
import urllib.parse
import urllib.request
import warnings
from datetime import datetime, timedelta, timezone

import pytest

from helpers import burst, deactivation, deactivations, stored
from okta_simulator import payloads
from okta_simulator.cloud_storage import EMULATOR_VARIABLE


def lines(log, severity: str) -> list[dict]:
    return [r for r in log.records() if r["severity"] == severity]


def logins(log) -> list[str]:
    return [r["login"] for r in deactivations(log.records())]


# --- a warm instance keeps advancing --------------------------------------------------------------

def test_the_proxy_gives_media_links_as_cloud_storage_does(storage, cursor_name, instance, org):
    """The fidelity this file relies on: without the generation the stall below cannot show."""
    assert instance().post("/").status_code == 200
    with urllib.request.urlopen(f"{storage.url}/storage/v1/b/{storage.bucket}/o/"
                                f"{cursor_name}") as answer:
        metadata = json.loads(answer.read())
    assert metadata["mediaLink"].endswith(
        f"/o/{cursor_name}?generation={metadata['generation']}&alt=media")


def test_a_warm_instance_advances_after_another_instance_moved_the_cursor(instance, org, log,
                                                                         storage, cursor_name):
    """On Cloud Storage a Blob the client has written keeps downloading that generation (its
    mediaLink names it): the warm instance must read the live object, not its own last write."""
    warm = instance()
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=3))
    assert warm.post("/").get_json()["complete"] is True
    org.add(deactivation("Bo Ng", "bo@example.com", minutes=2))
    assert instance().post("/").get_json()["usersLogged"] == 1  # another instance moves it
    org.add(deactivation("Cy Ode", "cy@example.com", minutes=1))
    summary = warm.post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"], summary["complete"]) == (
        "cursor", 1, True)
    assert logins(log) == ["ann@example.com", "bo@example.com", "cy@example.com"]
    assert stored(storage, cursor_name)["published"] == org.events[-1]["published"]
    assert [r["action"] for r in lines(log, "WARNING")] == ["okta.catch_up.no_cursor"]


def test_a_warm_instance_goes_on_after_its_own_write_lost_its_answer(instance, org, log,
                                                                    storage, cursor_name):
    """Cloud Storage stored the cursor but its answer never came: the client's retry meets its
    own write (412); the object holding this pass's bytes, the pass goes on."""
    warm = instance()
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    storage.proxy.drop_next("POST", "/upload/")
    summary = warm.post("/").get_json()
    assert summary["complete"] is True and summary["usersLogged"] == 1
    # The client's retry may first meet Cloud Storage's rate (429) after the write it lost.
    statuses = [w.status for w in storage.proxy.writes(cursor_name)]
    assert [status for status in statuses if status != 429] == [None, 412]
    org.add(deactivation("Bo Ng", "bo@example.com", minutes=1))
    summary = warm.post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"], summary["complete"]) == (
        "cursor", 1, True)
    assert logins(log) == ["ann@example.com", "bo@example.com"]
    assert [r["action"] for r in lines(log, "WARNING")] == ["okta.catch_up.no_cursor"]


def test_a_warm_instance_advances_after_an_idle_pass_and_another_writer(instance, org, log,
                                                                       storage, cursor_name):
    warm = instance()
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=3))
    warm.post("/")
    generation = storage.metadata(cursor_name)["generation"]
    assert warm.post("/").get_json()["eventsRead"] == 0
    assert storage.metadata(cursor_name)["generation"] == generation  # idle: nothing written
    org.add(deactivation("Bo Ng", "bo@example.com", minutes=2))
    instance().post("/")
    org.add(deactivation("Cy Ode", "cy@example.com", minutes=1))
    summary = warm.post("/").get_json()
    assert (summary["startedFrom"], summary["usersLogged"]) == ("cursor", 1)
    assert logins(log) == ["ann@example.com", "bo@example.com", "cy@example.com"]


def test_a_deleted_cursor_is_read_as_none_by_a_warm_instance(instance, org, log, storage,
                                                            cursor_name):
    warm = instance()
    warm.post("/")
    storage.delete(cursor_name)
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=1))
    summary = warm.post("/").get_json()
    assert (summary["startedFrom"], summary["complete"]) == ("look-back", True)
    assert stored(storage, cursor_name) is not None  # written anew (ifGenerationMatch=0)


# --- writes within Cloud Storage's rate ---------------------------------------------------------

def test_a_quick_pass_writes_its_position_once(instance, org, storage, cursor_name):
    burst(org, 3500)
    summary = instance(OKTA_CATCH_UP_MAX_PAGES="3").post("/").get_json()
    assert summary["pages"] == 3 and summary["seconds"] < 1  # loopback: well inside a second
    [write] = storage.proxy.writes(cursor_name)
    assert write.status == 200
    assert stored(storage, cursor_name)["published"] == summary["readTo"]


def test_a_long_pass_writes_about_once_a_second_and_its_last_page_at_the_end(instance, org,
                                                                            storage, cursor_name):
    burst(org, 6000)
    org.page_delay = 0.4  # six pages over about 2.5 s
    summary = instance().post("/").get_json()
    assert (summary["pages"], summary["complete"]) == (6, True)
    writes = storage.proxy.writes(cursor_name)
    assert all(w.status == 200 for w in writes) and 2 <= len(writes) <= 4
    gaps = [later.at - earlier.at for earlier, later in zip(writes, writes[1:])]
    assert min(gaps) >= 0.95  # Cloud Storage's rate, measured where it is enforced
    assert stored(storage, cursor_name)["published"] == org.events[-1]["published"]


def test_passes_on_new_instances_back_to_back_keep_the_rate(instance, org, storage, cursor_name):
    """The object says when it was saved: a new instance waits out the rest of that second
    rather than meet Cloud Storage's 429."""
    for number in range(3):
        org.add(deactivation(f"User {number}", f"user{number}@example.com", minutes=1))
        assert instance().post("/").get_json()["complete"] is True
    statuses = [w.status for w in storage.proxy.writes(cursor_name)]
    assert statuses == [200, 200, 200]


def test_a_pass_ended_by_okta_failing_still_keeps_the_position_it_read(instance, org, storage,
                                                                      cursor_name):
    """Two pages read within a second are not written yet when Okta fails on the third: the
    pass fails (503, Cloud Scheduler retries) and its position is written all the same."""
    client = instance()
    assert client.post("/").status_code == 200  # holds a token from here on
    burst(org, 2500)
    org.answers_ahead += [None, None] + [(503, {"errorCode": "E0000009"}, {})] * 4
    reply = client.post("/")
    assert reply.status_code == 503 and reply.get_json()["pages"] == 2
    assert stored(storage, cursor_name)["published"] == org.events[1999]["published"]


# --- what Cloud Storage says when it fails ------------------------------------------------------

def test_a_failing_store_is_named_by_its_status_after_the_client_s_retries(instance, org,
                                                                          storage, log):
    storage.proxy.fail_next(503, 1000)
    try:
        reply = instance(OKTA_CATCH_UP_MAX_SECONDS="2").post("/")
    finally:
        storage.proxy.stop_failing()
    # google-cloud-storage's media layer raises on an error answer before closing it, leaving
    # its connection to the garbage collector: collected here, not as an error in a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert reply.status_code == 503
    error = reply.get_json()["error"]
    assert error.startswith("the cursor could not be kept: Cloud Storage could not read gs://")
    assert ": HTTP 503 (GET " in error  # Cloud Storage's status and words, not RetryError
    assert error.endswith(": Service Unavailable), still so when the client stopped retrying")


# --- a cursor Okta could not have given ---------------------------------------------------------

def polling_link(org, **query) -> str:
    """A link of the shape Okta gives a polling reader of `org`, with `query` changed."""
    base = {"since": "2026-11-30T00:00:00.000Z", "sortOrder": "ASCENDING", "limit": "1000",
            "after": "bm9uZQ=="}
    return f"{org.url}/api/v1/logs?" + urllib.parse.urlencode(
        {k: v for k, v in {**base, **query}.items() if v is not None})


def in_days(days: float) -> str:
    return payloads.rfc3339(datetime.now(timezone.utc) + timedelta(days=days))


@pytest.mark.parametrize("content, why", [
    (lambda org: {"next": polling_link(org, until=in_days(-1))},
     "its query holds until, which no polling link holds"),
    (lambda org: {"next": polling_link(org, q="nobody")},
     "its query holds q, which no polling link holds"),
    (lambda org: {"next": polling_link(org, since=in_days(1))}, "its since is in the future"),
    (lambda org: {"next": polling_link(org, since="last week")}, "its since is not a time"),
    (lambda org: {"next": polling_link(org, sortOrder="DESCENDING")},
     "it does not read in ascending order"),
    (lambda org: {"next": polling_link(org) + "&limit=5"}, "a query parameter appears twice"),
    (lambda org: {"next": polling_link(org), "published": in_days(1)},
     "holds a time that is not a past one"),
    (lambda org: {"next": polling_link(org), "published": "yesterday"},
     "holds a time that is not a past one"),
    (lambda org: {"next": polling_link(org), "padding": "x" * 70_000},
     "is larger than 65536 bytes"),
    (lambda org: b"[" * 100_000 + b"]" * 100_000, "is larger than 65536 bytes"),
    (lambda org: b"[" * 30_000 + b"]" * 30_000, "does not hold a cursor"),
    (lambda org: b'{"next": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "does not hold a cursor"),
    (lambda org: [polling_link(org)], "does not hold a cursor"),
    (lambda org: b"", "does not hold a cursor"),
], ids=["until", "q", "future-since", "since-words", "descending", "twice", "future-published",
        "published-words", "large", "huge-nesting", "nested-list", "nested-next", "list",
        "empty"])
def test_a_cursor_okta_could_not_have_given_is_an_error_and_the_look_back(
        instance, org, log, storage, cursor_name, content, why):
    document = content(org)
    storage.write(cursor_name, document if isinstance(document, bytes)
                  else json.dumps(document).encode())
    org.add(deactivation("Ann Lee", "ann@example.com"))
    reply = instance().post("/")
    assert reply.status_code == 200
    summary = reply.get_json()
    assert (summary["startedFrom"], summary["usersLogged"], summary["complete"]) == (
        "look-back", 1, True)
    [error] = lines(log, "ERROR")
    assert error["action"] == "okta.catch_up.cursor_unusable" and why in error["message"]
    assert len(error["message"]) < 600  # what the object holds is quoted clipped, if at all
    assert stored(storage, cursor_name)["next"].startswith(f"{org.url}/api/v1/logs?")


def test_a_time_in_the_future_from_okta_s_own_data_is_stored_as_now(instance, org, log, storage,
                                                                    cursor_name):
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=-60 * 24))  # published tomorrow
    assert instance().post("/").get_json()["usersLogged"] == 1
    saved = stored(storage, cursor_name)
    assert datetime.fromisoformat(saved["published"]) <= datetime.now(timezone.utc)
    summary = instance().post("/").get_json()
    assert (summary["startedFrom"], summary["complete"]) == ("cursor", True)
    assert lines(log, "ERROR") == []


def test_an_empty_page_without_a_next_link_is_not_caught_up(instance, org, storage, cursor_name,
                                                           log):
    client = instance()
    client.post("/")
    before = stored(storage, cursor_name)
    org.answers_ahead.append((200, [], {}))
    summary = client.post("/").get_json()
    assert (summary["complete"], summary["behindSeconds"] > 0) == (False, True)
    [line] = [r for r in lines(log, "WARNING") if r.get("stoppedBy")]
    assert line["stoppedBy"] == "an empty page without a next link, which no polling read ends on"
    assert stored(storage, cursor_name) == before


# --- time and hook events ---------------------------------------------------------------------

def test_a_pass_waits_at_most_a_second_for_its_last_write(instance, org, storage, cursor_name):
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=1))
    instance().post("/")
    org.add(deactivation("Bo Ng", "bo@example.com", minutes=0.5))
    started = time.monotonic()
    assert instance().post("/").get_json()["usersLogged"] == 1
    assert time.monotonic() - started < 2.5


# --- Cloud Storage within the pass's time ---------------------------------------------------------

@pytest.mark.parametrize("method, path", [("GET", "/download/"), ("POST", "/upload/")])
def test_a_trickling_storage_answer_ends_within_the_pass_s_time(instance, org, log, storage,
                                                                cursor_name, method, path):
    """An answer a byte every 0.25 s trips no socket timeout: a pass with a 10 s limit answered
    after 140 s, and a trickled upload's answer did not end within 150 s. Now the pass's time
    bounds every call; the write made as it runs out gets 5 s more. A cut read is no cursor (the
    pass fails, the scheduler retries); a cut write is read back, and kept, since it landed."""
    client = instance(OKTA_CATCH_UP_MAX_SECONDS="3")
    assert client.post("/").status_code == 200  # a cursor to read
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    time.sleep(1.2)  # Cloud Storage's one write a second, from the last
    storage.proxy.trickle_next(method, path, 0.25)
    started = time.monotonic()
    reply = client.post("/")
    took = time.monotonic() - started
    assert took < 3 + 5 + 6  # the limit, the final write's 5 s, and the client's retry's pause
    if method == "POST":
        assert (reply.status_code, reply.get_json()["complete"]) == (200, True)
        assert stored(storage, cursor_name)["published"] == reply.get_json()["readTo"]
        return
    assert reply.status_code == 503
    [failed] = [r for r in lines(log, "ERROR") if r["action"] == "okta.catch_up.failed"]
    assert f"Cloud Storage could not read gs://{storage.bucket}/{cursor_name}: no whole " \
           "answer within the pass's time" in failed["message"]


# --- the summary says where the cursor stands -----------------------------------------------------

@pytest.mark.parametrize("status", [429, 503])
def test_a_final_write_refused_for_good_is_no_complete_pass(instance, org, log, storage,
                                                            cursor_name, status):
    """It answered 503 with `complete: true` and `behindSeconds: 0`: the object still held the
    old position, so the summary was not true."""
    client = instance(OKTA_CATCH_UP_MAX_SECONDS="4")
    assert client.post("/").status_code == 200
    before = stored(storage, cursor_name)
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    time.sleep(1.2)
    storage.proxy.fail_next(status, 99, "POST", "/upload/")
    reply = client.post("/")
    storage.proxy.stop_failing()
    assert reply.status_code == 503 and reply.get_json()["complete"] is False
    assert reply.get_json()["behindSeconds"] > 0
    assert stored(storage, cursor_name) == before


def test_a_cursor_deleted_during_the_pass_is_said_so(instance, org, log, storage, cursor_name):
    """A 412 on the last write with no other pass about was reported as 'a newer cursor (another
    pass moved ...)'."""
    client = instance()
    assert client.post("/").status_code == 200
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    org.page_delay = 1.0
    time.sleep(1.2)
    def reads() -> int:
        return len([r for r in org.api_requests() if "/api/v1/logs" in r[1]])

    before, answers = reads(), []
    running = threading.Thread(target=lambda: answers.append(client.post("/").get_json()))
    running.start()
    while reads() == before:  # this pass's first page asked for: its cursor read already
        time.sleep(0.01)
    storage.delete(cursor_name)  # read already; Okta's page not answered yet
    running.join(30)
    assert answers[0]["complete"] is False
    [line] = [r for r in lines(log, "WARNING") if r.get("action") == "okta.catch_up.pass"]
    assert line["stoppedBy"] == (f"a cursor this pass no longer holds (gs://{storage.bucket}/"
                                 f"{cursor_name} was deleted during the pass); the next pass goes "
                                 "on from what the object holds")


def test_a_write_whose_answer_came_too_late_is_kept_when_it_landed(storage, cursor_name,
                                                                 monkeypatch):
    """Made as the pass's time runs out, a write whose answer is lost has no time for the
    client's retry to meet it: it was reported as 'the cursor could not be kept' though the
    object held it."""
    from okta_hook.catch_up.cursor import StorageCursor, Stored
    from okta_hook.catch_up.okta_http import Deadline

    monkeypatch.setenv(EMULATOR_VARIABLE, storage.url)
    cursor = StorageCursor(storage.bucket, cursor_name)
    assert cursor.read(Deadline(30)) is None
    storage.proxy.drop_next("POST", "/upload/")
    position = Stored("https://a/api/v1/logs?after=1", "2026-11-30T00:00:01Z")
    cursor.advance(position, Deadline(0))  # the pass's time is up: the last write
    cursor.flush(Deadline(0))
    assert stored(storage, cursor_name)["next"] == position.next_url
    assert [w.status for w in storage.proxy.writes(cursor_name)][0] is None  # the lost answer
