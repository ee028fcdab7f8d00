"""One catch-up pass: resume Okta's polling request where the cursor says, and for each page write
its lines, then move the cursor past it.

Where a pass starts:
- a backfill: a new polling request from the time asked for (the cursor then follows it);
- the stored cursor: Okta's next link of the last page a pass finished;
- no cursor yet (or none configured): a new polling request over the look-back window;
- a cursor that cannot be followed (unreadable, another org's, refused by Okta): an ERROR line,
  then the look-back window. Nothing is doubled: every line is shown once in Cloud Logging.

A pass stops at an empty page (complete), or at its page limit, its time limit, Okta's rate
limit, a page without a next link, another pass's newer cursor (each a WARNING that names it,
and the next pass goes on from the cursor). How far behind it is goes into its summary.
"""

import time
from datetime import datetime, timedelta, timezone

from okta_hook.catch_up.cursor import CursorUnusable, LostRace, Stored
from okta_hook.catch_up.limits import LOGGING_OLDEST_DAYS
from okta_hook.catch_up.okta_http import Deadline, OktaRefused, OutOfTime
from okta_hook.catch_up.okta_oauth import clip
from okta_hook.catch_up.settings import CatchUpSettings
from okta_hook.catch_up.system_log import (
    event_type_filter,
    is_log_url,
    pages,
    polling_url,
    rfc3339,
    url_filter,
)
from okta_hook.events import dispatch, event_fields, text
from okta_hook.logs import log, shown_once, together

DELIVERY_FAILED = "event_hook.delivery"  # Okta's System Log record of a failed hook delivery
COUNTS = ("pages", "eventsRead", "usersLogged", "deliveryFailures", "handlerFailures",
          "tooOldToStore")


