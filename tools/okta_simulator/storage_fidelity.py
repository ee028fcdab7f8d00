"""A small proxy that makes fake-gcs-server behave like Cloud Storage where the cursor needs it.

fake-gcs-server speaks Cloud Storage's JSON API and honours generations and preconditions, but it
differs from the real service in ways that hide the failures that matter here:

- **mediaLink.** Cloud Storage's object resource carries a `mediaLink` that names the generation,
  `.../download/storage/v1/b/B/o/O?generation=N&alt=media`; the emulator's has no generation.
  google-cloud-storage downloads a `Blob` it has loaded or written through that link
  (`Blob._get_download_url`), so on the real service such a Blob keeps reading generation N (404
  once the object is rewritten), while on the emulator it reads the live object. The proxy adds
  the generation as Cloud Storage does.
- **One write a second per object.** https://cloud.google.com/storage/quotas : "a maximum rate of
  one write per second to the same object name", answered 429 beyond it. The emulator takes any
  rate; the proxy answers 429 (Cloud Storage's words) to a write within `write_interval` of the
  last successful one to the same object.
- **A lost answer.** `drop_next(...)` forwards the next matching request, lets the emulator act on
  it, then closes the connection without answering: what a client sees when a reply is lost.
- **A failing service.** `fail_next(status, count)` answers the next requests with Cloud Storage's
  error document for `status`, without forwarding them.

Everything else passes through unchanged. `requests` records what was asked and answered.
"""

import http
import http.client
import http.server
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import NamedTuple

# Cloud Storage's answer to a write beyond the object's rate (cloud.google.com/storage/docs/gcs429).
RATE_MESSAGE = ("The object {bucket}/{name} exceeded the rate limit for object mutation operations "
                "(create, update, and delete). Please reduce your request rate. See "
                "https://cloud.google.com/storage/docs/gcs429.")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
_OBJECT_PATH = re.compile(r"/storage/v1/b/([^/]+)/o/([^/?]+)")
_UPLOAD_PATH = re.compile(r"/upload/storage/v1/b/([^/]+)/o")
_MULTIPART_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')


class Exchange(NamedTuple):
    method: str
    path: str
    status: int | None  # None: the answer was dropped
    at: float  # the proxy's clock (time.monotonic()) when the request arrived
    object_name: str | None  # the object a write was for


