"""One catch-up pass: resume Okta's polling request where the cursor says, and for each page write
its lines, then move the cursor past it.

Where a pass starts:
- a backfill: a new polling request from the time asked for; it neither reads nor moves the
  cursor, so the scheduled passes still read everything from where the cursor stands;
- the stored cursor: Okta's next link of the last page a pass finished;
- no cursor yet (or none configured): a new polling request over the look-back window;
- a stored link Okta refuses (any 4xx on its first page but the credentials'): an ERROR line, then
  a new polling request from the cursor's own time (the last event it read), never from later,
  so that nothing the link pointed at is skipped and the cursor never moves backwards;
- a cursor that cannot be followed (unreadable, too large, another org's, not a link Okta gives a
  polling reader, a time in the future or none usable): an ERROR line, then the look-back
  window, saying from when to when events may be missing. Nothing is doubled: every line is
  shown once in Cloud Logging.

A pass is complete only at Okta's empty page with its next link. It stops otherwise at its page
limit, its time limit, Okta's rate limit, a page without a next link, a next link it followed
already (a loop), or an object it no longer holds: another pass's newer cursor, or the object
deleted or rewritten meanwhile (each a WARNING that names it; the next pass goes on from what the
object holds). How far behind it is goes into its summary, and `complete` is true only when the
position the object holds is the one the summary reports.
"""

import time
from datetime import datetime, timedelta, timezone

from okta_hook.catch_up import hook_events
from okta_hook.catch_up.cursor import CursorUnusable, LostRace, Stored
from okta_hook.catch_up.limits import LOGGING_OLDEST_DAYS, MAX_BACKFILL_DAYS
from okta_hook.catch_up.okta_http import Deadline, OktaRefused, OutOfTime
from okta_hook.catch_up.okta_oauth import clip
from okta_hook.catch_up.settings import CatchUpSettings
from okta_hook.catch_up.system_log import (
    LinkLoop,
    event_type_filter,
    pages,
    parsed_time,
    polling_link_problem,
    polling_url,
    rfc3339,
    url_filter,
)
from okta_hook.events import dispatch, event_fields
from okta_hook.logs import log, together

COUNTS = ("pages", "eventsRead", "usersLogged", "deliveryFailures", "hookStopped",
          "handlerFailures", "tooOldToStore")


