"""The System Log catch-up (target okta_catch_up) against a fake Okta org over HTTP.

The pass runs in this process (functions-framework's app and Flask's test client), still talking
HTTP to the fake org, so that every line of it is visible to `make mutate`; a few tests run the
same function on a real functions-framework server to show it behaves the same there.
"""

import json
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from helpers import CLIENT_ID, deactivation, env_for, minutes_ago, pinned_insert_id
from okta_simulator import payloads
from okta_simulator.fake_org import FakeOktaOrg, new_app_key, pem_of
from okta_simulator.local_receiver import REPO, SOURCE, LocalReceiver, free_port
from okta_simulator.transport import exchange

HOOK_ID = "who1a2b3c4d5e6f7g8h9"
INSERT_ID = "logging.googleapis.com/insertId"


class CatchUpInstance:
    """One instance of okta_catch_up in this process, and what it wrote to stdout."""

    def __init__(self, client, log):
        self._client, self._log = client, log

    def run_pass(self) -> tuple[int, dict]:
        reply = self._client.post("/")
        return reply.status_code, reply.get_json()

    def log_records(self) -> list[dict]:
        return self._log.records()


class ServedCatchUp:
    """The same on a real functions-framework server (a subprocess)."""

    def __init__(self, server: LocalReceiver):
        self.server = server

    def run_pass(self) -> tuple[int, dict]:
        reply = exchange(self.server.url, "POST", {"Content-Type": "application/json"}, b"",
                         timeout=60)
        return reply.status, json.loads(reply.body)

    def log_records(self) -> list[dict]:
        return self.server.log_records()


def lines(instance, action: str) -> list[dict]:
    return [r for r in instance.log_records() if r.get("action") == action]


@pytest.fixture
def catch_up(make_catch_up, log, org, app_key, key_material):
    """okta_catch_up in this process, reading the fake org; no key material may reach the log."""
    yield CatchUpInstance(make_catch_up(**env_for(org.url, app_key, OKTA_EVENT_HOOK_ID=HOOK_ID)),
                          log)
    log.records()  # takes in what the last request wrote
    assert not any(material in log.text for material in key_material), "key in the log"


@pytest.fixture
def served_catch_up(org, app_key, key_material):
    """The real okta_catch_up function on functions-framework, reading the fake org."""
    with LocalReceiver(env=env_for(org.url, app_key, OKTA_EVENT_HOOK_ID=HOOK_ID),
                       target="okta_catch_up") as server:
        yield ServedCatchUp(server)
        output = server.output()
        assert not any(material in output for material in key_material), "key in the log"
        assert "Traceback" not in output


# --- one pass, on the real server ---------------------------------------------------------------

def test_a_pass_follows_next_links_across_pages_and_stops_on_the_empty_page(org, catch_up):
    org.add(*[deactivation(f"User {i}", f"user{i}@example.com", minutes=60 - i / 100)
              for i in range(2500)])
    status, summary = catch_up.run_pass()
    assert status == 200
    assert (summary["pages"], summary["eventsRead"], summary["usersLogged"]) == (3, 2500, 2500)
    assert summary["complete"] is True and summary["dpop"] is False
    requests = org.api_requests()
    assert len(requests) == 4  # three full pages, then the empty one that says "caught up"
    assert "after=" not in requests[0][1] and all("after=" in r[1] for r in requests[1:])
    logins = [r["login"] for r in lines(catch_up, "user.deactivated")]
    assert logins == [f"user{i}@example.com" for i in range(2500)]  # oldest first, each once
    [info] = lines(catch_up, "okta.catch_up.pass")
    assert info["severity"] == "INFO" and info["usersLogged"] == 2500


def test_the_request_is_a_filtered_polling_request_over_the_look_back_window(org, catch_up):
    org.add(deactivation("Too Old", "old@example.com", minutes=121),
            deactivation("In Window", "new@example.com", minutes=119),
            {**payloads.system_log_event("user.session.start", []), "published": minutes_ago(1)})
    status, summary = catch_up.run_pass()
    assert status == 200 and summary["eventsRead"] == 1
    assert [r["login"] for r in lines(catch_up, "user.deactivated")] == ["new@example.com"]
    method, path, headers = org.api_requests()[0]
    query = dict(pair.split("=", 1) for pair in path.split("?", 1)[1].split("&"))
    assert "until" not in query and query["sortOrder"] == "ASCENDING" and query["limit"] == "1000"
    assert query["filter"] == ("eventType+eq+%22user.lifecycle.deactivate%22+or+"
                               "eventType+eq+%22event_hook.delivery%22+or+"
                               "eventType+eq+%22event_hook.deactivated%22+or+"
                               "eventType+eq+%22event_hook.deleted%22+or+"
                               "eventType+eq+%22event_hook.verified%22")
    since = datetime.fromisoformat(summary["since"])
    assert abs((datetime.now(timezone.utc) - since) - timedelta(minutes=120)) < timedelta(
        seconds=30)
    assert headers["Authorization"].startswith("Bearer ")


def test_a_failed_deactivation_is_not_logged_as_one(org, catch_up):
    org.add(deactivation("Not Done", "nd@example.com", result="FAILURE"))
    status, summary = catch_up.run_pass()
    assert status == 200 and summary["usersLogged"] == 0
    assert lines(catch_up, "user.deactivated") == []
    [warning] = [r for r in catch_up.log_records() if r["severity"] == "WARNING"]
    assert "did not succeed (outcome FAILURE)" in warning["message"]
    assert warning["outcome"] == "FAILURE"  # a field to query on, not only words


def test_the_hook_and_the_catch_up_write_the_same_line(org, served_catch_up):
    """Cloud Logging shows one entry per insertId and timestamp: both paths must agree (each on
    its own real server)."""
    event = deactivation("Jane Roe", "jane.roe@example.com")
    with LocalReceiver() as hook:
        assert exchange(hook.url, "POST", {"Authorization": hook_secret(), "Content-Type":
                        "application/json"}, json.dumps(payloads.envelope([event])).encode()
                        ).status == 200
        [from_hook] = hook.wait_for_records(lambda r: r.get("action") == "user.deactivated")
    org.add(event)
    assert served_catch_up.run_pass()[0] == 200
    [from_catch_up] = lines(served_catch_up, "user.deactivated")
    assert from_hook["eventId"] and from_catch_up["eventId"] is None  # the hook's delivery id
    del from_hook["eventId"], from_catch_up["eventId"]
    assert from_catch_up == from_hook
    assert from_hook["timestamp"] == event["published"]
    assert from_hook[INSERT_ID].startswith("okta-")


