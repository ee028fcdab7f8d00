"""Structured log lines in Cloud Logging's format: one JSON object per line on stdout.

Cloud Functions (2nd gen) turns each stdout line that is a JSON object into a log entry, taking
`severity` and `message` from it and keeping every other key in jsonPayload. json.dumps escapes
newlines and control characters, so nothing a sender puts in a field can start a new entry.
"""

import json
import sys
import threading

_write_lock = threading.Lock()


def log(severity: str, message: str, **fields) -> None:
    """Write one record whole, even when several threads log at once."""
    record = {"severity": severity, "message": message, **fields}
    line = json.dumps(record) + "\n"  # fields are str, int or None
    with _write_lock:
        # Looked up on each call: functions-framework may redirect stdout to add execution ids.
        sys.stdout.write(line)
        sys.stdout.flush()
