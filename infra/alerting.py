"""Alerting: an alert policy for each way the pipeline can lose events silently. With alertEmail
set, every policy e-mails it; without, the policies still open incidents in Cloud Monitoring.

Six policies match log entries directly (log-based alerting policies): their incidents show the
entry that fired them, and they need no log-based metric, which Cloud Monitoring may not know for
up to ten minutes after its creation ("Cannot find metric(s)", a failed first `pulumi up`). Only
"the catch-up has not caught up" needs a metric (of complete passes), to notice an absence; the
policy waits for it.
https://cloud.google.com/logging/docs/alerting/log-based-alerts
"""

from dataclasses import dataclass

import pulumi
from pulumi_gcp import monitoring

from log_filters import (
    DELIVERY_FAILED_ACTION,
    HOOK_STOPPED_ACTIONS,
    actions_filter,
    both,
    services_filter,
)
from log_metrics import log_metric
from stack_settings import MAX_ABSENCE_SECONDS, StackSettings

NOTIFY_AT_MOST_EVERY = "300s"  # per policy: one e-mail for a burst of matching lines
AUTO_CLOSE = "1800s"  # an incident closes itself after 30 quiet minutes
ALIGNMENT = "300s"


@dataclass(frozen=True)
class Alert:
    key: str  # resource names
    title: str
    log_filter: pulumi.Input[str]  # which entries of the functions' logs count
    documentation: str  # what happened and what to do (Markdown, shown in the incident)
    absent_for_seconds: int | None = None  # None: alert on any entry; else on none for this long
    # True: the filter applies to the functions' own entries; False: it names its resources.
    scoped: bool = True


@dataclass(frozen=True)
class Watched:
    """The names alerts filter on, as the resources report them."""
    receiver_service: pulumi.Input[str]
    catch_up_service: pulumi.Input[str] | None = None  # None: the stack has no catch-up
    catch_up_job: pulumi.Input[str] | None = None

    @property
    def services(self) -> list:
        return [s for s in (self.receiver_service, self.catch_up_service) if s is not None]