def hook_secret() -> str:
    from okta_simulator.local_receiver import DEV_SECRET
    return DEV_SECRET


def test_a_second_pass_adds_nothing_cloud_logging_would_show(org, catch_up):
    org.add(*[deactivation(f"User {i}", f"u{i}@example.com") for i in range(3)])
    assert catch_up.run_pass()[0] == 200
    first = {(r[INSERT_ID], r["timestamp"]) for r in lines(catch_up, "user.deactivated")}
    assert catch_up.run_pass()[0] == 200
    written = lines(catch_up, "user.deactivated")
    assert len(written) == 6  # written again: nothing is remembered between passes...
    assert {(r[INSERT_ID], r["timestamp"]) for r in written} == first  # ...and shown once
    assert len(org.token_requests()) == 1  # token reused


def test_brief_5xx_answers_are_retried(org, catch_up):
    org.add(deactivation("Ann Lee", "ann@example.com"))
    org.fail_next(503, 2)
    status, summary = catch_up.run_pass()
    assert status == 200 and summary["usersLogged"] == 1


def test_okta_s_record_of_a_failed_delivery_becomes_an_error_line(org, catch_up):
    ours = org.record_failed_delivery(HOOK_ID, "okta-event-hook", "Read timed out")
    org.record_failed_delivery("who9another0000000000", "someone else's hook", "HTTP 404")
    status, summary = catch_up.run_pass()
    assert status == 200 and summary["deliveryFailures"] == 1
    [error] = lines(catch_up, "okta.event_hook.delivery_failed")
    assert error["severity"] == "ERROR"
    assert error["message"] == "Okta could not deliver to event hook okta-event-hook: " \
                               "Read timed out"
    assert (error["eventHookId"], error["reason"], error["uuid"], error["timestamp"]) == (
        HOOK_ID, "Read timed out", ours["uuid"], ours["published"])
    # One entry however many passes see it.
    assert error[INSERT_ID] == pinned_insert_id(ours["uuid"], "event_hook.delivery")


def test_an_event_that_deactivates_two_users_counts_two(org, catch_up):
    event = deactivation("Ann Lee", "ann@example.com")
    event["target"].append(payloads.user_target("Bo Ng", "bo@example.com"))
    org.add(event)
    status, summary = catch_up.run_pass()
    assert (status, summary["eventsRead"], summary["usersLogged"]) == (200, 1, 2)
    assert [r["login"] for r in lines(catch_up, "user.deactivated")] == [
        "ann@example.com", "bo@example.com"]


def test_okta_s_word_that_the_hook_stopped_becomes_one_error_line_each(org, catch_up):
    """Deactivated or deleted in the Admin Console, or failing its verification, the hook gets
    nothing more from Okta; only the System Log says so."""
    changes = [org.record_hook_change("event_hook.deactivated", HOOK_ID, "okta-event-hook"),
               org.record_hook_change("event_hook.verified", HOOK_ID, "okta-event-hook",
                                      "FAILURE", "Verification request timed out"),
               org.record_hook_change("event_hook.deleted", HOOK_ID, "okta-event-hook")]
    org.record_hook_change("event_hook.verified", HOOK_ID, "okta-event-hook")  # it succeeded
    org.record_hook_change("event_hook.deactivated", "who9another0000000000", "another hook")
    for minutes, change in zip((3, 2, 1), changes):  # the fake org reads by published
        change["published"] = minutes_ago(minutes)
    status, summary = catch_up.run_pass()
    assert status == 200 and (summary["hookStopped"], summary["deliveryFailures"]) == (3, 0)
    errors = [r for r in catch_up.log_records() if r["severity"] == "ERROR"]
    assert [(e["action"], e["message"]) for e in errors] == [
        ("okta.event_hook.deactivated", "The event hook okta-event-hook was deactivated in Okta: "
         "Okta delivers nothing to it until it is activated again (by admin@example.com)."),
        ("okta.event_hook.verification_failed", "The event hook okta-event-hook failed Okta's "
         "verification: Okta delivers nothing to it until it is verified (by admin@example.com)"
         " (Verification request timed out)."),
        ("okta.event_hook.deleted", "The event hook okta-event-hook was deleted in Okta: "
         "`pulumi up --refresh` creates and verifies it again (by admin@example.com)."),
    ]
    for error, change in zip(errors, changes):
        assert (error["eventHookId"], error["uuid"], error["timestamp"]) == (
            HOOK_ID, change["uuid"], change["published"])
        assert error[INSERT_ID] == pinned_insert_id(change["uuid"], change["eventType"])
    [line] = lines(catch_up, "okta.catch_up.pass")
    assert line["message"].endswith("0 failed hook delivery(ies), 3 report(s) of the hook "
                                    "stopped; caught up.")


def failed_delivery(targets: list, minutes: float = 3, **record) -> dict:
    """Okta's record of a failed delivery, published `minutes` ago."""
    return {**payloads.failed_delivery(targets, **record), "published": minutes_ago(minutes)}


def test_without_a_hook_id_every_failed_delivery_is_reported(make_catch_up, log, org, app_key):
    """OKTA_EVENT_HOOK_ID unset: any hook's failure counts; the hook is the target of a hook type,
    else the first target."""
    org.add(failed_delivery([payloads.hook_target("0oa1app", "An app", "AppInstance"),
                             payloads.hook_target("who1first", "First hook")], reason="HTTP 500",
                            minutes=3),
            failed_delivery([payloads.hook_target("who2other", "Other", "Unknown")], minutes=2,
                            outcome=None),
            failed_delivery([], display_message=None, minutes=1))
    summary = make_catch_up(**env_for(org.url, app_key)).post("/").get_json()
    assert summary["deliveryFailures"] == 3
    errors = [r for r in log.records() if r.get("action") == "okta.event_hook.delivery_failed"]
    assert [(e["eventHookId"], e["eventHookName"], e["reason"], e["message"]) for e in errors] == [
        ("who1first", "First hook", "HTTP 500",
         "Okta could not deliver to event hook First hook: HTTP 500"),
        ("who2other", "Other", "Event hook delivery failed",  # Okta's words when no reason
         "Okta could not deliver to event hook Other: Event hook delivery failed"),
        (None, None, None, "Okta could not deliver to an event hook it did not name: "
                           "no reason given"),
    ]
    assert all(e["severity"] == "ERROR" and e[INSERT_ID].startswith("okta-") for e in errors)


