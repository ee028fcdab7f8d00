"""The receiver's behaviour, request by request, through functions-framework's ASGI app."""

import json
import re

import pytest

from asgi_calls import call
from conftest import PREVIOUS_SECRET
from helpers import auth, deactivations, pinned_insert_id, post
from okta_hook import events
from okta_hook.receiver import ACKNOWLEDGED
from okta_simulator import payloads

CHALLENGE = "Pd0XpC1t4hRzW3VZ8ZnIlA"


def john_doe_delivery(**kwargs) -> dict:
    return payloads.envelope([payloads.deactivation("John Doe", "john.doe@example.com")], **kwargs)


# --- verification -------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["X-Okta-Verification-Challenge",
                                    "x-okta-verification-challenge",
                                    "X-OKTA-VERIFICATION-CHALLENGE"])
def test_verification_echoes_the_challenge_as_json(client, header):
    reply = client.get("/", headers={header: CHALLENGE, **auth()})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"verification": CHALLENGE}


def test_verification_without_challenge_is_400_with_json_error(client):
    reply = client.get("/", headers=auth())
    assert reply.status_code == 400
    assert "X-Okta-Verification-Challenge" in reply.json()["error"]


def test_verification_requires_the_credential(client):
    reply = client.get("/", headers={"X-Okta-Verification-Challenge": CHALLENGE})
    assert reply.status_code == 401
    assert CHALLENGE not in reply.text


# --- authentication -----------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic d3Jvbmc6c2VjcmV0"},
    {"Authorization": ""},
    {"Authorization": "basic ZGV2OmRldi1vbmx5LXNlY3JldA=="},  # the value is compared verbatim
    {"Authorization": "Basic ZGV2OmRldi1vbmx5LXNlY3JldA=="[:-1]},
    {"Authorization": "Basic ZGV2OmRldi1vbmx5LXNlY3JldA==".encode() + b"\xff"},
    {"Authorization": "Bearer ZGV2OmRldi1vbmx5LXNlY3JldA=="},
])
def test_wrong_or_missing_credential_is_401_and_the_body_is_not_parsed(client, log, headers):
    reply = client.post("/", content=b"{not json", headers=headers)
    assert reply.status_code == 401
    assert reply.json()["error"] == "missing or wrong Authorization header"
    assert not any("JSON" in m for m in log.messages())
    [warning] = log.records()  # what the refused-deliveries alert matches
    assert (warning["severity"], warning["status"], warning["method"]) == ("WARNING", 401, "POST")


def test_a_repeated_auth_header_is_refused(client):
    repeated = [("Authorization", auth()["Authorization"])] * 2
    reply = client.post("/", content=b"{}", headers=repeated)
    assert reply.status_code == 401


def test_previous_secret_is_accepted_only_while_configured(make_client, log):
    rotating = make_client(OKTA_HOOK_SECRET_PREVIOUS=PREVIOUS_SECRET)
    assert post(rotating, john_doe_delivery()).status_code == 200
    assert post(rotating, john_doe_delivery(), secret=PREVIOUS_SECRET).status_code == 200
    assert len(deactivations(log.records())) == 2

    rotated = make_client()
    assert post(rotated, john_doe_delivery(), secret=PREVIOUS_SECRET).status_code == 401


def test_auth_header_name_is_configurable(make_client):
    client = make_client(OKTA_HOOK_AUTH_HEADER="X-Hook-Key", OKTA_HOOK_SECRET="k3y-v4lue")
    assert post(client, john_doe_delivery(), secret="k3y-v4lue").status_code == 401
    reply = client.post("/", json=john_doe_delivery(), headers={"x-hook-key": "k3y-v4lue"})
    assert reply.status_code == 200


