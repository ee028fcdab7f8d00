"""The System Log catch-up: one pass reads what Okta recorded in the look-back window and writes
what the hook may have missed, through the same handlers, hence the same lines, as the hook.

Nothing is remembered between passes: each line of record carries an insertId and timestamp
derived from the event, so Cloud Logging shows it once however many passes (and deliveries) wrote
it. Okta's record of a failed hook delivery (`event_hook.delivery`) becomes an ERROR line, which
the delivery-failure alert watches.

Answers: 200 with a JSON summary; 405 for anything but POST; 503 when misconfigured or when Okta
could not be read; 502 when Okta refused the credentials; 500 when a handler failed. Every 5xx
makes Cloud Scheduler try again.
"""

import time
from datetime import datetime, timedelta, timezone

from okta_hook.catch_up_settings import CatchUpSettings
from okta_hook.events import dispatch, event_fields, text
from okta_hook.logs import log, shown_once, together
from okta_hook.okta_http import Deadline, OktaHttp, OktaRefused, OktaUnavailable, OutOfTime
from okta_hook.okta_oauth import OktaClient
from okta_hook.system_log import polling_pages, rfc3339

DELIVERY_FAILED = "event_hook.delivery"  # Okta's System Log record of a failed hook delivery


class CatchUp:
    def __init__(self, settings: CatchUpSettings):
        self.settings = settings
        self._client: OktaClient | None = None
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
            summary = self.run_pass()
        except (OktaRefused, OktaUnavailable) as error:
            refused = isinstance(error, OktaRefused)
            log("ERROR", f"System Log catch-up pass failed: {error}",
                action="okta.catch_up.failed")
            what = "Okta refused the catch-up's credentials" if refused else \
                "Okta could not be read"
            return {"error": f"{what}: {error}"}, 502 if refused else 503, {}
        if summary["handlerFailures"]:
            return summary, 500, {}
        return summary, 200, {}

    def run_pass(self) -> dict:
        settings = self.settings
        started = time.monotonic()
        client = self._okta_client()
        client.http.start_pass(Deadline(settings.max_seconds))
        since = datetime.now(timezone.utc) - timedelta(minutes=settings.lookback_minutes)
        event_types = dict.fromkeys([*settings.events, DELIVERY_FAILED])
        counts = dict.fromkeys(("pages", "eventsRead", "usersLogged", "deliveryFailures",
                                "handlerFailures"), 0)
        stopped_by = None
        try:
            for page in polling_pages(client, settings.org_url, since, event_types):
                counts["pages"] += 1
                with together():  # a page's lines in one write
                    for event in page:
                        counts["eventsRead"] += 1
                        self._act_on(event, counts)
                if counts["pages"] >= settings.max_pages:
                    stopped_by = f"the page limit ({settings.max_pages})"
                    break
                if client.http.deadline.remaining() <= 0:
                    raise OutOfTime
        except OutOfTime:
            stopped_by = f"the time limit ({settings.max_seconds} s)"
        summary = {"since": rfc3339(since), "until": rfc3339(datetime.now(timezone.utc)),
                   **counts, "rateLimitWaits": client.http.rate_limited,
                   "dpop": client.uses_dpop, "complete": stopped_by is None,
                   "seconds": round(time.monotonic() - started, 3)}
        if stopped_by:
            log("WARNING", f"System Log catch-up pass stopped at {stopped_by}; the next pass "
                           "reads the window again.", action="okta.catch_up.incomplete", **summary)
        log("INFO", f"System Log catch-up pass: {counts['eventsRead']} event(s) in "
                    f"{counts['pages']} page(s), {counts['usersLogged']} user line(s), "
                    f"{counts['deliveryFailures']} failed hook delivery(ies).",
            action="okta.catch_up.pass", **summary)
        return summary

    def _okta_client(self) -> OktaClient:
        """One client per instance: its connections and access token outlive a pass."""
        if self._client is None:
            settings = self.settings
            self._client = OktaClient(OktaHttp(), settings.org_url, settings.client_id,
                                      settings.private_key, settings.private_key_id)
        return self._client

    def _act_on(self, event, counts: dict) -> None:
        if not isinstance(event, dict):
            log("WARNING", "Skipped a System Log entry that is not a JSON object.")
            return
        fields = event_fields(event, None)
        if fields["eventType"] == DELIVERY_FAILED:
            counts["deliveryFailures"] += self._report_failed_delivery(event, fields)
            return
        logged = dispatch(event, fields)
        if logged is None:
            counts["handlerFailures"] += 1
        else:
            counts["usersLogged"] += logged

    def _report_failed_delivery(self, event: dict, fields: dict) -> int:
        """One ERROR line for Okta's record of a failed delivery to our hook (or any hook when
        OKTA_EVENT_HOOK_ID is not set). Okta does not document this event's target in detail:
        the hook is the target whose id matches, or else the first one of an EventHook type."""
        targets = [t for t in event.get("target") or [] if isinstance(t, dict)]
        wanted = self.settings.event_hook_id
        if wanted is not None:
            hook = next((t for t in targets if t.get("id") == wanted), None)
            if hook is None:
                return 0
        else:
            hook = next((t for t in targets if "hook" in str(t.get("type", "")).lower()),
                        targets[0] if targets else {})
        outcome = event.get("outcome")
        reason = text(outcome.get("reason")) if isinstance(outcome, dict) else None
        reason = reason or text(event.get("displayMessage"))
        hook_id, hook_name = text(hook.get("id")), text(hook.get("displayName"))
        hook_words = f"event hook {hook_name or hook_id}" if hook_name or hook_id else \
            "an event hook it did not name"
        log("ERROR", f"Okta could not deliver to {hook_words}: {reason or 'no reason given'}",
            action="okta.event_hook.delivery_failed", eventHookId=hook_id,
            eventHookName=hook_name, reason=reason, **fields,
            **shown_once(fields["published"], fields["uuid"], DELIVERY_FAILED))
        return 1