class Pass:
    def __init__(self, settings: CatchUpSettings, client, cursor, backfill_since=None):
        self.settings, self.client, self.cursor = settings, client, cursor
        self.backfill_since = backfill_since
        self.started = time.monotonic()
        self.now = datetime.now(timezone.utc)
        self.counts = dict.fromkeys(COUNTS, 0)
        self.event_types = list(dict.fromkeys([*settings.events, DELIVERY_FAILED]))
        self.started_from, self.since = None, None
        self.position: str | None = None  # `published` of the last event read (or stored)
        self.stopped_by: str | None = None
        self.caught_up = False  # Okta's empty page was reached
        self.stored_url: str | None = None  # the next link the cursor holds

    def run(self) -> dict:
        """Read, write and move the cursor; the summary. Raises what ends the pass as a
        failure (Okta or Cloud Storage unavailable, Okta refusing)."""
        http = self.client.http
        http.start_pass(Deadline(self.settings.max_seconds))
        url = self._start()
        resumed = self.started_from == "cursor"
        try:
            try:
                self._read_from(url)
            except OktaRefused as refusal:
                if not (resumed and self.counts["pages"] == 0 and refusal.status == 400):
                    raise
                log("ERROR", f"Okta refused the stored cursor ({refusal}); this pass reads the "
                             "look-back window instead.", action="okta.catch_up.cursor_unusable",
                    cursor=self.cursor.location)
                self._read_from(self._window())
        except OutOfTime as out:
            self.stopped_by = out.reason
        except LostRace as race:
            self.stopped_by = f"a newer cursor ({race}); that pass goes on from there"
        return self._report()

    def summary(self) -> dict:
        return {"startedFrom": self.started_from, "since": self.since,
                "until": rfc3339(datetime.now(timezone.utc)), **self.counts,
                "rateLimitWaits": self.client.http.rate_limited, "dpop": self.client.uses_dpop,
                "complete": self.caught_up,
                "behindSeconds": 0 if self.caught_up else self._behind(),
                "cursor": self.cursor.location,
                "seconds": round(time.monotonic() - self.started, 3)}

    # --- where to start ----------------------------------------------------------------------

    def _start(self) -> str:
        stored = self._stored()
        if self.backfill_since is not None:
            self.started_from, self.since = "backfill", rfc3339(self.backfill_since)
            return polling_url(self.settings.org_url, self.backfill_since, self.event_types)
        if stored is None:
            return self._window()
        self.position = stored.published
        if url_filter(stored.next_url) != event_type_filter(self.event_types):
            since = _parsed(stored.published) or self._window_start()
            log("WARNING", "The catch-up's event types changed since the cursor was stored; "
                           f"this pass reads them from {rfc3339(since)}.",
                action="okta.catch_up.events_changed", cursor=self.cursor.location)
            self.started_from, self.since = "cursor", rfc3339(since)
            return polling_url(self.settings.org_url, since, self.event_types)
        self.started_from, self.since = "cursor", stored.published
        self.stored_url = stored.next_url
        return stored.next_url

    def _stored(self) -> Stored | None:
        """The cursor to resume from; None when there is none, or none to follow (said why)."""
        try:
            stored = self.cursor.read(self.client.http.deadline)
        except CursorUnusable as unusable:
            return self._cannot_follow(str(unusable))
        if stored is None:
            if self.cursor.location is not None and self.backfill_since is None:
                log("WARNING", f"No cursor at {self.cursor.location} yet (the first pass, or "
                               "the object was deleted): this pass reads the look-back window.",
                    action="okta.catch_up.no_cursor", cursor=self.cursor.location)
            return None
        if not is_log_url(stored.next_url, self.settings.org_url):
            return self._cannot_follow(f"{self.cursor.location} points away from this org's "
                                       f"System Log ({clip(stored.next_url)})")
        return stored

    def _window_start(self) -> datetime:
        return self.now - timedelta(minutes=self.settings.lookback_minutes)

    def _window(self) -> str:
        since = self._window_start()
        self.started_from, self.since = "look-back", rfc3339(since)
        return polling_url(self.settings.org_url, since, self.event_types)

    def _cannot_follow(self, why: str) -> None:
        log("ERROR", f"The catch-up's cursor cannot be followed: {why}. This pass reads the "
                     "look-back window instead.", action="okta.catch_up.cursor_unusable",
            cursor=self.cursor.location)

    # --- reading ------------------------------------------------------------------------------

    def _read_from(self, url: str) -> None:
        settings, deadline = self.settings, self.client.http.deadline
        for page in pages(self.client, url, settings.org_url):
            if not page.events:  # caught up: poll from its next link from now on
                self._advance(page.next_url)
                self.caught_up = True
                return
            self.counts["pages"] += 1
            failures = self.counts["handlerFailures"]
            with together():  # a page's lines in one write, flushed before the cursor moves
                for event in page.events:
                    self._act_on(event)
            if self.counts["handlerFailures"] > failures:
                self.stopped_by = "a handler that failed; the page is read again next time"
                return
            if page.next_url is None:
                self.stopped_by = "a page without a next link to resume from"
                return
            self._advance(page.next_url)
            if self.counts["pages"] >= settings.max_pages:
                self.stopped_by = f"the page limit ({settings.max_pages})"
                return
            if deadline.remaining() <= 0:
                self.stopped_by = f"the time limit ({settings.max_seconds} s)"
                return

    def _advance(self, next_url: str | None) -> None:
        """Move the cursor to `next_url`, unless it is there already (an idle pass writes
        nothing)."""
        if next_url is not None and next_url != self.stored_url:
            self.cursor.advance(Stored(next_url, self.position), self.client.http.deadline)
            self.stored_url = next_url

    def _act_on(self, event) -> None:
        self.counts["eventsRead"] += 1
        if not isinstance(event, dict):
            log("WARNING", "Skipped a System Log entry that is not a JSON object.")
            return
        fields = event_fields(event, None)
        published = _parsed(fields["published"])
        if published is not None:
            self.position = fields["published"]
            if published < self.now - timedelta(days=LOGGING_OLDEST_DAYS):
                self.counts["tooOldToStore"] += 1
        if fields["eventType"] == DELIVERY_FAILED:
            self.counts["deliveryFailures"] += self._report_failed_delivery(event, fields)
            return
        logged = dispatch(event, fields)
        if logged is None:
            self.counts["handlerFailures"] += 1
        else:
            self.counts["usersLogged"] += logged

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

    # --- the report ---------------------------------------------------------------------------

    def _behind(self) -> int:
        """Seconds between now and the last event read (or the window's start): how much of the
        System Log is still to read, at least."""
        reached = _parsed(self.position) or _parsed(self.since) or self._window_start()
        return max(round((datetime.now(timezone.utc) - reached).total_seconds()), 0)

    def _report(self) -> dict:
        summary = self.summary()
        counts = self.counts
        if counts["tooOldToStore"]:
            log("WARNING", f"{counts['tooOldToStore']} event(s) read are dated more than "
                           f"{LOGGING_OLDEST_DAYS} days ago: Cloud Logging stores no entry dated "
                           "that far back, so their lines are written but not kept.",
                action="okta.catch_up.too_old_to_store", tooOldToStore=counts["tooOldToStore"])
        words = (f"{counts['eventsRead']} event(s) in {counts['pages']} page(s), "
                 f"{counts['usersLogged']} user line(s), {counts['deliveryFailures']} failed "
                 "hook delivery(ies)")
        if self.caught_up:
            log("INFO", f"System Log catch-up pass: {words}; caught up.",
                action="okta.catch_up.pass", **summary)
        else:
            log("WARNING", f"System Log catch-up pass stopped by {self.stopped_by}: {words}; "
                           f"{summary['behindSeconds']} s behind.",
                action="okta.catch_up.pass", stoppedBy=self.stopped_by, **summary)
        return summary


def _parsed(published: str | None) -> datetime | None:
    """An RFC 3339 time as an aware datetime; None if it is not one."""
    if not isinstance(published, str):
        return None
    try:
        moment = datetime.fromisoformat(published)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