def test_a_secret_with_a_trailing_newline_still_matches(make_client):
    client = make_client(OKTA_HOOK_SECRET=auth()["Authorization"] + "\n")
    assert post(client, john_doe_delivery()).status_code == 200


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_without_a_secret_nothing_is_accepted_and_one_critical_line_says_why(
        make_client, log, secret):
    client = make_client(OKTA_HOOK_SECRET=secret)
    for reply in (post(client, john_doe_delivery()),
                  post(client, john_doe_delivery(), secret=""),
                  client.get("/", headers={"X-Okta-Verification-Challenge": CHALLENGE})):
        assert reply.status_code == 503
        assert "misconfigured" in reply.json()["error"]
    critical = log.messages("CRITICAL")
    assert len(critical) == 1 and "OKTA_HOOK_SECRET is not set" in critical[0]
    assert deactivations(log.records()) == []


# --- delivery shape -----------------------------------------------------------------------------

NOT_AN_ENVELOPE = "body must be a JSON object (an Okta event hook envelope)"
NO_EVENTS = "data.events must be a list of Okta System Log events"


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "body is not valid JSON: Expecting property name enclosed in double quotes: "
                   "line 1 column 2 (char 1)"),
    (b"", "body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'{"data": {"events": []}}\xff', "body is not valid UTF-8 (byte 24)"),
    (b"\xef\xbb\xbf{}", "body is not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): "
                       "line 1 column 1 (char 0)"),  # a byte-order mark is not JSON
    (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "body is nested too deeply"),
    (b"[]", NOT_AN_ENVELOPE),
    (b'"a string"', NOT_AN_ENVELOPE),
    (b"null", NOT_AN_ENVELOPE),
    (b"{}", NO_EVENTS),
    (b'{"data": null}', NO_EVENTS),
    (b'{"data": {"events": {"0": {}}}}', NO_EVENTS),
    (b'{"data": {"events": "none"}}', NO_EVENTS),
    (b'{"data": {"events": [' + b"1" * 5000 + b"]}}",  # an integer too long to convert
     "body is not valid JSON: Exceeds the limit (4300 digits) for integer string conversion: "
     "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
])
def test_malformed_deliveries_are_400_with_a_json_error(client, log, body, reason):
    reply = post(client, body)
    assert reply.status_code == 400
    assert reply.json() == {"error": reason}
    [warning] = log.records()
    assert (warning["severity"], warning["message"], warning["status"], warning["method"]) == (
        "WARNING", f"Rejected a POST request: {reason}", 400, "POST")


def test_body_over_the_limit_is_413(make_client):
    client = make_client(OKTA_HOOK_MAX_BODY_BYTES="1000")
    small = payloads.envelope([])
    assert post(client, small).status_code == 200
    reply = post(client, {**small, "padding": "x" * 1000})
    assert reply.status_code == 413
    assert "larger than 1000 bytes" in reply.json()["error"]


def test_chunked_body_over_the_limit_is_413(make_client):
    client = make_client(OKTA_HOOK_MAX_BODY_BYTES="1000")
    reply = client.post("/", content=iter([b"{" * 600, b"{" * 600]),
                        headers={"Transfer-Encoding": "chunked", **auth()})
    assert reply.status_code == 413


@pytest.fixture
def limited_app(make_client):
    """The receiver's ASGI app with a 1,000-byte body limit, for raw ASGI calls."""
    return make_client(OKTA_HOOK_MAX_BODY_BYTES="1000").app


def body_of(size: int) -> bytes:
    """A valid delivery of exactly `size` bytes."""
    document = json.dumps({**payloads.envelope([]), "padding": ""}).encode()
    return document.replace(b'"padding": ""', b'"padding": "' + b"x" * (size - len(document))
                            + b'"')


def test_a_declared_length_over_the_limit_is_refused_before_reading_the_body(limited_app):
    reply = call(limited_app, [b"{}"], content_length=1001)
    assert reply.status == 413 and reply.messages_read == 0


def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not(limited_app):
    assert len(body_of(1000)) == 1000
    assert call(limited_app, [body_of(1000)], content_length=1000).status == 200
    assert call(limited_app, [body_of(1000)]).status == 200  # no Content-Length: counted
    assert call(limited_app, [body_of(1001)]).status == 413


