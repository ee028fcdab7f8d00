"""The receiver on a real functions-framework server (gunicorn + uvicorn), over real HTTP."""

import json
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from conftest import PREVIOUS_SECRET, SECRETS
from helpers import as_body, auth, deactivations, okta_headers
from okta_simulator import payloads
from okta_simulator.local_receiver import DEV_SECRET, LocalReceiver
from okta_simulator.transport import exchange


def post(url, document, secret=DEV_SECRET):
    """POST `document` over real HTTP as Okta does."""
    return exchange(url, "POST", okta_headers(secret), as_body(document))


def lines_of(server, delivery) -> list[dict]:
    """The log lines of one delivery, all written before the receiver answered it."""
    return server.wait_for_records(lambda r: r.get("eventId") == delivery["eventId"])


@pytest.fixture(scope="module")
def server():
    with LocalReceiver(env={"OKTA_HOOK_SECRET": DEV_SECRET,
                            "OKTA_HOOK_SECRET_PREVIOUS": PREVIOUS_SECRET}) as receiver:
        yield receiver
        for secret in SECRETS:
            assert secret not in receiver.output(), "a credential reached the log"


def test_serves_in_asgi_mode_under_functions_framework(server):
    reply = exchange(server.url, "GET", {"X-Okta-Verification-Challenge": "c1", **auth()})
    assert reply.status == 200
    assert json.loads(reply.body) == {"verification": "c1"}
    assert reply.headers["server"] == "uvicorn"


def test_the_worker_runs_on_httptools_and_uvloop(server):
    """uvicorn's worker picks the C parser and the libuv loop when they are installed
    (http="auto", loop="auto"); function/requirements.txt installs them, and this proves they
    are what serves requests, not the pure-Python h11 and asyncio's own loop."""
    if not hasattr(psutil.Process, "memory_maps"):
        pytest.skip("psutil cannot list a process's memory maps on this OS (macOS)")
    assert post(server.url, payloads.envelope([])).status == 200
    mapped = "\n".join(region.path for process in server.processes()
                       for region in process.memory_maps())
    assert re.search(r"/httptools/parser/parser\.cpython[^/]*\.so", mapped)
    assert re.search(r"/uvloop/loop\.cpython[^/]*\.so", mapped)


def test_a_deactivation_is_logged_by_the_server(server):
    delivery = payloads.envelope([payloads.deactivation("John Doe", "john.doe@example.com")])
    reply = post(server.url, delivery)
    assert (reply.status, reply.body) == (200, b"")
    [line] = lines_of(server, delivery)
    assert line["message"] == ("The user John Doe (john.doe@example.com) has been deactivated "
                               "on the Okta org!")


GUIDE_TARGET = payloads.GUIDE_PREVIEW_TARGET  # what Okta's guide pastes into the Preview


@pytest.mark.parametrize("target, message, login, name", [
    (GUIDE_TARGET, "The user John Doe has been deactivated on the Okta org!", None, "John Doe"),
    ({**GUIDE_TARGET, "alternateId": None}, "The user John Doe has been deactivated on the Okta "
     "org!", None, "John Doe"),
    ({k: v for k, v in GUIDE_TARGET.items() if k != "alternateId"},
     "The user John Doe has been deactivated on the Okta org!", None, "John Doe"),
    ({**GUIDE_TARGET, "alternateId": "jd@example.com", "displayName": None},
     "The user jd@example.com has been deactivated on the Okta org!", "jd@example.com", None),
    ({**GUIDE_TARGET, "displayName": 7}, "The user 00u3m90rsKgGQ0G6L1d76 has been deactivated "
     "on the Okta org!", None, None),
])
def test_a_user_with_any_identity_is_logged_with_what_is_known(server, target, message, login,
                                                               name):
    delivery = payloads.envelope([payloads.system_log_event("user.lifecycle.deactivate",
                                                            [target])])
    assert post(server.url, delivery).status == 200
    [line] = lines_of(server, delivery)  # the deactivation, and no WARNING
    assert line["message"] == message
    assert (line["login"], line["displayName"], line["userId"]) == (
        login, name, "00u3m90rsKgGQ0G6L1d76")


@pytest.mark.parametrize("outcome", [None, {}, {"result": None}, "absent"])
def test_a_deactivation_without_an_outcome_is_logged_with_outcome_null(server, outcome):
    event = payloads.deactivation("John Doe", "john.doe@example.com")
    if outcome == "absent":
        del event["outcome"]
    else:
        event["outcome"] = outcome
    delivery = payloads.envelope([event])
    assert post(server.url, delivery).status == 200
    [line] = lines_of(server, delivery)  # the deactivation, and no WARNING
    assert line["outcome"] is None
    assert line["message"].startswith("The user John Doe (john.doe@example.com) has been")


