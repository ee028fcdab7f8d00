"""okta-event-hook: an Okta event hook delivered to a Cloud Function (2nd gen), in one `pulumi up`.

Settings are read once (stack_settings.py); each concern is one component: the receiver on Google
Cloud, the hook in Okta, the System Log catch-up (its Okta service app and its private function,
unless `catchUp` is false) and the alert policies.
"""

import pulumi

from alerting import Alerting
from gcp_catch_up import GcpCatchUp
from gcp_receiver import GcpReceiver
from okta_catch_up_app import OktaCatchUpApp
from okta_registration import OktaEventHook
from stack_settings import load_settings

settings = load_settings()
receiver = GcpReceiver("receiver", settings)
okta_hook = OktaEventHook("okta", settings, receiver)
watched_services = [receiver.function.name]
if settings.catch_up:
    app = OktaCatchUpApp("okta-catch-up", settings)
    catch_up = GcpCatchUp("catch-up", settings, receiver, app, okta_hook)
    watched_services.append(catch_up.function.name)
    pulumi.export("catchUpFunctionUrl", catch_up.url)  # private: Cloud Scheduler calls it
    pulumi.export("oktaServiceAppClientId", app.client_id)  # Applications > Applications
alerting = Alerting("alerting", settings, watched_services)

log_query = pulumi.Output.format(
    'resource.type="cloud_run_revision" AND resource.labels.service_name="{0}" '
    'AND jsonPayload.action="user.deactivated"', receiver.function.name)

pulumi.export("functionUrl", receiver.url)  # the hook's URI; `make smoke` sends to it
pulumi.export("eventHookId", okta_hook.hook.id)  # Admin Console > Workflow > Event Hooks
pulumi.export("hookSecretName", receiver.secret_name)  # Secret Manager secret with the header
pulumi.export("deactivationLogQuery", log_query)  # paste into Logs Explorer
pulumi.export("deactivationLogCommand", pulumi.Output.format(
    "gcloud logging read '{0}' --project {1} --limit 20 --format json",
    log_query, receiver.function.project))
pulumi.export("alertPolicyNames", [p.name for p in alerting.policies])  # Monitoring > Alerting