@pytest.mark.parametrize("cuts", [[10], [10, 400]])
def test_a_body_split_across_messages_is_joined_in_order(client, log, cuts):
    body = json.dumps(payloads.envelope([payloads.deactivation("Ann Lee", "ann@example.com")]))
    edges = [0, *cuts, len(body)]
    chunks = [body[start:end].encode() for start, end in zip(edges, edges[1:])]
    reply = call(client.app, chunks)
    assert reply.status == 200 and reply.messages_read == len(chunks)
    assert [r["login"] for r in deactivations(log.records())] == ["ann@example.com"]


def test_a_message_with_no_body_and_no_more_body_adds_nothing_and_ends_the_body(client, log):
    """ASGI lets a server leave out `body` (b"") and `more_body` (False)."""
    first = {"type": "http.request", "body": json.dumps(john_doe_delivery()).encode(),
             "more_body": True}
    reply = call(client.app, [first, {"type": "http.request"}])
    assert reply.status == 200 and reply.messages_read == 2
    assert len(deactivations(log.records())) == 1


def test_split_messages_count_toward_the_limit_together(limited_app):
    reply = call(limited_app, [b"{" * 600, b"}" * 600])
    assert reply.status == 413 and b"larger than 1000 bytes" in reply.body


def test_a_client_that_goes_away_mid_body_is_a_400(limited_app):
    reply = call(limited_app, [b'{"data": ', b'{"events": []}}'], disconnect_after=1)
    assert reply.status == 400
    assert json.loads(reply.body) == {"error": "the request body ended early"}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods_are_405_with_allow(client, method):
    reply = client.request(method, "/", headers=auth())
    assert reply.status_code == 405
    assert reply.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("value", ["0", "-5", "ten", ""])
def test_invalid_body_limit_fails_closed(make_client, log, value):
    client = make_client(OKTA_HOOK_MAX_BODY_BYTES=value)
    assert post(client, john_doe_delivery()).status_code == 503
    assert any("OKTA_HOOK_MAX_BODY_BYTES" in m for m in log.messages("CRITICAL"))


# --- events -------------------------------------------------------------------------------------

def test_a_deactivation_logs_the_users_name_and_login(client, log):
    delivery = john_doe_delivery()
    event = delivery["data"]["events"][0]
    reply = post(client, delivery)
    assert reply.status_code == 200
    assert reply.content == b""
    [line] = deactivations(log.records())
    assert line["message"] == ("The user John Doe (john.doe@example.com) has been deactivated "
                               "on the Okta org!")
    assert line["severity"] == "NOTICE"
    assert line["login"] == "john.doe@example.com"
    assert line["displayName"] == "John Doe"
    assert line["userId"] == event["target"][0]["id"]
    assert line["eventId"] == delivery["eventId"]
    assert line["uuid"] == event["uuid"]
    assert line["published"] == event["published"]
    assert line["eventType"] == "user.lifecycle.deactivate"
    assert line["outcome"] == "SUCCESS"
    # Who deactivated them: the event's actor, for the audit record.
    assert (line["actorId"], line["actorLogin"], line["actorName"]) == (
        "00u1admin0000000000", "admin@example.com", "Okta Admin")


@pytest.mark.parametrize("actor", [None, "not an object", {}, {"id": 7, "alternateId": ""}])
def test_a_deactivation_without_a_usable_actor_is_logged_with_none(client, log, actor):
    delivery = john_doe_delivery()
    delivery["data"]["events"][0]["actor"] = actor
    assert post(client, delivery).status_code == 200
    [line] = deactivations(log.records())
    assert (line["actorId"], line["actorLogin"], line["actorName"]) == (None, None, None)


