"""Where the catch-up resumes: Okta's `next` link of the last page it finished, kept in one Cloud
Storage object, so that it outlives the instance and any outage within Okta's 90 days.

Every write is conditional on the generation the pass last saw (ifGenerationMatch; 0 when there
was no object), so two passes, on two instances or two revisions, can never both move the cursor,
and neither can move it back over the other. The object holds a position, not a record: losing it
costs a re-read of the look-back window, never a line (each line is shown once in Cloud Logging).

google-cloud-storage is imported on first use; it honours STORAGE_EMULATOR_HOST (and then sends
no credentials), which is how the tests and `make demo` use a local emulator.
https://cloud.google.com/storage/docs/request-preconditions
"""

import json
import os
from datetime import datetime, timezone
from typing import NamedTuple

from okta_hook.catch_up.okta_http import Deadline
from okta_hook.catch_up.okta_oauth import clip

CONNECT_SECONDS, READ_SECONDS = 5, 30


class Stored(NamedTuple):
    next_url: str  # Okta's next link: where the next pass reads on
    published: str | None  # of the last event read before it


class CursorUnusable(Exception):
    """The object is there but holds no cursor this pass may follow (the pass falls back)."""


class StorageUnavailable(Exception):
    """Cloud Storage could not be read or written: the pass fails and is tried again."""


class LostRace(Exception):
    """Another pass moved the cursor since this one read it."""


class NoCursor:
    """No OKTA_CATCH_UP_CURSOR: every pass starts from the look-back window."""

    location = None

    def read(self, deadline: Deadline) -> Stored | None:
        return None

    def advance(self, stored: Stored, deadline: Deadline) -> None:
        pass


class StorageCursor:
    def __init__(self, bucket: str, name: str):
        self.location = f"gs://{bucket}/{name}"
        self._bucket_name, self._name = bucket, name
        self._blob = None
        self._generation = None  # as last read or written: what the next write requires

    def read(self, deadline: Deadline) -> Stored | None:
        """The stored cursor; None when there is none. CursorUnusable when the object holds
        something else (the generation is kept, so the pass may still replace it)."""
        from google.api_core import exceptions

        blob = self._storage_blob()
        try:
            data = blob.download_as_bytes(**_limits(deadline))
        except exceptions.NotFound:
            self._generation = 0
            return None
        except Exception as error:
            raise StorageUnavailable(_describe(error, "read", self.location)) from None
        self._generation = blob.generation
        try:
            content = json.loads(data)
            stored = Stored(content["next"], content.get("published"))
        except (ValueError, TypeError, KeyError):
            raise CursorUnusable(f"{self.location} does not hold a cursor") from None
        if not isinstance(stored.next_url, str) or not isinstance(stored.published,
                                                                  (str, type(None))):
            raise CursorUnusable(f"{self.location} does not hold a cursor")
        return stored

    def advance(self, stored: Stored, deadline: Deadline) -> None:
        """Store `stored` if nobody else moved the cursor since this pass read or wrote it."""
        from google.api_core import exceptions

        blob = self._storage_blob()
        document = {"next": stored.next_url, "published": stored.published,
                    "saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        try:
            blob.upload_from_string(json.dumps(document), content_type="application/json",
                                    if_generation_match=self._generation, **_limits(deadline))
        except exceptions.PreconditionFailed:
            # Also what a retried write that had in fact succeeded sees: the next pass then
            # reads this pass's own cursor, and nothing is lost either way.
            raise LostRace(f"another pass moved {self.location}") from None
        except Exception as error:
            raise StorageUnavailable(_describe(error, "write", self.location)) from None
        self._generation = blob.generation

    def _storage_blob(self):
        if self._blob is None:
            # Without this, the client's first call queues a background GET of the bucket, only
            # to label OpenTelemetry spans this function never exports: an extra request per
            # instance, which the catch-up's object role may not make, and a thread that keeps
            # retrying after the pass (with the global random module's jitter) when Cloud Storage
            # is unreachable.
            os.environ.setdefault("DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA", "true")
            try:
                from google.cloud import storage

                client = storage.Client()
            except Exception as error:  # no credentials, no project
                raise StorageUnavailable(
                    f"no Cloud Storage client ({type(error).__name__}); on a workstation, set "
                    "STORAGE_EMULATOR_HOST for an emulator or sign in with `gcloud auth "
                    "application-default login`") from None
            self._blob = client.bucket(self._bucket_name).blob(self._name)
        return self._blob


def cursor_for(location: tuple | None):
    """The cursor named by the settings' (bucket, object), or NoCursor."""
    return NoCursor() if location is None else StorageCursor(*location)


def _limits(deadline: Deadline) -> dict:
    """Timeout and retry for one storage call: within the pass's time, and within 30 s."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    seconds = max(min(deadline.remaining(), READ_SECONDS), 1.0)
    return {"timeout": (CONNECT_SECONDS, seconds), "retry": DEFAULT_RETRY.with_timeout(seconds)}


def _describe(error: Exception, verb: str, location: str) -> str:
    """What went wrong, with Cloud Storage's own words when it answered (they name the account
    and the permission it lacks, which is what an operator needs after a deploy)."""
    code = getattr(error, "code", None)
    words = getattr(error, "message", None)
    if code is not None and words:
        return f"Cloud Storage could not {verb} {location}: HTTP {code} ({clip(words, 300)})"
    return f"Cloud Storage could not {verb} {location} ({type(error).__name__})"