def test_a_hook_named_nothing_is_reported_by_its_id(make_catch_up, log, org, app_key):
    org.add(failed_delivery([payloads.hook_target(HOOK_ID, "")], reason="Read timed out"))
    client = make_catch_up(**env_for(org.url, app_key, OKTA_EVENT_HOOK_ID=HOOK_ID))
    assert client.post("/").get_json()["deliveryFailures"] == 1
    [error] = [r for r in log.records() if r.get("action") == "okta.event_hook.delivery_failed"]
    assert error["message"] == f"Okta could not deliver to event hook {HOOK_ID}: Read timed out"


def test_a_pass_reports_what_it_did_in_one_info_line(catch_up, org):
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=3),
            deactivation("Bo Ng", "bo@example.com", minutes=2),
            failed_delivery([payloads.hook_target(HOOK_ID, "okta-event-hook")], reason="HTTP 500",
                            minutes=1))
    status, summary = catch_up.run_pass()
    assert status == 200
    [line] = lines(catch_up, "okta.catch_up.pass")
    assert (line["severity"], line["message"]) == (
        "INFO", "System Log catch-up pass: 3 event(s) in 1 page(s), 2 user line(s), 1 failed "
                "hook delivery(ies); caught up.")
    assert {k: line[k] for k in summary} == summary  # the answer is the line's own summary
    assert set(summary) == {"startedFrom", "since", "until", "readTo", "pages", "eventsRead",
                            "usersLogged", "deliveryFailures", "hookStopped", "handlerFailures",
                            "tooOldToStore", "rateLimitWaits", "dpop", "complete",
                            "behindSeconds", "cursor", "seconds"}
    assert summary["readTo"] == org.events[-1]["published"]  # the last event read
    assert (summary["startedFrom"], summary["cursor"], summary["behindSeconds"]) == (
        "look-back", None, 0)  # nothing is remembered without OKTA_CATCH_UP_CURSOR
    assert summary["since"].endswith("Z") and summary["until"].endswith("Z")  # as Okta writes
    since, until = (datetime.fromisoformat(summary[k]) for k in ("since", "until"))
    assert timedelta(minutes=120) <= until - since < timedelta(minutes=120, seconds=30)
    assert until <= datetime.now(timezone.utc)
    # Milliseconds: one time in ten a finer figure ends in 0 and looks the same, so five passes.
    for seconds in [summary["seconds"], *(catch_up.run_pass()[1]["seconds"] for _ in range(4))]:
        assert isinstance(seconds, float) and 0 < seconds < 30 and seconds == round(seconds, 3)


def test_the_window_is_in_utc_whatever_the_host_s_time_zone(catch_up, org, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            status, summary = catch_up.run_pass()
        finally:
            patch.undo()
            time.tzset()
    assert status == 200 and summary["until"].endswith("Z")
    for moment in (summary["since"], summary["until"]):  # to the millisecond, as Okta writes
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", moment)
    until = datetime.fromisoformat(summary["until"])
    assert abs(datetime.now(timezone.utc) - until) < timedelta(seconds=30)
    since = org.api_requests()[0][1].split("since=")[1].split("&")[0]
    assert since == summary["since"].replace(":", "%3A")


def test_a_pass_reads_on_until_its_time_is_spent(make_catch_up, org, app_key):
    """It stops after the page that spends its time, not while time is left."""
    org.add(*[deactivation(f"U {i}", f"u{i}@example.com", minutes=30 - i / 1000)
              for i in range(8000)])
    org.page_delay = 0.2
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="2"))
    summary = client.post("/").get_json()
    assert summary["complete"] is False and summary["seconds"] >= 2


def test_an_incomplete_pass_warns_with_its_summary(make_catch_up, log, org, app_key):
    org.add(*[deactivation(f"U {i}", f"u{i}@example.com", minutes=30 - i / 100)
              for i in range(1001)])
    summary = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_PAGES="1")).post(
        "/").get_json()
    [warning] = [r for r in log.records() if r["severity"] == "WARNING"]
    assert (warning["action"], warning["stoppedBy"], warning["message"]) == (
        "okta.catch_up.pass", "the page limit (1)",
        "System Log catch-up pass stopped by the page limit (1): 1000 event(s) in 1 page(s), "
        f"1000 user line(s), 0 failed hook delivery(ies); {summary['behindSeconds']} s behind.")
    assert {k: warning[k] for k in summary} == summary and summary["complete"] is False
    # The last event read was published 30 - 999/100 minutes ago: that is how far behind it is.
    assert abs(summary["behindSeconds"] - (30 - 9.99) * 60) <= 5


def test_a_log_entry_that_is_not_an_object_is_skipped_with_a_warning(warm_client, log, org):
    org.answers_ahead.append((200, ["not an event", deactivation("Bo Ng", "bo@example.com")],
                              {}))
    summary = warm_client.post("/").get_json()
    assert (summary["eventsRead"], summary["usersLogged"]) == (2, 1)
    assert "Skipped a System Log entry that is not a JSON object." in log.messages("WARNING")


# --- DPoP ---------------------------------------------------------------------------------------

def test_a_service_app_that_requires_dpop_gets_proofs_with_okta_s_nonce(make_catch_up, app_key):
    with FakeOktaOrg(CLIENT_ID, app_key.public_key(), require_dpop=True) as org:
        client = make_catch_up(**env_for(org.url, app_key))
        org.add(deactivation("Ann Lee", "ann@example.com"))
        reply = client.post("/")
        status, summary = reply.status_code, reply.get_json()
        assert status == 200, summary
        assert summary["dpop"] is True and summary["usersLogged"] == 1
        # Plain first (Okta says a proof is missing), then a proof (Okta hands out its nonce),
        # then a proof with the nonce.
        assert ["DPoP" in headers for _, _, headers in org.token_requests()] == [False, True, True]
        for _, _, headers in org.api_requests():
            assert headers["Authorization"].startswith("DPoP ") and headers["DPoP"]
        assert client.post("/").status_code == 200  # the DPoP-bound token is reused
        assert len(org.token_requests()) == 3