def test_every_acknowledgement_is_the_same_empty_200_and_stays_so(client):
    """The 200 is one Response made at import; nothing on the way out may change it."""
    for _ in range(3):
        reply = post(client, john_doe_delivery())
        assert (reply.status_code, reply.content) == (200, b"")
        assert reply.headers == {"content-length": "0"}
    assert (ACKNOWLEDGED.status_code, ACKNOWLEDGED.body) == (200, b"")
    assert ACKNOWLEDGED.raw_headers == [(b"content-length", b"0")]


def test_a_batch_logs_every_user_and_every_user_target(client, log):
    event = payloads.deactivation("Ann Lee", "ann@example.com")
    event["target"].append(payloads.user_target("Bo Ng", "bo@example.com"))
    event["target"].append({"type": "AppInstance", "displayName": "Slack", "alternateId": "slack"})
    batch = [payloads.deactivation(f"User {i}", f"user{i}@example.com") for i in range(50)]
    assert post(client, payloads.envelope([event, *batch])).status_code == 200
    logins = [r["login"] for r in deactivations(log.records())]
    assert logins == ["ann@example.com", "bo@example.com"] + [
        f"user{i}@example.com" for i in range(50)]


def test_a_failed_deactivation_is_logged_as_such_not_as_a_deactivation(client, log):
    event = payloads.deactivation("John Doe", "john.doe@example.com", result="FAILURE")
    assert post(client, payloads.envelope([event])).status_code == 200
    assert deactivations(log.records()) == []
    assert any("did not succeed (outcome FAILURE)" in m for m in log.messages("WARNING"))


@pytest.mark.parametrize("mangle, warning", [
    (lambda e: e.update(target=None), "without a target list"),
    (lambda e: e.pop("target"), "without a target list"),
    (lambda e: e.update(target=["not an object"]), "not an object"),
    (lambda e: e.update(target=[]), "without a User target"),
    (lambda e: e.update(target=[{"type": "User", "displayName": "", "alternateId": None}]),
     "without displayName, alternateId or id"),
    (lambda e: e["outcome"].update(result="SKIPPED"), "did not succeed (outcome SKIPPED)"),
    (lambda e: e.update(outcome={"result": 7}), "did not succeed (outcome 7)"),
])
def test_a_malformed_event_is_skipped_with_a_warning_and_the_rest_is_processed(
        client, log, mangle, warning):
    broken = payloads.deactivation("Broken", "broken@example.com")
    mangle(broken)
    delivery = payloads.envelope(["not an event", broken,
                                  payloads.deactivation("Ann Lee", "ann@example.com")])
    assert post(client, delivery).status_code == 200
    assert [r["login"] for r in deactivations(log.records())] == ["ann@example.com"]
    warnings = log.messages("WARNING")
    assert any(warning in m for m in warnings)
    assert any("not a JSON object" in m for m in warnings)


def test_other_event_types_are_acknowledged_and_not_actioned(client, log):
    other = payloads.system_log_event("user.session.start", [])
    assert post(client, payloads.envelope([other])).status_code == 200
    records = log.records()
    assert deactivations(records) == []
    assert [r["severity"] for r in records] == ["DEBUG"]


def test_log_fields_cannot_forge_a_log_line(client, log):
    forged = 'x"}\n{"severity": "CRITICAL", "message": "forged'
    delivery = payloads.envelope([payloads.deactivation(forged, "evil\r\n@example.com")])
    assert post(client, delivery).status_code == 200
    records = log.records()  # every line parses as JSON, or this raises
    assert len(records) == 1
    assert records[0]["displayName"] == forged
    assert "CRITICAL" not in [r["severity"] for r in records]


@pytest.mark.parametrize("name", ["Jos\u00e9 \u00d1\u00fa\u00f1ez", "\u674e\u5c0f\u9f99",
                                  "Zo\u00eb \U0001f600", "line\u2028separator"])
def test_non_ascii_names_are_logged_as_ascii_json(client, log, name):
    assert post(client, payloads.envelope([payloads.deactivation(name, "u@example.com")])
                ).status_code == 200
    records = log.records()
    assert log.text.isascii()  # whatever stdout's encoding, the line can be written
    assert deactivations(records)[0]["displayName"] == name


