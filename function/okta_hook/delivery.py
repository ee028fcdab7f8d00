"""Reading and parsing an event hook delivery: bounded body, strict UTF-8 JSON, envelope shape.

Only what the receiver uses is checked (a JSON object with `data.events` a list); every other
envelope field may be absent, null or of another type, as Okta's samples vary between versions.
"""

import re
from typing import NamedTuple

from okta_hook.inputs import RequestRejected, load_json

# An eventId is Okta's UUID. Anything longer, or holding control characters, is not one: it is
# neither remembered nor copied into log lines (a 1 MiB eventId once made every line 1 MiB).
MAX_EVENT_ID_CHARS = 128
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


class Delivery(NamedTuple):  # not a frozen dataclass: made per request, in 2/3 of the time
    event_id: str | None  # Okta's key for recognising a repeated delivery; None if unusable
    events: list
    odd_event_id: bool = False  # an eventId was sent but is unusable (see above)


async def read_body(request, limit: int) -> bytes:
    """The request body, refusing (413) one longer than `limit` before reading it all.

    Reads the ASGI messages directly: Okta's bodies arrive in one or a few messages, and this
    path runs on every delivery.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":  # the client went away mid-body
            raise RequestRejected(400, "the request body ended early")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_delivery(body: bytes) -> Delivery:
    """The delivery in `body`, or RequestRejected(400) saying what is wrong with it."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise RequestRejected(400, "body must be a JSON object (an Okta event hook envelope)")
    data = document.get("data")
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise RequestRejected(400, "data.events must be a list of Okta System Log events")
    event_id = document.get("eventId")
    usable = (isinstance(event_id, str) and len(event_id) <= MAX_EVENT_ID_CHARS
              and _PRINTABLE.fullmatch(event_id) is not None)
    return Delivery(event_id=event_id if usable else None, events=events,
                    odd_event_id=event_id is not None and not usable)


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(413, f"body is larger than {limit} bytes")
