"""Where the catch-up resumes: Okta's `next` link of the last page it finished, kept in one Cloud
Storage object, so that it outlives the instance and any outage within Okta's 90 days.

How it keeps to Cloud Storage's real behaviour (https://cloud.google.com/storage/docs):
- Every read is of the live object. google-cloud-storage downloads a Blob it has read or written
  through that generation (`Blob._get_download_url`: the object's mediaLink names it), which on
  Cloud Storage reads a superseded generation (404) once anyone rewrites the object; so each read
  is made with a new Blob, and only the client (its connections and credentials) is kept.
- Every write is conditional on the generation this pass read or wrote (ifGenerationMatch; 0 when
  there was no object: request-preconditions), so two passes can never both move the cursor, and
  neither can move it back over the other. A write refused by its precondition is re-read: the
  object holding exactly this pass's bytes means the write went through and only its answer was
  lost (the library's retry then meets its own write); anything else is another pass's cursor.
- At most one write a second (quotas: "one write per second to the same object name"): a pass
  writes its position when a second has passed since its read or last write, and the last
  position when it ends (flush), after the rest of the second since the object was saved.
- The object is read up to MAX_CURSOR_BYTES (a ranged read); a larger one is no cursor.
- Every call ends within the pass's time, however Cloud Storage's bytes trickle in: the client's
  connections are watched (watched_http.py); the last write, made as the time runs out, gets at
  most FINAL_WRITE_SECONDS more.

The object holds a position, not a record: losing it costs a re-read of the look-back window, never
a line (each line is shown once in Cloud Logging). google-cloud-storage is imported on first use;
it honours STORAGE_EMULATOR_HOST (and then sends no credentials), which is how the tests and
`make demo` use a local emulator.
"""

import json
import os
import time
import uuid
from datetime import datetime, timezone
from typing import NamedTuple

from okta_hook.catch_up.okta_http import Deadline
from okta_hook.catch_up.okta_oauth import clip
from okta_hook.catch_up.system_log import parsed_time
from okta_hook.catch_up.watched_http import WatchedAdapter, watched
from okta_hook.inputs import RequestRejected, load_json

CONNECT_SECONDS, READ_SECONDS = 5, 30
MAX_CURSOR_BYTES = 64 * 1024  # a cursor is a link and a time: a few hundred bytes
# Cloud Storage: one write a second to the same object; a tenth more for the request's own time
# and the writers' clocks (the object's `saved` time is the writer's).
WRITE_INTERVAL_SECONDS = 1.1
# What a call made after the pass's time is up may still take: the final write of the position.
FINAL_WRITE_SECONDS = 5.0


class Stored(NamedTuple):
    next_url: str  # Okta's next link: where the next pass reads on
    published: str | None  # of the last event read before it
    saved: str | None = None  # when the pass that wrote it did so (read back, never written)


class CursorUnusable(Exception):
    """The object is there but holds no cursor this pass may follow (the pass falls back)."""


class StorageUnavailable(Exception):
    """Cloud Storage could not be read or written: the pass fails and is tried again."""


class LostRace(Exception):
    """The object is no longer what this pass read or wrote: another pass moved it, or it was
    deleted or rewritten meanwhile. The message says which."""


class NoCursor:
    """No OKTA_CATCH_UP_CURSOR (or a backfill, which leaves the cursor alone): nothing is read
    and nothing is written."""

    location = None

    def read(self, deadline: Deadline) -> Stored | None:
        return None

    def advance(self, stored: Stored, deadline: Deadline) -> None:
        pass

    def flush(self, deadline: Deadline) -> None:
        pass