def test_a_lone_surrogate_the_standard_library_accepts_is_logged_not_a_500(client, log):
    body = json.dumps(payloads.envelope([payloads.deactivation("NAME", "u@example.com")]))
    reply = post(client, body.replace('"NAME"', '"A\\ud800B"').encode())
    assert reply.status_code == 200
    [line] = deactivations(log.records())
    assert line["displayName"] == "A\ud800B" and log.text.isascii()


def test_long_fields_are_clipped(client, log):
    delivery = payloads.envelope([payloads.deactivation("N" * 100_000, "a@example.com")])
    assert post(client, delivery).status_code == 200
    [line] = deactivations(log.records())
    assert len(line["displayName"]) == events.MAX_FIELD_CHARS


# --- one entry in Cloud Logging however often it is written ------------------------------------

INSERT_ID = "logging.googleapis.com/insertId"


def test_a_deactivation_line_carries_an_insert_id_and_the_events_own_timestamp(make_client, log):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    event["target"].append(payloads.user_target("Ann Lee", "ann@example.com"))
    # Two instances (a retry landing elsewhere) and two deliveries of the same event.
    for delivery_id in ("first-delivery", "retry-on-another-instance"):
        assert post(make_client(), payloads.envelope([event], event_id=delivery_id)).status_code \
            == 200
    lines = deactivations(log.records())
    assert len(lines) == 4
    first, second = lines[:2], lines[2:]
    assert [line[INSERT_ID] for line in first] == [line[INSERT_ID] for line in second]
    assert first[0][INSERT_ID] != first[1][INSERT_ID]  # one entry per user, not per event
    assert all(re.fullmatch(r"okta-[0-9a-f]{40}", line[INSERT_ID]) for line in lines)
    assert {line["timestamp"] for line in lines} == {event["published"]}


@pytest.mark.parametrize("published", [None, "", "yesterday", "2026-13-01T00:00:00Z",
                                       "2026-11-28 03:20:00Z", 1764300000])
def test_a_published_that_is_not_rfc3339_is_not_made_the_timestamp(client, log, published):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    event["published"] = published
    assert post(client, payloads.envelope([event])).status_code == 200
    [line] = deactivations(log.records())
    assert "timestamp" not in line
    assert line[INSERT_ID].startswith("okta-")


def test_without_a_uuid_cloud_logging_assigns_the_insert_id(client, log):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    del event["uuid"]
    assert post(client, payloads.envelope([event])).status_code == 200
    [line] = deactivations(log.records())
    assert INSERT_ID not in line and line["timestamp"] == event["published"]


# --- duplicates ---------------------------------------------------------------------------------

def test_a_repeated_delivery_is_acknowledged_and_not_actioned_again(client, log):
    delivery = john_doe_delivery()
    assert post(client, delivery).status_code == 200
    assert post(client, delivery).status_code == 200
    assert len(deactivations(log.records())) == 1
    assert any("repeated delivery" in m for m in log.messages("INFO"))


def test_a_repeated_event_in_a_new_delivery_is_not_actioned_again(client, log):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    other = payloads.deactivation("Ann Lee", "ann@example.com")
    assert post(client, payloads.envelope([event])).status_code == 200
    assert post(client, payloads.envelope([event, other])).status_code == 200
    assert [r["login"] for r in deactivations(log.records())] == [
        "john.doe@example.com", "ann@example.com"]


