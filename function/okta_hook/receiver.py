"""The HTTP side of the receiver: one deliberate answer for every request that can arrive.

Order matters: method, then credential (an unauthenticated body is never read), then size, then
shape. The sender's mistakes are 4xx, which Okta never retries; only our own faults are 5xx, which
Okta retries once. All work is done before the answer, because Cloud Run throttles the CPU once a
response is sent (the services are deployed with CPU allocated only during requests).
"""

from starlette.responses import JSONResponse, Response

from okta_hook.auth import is_authorized
from okta_hook.delivery import Delivery, parse_delivery, read_body
from okta_hook.events import dispatch, event_fields
from okta_hook.inputs import RequestRejected
from okta_hook.logs import log, together
from okta_hook.recent_ids import RecentIds
from okta_hook.settings import Settings

ALLOWED_METHODS = "GET, POST"
CHALLENGE_HEADER = "x-okta-verification-challenge"
# Ids remembered per instance; Okta retries within seconds, so this is far more than enough.
REMEMBERED_IDS = 10_000
# Okta reads only the status of a delivery's answer. Made once: Starlette sends a Response
# without changing it, and building one costs as much as checking the credential.
ACKNOWLEDGED = Response(status_code=200)


class Receiver:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.deliveries = RecentIds(REMEMBERED_IDS)
        self.events = RecentIds(REMEMBERED_IDS)
        for problem in settings.problems:
            log("CRITICAL", f"Okta event hook receiver misconfigured: {problem}")

    async def handle(self, request) -> Response:
        try:
            return await self._answer(request)
        except RequestRejected as rejected:
            log("WARNING", f"Rejected a {request.method} request: {rejected.reason}",
                status=rejected.status, method=request.method)
            return JSONResponse({"error": rejected.reason}, rejected.status, rejected.headers)
        except Exception as error:  # our own fault: Okta will retry once
            log("ERROR", f"Failed to handle a {request.method} request: {type(error).__name__}")
            return JSONResponse({"error": "internal error"}, 500)

    async def _answer(self, request) -> Response:
        settings = self.settings
        if settings.problems:
            raise RequestRejected(503, "the receiver is misconfigured; see its logs")
        if request.method not in ("GET", "POST"):
            raise RequestRejected(405, f"method {request.method} is not allowed",
                                  {"Allow": ALLOWED_METHODS})
        credential = request.headers.getlist(settings.auth_header)
        if not is_authorized(credential, settings.accepted_credentials):
            raise RequestRejected(401, f"missing or wrong {settings.auth_header} header")

        if request.method == "GET":
            return self._verify(request)
        body = await read_body(request, settings.max_body_bytes)
        delivery = parse_delivery(body)
        with together():  # the delivery's lines in one write, before the answer
            self._process(delivery)
        return ACKNOWLEDGED

    def _verify(self, request) -> Response:
        challenge = request.headers.get(CHALLENGE_HEADER)
        if challenge is None:
            raise RequestRejected(400, "a GET must carry X-Okta-Verification-Challenge")
        log("INFO", "Answered Okta's event hook verification challenge.")
        return JSONResponse({"verification": challenge})

    def _process(self, delivery: Delivery) -> None:
        """Handle each event once; an id is remembered only after its handling succeeded."""
        if delivery.odd_event_id:
            log("WARNING", "A delivery's eventId is not a short printable id; it is ignored "
                           "for duplicate detection and left out of the log.")
        if delivery.event_id in self.deliveries:
            log("INFO", "Acknowledged a repeated delivery without acting on it again.",
                eventId=delivery.event_id)
            return
        failed = 0
        for event in delivery.events:
            failed += not self._process_event(event, delivery.event_id)
        if failed:
            raise RuntimeError(f"{failed} event handler(s) failed")
        if delivery.event_id is not None:
            self.deliveries.add(delivery.event_id)

    def _process_event(self, event, event_id: str | None) -> bool:
        """False only when a handler failed, so that Okta's retry gets another chance."""
        if not isinstance(event, dict):
            log("WARNING", "Skipped an event that is not a JSON object.", eventId=event_id)
            return True
        fields = event_fields(event, event_id)
        uuid = fields["uuid"]
        if uuid in self.events:
            log("INFO", "Skipped an event already handled.", **fields)
            return True
        if dispatch(event, fields) is None:
            return False
        if uuid is not None:
            self.events.add(uuid)
        return True