class StorageCursor:
    def __init__(self, bucket: str, name: str):
        self.location = f"gs://{bucket}/{name}"
        self._bucket_name, self._name = bucket, name
        self._bucket = None  # the client's bucket handle, made on first use and kept
        self._start(generation=None, saved_at=None)

    def _start(self, generation: int | None, saved_at: float | None) -> None:
        """This pass's view of the object: what a write requires, and when it may write."""
        now = time.time()
        self._generation = generation
        self._pending: Stored | None = None  # a position not written yet
        self._pass_id = uuid.uuid4().hex  # in every object this pass writes
        # Cloud Storage's rate: not before a second after the object was saved (a saved time
        # in the future counts as now). A pass's own writes: a second after its read at first.
        self._earliest_write = min(saved_at if saved_at is not None else 0.0, now) + \
            WRITE_INTERVAL_SECONDS
        self._next_checkpoint = now + WRITE_INTERVAL_SECONDS

    def read(self, deadline: Deadline) -> Stored | None:
        """The stored cursor; None when there is none. CursorUnusable when the object holds
        something else (its generation is kept, so the pass may still replace it). Starts a
        pass: what it writes is conditional on what this read saw."""
        data, generation = self._download(deadline)
        if data is None:
            self._start(generation=0, saved_at=None)
            return None
        if data is _TOO_LARGE:
            self._start(generation, saved_at=None)
            raise CursorUnusable(f"{self.location} is larger than {MAX_CURSOR_BYTES} bytes")
        document = _document(data)
        self._start(generation, _saved_at(document))
        if document is None:
            raise CursorUnusable(f"{self.location} does not hold a cursor")
        saved = document.get("saved")
        stored = Stored(document.get("next"), document.get("published"),
                        saved if isinstance(saved, str) else None)
        if not isinstance(stored.next_url, str) or not isinstance(stored.published,
                                                                  (str, type(None))):
            raise CursorUnusable(f"{self.location} does not hold a cursor")
        return stored

    def advance(self, stored: Stored, deadline: Deadline) -> None:
        """Make `stored` where the next pass resumes: written now if this pass has not written
        for a second, else kept for a later advance() or flush()."""
        self._pending = stored
        if time.time() >= max(self._next_checkpoint, self._earliest_write):
            self._write(deadline)

    def flush(self, deadline: Deadline) -> None:
        """Write the position not written yet, once Cloud Storage's rate allows (within a
        second)."""
        if self._pending is None:
            return
        wait = self._earliest_write - time.time()
        if wait > 0:
            time.sleep(min(wait, WRITE_INTERVAL_SECONDS))
        self._write(deadline)

    def _write(self, deadline: Deadline) -> None:
        from google.api_core import exceptions

        stored, self._pending = self._pending, None
        data = json.dumps({"next": stored.next_url, "published": stored.published,
                           "saved": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                           "pass": self._pass_id}).encode()
        blob = self._blob()
        generation, failure = None, None
        with watched(_budget(deadline)) as watchdog:
            try:
                blob.upload_from_string(data, content_type="application/json",
                                        if_generation_match=self._generation, **_limits(deadline))
                generation = blob.generation
            except exceptions.PreconditionFailed:
                pass
            except Exception as error:
                failure = StorageUnavailable(_describe(error, "write", self.location,
                                                       watchdog.fired))
            if watchdog.fired and failure is None:  # a cut answer: whether it held is not known
                failure = StorageUnavailable(_describe(None, "write", self.location, True))
        if failure is not None:
            generation = self._landed(data, deadline)
            if generation is None:
                raise failure
        elif generation is None:
            generation = self._own_write(data, deadline)
        now = time.time()
        self._generation = generation
        self._earliest_write = self._next_checkpoint = now + WRITE_INTERVAL_SECONDS

    def _own_write(self, data: bytes, deadline: Deadline) -> int:
        """The generation of `data` if the object holds it (this pass's write, whose answer was
        lost); LostRace saying what the object holds instead."""
        live, generation = self._download(deadline)
        if live == data:
            return generation
        if live is None:
            raise LostRace(f"{self.location} was deleted during the pass")
        document = _document(live) if live is not _TOO_LARGE else None
        writer = document.get("pass") if document else None
        if isinstance(writer, str) and writer != self._pass_id:
            raise LostRace(f"another pass moved {self.location}")
        raise LostRace(f"{self.location} was rewritten during the pass, not by a pass")

    def _landed(self, data: bytes, deadline: Deadline) -> int | None:
        """The generation of `data` if the object holds it after all (a write whose answer was
        lost, or came too late), else None."""
        try:
            return self._own_write(data, deadline)
        except (LostRace, StorageUnavailable):
            return None

    def _download(self, deadline: Deadline) -> tuple:
        """(bytes, generation) of the live object, (_TOO_LARGE, generation) past the cap, or
        (None, None) when there is none."""
        from google.api_core import exceptions

        blob = self._blob()  # new: a Blob that has seen a generation would read only that one
        with watched(_budget(deadline)) as watchdog:
            try:
                try:  # one byte past the cap: a ranged read, answered whole, never cut short
                    data = blob.download_as_bytes(start=0, end=MAX_CURSOR_BYTES, checksum=None,
                                                  **_limits(deadline))
                except exceptions.RequestRangeNotSatisfiable:  # a range of 0 bytes' answer
                    blob.reload(**_limits(deadline))  # for its generation
                    data = b""
            except exceptions.NotFound:
                return None, None
            except Exception as error:
                raise StorageUnavailable(_describe(error, "read", self.location,
                                                   watchdog.fired)) from None
            if watchdog.fired:  # what came before the cut is not the object
                raise StorageUnavailable(_describe(None, "read", self.location, True))
        return (_TOO_LARGE if len(data) > MAX_CURSOR_BYTES else data), blob.generation

    def _blob(self):
        if self._bucket is None:
            # Without this, the client's first call queues a background GET of the bucket, only
            # to label OpenTelemetry spans this function never exports: an extra request per
            # instance, which the catch-up's object role may not make, and a thread that keeps
            # retrying after the pass (with the global random module's jitter) when Cloud Storage
            # is unreachable.
            os.environ.setdefault("DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA", "true")
            try:
                from google.cloud import storage

                client = storage.Client()
                # Its requests session (google-cloud-core's Client._http, an AuthorizedSession)
                # makes every call; watched, each ends by the pass's time, as Okta's do.
                adapter = WatchedAdapter()
                client._http.mount("https://", adapter)
                client._http.mount("http://", adapter)
            except Exception as error:  # no credentials, no project
                raise StorageUnavailable(
                    f"no Cloud Storage client ({type(error).__name__}); on a workstation, set "
                    "STORAGE_EMULATOR_HOST for an emulator or sign in with `gcloud auth "
                    "application-default login`") from None
            self._bucket = client.bucket(self._bucket_name)
        return self._bucket.blob(self._name)