def test_a_retry_after_a_failure_mid_event_rewrites_a_users_line_with_the_same_identity(
        client, log, monkeypatch):
    """The memory is per event: a retry after a handler failed half-way writes the users already
    logged again, with the same insertId and timestamp, so Cloud Logging still shows one each."""
    real, calls = events.user_description, []

    def fails_on_the_second_user(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("downstream")
        return real(*args)

    monkeypatch.setattr(events, "user_description", fails_on_the_second_user)
    event = payloads.deactivation("Ann Lee", "ann@example.com")
    event["target"].append(payloads.user_target("Bo Ng", "bo@example.com"))
    delivery = payloads.envelope([event])
    assert post(client, delivery).status_code == 500
    assert post(client, delivery).status_code == 200  # Okta's retry
    lines = deactivations(log.records())
    assert [line["login"] for line in lines] == ["ann@example.com"] * 2 + ["bo@example.com"]
    assert {(line[INSERT_ID], line["timestamp"]) for line in lines[:2]} == {
        (lines[0][INSERT_ID], event["published"])}


def test_a_failed_handler_is_5xx_and_okta_s_retry_is_processed(client, log, monkeypatch):
    calls = []

    def flaky(event, fields):
        calls.append(event["uuid"])
        if len(calls) == 1:
            raise ConnectionError("downstream unavailable")

    monkeypatch.setitem(events.HANDLERS, "user.account.lock", flaky)
    locked = payloads.system_log_event("user.account.lock", [])
    delivery = payloads.envelope([locked, payloads.deactivation("Ann Lee", "ann@example.com")])

    first = post(client, delivery)
    assert first.status_code == 500 and first.json() == {"error": "internal error"}
    assert any("handler failed: ConnectionError" in m for m in log.messages("ERROR"))
    assert post(client, delivery).status_code == 200  # Okta's one retry
    assert calls == [locked["uuid"]] * 2
    assert len(deactivations(log.records())) == 1  # the event that succeeded is not repeated
    assert post(client, delivery).status_code == 200
    assert calls == [locked["uuid"]] * 2


# --- what the operator reads --------------------------------------------------------------------

def lines_of(log) -> list[tuple]:
    return [(r["severity"], r["message"]) for r in log.records()]


def test_a_verification_leaves_one_info_line(client, log):
    assert client.get("/", headers={"X-Okta-Verification-Challenge": CHALLENGE,
                                    **auth()}).status_code == 200
    assert lines_of(log) == [("INFO", "Answered Okta's event hook verification challenge.")]


@pytest.mark.parametrize("method, headers, status, reason", [
    ("GET", auth(), 400, "a GET must carry X-Okta-Verification-Challenge"),
    ("POST", auth("Basic d3Jvbmc6d3Jvbmc="), 401, "missing or wrong Authorization header"),
    ("PUT", auth(), 405, "method PUT is not allowed"),
])
def test_a_refused_request_leaves_one_warning_with_its_status(client, log, method, headers,
                                                               status, reason):
    reply = client.request(method, "/", headers=headers)
    assert (reply.status_code, reply.json()) == (status, {"error": reason})
    [line] = log.records()
    assert line == {"severity": "WARNING", "message": f"Rejected a {method} request: {reason}",
                    "status": status, "method": method}


def test_a_misconfigured_receiver_says_so_once_and_refuses_each_request(make_client, log):
    client = make_client(OKTA_HOOK_SECRET=None)
    reply = post(client, john_doe_delivery())
    assert (reply.status_code, reply.json()) == (
        503, {"error": "the receiver is misconfigured; see its logs"})
    assert lines_of(log) == [
        ("CRITICAL", "Okta event hook receiver misconfigured: OKTA_HOOK_SECRET is not set: "
                     "every request is refused"),
        ("WARNING", "Rejected a POST request: the receiver is misconfigured; see its logs")]


def test_a_repeated_delivery_leaves_an_info_line_with_its_event_id(client, log):
    delivery = john_doe_delivery()
    assert [post(client, delivery).status_code for _ in range(2)] == [200, 200]
    repeated = log.records()[-1]
    assert (repeated["severity"], repeated["message"], repeated["eventId"]) == (
        "INFO", "Acknowledged a repeated delivery without acting on it again.",
        delivery["eventId"])


def test_an_event_handled_before_leaves_an_info_line_naming_it(client, log):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    for _ in range(2):
        assert post(client, payloads.envelope([event])).status_code == 200
    skipped = log.records()[-1]
    assert (skipped["severity"], skipped["message"], skipped["uuid"], skipped["eventType"]) == (
        "INFO", "Skipped an event already handled.", event["uuid"], "user.lifecycle.deactivate")


def test_an_event_that_is_not_an_object_leaves_a_warning_with_the_delivery_s_id(client, log):
    delivery = payloads.envelope(["not an event"])
    assert post(client, delivery).status_code == 200
    assert log.records() == [{"severity": "WARNING",
                              "message": "Skipped an event that is not a JSON object.",
                              "eventId": delivery["eventId"]}]


@pytest.mark.parametrize("event_id, usable", [
    ("e" * 128, True), ("e" * 129, False), ("id\nwith a line break", False), (5, False),
    (["a list"], False), ("", False),
])
def test_an_event_id_is_used_only_when_it_is_a_short_printable_string(client, log, event_id,
                                                                      usable):
    delivery = {**john_doe_delivery(), "eventId": event_id}
    assert [post(client, delivery).status_code for _ in range(2)] == [200, 200]
    records = log.records()
    odd = ("WARNING", "A delivery's eventId is not a short printable id; it is ignored for "
                      "duplicate detection and left out of the log.")
    assert (odd in [(r["severity"], r["message"]) for r in records]) is not usable
    [line, *_] = deactivations(records)
    assert line["eventId"] == (event_id if usable else None)
    # A usable id makes the second delivery a repeat; an unusable one leaves that to the uuid.
    assert records[-1]["message"] == ("Acknowledged a repeated delivery without acting on it "
                                      "again." if usable else "Skipped an event already handled.")


def test_a_handler_failure_leaves_two_errors_naming_the_handler_and_the_request(
        client, log, monkeypatch):
    def broken(event, fields):
        raise ConnectionError("downstream unavailable")

    monkeypatch.setitem(events.HANDLERS, "user.account.lock", broken)
    locked = payloads.system_log_event("user.account.lock", [])
    reply = post(client, payloads.envelope([locked]))
    assert (reply.status_code, reply.json()) == (500, {"error": "internal error"})
    handler, request = log.records()
    assert (handler["severity"], handler["message"], handler["uuid"]) == (
        "ERROR", "The user.account.lock handler failed: ConnectionError", locked["uuid"])
    assert request == {"severity": "ERROR",
                       "message": "Failed to handle a POST request: RuntimeError"}


def test_an_event_type_without_a_handler_leaves_a_debug_line_naming_it(client, log):
    session = payloads.system_log_event("user.session.start", [])
    assert post(client, payloads.envelope([session])).status_code == 200
    [line] = log.records()
    assert (line["severity"], line["message"], line["eventType"], line["uuid"]) == (
        "DEBUG", "Acknowledged an event type this receiver does not act on.",
        "user.session.start", session["uuid"])


def test_the_insert_id_of_an_event_is_the_same_in_every_version(client, log):
    """Lines written before and after an upgrade must still be one entry in Cloud Logging: the
    insertId is a fixed function of the event's uuid and the user's id (or identity)."""
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    event["uuid"] = "2d2c7e58-4f5b-11ef-9b7d-3b9f0a1b2c3d"
    event["target"][0]["id"] = "00u1a2b3c4d5e6f7g8h9"
    nameless = payloads.deactivation("Ann Lee", "ann@example.com")
    nameless["uuid"] = "5f0e9d1c-4f5b-11ef-9b7d-3b9f0a1b2c3d"
    nameless["target"][0]["id"] = None
    assert post(client, payloads.envelope([event, nameless])).status_code == 200
    assert [r[INSERT_ID] for r in deactivations(log.records())] == [
        pinned_insert_id(event["uuid"], "00u1a2b3c4d5e6f7g8h9"),
        pinned_insert_id(nameless["uuid"], "Ann Lee (ann@example.com)")]