def alerts(settings: StackSettings, watched_names: Watched) -> list[Alert]:
    """What to watch. The delivery-failure and catch-up alerts exist only with the catch-up,
    which writes the lines they watch."""
    fn = settings.function_name
    watched = [
        Alert("receiver-errors", f"{fn}: the Okta receiver or the catch-up is failing",
              # Okta's word about the hook has policies of its own.
              f"(severity>=ERROR AND NOT "
              f"{actions_filter((DELIVERY_FAILED_ACTION, *HOOK_STOPPED_ACTIONS))}) "
              "OR httpRequest.status>=500",
              "The hook receiver or the System Log catch-up answered 5xx or logged an ERROR or "
              "CRITICAL line. Okta retries a failed delivery only once, so events may be missing "
              "from the hook; the catch-up recovers them once it works.\n\n"
              "**What to do:** read the entry shown here and the function's logs around it. A "
              "CRITICAL line names a misconfigured variable; an `okta.catch_up.failed` line quotes "
              "Okta's answer (a refused key, a missing scope or role; `invalid_client` for a "
              "service app deleted in the Admin Console: docs/operating.md says what to do)."),
        Alert("refused-deliveries", f"{fn}: Okta's deliveries are refused (401)",
              pulumi.Output.format('resource.labels.service_name="{0}" AND '
                                   'jsonPayload.status=401 AND jsonPayload.method="POST"',
                                   watched_names.receiver_service),
              "The receiver refused a POST for a missing or wrong Authorization header. If it was "
              "Okta's, the hook's secret and the function's differ and Okta drops every event (it "
              "never retries a 4xx); the catch-up recovers them. A public URL also receives "
              "scans, which look the same.\n\n"
              "**What to do:** look for `event_hook.delivery` failures in Okta's System Log (and "
              "the delivery-failure alert). If they are there, the secret was changed by hand on "
              "one side: `pulumi up --refresh` puts the function's back; Okta's copy cannot be "
              "read back, so rotate the secret (docs/operating.md), which sends it to Okta "
              "again."),
    ]
    if settings.catch_up:
        interval_seconds = settings.catch_up_interval_minutes * 60
        watched += [
            Alert("delivery-failures", f"{fn}: Okta reports failed hook deliveries",
                  actions_filter((DELIVERY_FAILED_ACTION,)),
                  "Okta's System Log records a delivery to the event hook that Okta gave up on "
                  "(`event_hook.delivery`), found by the catch-up, which also recovers the "
                  "events.\n\n"
                  "**What to do:** read the entry's `reason`. A timeout or 5xx: the receiver's "
                  "errors and latency. A 401: the secrets differ (the refused-deliveries alert). "
                  "A 403 or 404: the hook's URI, or the receiver's service no longer public "
                  "(its invoker check enabled again: `pulumi up --refresh` disables it)."),
            Alert("hook-stopped", f"{fn}: Okta stopped delivering to the event hook",
                  actions_filter(HOOK_STOPPED_ACTIONS),
                  "Okta's System Log says the event hook was deactivated or deleted (in the Admin "
                  "Console or through the API), or failed Okta's verification: Okta delivers "
                  "nothing to it from then on. The catch-up found it, and keeps recovering the "
                  "events the hook no longer receives.\n\n"
                  "**What to do:** read the entry's `actorLogin` (who did it) and `reason`. "
                  "Plain `pulumi up` compares with its state and changes nothing: use `pulumi up "
                  "--refresh`. Deactivated: it activates the hook; run it a second time, which "
                  "verifies the hook again if Okta left it unverified, until it shows no change "
                  "(docs/operating.md). Deleted: it creates and verifies the hook again. "
                  "Verification failed: check the receiver answers (`make smoke`), then run it."),
            Alert("catch-up-not-called", f"{fn}: Cloud Scheduler cannot call the catch-up",
                  # Only Cloud Scheduler's own calls (its HTTP target sends this User-Agent:
                  # https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#HttpTarget):
                  # a scan of the URL, or an operator's backfill without run.invoker, pages no
                  # one; and only attempts refused, not the catch-up's own 5xx, which the
                  # receiver-errors alert reports.
                  pulumi.Output.format(
                      '(resource.type="cloud_run_revision" AND '
                      'resource.labels.service_name="{0}" AND '
                      "httpRequest.status=(401 OR 403) AND "
                      'httpRequest.userAgent:"Google-Cloud-Scheduler") OR '
                      '(resource.type="cloud_scheduler_job" AND '
                      'resource.labels.job_id="{1}" AND '
                      'jsonPayload.status=("UNAUTHENTICATED" OR "PERMISSION_DENIED"))',
                      watched_names.catch_up_service, watched_names.catch_up_job),
                  "Cloud Run refused Cloud Scheduler's call to the catch-up (401: the OIDC "
                  "token's audience or signature; 403: the scheduler's account may not invoke "
                  "it), or the Scheduler job logged an attempt refused so. The function itself "
                  "then writes nothing, and an absence alert cannot fire for a metric that never "
                  "had a point, so this one watches the callers' side.\n\n"
                  "**What to do:** read the entry: a 403 wants `roles/run.invoker` for the "
                  "scheduler's account on the catch-up service (`pulumi up --refresh` restores "
                  "it), a 401 an audience equal to the service's URL. `gcloud scheduler jobs run "
                  f"{fn}-catch-up --location <catchUpSchedulerRegion>` tries again at once.",
                  scoped=False),
            Alert("catch-up-stopped", f"{fn}: the System Log catch-up has not caught up",
                  'jsonPayload.action="okta.catch_up.pass" AND jsonPayload.complete=true',
                  "No System Log catch-up pass has reached the end of Okta's System Log for "
                  "twice the schedule's interval: it is failing, stopping early, or not running, "
                  "so events the hook misses are not recovered yet.\n\n"
                  "**What to do:** read the catch-up's latest `okta.catch_up.pass` WARNING "
                  "(`stoppedBy` says why it stopped) or `okta.catch_up.failed` ERROR (it quotes "
                  "Okta's or Cloud Storage's answer), and the Cloud Scheduler job's attempts. "
                  "Nothing is lost while Okta keeps the events (90 days): the cursor resumes.",
                  absent_for_seconds=min(2 * interval_seconds, MAX_ABSENCE_SECONDS)),
            Alert("catch-up-behind", f"{fn}: the System Log catch-up is behind",
                  'jsonPayload.action=("okta.catch_up.pass" OR "okta.catch_up.failed") AND '
                  f"jsonPayload.behindSeconds>{2 * interval_seconds}",
                  "A catch-up pass ended with more than two schedule intervals of Okta's System "
                  "Log still to read (`behindSeconds`): a burst larger than a pass, a long "
                  "outage being repaired, or a rate limit.\n\n"
                  "**What to do:** usually nothing: later passes resume from the cursor. If "
                  "`behindSeconds` keeps growing, read `stoppedBy` on the pass lines; Okta's rate "
                  "limit for /api/v1/logs is shared by the whole org."),
        ]
    return watched