def test_a_system_log_that_wants_a_dpop_nonce_gets_it_on_the_next_request(make_catch_up,
                                                                           app_key):
    with FakeOktaOrg(CLIENT_ID, app_key.public_key(), require_dpop=True, api_nonce=True) as org:
        org.add(deactivation("Ann Lee", "ann@example.com"))
        reply = make_catch_up(**env_for(org.url, app_key)).post("/")
        status, summary = reply.status_code, reply.get_json()
        assert status == 200, summary
        assert summary["usersLogged"] == 1
        api = org.api_requests()
        assert len(api) == 3  # refused for want of the nonce, the page, the empty page
        proofs = [jwt.decode(headers["DPoP"], options={"verify_signature": False})
                  for _, _, headers in api]
        assert "nonce" not in proofs[0]
        assert [p.get("nonce") for p in proofs[1:]] == [org.api_nonce] * 2


# --- failures -----------------------------------------------------------------------------------

def test_a_key_okta_refuses_is_a_502_with_an_error_line_and_no_key_material(make_catch_up, log,
                                                                            org):
    wrong, _ = new_app_key()
    material = [line for line in pem_of(wrong).splitlines() if not line.startswith("-----")]
    reply = make_catch_up(**env_for(org.url, wrong)).post("/")
    assert reply.status_code == 502
    assert "invalid_client" in reply.get_json()["error"]
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["action"] == "okta.catch_up.failed" and "invalid_client" in error["message"]
    assert not any(m in log.text + reply.get_data(as_text=True) for m in material)


def test_okta_unreachable_is_a_503_within_seconds(make_catch_up, log, app_key):
    nowhere = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    reply = make_catch_up(**env_for(nowhere, app_key)).post("/")
    took = time.monotonic() - started
    assert reply.status_code == 503
    assert reply.get_json()["error"] == ("Okta could not be read: no answer from Okta "
                                         "(ConnectionError), 4 times")
    assert took < 15
    assert any(r.get("action") == "okta.catch_up.failed" for r in log.records())


# --- settings, methods, bounds ---------------------------------------------------------------

@pytest.mark.parametrize("drop, problem", [
    ("OKTA_ORG_URL", "OKTA_ORG_URL is not set"),
    ("OKTA_CLIENT_ID", "OKTA_CLIENT_ID is not set"),
    ("OKTA_PRIVATE_KEY", "OKTA_PRIVATE_KEY is not set"),
])
def test_each_missing_setting_is_a_503_and_one_critical_line_naming_it(
        make_catch_up, log, org, app_key, drop, problem):
    env = env_for(org.url, app_key)
    del env[drop]
    client = make_catch_up(**env)
    for _ in range(2):
        reply = client.post("/")
        assert (reply.status_code, reply.get_json()) == (
            503, {"error": "the catch-up is misconfigured; see its logs"})
    critical = log.messages("CRITICAL")
    assert len(critical) == 1 and problem in critical[0]
    assert org.requests == []


def test_other_methods_are_405_with_allow_post(make_catch_up, org, app_key):
    client = make_catch_up(**env_for(org.url, app_key))
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        reply = client.open("/", method=method)
        assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
        assert reply.get_json() == {
            "error": f"method {method} is not allowed; POST runs one pass"}
    assert org.requests == []


def test_a_pass_is_bounded_by_pages_and_says_so(make_catch_up, log, org, app_key):
    org.add(*[deactivation(f"U {i}", f"u{i}@example.com", minutes=30 - i / 100)
              for i in range(2100)])
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_PAGES="2"))
    reply = client.post("/")
    summary = reply.get_json()
    assert reply.status_code == 200
    assert (summary["pages"], summary["eventsRead"], summary["complete"]) == (2, 2000, False)
    assert any("stopped by the page limit (2)" in m for m in log.messages("WARNING"))


def test_a_token_okta_no_longer_honours_is_replaced_once(make_catch_up, org, app_key):
    client = make_catch_up(**env_for(org.url, app_key))
    org.add(deactivation("Ann Lee", "ann@example.com"))
    assert client.post("/").status_code == 200
    org.tokens.clear()  # revoked, or expired early: the API answers 401 invalid_token
    reply = client.post("/")
    assert reply.status_code == 200 and reply.get_json()["usersLogged"] == 1
    assert len(org.token_requests()) == 2


def test_a_token_refused_twice_is_a_502_not_a_loop(make_catch_up, org, app_key, monkeypatch):
    client = make_catch_up(**env_for(org.url, app_key))
    monkeypatch.setattr(org, "tokens", AlwaysEmpty())  # every token is refused at once
    reply = client.post("/")
    assert reply.status_code == 502 and "E0000011" in reply.get_json()["error"]
    assert len(org.api_requests()) == 3  # the first try, a new token, then a last one


class AlwaysEmpty(dict):
    def __setitem__(self, key, value):
        pass


def test_a_pass_is_bounded_by_time_and_says_so(make_catch_up, log, org, app_key):
    org.add(*[deactivation(f"U {i}", f"u{i}@example.com", minutes=30 - i / 100)
              for i in range(3500)])
    org.page_delay = 0.6
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="1"))
    summary = client.post("/").get_json()
    # A whole pass is 4 pages and the empty one (3 s here); it stops after the page that
    # crosses its second, whichever that is on a loaded machine.
    assert summary["complete"] is False and summary["pages"] <= 2
    assert len(org.api_requests()) == summary["pages"] + 1  # the page cut at the deadline
    assert any("stopped by the time limit (1 s)" in m for m in log.messages("WARNING"))
    assert summary["seconds"] < 1.5  # the page under way was not waited for


@pytest.fixture
def warm_client(make_catch_up, org, app_key):
    """A catch-up instance that holds a token already, so the next answers go to the log API."""
    client = make_catch_up(**env_for(org.url, app_key))
    assert client.post("/").status_code == 200
    return client


