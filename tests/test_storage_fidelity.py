"""The fidelity proxy's own rules, over HTTP in front of fake-gcs-server: the catch-up's storage
tests trust it to behave as Cloud Storage does, so each rule is held to exactly what it claims.
Which requests a fault applies to, which requests are writes, the one-write-a-second edge, and the
words of Cloud Storage's answers (cloud.google.com/storage/docs/json_api/v1/status-codes)."""

import http.client
import json
import socket
import urllib.parse
import uuid

import pytest

from okta_simulator.storage_fidelity import (
    RATE_MESSAGE,
    Exchange,
    FidelityProxy,
    with_generation_links,
    written_object,
)

BUCKET = "okta-catch-up-cursor"  # LocalStorage's


def call(base_url: str, method: str, path: str, body: bytes = b"",
         timeout: float = 10) -> tuple[int, bytes]:
    """(status, body) of one request; raises what the connection raises."""
    status, _, answer = call_with_headers(base_url, method, path, body, timeout)
    return status, answer


def call_with_headers(base_url: str, method: str, path: str, body: bytes = b"",
                      timeout: float = 10) -> tuple[int, list, bytes]:
    """(status, [(header, value)] as sent, body) of one request."""
    where = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None,
                           headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def named(headers: list, name: str) -> list:
    return [value for key, value in headers if key.lower() == name]


def upload_path(name: str) -> str:
    return f"/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={name}"


def object_path(name: str) -> str:
    return f"/storage/v1/b/{BUCKET}/o/{name}"


def new_bucket(name: str) -> bytes:
    """A JSON API POST that is neither an upload nor a write of an object: a bucket's creation."""
    return json.dumps({"name": f"{name}-bucket"}).encode()


@pytest.fixture
def name() -> str:
    return f"fidelity-{uuid.uuid4().hex}"


# --- which requests are writes ------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, expected", [
    ("POST", "/upload/storage/v1/b/B/o?uploadType=media&name=a%2Fb", b"x", ("B", "a/b")),
    ("POST", "/upload/storage/v1/b/B/o?uploadType=multipart",
     b'--s\r\n\r\n{"name": "c\\"d"}\r\n--s\r\n\r\nx\r\n--s--', ("B", 'c"d')),
    ("PUT", "/storage/v1/b/B/o/a%2Fb", b"{}", ("B", "a/b")),
    ("PATCH", "/storage/v1/b/B/o/n", b"{}", ("B", "n")),
    ("DELETE", "/storage/v1/b/B/o/n", b"", ("B", "n")),
    # Not writes: an upload path read, a JSON API POST elsewhere, a read of an object.
    ("GET", "/upload/storage/v1/b/B/o?uploadType=media&name=n", b"", None),
    ("POST", "/storage/v1/b", b'{"name": "B"}', None),
    ("POST", "/upload/storage/v1/b/B/o?uploadType=multipart", b"no metadata", None),
    ("GET", "/storage/v1/b/B/o/n", b"", None),
])
def test_only_uploads_and_object_changes_are_writes(method, path, body, expected):
    assert written_object(method, path, body) == expected


# --- one write a second per object --------------------------------------------------------------