class Pass:
    def __init__(self, settings: CatchUpSettings, client, cursor, backfill_since=None):
        self.settings, self.client, self.cursor = settings, client, cursor
        self.backfill_since = backfill_since
        self.started = time.monotonic()
        self.now = datetime.now(timezone.utc)
        self.counts = dict.fromkeys(COUNTS, 0)
        self.event_types = list(settings.read_types)
        self.started_from, self.since = None, None
        self.position: str | None = None  # `published` of the last event read (or stored)
        self.stopped_by: str | None = None
        self.caught_up = False  # Okta's empty page was reached
        self.stored_url: str | None = None  # the next link the cursor holds
        self.stored: Stored | None = None  # the cursor this pass started from
        self.reported: set = set()  # uuids of Okta's events about the hook reported this pass

    def run(self) -> dict:
        """Read, write and move the cursor; the summary. Raises what ends the pass as a
        failure (Okta or Cloud Storage unavailable, Okta refusing)."""
        http = self.client.http
        http.start_pass(Deadline(self.settings.max_seconds))
        url = self._start()
        try:
            try:
                self._read_from_start(url)
            except OutOfTime as out:
                self.stopped_by = out.reason
            except LinkLoop as loop:
                self.stopped_by = (f"a next link followed already in this pass ({clip(loop.url)}):"
                                   " Okta's links loop, so this pass ends here")
            finally:  # the last position read is kept, however the pass ends
                self._flush()
        except LostRace as race:  # also when this pass read to the end: its position is not kept
            self.stopped_by = f"a cursor this pass no longer holds ({race}); the next pass " \
                              "goes on from what the object holds"
        return self._report()

    def _flush(self) -> None:
        """Keep the last position read; a pass whose position is not where the object says is
        not complete, however far it read."""
        try:
            self.cursor.flush(self.client.http.deadline)
        except Exception:
            self.caught_up = False
            raise

    def _read_from_start(self, url: str) -> None:
        """Read from `url`. If Okta refuses a stored link's first page for anything but the
        credentials, read again from the cursor's own time instead (an ERROR line says so)."""
        try:
            self._read_from(url)
        except OktaRefused as refusal:
            if not (url == self.stored_url and self.counts["pages"] == 0
                    and not refusal.about_credentials and 400 <= refusal.status < 500):
                raise
            self.stored_url = None
            self._read_from(self._read_again(f"Okta refused the stored cursor ({refusal})"))

    def summary(self) -> dict:
        return {"startedFrom": self.started_from, "since": self.since,
                "until": rfc3339(datetime.now(timezone.utc)), "readTo": self.position,
                **self.counts,
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
        self.position, self.stored = stored.published, stored
        if url_filter(stored.next_url) != event_type_filter(self.event_types):
            since = self._resume_time()
            if since is None:
                return self._read_again("The catch-up's event types changed since the cursor "
                                        "was stored")
            log("WARNING", "The catch-up's event types changed since the cursor was stored; "
                           f"this pass reads them from {rfc3339(since)}.",
                action="okta.catch_up.events_changed", cursor=self.cursor.location)
            self.started_from, self.since = "cursor", rfc3339(since)
            return polling_url(self.settings.org_url, since, self.event_types)
        self.started_from, self.since = "cursor", stored.published
        self.stored_url = stored.next_url
        return stored.next_url

    def _resume_time(self) -> datetime | None:
        """The stored cursor's own time (its last event's), no earlier than Okta keeps events;
        None if it holds no usable one."""
        moment = parsed_time(self.stored.published)
        return None if moment is None else max(moment,
                                                self.now - timedelta(days=MAX_BACKFILL_DAYS))

    def _read_again(self, why: str) -> str:
        """Where to read when the stored link cannot be followed as it is: a new polling request
        from the cursor's own time, never from later; the look-back window only for a cursor
        without a usable time, saying from when to when events may be missing."""
        since = self._resume_time()
        if since is not None:
            log("ERROR", f"{why}; this pass reads again from the cursor's own time, "
                         f"{rfc3339(since)}, with a new polling request.",
                action="okta.catch_up.cursor_unusable", cursor=self.cursor.location)
            self.started_from, self.since = "cursor", rfc3339(since)
            return polling_url(self.settings.org_url, since, self.event_types)
        url = self._window()
        saved = parsed_time(self.stored.saved)
        start = "the cursor's last write" + (f" ({rfc3339(saved)})" if saved else "")
        log("ERROR", f"{why}, and the cursor holds no usable time to read again from; this pass "
                     f"reads the look-back window instead: events published from {start} to "
                     f"{self.since} that no pass had read may be missing.",
            action="okta.catch_up.cursor_unusable", cursor=self.cursor.location)
        return url

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
        problem = polling_link_problem(stored.next_url, self.settings.org_url, self.now)
        if problem is not None:
            return self._cannot_follow(f"{self.cursor.location} holds a link Okta would not give "
                                       f"a polling reader: {problem} ({clip(stored.next_url)})")
        if stored.published is not None and not self._is_past(stored.published):
            return self._cannot_follow(f"{self.cursor.location} holds a time that is not a past "
                                       f"one ({clip(stored.published)})")
        return stored

    def _is_past(self, published: str) -> bool:
        moment = parsed_time(published)
        return moment is not None and moment <= self.now

    def _window_start(self) -> datetime:
        return self.now - timedelta(minutes=self.settings.lookback_minutes)

    def _window(self) -> str:
        since = self._window_start()
        self.started_from, self.since = "look-back", rfc3339(since)
        return polling_url(self.settings.org_url, since, self.event_types)

    def _cannot_follow(self, why: str) -> None:
        log("ERROR", f"The catch-up's cursor cannot be followed: {why}. This pass reads the "
                     f"look-back window instead, from {rfc3339(self._window_start())}: events "
                     "published before then that no pass had read may be missing.",
            action="okta.catch_up.cursor_unusable", cursor=self.cursor.location)

    # --- reading ------------------------------------------------------------------------------

    def _read_from(self, url: str) -> None:
        settings, deadline = self.settings, self.client.http.deadline
        for page in pages(self.client, url, settings.org_url):
            if not page.events and page.next_url is None:
                self.stopped_by = "an empty page without a next link, which no polling read ends on"
                return
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
                raise OutOfTime(f"the time limit ({settings.max_seconds} s)")

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
        published = parsed_time(fields["published"])
        if published is not None:
            # A time in the future (Okta's data can hold one) is kept as now: a stored position
            # is never one that no later event can pass.
            self.position = fields["published"] if published <= self.now else rfc3339(self.now)
            if published < self.now - timedelta(days=LOGGING_OLDEST_DAYS):
                self.counts["tooOldToStore"] += 1
        if fields["eventType"] in hook_events.EVENT_TYPES:
            if fields["uuid"] is not None and fields["uuid"] in self.reported:
                return  # Okta's page repeated it: one line, counted once
            self.reported.add(fields["uuid"])
            reported = hook_events.report(event, fields, self.settings.event_hook_id)
            kind = "deliveryFailures" if fields["eventType"] == hook_events.DELIVERY_FAILED \
                else "hookStopped"
            self.counts[kind] += reported
            return
        logged = dispatch(event, fields)
        if logged is None:
            self.counts["handlerFailures"] += 1
        else:
            self.counts["usersLogged"] += logged

    # --- the report ---------------------------------------------------------------------------

    def _behind(self) -> int:
        """Seconds between now and the last event read (or the window's start): how much of the
        System Log is still to read, at least."""
        reached = parsed_time(self.position) or parsed_time(self.since) or self._window_start()
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
        if counts["hookStopped"]:
            words += f", {counts['hookStopped']} report(s) of the hook stopped"
        if self.caught_up:
            log("INFO", f"System Log catch-up pass: {words}; caught up.",
                action="okta.catch_up.pass", **summary)
        else:
            log("WARNING", f"System Log catch-up pass stopped by {self.stopped_by}: {words}; "
                           f"{summary['behindSeconds']} s behind.",
                action="okta.catch_up.pass", stoppedBy=self.stopped_by, **summary)
        return summary