def elsewhere(org_url: str) -> list[str]:
    """Next links to anywhere but the org: another host, scheme or port."""
    host, port = org_url.removeprefix("http://").split(":")
    return ["http://198.51.100.7/api/v1/logs?after=x", f"https://{host}:{port}/api/v1/logs",
            f"http://{host}:{int(port) + 1}/api/v1/logs", f"http://localhost:{port}/api/v1/logs",
            f"http://{host}:{port}/api/v1/users?after=x"]


@pytest.mark.parametrize("where", range(5))
def test_a_next_link_away_from_the_org_is_not_followed(warm_client, org, where):
    event = deactivation("Bo Ng", "bo@example.com")
    org.answers_ahead.append((200, [event], {"Link": f'<{elsewhere(org.url)[where]}>; rel="next"'}))
    reply = warm_client.post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (
        503, "Okta could not be read: Okta's next link points away from the org's System Log; "
             "not followed")
    assert len(org.api_requests()) == 2  # the first pass's empty page, then the page with the link


def test_a_page_without_a_next_link_ends_the_pass_incomplete(warm_client, org):
    """Okta's polling pages always carry a next link: without one there is nothing to resume
    from, so the pass cannot call itself caught up."""
    org.answers_ahead.append((200, [deactivation("Bo Ng", "bo@example.com")], {}))
    summary = warm_client.post("/").get_json()
    assert (summary["pages"], summary["usersLogged"], summary["complete"]) == (1, 1, False)
    assert len(org.api_requests()) == 2  # the first pass's empty page, then this one only
    assert summary["behindSeconds"] >= 299  # the event read was published 5 minutes ago


def link_to(url: str) -> dict:
    return {"Link": f'<{url}>; rel="next"'}


def test_a_next_link_back_to_the_same_page_ends_the_pass_naming_the_loop(warm_client, org, log):
    url = org.url + org.api_requests()[-1][1]  # the first pass's own (empty) page
    org.answers_ahead.append((200, [deactivation("Bo Ng", "bo@example.com")], link_to(url)))
    org.answers_ahead.append((200, [deactivation("Bo Ng", "bo@example.com")], link_to(url)))
    reply = warm_client.post("/")
    assert reply.status_code == 200 and reply.get_json()["complete"] is False
    [line] = [r for r in log.records() if r.get("stoppedBy")]
    assert line["severity"] == "WARNING"
    assert line["stoppedBy"] == (f"a next link followed already in this pass ({url[:100]}...): "
                                 "Okta's links loop, so this pass ends here")
    assert len(org.api_requests()) == 1 + 2


def test_next_links_that_cycle_are_read_once_each_not_up_to_the_page_limit(make_catch_up, org,
                                                                            app_key, log):
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_PAGES="50"))
    assert client.post("/").status_code == 200
    a, b = (f"{org.url}/api/v1/logs?sortOrder=ASCENDING&after={name}" for name in "ab")
    org.answers_ahead += [(200, [deactivation("Ann Lee", "ann@example.com")], link_to(a)),
                          (200, [deactivation("Bo Ng", "bo@example.com")], link_to(b)),
                          (200, [deactivation("Ann Lee", "ann@example.com")], link_to(a))]
    summary = client.post("/").get_json()
    assert (summary["pages"], summary["complete"]) == (3, False)
    assert len(org.api_requests()) == 1 + 3
    assert any(a in r.get("stoppedBy", "") for r in log.records())


@pytest.mark.parametrize("answer", [{"errorCode": "E0000001"}, "not a list", None])
def test_a_log_page_that_is_not_a_list_is_a_503(warm_client, org, answer):
    org.answers_ahead.append((200, answer, {}))
    reply = warm_client.post("/")
    assert reply.status_code == 503
    assert reply.get_json()["error"] == ("Okta could not be read: Okta's System Log answered "
                                         "something other than a list of events (HTTP 200)")


def gaps(org) -> list[float]:
    """Seconds between the requests the fake org received, in order."""
    times = org.request_times
    return [later - earlier for earlier, later in zip(times, times[1:])]


@pytest.mark.parametrize("reset, wait", [
    (None, (1.0, 1.9)),  # Okta did not say: a second
    ("soon", (1.0, 1.9)),  # nor anything readable
    ("\u00b2", (1.0, 1.9)),  # nor a superscript two (Latin-1), which Python calls a digit
    ("past", (0.5, 1.45)),  # already reset: half a second for clock skew
    ("in 2 s", (2.2, 3.2)),  # until the reset time (2 s, less at most 0.1), plus half a second
])
def test_a_429_waits_until_okta_s_reset_time(warm_client, org, reset, wait):
    while time.time() % 1 > 0.1:  # just after a whole second, so "in 2 s" is nearly 2 s away
        time.sleep(0.02)
    headers = {"X-Rate-Limit-Reset": {"past": str(int(time.time()) - 100),
                                      "in 2 s": str(int(time.time()) + 2)}.get(reset, reset)}
    org.answers_ahead.append((429, {"errorCode": "E0000047"}, headers))
    summary = warm_client.post("/").get_json()
    assert summary["rateLimitWaits"] == 1 and summary["complete"] is True
    low, high = wait
    assert low <= gaps(org)[-1] < high  # between the 429 and the request after it


def test_each_429_is_counted(warm_client, org):
    already_reset = {"X-Rate-Limit-Reset": str(int(time.time()) - 100)}  # half a second each
    org.answers_ahead += [(429, {"errorCode": "E0000047"}, already_reset)] * 2
    assert warm_client.post("/").get_json()["rateLimitWaits"] == 2


def test_a_429_resetting_after_the_pass_s_deadline_ends_the_pass_early(make_catch_up, log, org,
                                                                       app_key):
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="5"))
    assert client.post("/").status_code == 200
    org.answers_ahead.append((429, {"errorCode": "E0000047"},
                              {"X-Rate-Limit-Reset": str(int(time.time()) + 60)}))
    started = time.monotonic()
    reply = client.post("/")
    assert reply.status_code == 200 and time.monotonic() - started < 5  # did not wait for it
    summary = reply.get_json()
    assert summary["complete"] is False and summary["rateLimitWaits"] == 1
    [line] = [r for r in log.records() if r.get("stoppedBy")]
    assert line["stoppedBy"].startswith("Okta's rate limit, which resets in ")  # the true reason
    assert line["stoppedBy"].endswith(" s, after the pass's time is up")