class Clock:
    """The proxy's clock, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_write_a_second_after_the_last_is_taken_and_one_sooner_is_429(storage, name):
    clock = Clock()
    with FidelityProxy(storage.emulator_url, clock=clock) as proxy:
        assert call(proxy.url, "POST", upload_path(name), b"1")[0] == 200
        clock.now += 0.999
        status, answer = call(proxy.url, "POST", upload_path(name), b"2")
        clock.now += 0.001  # exactly one second after the write that was taken
        assert call(proxy.url, "POST", upload_path(name), b"3")[0] == 200
        # The rate is per object, and reads are not writes.
        assert call(proxy.url, "POST", upload_path(f"{name}-other"), b"4")[0] == 200
        assert call(proxy.url, "GET", f"{object_path(name)}?alt=media")[0] == 200
    assert status == 429
    message = RATE_MESSAGE.format(bucket=BUCKET, name=name)
    assert json.loads(answer) == {"error": {"code": 429, "message": message, "errors": [
        {"message": message, "domain": "usageLimits", "reason": "rateLimitExceeded"}]}}
    assert proxy.writes(name) == [
        Exchange("POST", upload_path(name), status, at, name)
        for status, at in ((200, 1000.0), (429, 1000.999), (200, 1001.0))]
    assert storage.read(name) == b"3"  # the refused write never reached the emulator


def test_a_refused_write_does_not_restart_the_second(storage, name):
    clock = Clock()
    with FidelityProxy(storage.emulator_url, clock=clock) as proxy:
        call(proxy.url, "POST", upload_path(name), b"1")
        clock.now += 0.5
        assert call(proxy.url, "POST", upload_path(name), b"2")[0] == 429
        clock.now += 0.5
        assert call(proxy.url, "POST", upload_path(name), b"3")[0] == 200


# --- which requests a fault applies to ----------------------------------------------------------

def test_a_failure_applies_only_to_its_method_and_path(storage, name):
    with FidelityProxy(storage.emulator_url, clock=Clock()) as proxy:
        proxy.fail_next(503, 1, "POST", "/upload/")
        # The method alone, or the path alone, is not enough.
        assert call(proxy.url, "GET", upload_path(name))[0] != 503
        assert call(proxy.url, "POST", "/storage/v1/b", new_bucket(name))[0] == 200
        status, answer = call(proxy.url, "POST", upload_path(name), b"x")
        assert call(proxy.url, "POST", upload_path(f"{name}-next"), b"x")[0] == 200  # one only
    assert status == 503
    assert json.loads(answer) == {"error": {"code": 503, "message": "Service Unavailable",
                                            "errors": [{"message": "Service Unavailable",
                                                        "domain": "global",
                                                        "reason": "backendError"}]}}
    assert storage.read(name) is None  # a failed request is not forwarded
    assert proxy.writes(name) == [Exchange("POST", upload_path(name), 503, 1000.0, name)]
    assert proxy.requests[0] == Exchange("GET", upload_path(name), 404, 1000.0, None)


def test_failures_asked_for_in_turn_all_apply_in_turn(storage, name):
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.fail_next(503)  # one, of any request
        proxy.fail_next(429, 1, "GET")
        assert call(proxy.url, "GET", object_path(name))[0] == 503
        assert call(proxy.url, "POST", upload_path(name), b"x")[0] == 200
        assert call(proxy.url, "GET", object_path(name))[0] == 429
        assert call(proxy.url, "GET", object_path(name))[0] == 200


def test_a_failure_without_method_or_path_applies_to_the_next_requests(storage, name):
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.fail_next(429, 2)
        assert call(proxy.url, "GET", object_path(name))[0] == 429
        assert call(proxy.url, "POST", upload_path(name), b"x")[0] == 429
        assert call(proxy.url, "GET", object_path(name))[0] == 404  # the emulator's answer


def test_a_dropped_answer_applies_only_to_its_method_and_path(storage, name):
    with FidelityProxy(storage.emulator_url, clock=Clock()) as proxy:
        proxy.drop_next("POST", "/upload/")
        assert call(proxy.url, "GET", upload_path(name))[0] > 0  # answered
        assert call(proxy.url, "POST", "/storage/v1/b", new_bucket(name))[0] == 200
        with pytest.raises(http.client.RemoteDisconnected):
            call(proxy.url, "POST", upload_path(name), b"landed")
        assert call(proxy.url, "POST", upload_path(f"{name}-next"), b"x")[0] == 200
    assert storage.read(name) == b"landed"  # the emulator acted; only the answer was lost
    assert proxy.writes(name) == [Exchange("POST", upload_path(name), None, 1000.0, name)]


def test_a_trickled_answer_applies_only_to_its_method_and_path(storage, name):
    """A byte every 20 s: a client waiting 3 s for the next byte gives up on the trickled
    answer only; the requests that do not match are answered whole."""
    storage.write(name, b"body")
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.trickle_next("GET", f"/storage/v1/b/{BUCKET}/o/{name}", 20)
        assert call(proxy.url, "HEAD", object_path(name), timeout=3)[0] == 200  # not GET
        assert call(proxy.url, "GET", f"/storage/v1/b/{BUCKET}/o?prefix={name}",
                    timeout=3)[0] == 200  # not the path
        with pytest.raises(TimeoutError):
            call(proxy.url, "GET", f"{object_path(name)}?alt=media", timeout=3)
        assert call(proxy.url, "GET", f"{object_path(name)}?alt=media",
                    timeout=3) == (200, b"body")  # one only


def test_a_trickled_answer_arrives_whole(storage, name):
    storage.write(name, b"body")
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.trickle_next("GET", object_path(name), 0.0005)
        status, headers, answer = call_with_headers(
            proxy.url, "GET", f"{object_path(name)}?alt=media")
    assert (status, answer) == (200, b"body")
    assert named(headers, "content-length") == ["4"]


# --- the answers' framing -----------------------------------------------------------------------

def test_each_answer_carries_one_length_of_its_own_body(storage, name):
    """The proxy rewrites object resources (mediaLink), so the emulator's Content-Length must not
    pass through beside its own, nor its Date and Server beside the proxy's."""
    storage.write(name, b"x")
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.fail_next(503, 1, "GET", f"{object_path(name)}?fail")
        answers = [call_with_headers(proxy.url, "GET", path)
                   for path in (object_path(name), f"{object_path(name)}?fail")]
    for status, headers, answer in answers:
        assert named(headers, "content-length") == [str(len(answer))], status
        assert len(named(headers, "date")) == len(named(headers, "server")) == 1
    assert json.loads(answers[0][2])["mediaLink"].endswith("&alt=media")  # rewritten, longer
    assert named(answers[1][1], "content-type") == ["application/json"]  # as Google's errors


