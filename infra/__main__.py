"""okta-event-hook: an Okta event hook delivered to a Cloud Function (2nd gen), in one `pulumi up`.

Settings are read once (stack_settings.py); each side of the deployment is one component.
"""

import pulumi

from gcp_receiver import GcpReceiver
from okta_registration import OktaEventHook
from stack_settings import load_settings

settings = load_settings()
receiver = GcpReceiver("receiver", settings)
okta_hook = OktaEventHook("okta", settings, receiver)

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
