"""The fidelity proxy's own rules, over HTTP in front of fake-gcs-server: the catch-up's storage
tests trust it to behave as Cloud Storage does, so each rule is held to exactly what it claims.
Which requests a fault applies to, which requests are writes, the one-write-a-second edge, and the
words of Cloud Storage's answers (cloud.google.com/storage/docs/json_api/v1/status-codes)."""

import http.client
import json
import urllib.parse
import uuid

import pytest

from okta_simulator.storage_fidelity import RATE_MESSAGE, FidelityProxy, written_object

BUCKET = "okta-catch-up-cursor"  # LocalStorage's


def call(base_url: str, method: str, path: str, body: bytes = b"",
         timeout: float = 10) -> tuple[int, bytes]:
    """(status, body) of one request; raises what the connection raises."""
    where = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None,
                           headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


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
    assert [(w.status, w.at) for w in proxy.writes(name)] == [
        (200, 1000.0), (429, 1000.999), (200, 1001.0)]
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
    with FidelityProxy(storage.emulator_url) as proxy:
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
    assert [w.status for w in proxy.writes(name)] == [503]


def test_a_failure_without_method_or_path_applies_to_the_next_requests(storage, name):
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.fail_next(429, 2)
        assert call(proxy.url, "GET", object_path(name))[0] == 429
        assert call(proxy.url, "POST", upload_path(name), b"x")[0] == 429
        assert call(proxy.url, "GET", object_path(name))[0] == 404  # the emulator's answer


def test_a_dropped_answer_applies_only_to_its_method_and_path(storage, name):
    with FidelityProxy(storage.emulator_url) as proxy:
        proxy.drop_next("POST", "/upload/")
        assert call(proxy.url, "GET", upload_path(name))[0] > 0  # answered
        assert call(proxy.url, "POST", "/storage/v1/b", new_bucket(name))[0] == 200
        with pytest.raises(http.client.RemoteDisconnected):
            call(proxy.url, "POST", upload_path(name), b"landed")
        assert call(proxy.url, "POST", upload_path(f"{name}-next"), b"x")[0] == 200
    assert storage.read(name) == b"landed"  # the emulator acted; only the answer was lost
    assert [w.status for w in proxy.writes(name)] == [None]


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