def head_request(base_url: str, path: str) -> tuple[bytes, bytes]:
    """(status line and headers, whatever came after them) of a HEAD, read off the socket."""
    where = urllib.parse.urlsplit(base_url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as connection:
        connection.sendall(f"HEAD {path} HTTP/1.0\r\n\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, after = received.partition(b"\r\n\r\n")
    return head, after


def test_an_answer_to_head_has_no_body(storage, name):
    storage.write(name, b"x")
    with FidelityProxy(storage.emulator_url) as proxy:
        head, after = head_request(proxy.url, object_path(name))
    assert head.startswith(b"HTTP/1.0 200") and after == b""


# --- mediaLink as Cloud Storage gives it --------------------------------------------------------

LINK = "http://127.0.0.1:1/download/storage/v1/b/B/o/O"


@pytest.mark.parametrize("link, expected", [
    (f"{LINK}?alt=media", f"{LINK}?generation=7&alt=media"),
    (LINK, f"{LINK}?generation=7"),
    (f"{LINK}?generation=5&alt=media", f"{LINK}?generation=5&alt=media"),  # as it is
])
def test_an_object_s_media_link_names_its_generation(link, expected):
    resource = {"name": "O", "generation": "7", "mediaLink": link}
    assert json.loads(with_generation_links(json.dumps(resource).encode()))["mediaLink"] == \
        expected
    listed = {"kind": "storage#objects", "items": [resource, {**resource, "generation": "8"}]}
    links = [item["mediaLink"] for item in
             json.loads(with_generation_links(json.dumps(listed).encode()))["items"]]
    assert links == [expected, expected.replace("=7", "=8")]


@pytest.mark.parametrize("body", [
    b'{"name": "O",  "mediaLink": "http://h/o"}',  # no generation
    b'{"generation": "7", "mediaLink": null}',
    b'{"generation": "7"}',
    b'[{"generation": "7", "mediaLink": "http://h/o"}]',  # not an object resource
    b'"text"',
    b"\x00\xffan object's own bytes",
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser goes
])
def test_any_other_body_passes_byte_for_byte(body):
    assert with_generation_links(body) is body


def test_the_proxy_gives_every_object_resource_its_generation_link(storage, name):
    storage.write(name, b"x")
    with FidelityProxy(storage.emulator_url) as proxy:
        resource = json.loads(call(proxy.url, "GET", object_path(name))[1])
        listed = json.loads(call(proxy.url, "GET", f"/storage/v1/b/{BUCKET}/o?prefix={name}")[1])
    suffix = f"/o/{name}?generation={resource['generation']}&alt=media"
    assert resource["mediaLink"].endswith(suffix)
    assert [item["mediaLink"].endswith(suffix) for item in listed["items"]] == [True]


def test_a_failure_answered_to_head_has_no_body_either(storage, name):
    """The proxy's own error documents go through the same answer as the emulator's."""
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.fail_next(503, 1, "HEAD")
        head, after = head_request(proxy.url, object_path(name))
    assert head.startswith(b"HTTP/1.0 503") and after == b""