class Alerting(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, watched_names: Watched, apis: list,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:Alerting", name, None, opts)
        self._settings = settings
        self._channels = []
        if settings.alert_email:
            # Like everything else, created once the Monitoring API is on.
            self._channels.append(monitoring.NotificationChannel(
                "alert-email", monitoring.NotificationChannelArgs(
                    display_name=f"{settings.function_name} alerts", type="email",
                    labels={"email_address": settings.alert_email}),
                pulumi.ResourceOptions(parent=self, depends_on=apis)))
        # Only these functions' entries: other workloads in the project are not ours to watch.
        services = services_filter(watched_names.services)
        self.policies = [self._policy(alert, services)
                         for alert in alerts(settings, watched_names)]
        self.register_outputs({"policyNames": [p.name for p in self.policies]})

    def _policy(self, alert: Alert, services: pulumi.Output) -> monitoring.AlertPolicy:
        entries = both(services, alert.log_filter) if alert.scoped else alert.log_filter
        strategy = monitoring.AlertPolicyAlertStrategyArgs(auto_close=AUTO_CLOSE)
        wait_for = []
        if alert.absent_for_seconds is None:
            condition = monitoring.AlertPolicyConditionArgs(
                display_name=alert.title,
                condition_matched_log=monitoring.AlertPolicyConditionConditionMatchedLogArgs(
                    filter=entries))
            strategy.notification_rate_limit = \
                monitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs(
                    period=NOTIFY_AT_MOST_EVERY)
        else:
            metric, visible = log_metric(alert.key, f"{self._settings.function_name}-{alert.key}",
                                         alert.title, entries, self)
            wait_for.append(visible)
            condition = monitoring.AlertPolicyConditionArgs(
                display_name=alert.title,
                condition_absent=monitoring.AlertPolicyConditionConditionAbsentArgs(
                    filter=pulumi.Output.format(
                        'metric.type="logging.googleapis.com/user/{0}" AND '
                        'resource.type="cloud_run_revision"', metric.name),
                    duration=f"{alert.absent_for_seconds}s",
                    aggregations=[monitoring.AlertPolicyConditionConditionAbsentAggregationArgs(
                        alignment_period=ALIGNMENT, per_series_aligner="ALIGN_SUM",
                        cross_series_reducer="REDUCE_SUM")]))
        return monitoring.AlertPolicy(f"{alert.key}-alert", monitoring.AlertPolicyArgs(
            display_name=alert.title,
            combiner="OR",
            conditions=[condition],
            severity="ERROR",
            documentation=monitoring.AlertPolicyDocumentationArgs(
                content=alert.documentation, mime_type="text/markdown", subject=alert.title),
            alert_strategy=strategy,
            notification_channels=[c.name for c in self._channels],
        ), pulumi.ResourceOptions(parent=self, depends_on=wait_for))