def test_okta_failing_every_retry_is_a_503_after_four_tries_backing_off(warm_client, org):
    org.fail_next(503, 4)
    reply = warm_client.post("/")
    assert reply.status_code == 503
    assert reply.get_json()["error"] == "Okta could not be read: Okta answered HTTP 503, 4 times"
    assert len(org.api_requests()) == 1 + 4
    waits = gaps(org)[-3:]  # 0.5 s, then doubled each time
    assert 0.5 <= waits[0] < 0.99 and 1 <= waits[1] < 1.9 and 2 <= waits[2] < 4


def test_no_retry_is_made_past_the_pass_s_deadline(make_catch_up, org, app_key):
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="1"))
    assert client.post("/").status_code == 200
    org.fail_next(500, 4)
    reply = client.post("/")
    assert reply.status_code == 503
    assert reply.get_json()["error"] == ("Okta could not be read: Okta answered HTTP 500, and no "
                                         "time is left to retry")
    assert len(org.api_requests()) == 1 + 2  # the first try and one retry 0.5 s later


def test_a_page_slower_than_the_pass_s_time_is_not_waited_for(make_catch_up, org, app_key):
    """The exchange ends at the pass's deadline: the pass stops there, incomplete, and says so."""
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="1"))
    org.page_delay = 1.7
    started = time.monotonic()
    reply = client.post("/")
    assert time.monotonic() - started < 1.5
    assert reply.status_code == 200
    summary = reply.get_json()
    assert (summary["complete"], summary["pages"]) == (False, 0)


@pytest.mark.parametrize("status, body, headers, answer", [
    # A redirect is not followed: the access token would go with it.
    (302, {}, {"Location": "/api/v1/logs"}, (503, "Okta could not be read: Okta's System Log "
                                             "answered HTTP 302 where a page of events was due; "
                                             "not followed")),
    # Nor is a redirect whose body happens to be an empty list the end of the System Log.
    (302, [], {"Location": "/api/v1/logs"}, (503, "Okta could not be read: Okta's System Log "
                                             "answered HTTP 302 where a page of events was due; "
                                             "not followed")),
    (204, [], {}, (503, "Okta could not be read: Okta's System Log answered HTTP 204 where a "
                        "page of events was due; not followed")),
    (400, {"errorCode": "E0000031", "errorSummary": "Invalid search criteria."}, {},
     (502, "Okta refused the catch-up's request: HTTP 400 (E0000031; Invalid search "
           "criteria.)")),
])
def test_an_api_answer_the_pass_cannot_use_ends_it_without_retries(warm_client, org, status,
                                                                   body, headers, answer):
    org.answers_ahead.append((status, body, headers))
    reply = warm_client.post("/")
    assert (reply.status_code, reply.get_json()["error"]) == answer
    assert len(org.api_requests()) == 2


def test_a_refusal_without_okta_s_words_gives_the_status_alone(warm_client, org):
    org.answers_ahead.append((403, {}, {}))
    assert warm_client.post("/").get_json()["error"] == (
        "Okta refused the catch-up's credentials: HTTP 403")


def test_a_401_without_a_challenge_gets_a_new_token(warm_client, org):
    org.answers_ahead.append((401, {"errorCode": "E0000011"}, {}))
    assert warm_client.post("/").status_code == 200
    assert len(org.token_requests()) == 2


def test_a_token_refusal_not_about_dpop_is_not_retried(make_catch_up, org, app_key):
    org.answers_ahead.append((400, {"error": "invalid_scope", "error_description": "The "
                                    "requested scope is invalid."}, {}))
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 502 and len(org.token_requests()) == 1
    assert reply.get_json()["error"].endswith("HTTP 400 (invalid_scope; The requested scope is "
                                              "invalid.)")


def test_a_token_endpoint_that_keeps_changing_its_nonce_is_tried_three_times(make_catch_up,
                                                                            org, app_key):
    org.answers_ahead += [(400, {"error": "invalid_dpop_proof"}, {"DPoP-Nonce": "n1"}),
                          (400, {"error": "use_dpop_nonce"}, {"DPoP-Nonce": "n2"}),
                          (400, {"error": "use_dpop_nonce"}, {"DPoP-Nonce": "n3"})]
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 502 and len(org.token_requests()) == 3
    assert reply.get_json()["error"].endswith("HTTP 400 (use_dpop_nonce)")


def test_a_dpop_proof_refused_with_the_nonce_okta_gave_ends_the_attempt(make_catch_up, org,
                                                                         app_key):
    """Okta asks for DPoP and hands out a nonce, then refuses the proof that carries it: no
    third request, a 502 with Okta's words."""
    nonce = {"DPoP-Nonce": "nonce-1"}
    org.answers_ahead += [(400, {"error": "invalid_dpop_proof"}, nonce),
                          (400, {"error": "use_dpop_nonce"}, nonce)]
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 502 and len(org.token_requests()) == 2
    assert reply.get_json()["error"].endswith("HTTP 400 (use_dpop_nonce)")
    second = jwt.decode(org.requests[1][2]["DPoP"], options={"verify_signature": False})
    assert second["nonce"] == "nonce-1"


def test_requests_to_okta_say_who_sends_them_and_want_json(warm_client, org):
    for _, _, headers in org.requests:
        assert headers["User-Agent"] == "okta-event-hook-catch-up"
        assert headers["Accept"] == "application/json"


def test_a_token_about_to_expire_is_renewed_before_use(make_catch_up, org, app_key):
    org.token_lifetime = 50  # within the client's minute of margin
    client = make_catch_up(**env_for(org.url, app_key))
    assert [client.post("/").status_code for _ in range(2)] == [200, 200]
    assert len(org.token_requests()) == 2


def test_a_token_with_more_than_a_minute_left_is_reused(make_catch_up, org, app_key):
    org.token_lifetime = 70
    client = make_catch_up(**env_for(org.url, app_key))
    assert [client.post("/").status_code for _ in range(2)] == [200, 200]
    assert len(org.token_requests()) == 1


