"""Google Cloud side of the catch-up: a private Cloud Run function from the same source, built and
deployed as the receiver is, run by Cloud Scheduler with an OIDC token of an account that alone
may invoke it, and the bucket that keeps its cursor."""

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import cloudscheduler

from cloud_run_function import CloudRunFunction, Sizing, plain_env
from gcp_receiver import FunctionSecret, GcpReceiver, service_account_member
from iam_settled import iam_settled
from names import account_id, service_name
from okta_catch_up_app import OktaCatchUpApp
from okta_registration import OktaEventHook
from stack_settings import StackSettings

ENTRY_POINT = "okta_catch_up"
CURSOR_OBJECT = "okta-catch-up-cursor.json"
# A pass stops reading after 240 s (the function's OKTA_CATCH_UP_MAX_SECONDS default); the
# function and the scheduler allow a little more, so a bounded pass still answers.
TIMEOUT_SECONDS = 300
ATTEMPT_DEADLINE = "320s"


class GcpCatchUp(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, receiver: GcpReceiver,
                 app: OktaCatchUpApp, hook: OktaEventHook,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:CatchUp", name, None, opts)
        fn = settings.function_name
        scheduler_api = gcp.projects.Service("api-cloudscheduler", gcp.projects.ServiceArgs(
            service="cloudscheduler.googleapis.com", disable_on_destroy=False,
        ), pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, depends_on=[*receiver.apis, scheduler_api])

        # The catch-up's own identity: it can read the app's private key and nothing else.
        runtime_account = gcp.serviceaccount.Account("catch-up-runtime",
            gcp.serviceaccount.AccountArgs(account_id=account_id(fn, "catchup"),
                                           display_name=f"{fn}: System Log catch-up (runtime)"),
            child)
        key = FunctionSecret("catch-up-key", f"{fn}-catch-up-key", app.private_key_pem,
                             runtime_account, child)

        # The cursor: one small object in a private bucket of its own, which only the
        # catch-up's account may read and write. No soft delete: the object is rewritten after
        # every page, and each overwritten version would otherwise be kept (and billed) 7 days.
        self.cursor_bucket = gcp.storage.Bucket("catch-up-cursor", gcp.storage.BucketArgs(
            location=settings.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
                retention_duration_seconds=0),
            force_destroy=True,  # destroy empties it
        ), child)
        cursor_access = gcp.storage.BucketIAMMember("catch-up-cursor-access",
            gcp.storage.BucketIAMMemberArgs(
                bucket=self.cursor_bucket.name, role="roles/storage.objectUser",
                member=service_account_member(runtime_account)), child)
        cursor = pulumi.Output.concat("gs://", self.cursor_bucket.name, "/", CURSOR_OBJECT)

        settled = iam_settled("catch-up-iam-settled", [key.accessor, cursor_access], self)
        variables = {
            "OKTA_ORG_URL": settings.okta_org_url,
            "OKTA_CLIENT_ID": app.client_id,
            "OKTA_PRIVATE_KEY_ID": app.key_id,
            "OKTA_EVENT_HOOK_ID": hook.hook.id,
            "OKTA_CATCH_UP_EVENTS": ",".join(settings.events),
            "OKTA_CATCH_UP_LOOKBACK_MINUTES": str(settings.catch_up_lookback_minutes),
            "OKTA_CATCH_UP_CURSOR": cursor,
        }
        # Private: the invoker check stays on, and only the scheduler's account may invoke it.
        self.function = CloudRunFunction(
            "catch-up-function", service_name=service_name(fn, "catchup"), target=ENTRY_POINT,
            description="Reads Okta's System Log for what the event hook missed (okta-event-hook)",
            setup=receiver.build_setup, runtime_account=runtime_account,
            # It runs for seconds every few minutes, one pass at a time.
            sizing=Sizing(cpu="1", memory="512Mi", concurrency=1, min_instances=0,
                          max_instances=1, timeout_seconds=TIMEOUT_SECONDS),
            envs=[*(plain_env(k, v) for k, v in variables.items()),
                  key.environment_variable("OKTA_PRIVATE_KEY")],
            public=False,
            # Okta refuses the app's tokens until the scope and the role are in place.
            depends_on=[*receiver.apis, settled, app.scope, app.role],
            opts=pulumi.ResourceOptions(parent=self))
        self.service = self.function.service

        # Cloud Scheduler calls with an OIDC token of this account, the only invoker.
        scheduler_account = gcp.serviceaccount.Account("catch-up-scheduler",
            gcp.serviceaccount.AccountArgs(account_id=account_id(fn, "sched"),
                                           display_name=f"{fn}: runs the System Log catch-up"),
            child)
        invoker = gcp.cloudrunv2.ServiceIamMember("catch-up-invoker",
            gcp.cloudrunv2.ServiceIamMemberArgs(
                project=self.service.project, location=self.service.location,
                name=self.service.name, role="roles/run.invoker",
                member=service_account_member(scheduler_account)),
            pulumi.ResourceOptions(parent=self))
        self.url = self.function.url
        # The token's audience is the service's run.app URL exactly as the service reports it
        # (no trailing slash: Cloud Run compares the audience with its own URL, and a token
        # Cloud Run refuses is a 401 that only the "cannot call the catch-up" alert sees).
        # https://cloud.google.com/run/docs/authenticating/service-to-service
        run_url = self.service.uri
        self.job = cloudscheduler.Job("catch-up-schedule", cloudscheduler.JobArgs(
            name=f"{fn}-catch-up",
            region=settings.catch_up_scheduler_region,
            description="Runs one pass of the Okta System Log catch-up (okta-event-hook)",
            schedule=settings.catch_up_schedule,
            time_zone="Etc/UTC",
            attempt_deadline=ATTEMPT_DEADLINE,
            # A 5xx (Okta unreachable, or refusing) is retried with backoff before the next run.
            retry_config=cloudscheduler.JobRetryConfigArgs(
                retry_count=3, min_backoff_duration="30s", max_backoff_duration="300s",
                max_doublings=3),
            http_target=cloudscheduler.JobHttpTargetArgs(
                uri=run_url, http_method="POST",
                oidc_token=cloudscheduler.JobHttpTargetOidcTokenArgs(
                    service_account_email=scheduler_account.email, audience=run_url)),
        ), pulumi.ResourceOptions(parent=self, depends_on=[scheduler_api, invoker]))
        self.register_outputs({"url": self.url, "cursor": cursor})