def test_rotation_accepts_current_and_previous_only(server):
    for secret, status in ((DEV_SECRET, 200), (PREVIOUS_SECRET, 200),
                           ("Basic bmV3OnNlY3JldA==", 401)):
        assert post(server.url, payloads.envelope([]), secret).status == status


def test_32_concurrent_connections_get_whole_log_lines(server):
    deliveries = [payloads.envelope([payloads.deactivation(f"Person {i} " + "x" * 3000,
                                                           f"p{i}@example.com")
                                     for i in range(5)]) for _ in range(64)]
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda d: post(server.url, d).status, deliveries))
    assert statuses == [200] * 64
    ids = {d["eventId"] for d in deliveries}
    lines = server.wait_for_records(lambda r: r.get("eventId") in ids, count=64 * 5)
    assert len(deactivations(lines)) == 64 * 5  # log_records() parsed every line as JSON


def test_a_20_mib_body_is_413_and_the_server_goes_on(server):
    huge = b'{"data": {"events": [' + b" " * (20 * 1024 * 1024) + b"]}}"
    assert post(server.url, huge).status == 413
    assert post(server.url, payloads.envelope([])).status == 200


def test_a_20_mib_chunked_body_is_413(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Authorization: " + DEV_SECRET.encode() + b"\r\n\r\n")
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(20):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest arrived, as it should
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_deep_nesting_is_400(server):
    reply = post(server.url, b"[" * 1_000_000)
    assert reply.status == 400
    assert b"nested too deeply" in reply.body


@pytest.mark.parametrize("credential", [b"Basic \xc3\xa9t\xc3\xa9", b"\xff\xfe", b"Basic ZGV2\x80"])
def test_non_ascii_credentials_are_401(server, credential):
    reply = exchange(server.url, "POST", {**okta_headers(), "Authorization": credential},
                     json.dumps(payloads.envelope([])).encode())
    assert reply.status == 401
    assert json.loads(reply.body) == {"error": "missing or wrong Authorization header"}


def test_without_a_secret_the_server_fails_closed():
    with LocalReceiver(env={}) as receiver:
        reply = post(receiver.url, payloads.envelope([]), secret="")
        assert reply.status == 503
        critical = receiver.wait_for_records(lambda r: r["severity"] == "CRITICAL")
    assert [r["message"] for r in critical] == [
        "Okta event hook receiver misconfigured: OKTA_HOOK_SECRET is not set: "
        "every request is refused"]


def test_a_1_mib_event_id_is_ignored_and_no_line_grows_with_it(server):
    huge = "e" * (1024 * 1024)
    users = [payloads.deactivation(f"User {i}", f"u{i}@example.com") for i in range(100)]
    delivery = payloads.envelope(users, event_id=huge)
    reply = post(server.url, delivery)
    assert reply.status == 200
    uuids = {e["uuid"] for e in users}
    lines = server.wait_for_records(lambda r: r.get("uuid") in uuids, count=100)
    assert len(lines) == 100 and all(line["eventId"] is None for line in lines)
    raw = [line for line in server.output().splitlines() if huge[:1000] in line]
    assert raw == []  # the eventId appears in no line, clipped or not
    assert max(len(line) for line in server.output().splitlines()) < 16 * 1024
    # The delivery is not remembered by that eventId, but its events are, by uuid.
    assert post(server.url, delivery).status == 200
    skipped = server.wait_for_records(
        lambda r: r.get("uuid") in uuids and r["message"].startswith("Skipped an event already"),
        count=100)
    assert len(skipped) == 100
    assert len(deactivations(r for r in server.log_records() if r.get("uuid") in uuids)) == 100


def test_a_secret_wrapped_by_base64_is_a_misconfiguration_not_a_401():
    wrapped = "Basic " + "QUJD" * 19 + "\n" + "QUJD"  # GNU base64 wraps at 76 columns
    with LocalReceiver(env={"OKTA_HOOK_SECRET": wrapped}) as receiver:
        reply = post(receiver.url, payloads.envelope([]), secret="Basic " + "QUJD" * 20)
        critical = receiver.wait_for_records(lambda r: r["severity"] == "CRITICAL")
        output = receiver.output()
    assert reply.status == 503
    assert [r["message"] for r in critical] == [
        "Okta event hook receiver misconfigured: OKTA_HOOK_SECRET holds a character no HTTP "
        "header value can carry (a line break, another control character or non-ASCII)"]
    assert "QUJDQUJD" not in output
