"""One HTTP exchange, timed, over the standard library, the way Okta makes it (no redirects)."""

import http.client
import time
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict  # lower-cased names
    body: bytes
    seconds: float


def exchange(url: str, method: str, headers: dict, body: bytes | None = None,
             timeout: float = 3.0) -> Reply:
    """Send one request and read the whole answer; socket errors and timeouts propagate."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.netloc, timeout=timeout)
    started = time.perf_counter()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)  # str or bytes: bytes go on the wire as they are
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, reply_headers, data, time.perf_counter() - started)
    finally:
        connection.close()
