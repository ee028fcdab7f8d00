"""What bounds a catch-up pass however Okta frames its answers, and a backfill request however its
body is sent: a deadline that holds for every framing, a body read no further than its limit."""

import json
import select
import socket
import time

import pytest

from helpers import deactivation, env_for
from okta_simulator.local_receiver import LocalReceiver


@pytest.mark.parametrize("framing", ["http/1.0", "close", "length", "chunked"])
def test_a_body_that_trickles_after_its_headers_ends_at_the_pass_s_limit(make_catch_up, org,
                                                                         app_key, framing):
    """The headers come at once, then a byte every 50 ms (about a minute for the page): each read
    is quick, so only the deadline can end it. An answer that closes its connection hands its
    socket to the response, out of the connection's reach: the watchdog holds the socket."""
    client = make_catch_up(**env_for(org.url, app_key, OKTA_CATCH_UP_MAX_SECONDS="2"))
    assert client.post("/").status_code == 200  # holds a token: the next exchange is the page
    org.add(deactivation("Ann Lee", "ann@example.com"))
    org.framing, org.trickle, org.trickle_head = framing, 0.05, False
    started = time.monotonic()
    reply = client.post("/")
    took = time.monotonic() - started
    org.trickle = 0
    assert reply.status_code == 200 and took < 3.5
    summary = reply.get_json()
    assert (summary["complete"], summary["pages"], summary["usersLogged"]) == (False, 0, 0)


@pytest.mark.parametrize("framing", ["close", "length", "chunked"])
def test_every_framing_of_okta_s_answers_is_read_whole(make_catch_up, org, app_key, framing):
    org.framing = framing
    org.add(*[deactivation(f"User {n}", f"user{n}@example.com", minutes=5 - n) for n in range(3)])
    client = make_catch_up(**env_for(org.url, app_key))
    summary = client.post("/").get_json()
    assert (summary["usersLogged"], summary["complete"]) == (3, True)
    assert client.post("/").get_json()["complete"] is True  # a kept-alive connection reused


def test_a_backfill_body_nested_past_the_parser_s_depth_is_a_400(make_catch_up, org, app_key):
    body = '{"since": ' + "[" * 1500 + "]" * 1500 + "}"
    reply = make_catch_up(**env_for(org.url, app_key)).post(
        "/", data=body, content_type="application/json")
    assert (reply.status_code, reply.get_json()) == (
        400, {"error": 'the body must be empty (one pass) or {"since": "2026-11-01T00:00:00Z"}'})
    assert org.requests == []


def send_chunked_until_answered(url: str, limit: int) -> tuple[bytes, int]:
    """POST a chunked body of 1 KiB chunks to `url` until the server answers or `limit` bytes
    are sent; (its answer's first bytes, bytes sent)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    sent, chunk = 0, b"400\r\n" + b"{" * 1024 + b"\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
        while sent < limit:
            if select.select([connection], [], [], 0)[0]:
                break
            try:
                connection.sendall(chunk)
            except OSError:  # the server answered and closed its side
                break
            sent += 1024
        return connection.recv(4096), sent


def test_a_chunked_backfill_body_is_refused_at_its_limit_not_read_whole(org, app_key):
    """No Content-Length to check first: the body is read no further than 4 KiB and a byte."""
    with LocalReceiver(env=env_for(org.url, app_key), target="okta_catch_up") as server:
        answer, sent = send_chunked_until_answered(server.url, limit=256 * 1024 * 1024)
        output = server.output()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert sent < 64 * 1024 * 1024  # answered long before the 256 MiB were sent
    assert json.loads(body[body.index(b"{"):body.rindex(b"}") + 1]) == {
        "error": "the body is larger than 4096 bytes"}
    assert "Traceback" not in output and org.requests == []


def test_a_watchdog_that_fires_before_the_connection_shuts_it_once_handed_over():
    """The deadline can come while the connection is still being made: the socket it then gets
    is shut at once, so the exchange ends rather than waits."""
    from okta_hook.catch_up.watched_http import _Watchdog

    watchdog = _Watchdog(0)
    while not watchdog.fired:
        time.sleep(0.01)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(2)  # unshut, the read below would time out instead
        watchdog.watch(ours)
        assert ours.recv(4) == b""  # shut: the read ends at once, with nothing


@pytest.mark.parametrize("chunk", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"])
def test_a_malformed_chunked_body_is_the_sender_s_error_not_a_traceback(org, app_key, chunk):
    """A chunk size that is no number (or a chunk without its CRLF) escaped as gunicorn's
    error: 500 and a traceback. It is a 400 with one line, and Okta is never asked."""
    with LocalReceiver(env=env_for(org.url, app_key), target="okta_catch_up") as server:
        host, port = server.url.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk)
            answer = b""
            while piece := connection.recv(4096):  # the server closes after its answer
                answer += piece
        output = server.output()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body[body.index(b"{"):body.rindex(b"}") + 1]) == {
        "error": "the request's body could not be read: malformed or cut short"}
    assert "Traceback" not in output and org.requests == []
