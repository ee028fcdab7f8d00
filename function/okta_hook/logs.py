"""Structured log lines in Cloud Logging's format: one JSON object per line on stdout.

Cloud Run turns each stdout line that is a JSON object into a log entry, taking
`severity` and `message` from it and keeping every other key in jsonPayload. json.dumps escapes
newlines and control characters, so nothing a sender puts in a field can start a new entry.
"""

import contextvars
import hashlib
import json
import re
import sys
import threading
from datetime import datetime

import orjson

# Special keys of a structured line: the entry's insertId and timestamp, not jsonPayload fields.
# https://cloud.google.com/logging/docs/structured-logging#special-payload-fields
INSERT_ID = "logging.googleapis.com/insertId"
TIMESTAMP = "timestamp"
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")

_write_lock = threading.Lock()
# Lines held by together() in this thread or task, written by it in one go.
_held: contextvars.ContextVar[list | None] = contextvars.ContextVar("held_lines", default=None)


def log(severity: str, message: str, **fields) -> None:
    """Write one record whole, even when several threads log at once."""
    line = encode({"severity": severity, "message": message, **fields})
    held = _held.get()
    if held is not None:
        held.append(line)
    else:
        _write(line)


class together:
    """Write the lines logged inside the block in one write, when it ends (even by an
    exception). Each write is a system call, which sandboxed runtimes such as Cloud Run's make
    costly: a delivery of 1,000 events writes once, not 1,000 times. Lines are still whole and in
    order, and are written before the caller answers. A class, not a contextlib generator: it runs
    on every delivery, and the generator's machinery cost about a microsecond more per block."""

    __slots__ = ("_lines", "_token")

    def __enter__(self) -> None:
        self._lines = []
        self._token = _held.set(self._lines)

    def __exit__(self, *exception) -> None:
        _held.reset(self._token)
        if self._lines:
            _write("".join(self._lines))


def _write(text: str) -> None:
    with _write_lock:
        # Looked up on each call: functions-framework may redirect stdout to add execution ids.
        sys.stdout.write(text)
        sys.stdout.flush()


def encode(record: dict) -> str:
    """One line of JSON, ASCII only (whatever stdout's encoding). orjson writes most lines in a
    fraction of json's time; a line with non-ASCII text, or a lone surrogate orjson cannot
    encode, is written by json, escaped, in the same compact form."""
    try:
        data = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        data = b"\x80"  # not ASCII: take the json path below
    if data.isascii():
        return data.decode("ascii")
    return json.dumps(record, separators=(",", ":")) + "\n"


def shown_once(published: str | None, uuid: str | None, subject: str) -> dict:
    """Fields that make Cloud Logging show an entry once, however often it is written.

    Entries of one project with the same insertId and timestamp are one entry in query results, so
    the insertId is derived from the event's `uuid` and the `subject` of the line (a user, say) and
    the timestamp is the event's own `published`, not the time of writing. Without a uuid there is
    nothing stable to derive from, so Cloud Logging assigns the insertId. A `published` that is not
    RFC 3339 is left out: Cloud Logging would otherwise refuse or misplace the entry.
    """
    fields = {}
    if uuid is not None:
        digest = hashlib.sha256(f"{uuid}\0{subject}".encode()).hexdigest()
        fields[INSERT_ID] = "okta-" + digest[:40]
    if published is not None and _RFC3339.fullmatch(published) and _is_a_date(published):
        fields[TIMESTAMP] = published
    return fields


def _is_a_date(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
