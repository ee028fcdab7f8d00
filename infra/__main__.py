"""okta-event-hook: an Okta event hook delivered to a Cloud Run function, in one `pulumi up`.

Settings are read once (stack_settings.py); each concern is one component: the receiver on Google
Cloud, the hook in Okta, the System Log catch-up (its Okta service app and its private function,
unless `catchUp` is false), the alert policies, the record (a log bucket, a saved query, a topic
with `deactivationTopic`) and the dashboard.
"""

import pulumi

from alerting import Alerting, Watched
from dashboard import Dashboard
from gcp_catch_up import GcpCatchUp
from gcp_receiver import GcpReceiver
from log_filters import actions_filter, both, services_filter
from okta_catch_up_app import OktaCatchUpApp
from okta_registration import OktaEventHook
from record import RECORD_TABLE, Record
from stack_settings import load_settings

settings = load_settings()
receiver = GcpReceiver("receiver", settings)
okta_hook = OktaEventHook("okta", settings, receiver)
watched = Watched(receiver_service=receiver.service.name)
if settings.catch_up:
    app = OktaCatchUpApp("okta-catch-up", settings)
    catch_up = GcpCatchUp("catch-up", settings, receiver, app, okta_hook)
    watched = Watched(receiver.service.name, catch_up.service.name, catch_up.job.name)
    pulumi.export("catchUpFunctionUrl", catch_up.url)  # private: Cloud Scheduler calls it
    pulumi.export("catchUpSchedulerJob", catch_up.job.id)  # make smoke runs it once
    pulumi.export("catchUpService", catch_up.service.name)  # and reads this service's logs
    pulumi.export("oktaServiceAppClientId", app.client_id)  # Applications > Applications
watched_services = watched.services
alerting = Alerting("alerting", settings, watched, receiver.apis)
record = Record("record", settings, watched_services, receiver.apis)
dashboard = Dashboard("dashboard", settings, watched_services, receiver.service.name,
                      alerting.policies)

# Deactivations from both functions: the catch-up writes again every one it reads, the hook's
# included (one entry in queries by insertId), and so also those the hook missed.
log_query = both(services_filter(watched_services), actions_filter(["user.deactivated"]))

pulumi.export("functionUrl", receiver.url)  # the hook's URI; `make smoke` sends to it
pulumi.export("eventHookId", okta_hook.hook.id)  # Admin Console > Workflow > Event Hooks
pulumi.export("hookSecretName", receiver.secret_name)  # Secret Manager secret with the header
pulumi.export("deactivationLogQuery", log_query)  # paste into Logs Explorer (last 30 days)
# The whole record: gcloud reads one day back unless told (--freshness, default 1d), and each
# line is dated by its event.
pulumi.export("deactivationLogCommand", pulumi.Output.format(
    "gcloud logging read '{0}' --project {1} --bucket {2} --location {3} --view _AllLogs "
    "--freshness {4}d --limit 50 --format '{5}'", log_query, settings.project,
    record.bucket.bucket_id, record.bucket.location, settings.retention_days, RECORD_TABLE))
# The bucket's id, as SQL (PROJECT.global.BUCKET._AllLogs) and gcloud --bucket take it.
pulumi.export("recordBucket", record.bucket.bucket_id)  # Logging > Logs Storage
pulumi.export("deactivationsQuery", record.query.name)  # Logging > Log Analytics > Saved
pulumi.export("dashboardUrl", dashboard.dashboard.id.apply(
    lambda dashboard_id: "https://console.cloud.google.com/monitoring/dashboards/builder/"
                         f"{dashboard_id.rsplit('/', 1)[-1]}?project={settings.project}"))
if record.topic is not None:
    pulumi.export("deactivationTopic", record.topic.id)  # subscribe to act on deactivations
pulumi.export("alertPolicyNames", [p.name for p in alerting.policies])  # Monitoring > Alerting