class FidelityProxy:
    """Use as a context manager in front of the emulator at `upstream` (http://host:port).
    `clock` times the writes (a test's own clock shows the write interval's edge exactly)."""

    def __init__(self, upstream: str, write_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.write_interval = write_interval
        self.clock = clock
        self.requests: list[Exchange] = []
        # Rules for the next matching requests, in order: (method or None for any, path prefix,
        # what the rule gives: True for a drop, seconds a byte for a trickle, a status).
        self._drops: list[tuple] = []
        self._trickles: list[tuple] = []
        self._failures: list[tuple] = []
        self._last_write: dict[tuple, float] = {}  # (bucket, object) -> monotonic time
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> "FidelityProxy":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def drop_next(self, method: str, path_prefix: str) -> None:
        """Act on the next `method` request whose path starts with `path_prefix`, answer nothing."""
        with self._lock:
            self._drops.append((method, path_prefix, True))

    def trickle_next(self, method: str, path_prefix: str, seconds_a_byte: float) -> None:
        """Act on the next `method` request whose path starts with `path_prefix`, and send its
        answer (status line and headers included) a byte at a time, `seconds_a_byte` apart: each
        read of the client's gets something, so a socket timeout never fires."""
        with self._lock:
            self._trickles.append((method, path_prefix, seconds_a_byte))

    def fail_next(self, status: int, count: int = 1, method: str | None = None,
                  path_prefix: str = "") -> None:
        """Answer the next `count` requests `status` (of `method` whose path starts with
        `path_prefix`, when given), as Cloud Storage words such an answer."""
        with self._lock:
            self._failures += [(method, path_prefix, status)] * count

    def stop_failing(self) -> None:
        with self._lock:
            self._failures.clear()

    def writes(self, name: str | None = None) -> list[Exchange]:
        """The object writes asked for (to `name`, or to any object), in order."""
        return [r for r in self.requests if r.object_name is not None
                and name in (None, r.object_name)]

    # --- what the handler asks ------------------------------------------------------------------

    def _take(self, rules: list, method: str, path: str):
        """What the first of `rules` matching this request gives, that rule used up; else None."""
        with self._lock:
            for rule in rules:
                wanted, prefix, given = rule
                if wanted in (None, method) and path.startswith(prefix):
                    rules.remove(rule)
                    return given
        return None

    def _too_soon(self, key: tuple) -> bool:
        with self._lock:
            last = self._last_write.get(key)
            return last is not None and self.clock() - last < self.write_interval

    def _wrote(self, key: tuple) -> None:
        with self._lock:
            self._last_write[key] = self.clock()

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                                timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def written_object(method: str, path: str, body: bytes) -> tuple | None:
    """(bucket, object) that a request writes, or None if it writes no object."""
    parts = urllib.parse.urlsplit(path)
    upload = _UPLOAD_PATH.fullmatch(parts.path)
    if method == "POST" and upload:
        query = dict(urllib.parse.parse_qsl(parts.query))
        name = query.get("name")
        if name is None:  # multipart: the name is in the metadata part
            found = _MULTIPART_NAME.search(body)
            name = json.loads(b'"' + found.group(1) + b'"') if found else None
        return (upload.group(1), name) if name else None
    found = _OBJECT_PATH.fullmatch(parts.path)
    if method in ("PUT", "PATCH", "DELETE") and found:
        return found.group(1), urllib.parse.unquote(found.group(2))
    return None


def with_generation_links(body: bytes) -> bytes:
    """An object resource (or a list of them) with mediaLink naming its generation, as Cloud
    Storage's does; any other body as it is."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # an object's own bytes, deeply nested ones included
        return body
    resources = document.get("items", [document]) if isinstance(document, dict) else []
    changed = False
    for resource in resources:
        link, generation = resource.get("mediaLink"), resource.get("generation")
        if isinstance(link, str) and generation and "generation=" not in link:
            base, _, query = link.partition("?")
            resource["mediaLink"] = f"{base}?generation={generation}" + (f"&{query}" if query
                                                                        else "")
            changed = True
    return json.dumps(document).encode() if changed else body


def _handler_for(proxy: FidelityProxy):
    class Handler(http.server.BaseHTTPRequestHandler):
        # Each answer closes its connection (HTTP/1.0): the cursor does not depend on connection
        # reuse, and a test process then keeps no idle sockets of catch-up instances it dropped.
        protocol_version = "HTTP/1.0"

        def _serve(self):
            arrived = proxy.clock()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            written = written_object(self.command, self.path, body)
            name = written[1] if written else None
            failure = proxy._take(proxy._failures, self.command, self.path)
            if failure is not None:
                proxy.requests.append(Exchange(self.command, self.path, failure, arrived, name))
                return self._error(failure, http.HTTPStatus(failure).phrase, "backendError")
            if written and proxy._too_soon(written):
                proxy.requests.append(Exchange(self.command, self.path, 429, arrived, name))
                return self._error(429, RATE_MESSAGE.format(bucket=written[0], name=written[1]),
                                   "rateLimitExceeded")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            status, answer_headers, answer = proxy._forward(self.command, self.path, headers, body)
            if written and 200 <= status < 300:
                proxy._wrote(written)
            if proxy._take(proxy._drops, self.command, self.path):
                proxy.requests.append(Exchange(self.command, self.path, None, arrived, name))
                self.close_connection = True  # the emulator acted; the client hears nothing
                return
            proxy.requests.append(Exchange(self.command, self.path, status, arrived, name))
            self._answer(status, answer_headers, with_generation_links(answer),
                         proxy._take(proxy._trickles, self.command, self.path))

        def _error(self, status: int, message: str, reason: str) -> None:
            """Cloud Storage's JSON error document."""
            answer = json.dumps({"error": {"code": status, "message": message, "errors": [
                {"message": message, "domain": "usageLimits" if status == 429 else "global",
                 "reason": reason}]}}).encode()
            self._answer(status, [("Content-Type", "application/json")], answer)

        def _answer(self, status: int, headers, body: bytes, trickle: float | None = None) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if trickle is None:
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return
            head, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n", []
            try:
                for byte in head + body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(trickle)
            except OSError:  # the client gave up
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, *args):
            pass

    return Handler
