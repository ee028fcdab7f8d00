"""The catch-up's HTTP side: Cloud Scheduler's POST runs one pass; an operator's POST of
{"since": "<RFC 3339>"} backfills from that time.

Answers: 200 with the pass's JSON summary; 400 for a body that is not an empty one or such a
backfill, 413 for a large one (read no further than the limit, whatever its framing); 405 for
anything but POST; 409 while this instance runs a pass; 503 when misconfigured, when Okta or Cloud
Storage could not be read, or when the pass failed in any other way; 502 when Okta refused the
credentials or the request; 500 when an event handler failed. Every failure writes one
`okta.catch_up.failed` ERROR line, and every 5xx makes Cloud Scheduler retry.

A backfill reads from its `since` and leaves the cursor alone: moving it there could skip events
that no pass has read yet.
"""

import json
import threading
from datetime import datetime, timedelta, timezone

from okta_hook.catch_up.cursor import NoCursor, StorageUnavailable, cursor_for
from okta_hook.catch_up.limits import MAX_BACKFILL_DAYS
from okta_hook.catch_up.okta_http import OktaHttp, OktaRefused, OktaUnavailable
from okta_hook.catch_up.okta_oauth import OktaClient
from okta_hook.catch_up.reading import Pass
from okta_hook.catch_up.settings import CatchUpSettings
from okta_hook.catch_up.system_log import parsed_time
from okta_hook.inputs import RequestRejected, load_json
from okta_hook.logs import log

MAX_BODY_BYTES = 4096  # {"since": "..."} and room to spare
BACKFILL_EXAMPLE = '{"since": "2026-11-01T00:00:00Z"}'


class CatchUp:
    def __init__(self, settings: CatchUpSettings):
        self.settings = settings
        self._client: OktaClient | None = None
        self._cursor = cursor_for(settings.cursor)
        self._running = threading.Lock()  # one pass at a time per instance
        for problem in settings.problems:
            log("CRITICAL", f"Okta System Log catch-up misconfigured: {problem}")

    def handle(self, request) -> tuple:
        """The HTTP answer (body, status, headers) to one request."""
        if request.method != "POST":
            return ({"error": f"method {request.method} is not allowed; POST runs one pass"},
                    405, {"Allow": "POST"})
        if self.settings.problems:
            return {"error": "the catch-up is misconfigured; see its logs"}, 503, {}
        try:
            since = backfill_since(request)
        except RequestRejected as rejected:
            log("WARNING", f"Refused a catch-up request: {rejected.reason}",
                status=rejected.status)
            return _refusal(rejected)
        if not self._running.acquire(blocking=False):
            return {"error": "a pass is already running on this instance"}, 409, {}
        try:
            return self._run(since)
        finally:
            self._running.release()

    def _run(self, since: datetime | None) -> tuple:
        cursor = self._cursor if since is None else NoCursor()
        reading = Pass(self.settings, self._okta_client(), cursor, since)
        try:
            summary = reading.run()
        except Exception as error:
            status, what = _failure(error)
            summary = reading.summary()
            log("ERROR", f"System Log catch-up pass failed: {what}",
                action="okta.catch_up.failed", **summary)
            return {"error": what, **summary}, status, {}
        if summary["handlerFailures"]:
            return summary, 500, {}
        return summary, 200, {}

    def _okta_client(self) -> OktaClient:
        """One client per instance: its connections and access token outlive a pass."""
        if self._client is None:
            settings = self.settings
            self._client = OktaClient(OktaHttp(), settings.org_url, settings.client_id,
                                      settings.private_key, settings.private_key_id)
        return self._client


def backfill_since(request) -> datetime | None:
    """None for an empty body (one pass); the time of {"since": ...}; RequestRejected otherwise."""
    # A declared length is refused unread; any other body (chunked too) is read no further.
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise RequestRejected(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = request.stream.read(MAX_BODY_BYTES + 1)
    except Exception:  # the server's parser refused the framing (gunicorn's InvalidChunkSize...)
        raise RequestRejected(400, "the request's body could not be read: malformed or cut "
                                   "short") from None
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejected(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return None
    try:
        document = load_json(body)
    except RequestRejected:
        document = None
    if not isinstance(document, dict) or set(document) != {"since"} \
            or not isinstance(document["since"], str):
        raise RequestRejected(400, f"the body must be empty (one pass) or {BACKFILL_EXAMPLE}")
    moment = parsed_time(document["since"])
    if moment is None:
        raise RequestRejected(400, "since must be an RFC 3339 time with its offset, e.g. "
                                   "2026-11-01T00:00:00Z")
    now = datetime.now(timezone.utc)
    if moment < now - timedelta(days=MAX_BACKFILL_DAYS):
        raise RequestRejected(400, f"since must be at most {MAX_BACKFILL_DAYS} days back: Okta "
                                   "keeps the System Log that long")
    if moment > now:
        raise RequestRejected(400, "since must not be in the future")
    return moment


def _refusal(rejected: RequestRejected) -> tuple:
    """The 4xx answer. A 413 is streamed: functions-framework reads a request's whole body into
    memory once the function returns, unless the answer is streamed (its read_request); this way
    the rest of a large body is only discarded, by the server, as it arrives."""
    answer = {"error": rejected.reason}
    if rejected.status != 413:
        return answer, rejected.status, {}
    return iter([json.dumps(answer).encode()]), 413, {"Content-Type": "application/json"}


def _failure(error: Exception) -> tuple:
    """(status, words) for what ended a pass; words never quote more of Okta than its errors."""
    if isinstance(error, OktaRefused):
        refused = "credentials" if error.about_credentials else "request"
        return 502, f"Okta refused the catch-up's {refused}: {error}"
    if isinstance(error, OktaUnavailable):
        return 503, f"Okta could not be read: {error}"
    if isinstance(error, StorageUnavailable):
        return 503, f"the cursor could not be kept: {error}"
    return 503, f"the pass failed unexpectedly ({type(error).__name__})"