def test_a_token_whose_lifetime_okta_does_not_state_is_kept_five_minutes(make_catch_up, org,
                                                                          app_key):
    org.tokens["issued-by-hand"] = {"type": "Bearer", "jkt": None, "expires": time.time() + 600}
    org.answers_ahead.append((200, {"token_type": "Bearer", "access_token": "issued-by-hand",
                                    "expires_in": "an hour"}, {}))
    client = make_catch_up(**env_for(org.url, app_key))
    assert [client.post("/").status_code for _ in range(2)] == [200, 200]
    assert len(org.token_requests()) == 1


@pytest.mark.parametrize("answer, status, error", [
    ({"token_type": "Bearer", "expires_in": 3600}, 502,
     "Okta refused the catch-up's credentials: Okta refused an access token: HTTP 200"),
    ({"token_type": "Bearer", "access_token": "", "expires_in": 3600}, 502,
     "Okta refused the catch-up's credentials: Okta refused an access token: HTTP 200"),
    ({"token_type": "Bearer", "access_token": 12345}, 502,
     "Okta refused the catch-up's credentials: Okta refused an access token: HTTP 200"),
    ({"token_type": "mac", "access_token": "abc"}, 503,
     "Okta could not be read: Okta issued a token of an unexpected type ('mac')"),
    ({"token_type": "DPoP", "access_token": "abc"}, 503,  # a proof-bound token, asked without
     "Okta could not be read: Okta issued a token of an unexpected type ('dpop')"),
    ({"access_token": "abc"}, 503,
     "Okta could not be read: Okta issued a token of an unexpected type ('')"),
    (["a", "list"], 502,
     "Okta refused the catch-up's credentials: Okta refused an access token: HTTP 200"),
])
def test_a_token_answer_okta_would_not_give_is_refused_or_unavailable(make_catch_up, org, app_key,
                                                                    answer, status, error):
    org.answers_ahead.append((200, answer, {}))
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (status, error)
    assert org.api_requests() == []


def test_okta_s_error_words_are_reported_each_at_most_300_characters(make_catch_up, org, app_key):
    org.answers_ahead.append((401, {"error": "invalid_client", "error_description": "x" * 400,
                                    "errorCode": "", "errorSummary": None}, {}))
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 502
    assert reply.get_json()["error"] == ("Okta refused the catch-up's credentials: Okta refused "
                                         f"an access token: HTTP 401 (invalid_client; {'x' * 300})")


def test_an_api_refusal_carries_okta_s_error_code_and_summary(warm_client, org):
    org.answers_ahead.append((403, {"errorCode": "E0000006", "errorSummary": "You do not have "
                                    "permission to perform the requested action"}, {}))
    reply = warm_client.post("/")
    assert reply.status_code == 502
    assert reply.get_json()["error"] == (
        "Okta refused the catch-up's credentials: HTTP 403 (E0000006; You do not have permission "
        "to perform the requested action)")


def test_the_client_assertion_names_its_key_when_the_key_id_is_set(make_catch_up, org, app_key):
    client = make_catch_up(**env_for(org.url, app_key, OKTA_PRIVATE_KEY_ID="key-2026"))
    assert client.post("/").status_code == 200
    [form] = org.token_forms
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == "key-2026"
    claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300  # five minutes: Okta allows up to an hour


def test_without_a_key_id_the_assertion_names_no_key(catch_up, org):
    assert catch_up.run_pass()[0] == 200
    [form] = org.token_forms
    assert "kid" not in jwt.get_unverified_header(form["client_assertion"])


def test_a_handler_failure_is_a_500_so_the_scheduler_retries(make_catch_up, org, app_key,
                                                            monkeypatch):
    from okta_hook import events

    def broken(event, fields):
        raise RuntimeError("downstream")

    monkeypatch.setitem(events.HANDLERS, "user.lifecycle.deactivate", broken)
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2),
            deactivation("Bo Ng", "bo@example.com", minutes=1))
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert reply.status_code == 500 and reply.get_json()["handlerFailures"] == 2
    assert reply.get_json()["complete"] is False


def test_a_handler_failure_stops_the_pass_before_the_cursor_passes_its_page(make_catch_up, log,
                                                                          org, app_key,
                                                                          monkeypatch):
    from okta_hook import events

    monkeypatch.setitem(events.HANDLERS, "user.lifecycle.deactivate",
                        lambda event, fields: 1 / 0)
    org.add(deactivation("Ann Lee", "ann@example.com"))
    make_catch_up(**env_for(org.url, app_key)).post("/")
    [line] = [r for r in log.records() if r.get("action") == "okta.catch_up.pass"]
    assert line["stoppedBy"] == "a handler that failed; the page is read again next time"


def test_a_failure_of_the_pass_itself_is_a_503_naming_only_its_type(make_catch_up, log, org,
                                                                    app_key, monkeypatch):
    """Whatever goes wrong inside a pass (a bug of ours, say), the answer is a clean 503 and one
    ERROR line, never Flask's 500 and a traceback."""
    from okta_hook.catch_up import reading

    def broken(self, url):
        raise ZeroDivisionError("details that stay out of the answer")

    monkeypatch.setattr(reading.Pass, "_read_from", broken)
    reply = make_catch_up(**env_for(org.url, app_key)).post("/")
    assert (reply.status_code, reply.get_json()["error"]) == (
        503, "the pass failed unexpectedly (ZeroDivisionError)")
    [error] = [r for r in log.records() if r["severity"] == "ERROR"]
    assert error["action"] == "okta.catch_up.failed" and "details" not in error["message"]

def test_configured_event_types_no_handler_acts_on_are_not_asked_for(make_catch_up, log, org,
                                                                    app_key):
    """4,000 sign-ins a quarter hour subscribed beside the deactivations made every pass end
    incomplete, the backlog of deactivations growing, on Okta's org-wide rate limit."""
    sessions = [{**payloads.system_log_event("user.session.start", []),
                 "published": minutes_ago(3 - i / 2000)} for i in range(3000)]
    org.add(*sessions, deactivation("Ann Lee", "ann@example.com", minutes=1))
    client = make_catch_up(**env_for(
        org.url, app_key, OKTA_CATCH_UP_EVENTS="user.lifecycle.deactivate,user.session.start",
        OKTA_CATCH_UP_MAX_PAGES="2"))
    summary = client.post("/").get_json()
    assert (summary["eventsRead"], summary["usersLogged"], summary["complete"]) == (1, 1, True)
    [(_, path, _)] = [r for r in org.api_requests() if "/api/v1/logs" in r[1]][:1]
    assert "user.session.start" not in urllib.parse.unquote_plus(path)