def cursor_for(location: tuple | None):
    """The cursor named by the settings' (bucket, object), or NoCursor."""
    return NoCursor() if location is None else StorageCursor(*location)


_TOO_LARGE = b"\0 too large"  # a marker: no JSON document is these bytes


def _document(data: bytes) -> dict | None:
    """The object's JSON object, or None: any bytes at all may be there (nesting deep enough to
    exhaust the parser's recursion included)."""
    try:
        document = load_json(data)
    except RequestRejected:
        return None
    return document if isinstance(document, dict) else None


def _saved_at(document: dict | None) -> float | None:
    """When the object says it was saved (epoch seconds), or None."""
    moment = parsed_time(document.get("saved")) if document else None
    return moment.timestamp() if moment is not None else None


def _budget(deadline: Deadline) -> float:
    """How long a storage call may take: what is left of the pass, or FINAL_WRITE_SECONDS for
    the write made as it runs out."""
    return max(deadline.remaining(), FINAL_WRITE_SECONDS)


def _limits(deadline: Deadline) -> dict:
    """Timeout and retry for one storage call: within the pass's time, and within 30 s."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    seconds = max(min(deadline.remaining(), READ_SECONDS), 1.0)
    return {"timeout": (CONNECT_SECONDS, seconds), "retry": DEFAULT_RETRY.with_timeout(seconds)}


def _describe(error: Exception | None, verb: str, location: str,
              out_of_time: bool = False) -> str:
    """What went wrong, with Cloud Storage's own words when it answered (they name the account
    and the permission it lacks, which is what an operator needs after a deploy), also when the
    client's retries gave up on it."""
    from google.api_core import exceptions

    if out_of_time:
        return (f"Cloud Storage could not {verb} {location}: no whole answer within the pass's "
                "time")
    retried = isinstance(error, exceptions.RetryError)
    cause = error.cause if retried and error.cause is not None else error
    if getattr(cause, "response", None) is not None and getattr(cause, "code", None) is None:
        # The media layer's InvalidResponse: the answer, not yet read as Cloud Storage's error.
        cause = exceptions.from_http_response(cause.response)
    after = ", still so when the client stopped retrying" if retried else ""
    code = getattr(cause, "code", None)
    words = getattr(cause, "message", None)
    if code is not None and words:
        return (f"Cloud Storage could not {verb} {location}: HTTP {code} ({clip(words, 300)})"
                f"{after}")
    return f"Cloud Storage could not {verb} {location}: no answer ({type(cause).__name__}){after}"
