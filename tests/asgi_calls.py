"""Requests made straight to the ASGI app, with the body in the messages a test chooses.

The test client always sends a whole body with a true Content-Length; Okta's requests, and
broken or hostile ones, arrive as a server hands them over: a Content-Length that says more
than comes, a body split across messages, a client that goes away half-way.
"""

import asyncio
from dataclasses import dataclass, field

from okta_simulator.local_receiver import DEV_SECRET


@dataclass
class AsgiReply:
    status: int
    body: bytes
    messages_read: int  # how many body messages the app asked for
    headers: dict = field(default_factory=dict)


def call(app, chunks: list[bytes | dict], content_length: int | None = None,
         disconnect_after: int | None = None, secret: str = DEV_SECRET) -> AsgiReply:
    """POST `chunks` (one ASGI message each; a dict is sent as the message itself) to `app`;
    after `disconnect_after` messages the client is gone."""
    headers = [(b"host", b"test"), (b"content-type", b"application/json"),
               (b"authorization", secret.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/", "raw_path": b"/",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
    read, sent = 0, []

    async def receive():
        nonlocal read
        read += 1
        if disconnect_after is not None and read > disconnect_after:
            return {"type": "http.disconnect"}
        index = read - 1
        if index >= len(chunks):
            return {"type": "http.disconnect"}
        if isinstance(chunks[index], dict):
            return chunks[index]
        return {"type": "http.request", "body": chunks[index],
                "more_body": index < len(chunks) - 1}

    async def send(message):
        sent.append(message)

    # A loop of its own, never installed as the thread's: asyncio.run() would leave the thread
    # with no current loop, and the Pulumi SDK's test helpers in the same process need one.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app(scope, receive, send))
    finally:
        loop.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return AsgiReply(start["status"], body, read,
                     {k.decode(): v.decode() for k, v in start.get("headers", [])})