def test_three_hundred_subscribed_types_of_long_names_do_not_make_a_url_okta_refuses(
        make_catch_up, org, app_key):
    """Asking for every subscribed type made a first page of 17,985 characters: 414 on every
    pass. Only what a handler acts on is asked for, whatever the hook subscribes to."""
    subscribed = ["user.lifecycle.deactivate",
                  *(f"app.user_management.push_profile_update.type_{i:03d}" for i in range(299))]
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=1))
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_EVENTS=",".join(subscribed)))
    reply = client.post("/")
    assert reply.status_code == 200
    assert (reply.get_json()["usersLogged"], reply.get_json()["complete"]) == (1, True)


def test_the_polling_url_is_bounded_and_a_list_past_it_is_a_misconfiguration(monkeypatch):
    """Okta documents no URL limit; many front ends refuse past 8 KiB (a 414 on every pass, or on
    Okta's own next link mid-read). A handled-type list past the bound is refused, naming it."""
    from okta_hook import events
    from okta_hook.catch_up.limits import MAX_POLLING_URL_CHARS
    from okta_hook.catch_up.settings import CatchUpSettings
    from okta_hook.catch_up.system_log import polling_url

    types = [f"custom.handled.event_type_number_{i:04d}" for i in range(400)]
    monkeypatch.setattr(events, "HANDLERS", {**events.HANDLERS, **dict.fromkeys(types, None)})
    from okta_hook.catch_up import settings as catch_up_settings
    monkeypatch.setattr(catch_up_settings, "HANDLERS", events.HANDLERS)
    org_url = "https://dev-123456.okta.com"

    def length(count: int) -> int:
        chosen = catch_up_settings.read_types(types[:count])
        return len(polling_url(org_url, datetime.now(timezone.utc), chosen))

    fits = max(n for n in range(len(types)) if length(n) <= MAX_POLLING_URL_CHARS)
    for count, refused in ((fits, False), (fits + 1, True)):
        settings = CatchUpSettings.from_environ({"OKTA_ORG_URL": org_url, "OKTA_CLIENT_ID": "x",
                                                 "OKTA_CATCH_UP_EVENTS": ",".join(types[:count])})
        said = [p for p in settings.problems if p.startswith("OKTA_CATCH_UP_EVENTS")]
        assert bool(said) is refused, count
    assert 100 < fits < 200  # about 140 types of 40 characters
    assert said == [f"OKTA_CATCH_UP_EVENTS asks for event types whose polling URL would be "
                    f"{length(fits + 1)} characters, more than the {MAX_POLLING_URL_CHARS} a pass "
                    "may send: list fewer of the types a handler acts on"]


# --- the hook stays light -----------------------------------------------------------------------

def test_the_hook_imports_none_of_the_catch_up_s_libraries():
    script = ("import sys\n"
              "from functions_framework import create_app\n"
              "from starlette.testclient import TestClient\n"
              f"app = create_app('okta_event_hook', {str(SOURCE)!r})\n"
              "assert TestClient(app).get('/').status_code == 401\n"
              "heavy = ('requests', 'jwt', 'cryptography', 'urllib3', 'okta_hook.catch_up')\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
              "or m.startswith('okta_hook.catch_up') or m.startswith('okta_hook.okta_')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"OKTA_HOOK_SECRET": "Basic abc", "PATH": ""}, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"  # after the hook's own log line


# --- odd events never stall a pass (Okta's word about hooks of any shape) ------------------------

@pytest.mark.parametrize("event_type", ["event_hook.deactivated", "event_hook.deleted",
                                        "event_hook.delivery"])
@pytest.mark.parametrize("target", [42, True, "who1a2b3c4d5e6f7g8h9", [], None])
def test_an_event_about_a_hook_of_any_shape_is_a_warning_and_the_pass_goes_on(
        org, catch_up, event_type, target):
    """Such an event stopped every pass (a TypeError, a 503, the page never passed): the
    deactivation after it was never logged."""
    odd = (org.record_failed_delivery(HOOK_ID, "okta-event-hook", "timeout")
           if event_type == "event_hook.delivery"
           else org.record_hook_change(event_type, HOOK_ID, "okta-event-hook"))
    odd.update(target=target, published=minutes_ago(3))
    org.add(deactivation("Ann Lee", "ann@example.com", minutes=2))
    status, summary = catch_up.run_pass()
    assert status == 200 and summary["complete"] is True
    assert (summary["usersLogged"], summary["hookStopped"], summary["deliveryFailures"]) == (
        1, 0, 0)
    [warning] = [r for r in catch_up.log_records() if r["severity"] == "WARNING"]
    assert warning["message"] == (f"Skipped Okta's {event_type} event {odd['uuid']}, which names "
                                  "no event hook: whether it concerns this stack's hook cannot be "
                                  "told.")


def test_a_hook_named_by_one_target_object_instead_of_a_list_still_counts(org, catch_up):
    change = org.record_hook_change("event_hook.deactivated", HOOK_ID, "okta-event-hook")
    change["target"] = change["target"][0]
    status, summary = catch_up.run_pass()
    assert (status, summary["hookStopped"]) == (200, 1)
    assert len(lines(catch_up, "okta.event_hook.deactivated")) == 1


def test_the_same_event_about_the_hook_twice_in_a_pass_is_one_line(org, catch_up):
    change = org.record_hook_change("event_hook.deleted", HOOK_ID, "okta-event-hook")
    org.add(dict(change))  # Okta's page holds it twice (same uuid)
    status, summary = catch_up.run_pass()
    assert (status, summary["eventsRead"], summary["hookStopped"]) == (200, 2, 1)
    assert len(lines(catch_up, "okta.event_hook.deleted")) == 1
