"""Google Cloud side: the receiver as a public Cloud Run function, with its secret, and what
building function/ needs (the build's account, the source bucket, the image repository)."""

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import artifactregistry, secretmanager
from pulumi_gcp import cloudrunv2 as run

from cloud_run_function import BuildSetup, CloudRunFunction, Sizing
from endpoint_ready import EndpointReady
from function_source import function_source
from iam_settled import iam_settled
from names import account_id, service_name
from stack_settings import StackSettings

# What the deployment uses; enabled here so that a fresh project needs no clicks.
REQUIRED_APIS = [
    "artifactregistry.googleapis.com",  # holds the functions' built container images
    "cloudbuild.googleapis.com",  # runs Cloud Run's builds of the uploaded source
    "iam.googleapis.com",  # the service accounts
    "logging.googleapis.com",
    "monitoring.googleapis.com",  # the alert policies
    "run.googleapis.com",  # the functions' services, and the build API
    "secretmanager.googleapis.com",
    "storage.googleapis.com",  # the source bucket
]
ENTRY_POINT = "okta_event_hook"
REQUEST_TIMEOUT_SECONDS = 10  # Okta gives up after 3 s; nothing legitimate takes longer
KEPT_IMAGES = 5  # per function: enough to roll back a few deploys


def service_account_member(account: gcp.serviceaccount.Account) -> pulumi.Output:
    return pulumi.Output.concat("serviceAccount:", account.email)


class FunctionSecret(pulumi.ComponentResource):
    """A Secret Manager secret holding one value, readable only by the function's account."""

    def __init__(self, name: str, secret_id: str, value: pulumi.Output,
                 reader: gcp.serviceaccount.Account, opts: pulumi.ResourceOptions):
        super().__init__("okta-event-hook:gcp:FunctionSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = secretmanager.Secret(name, secretmanager.SecretArgs(
            secret_id=secret_id,
            replication=secretmanager.SecretReplicationArgs(
                auto=secretmanager.SecretReplicationAutoArgs()),
        ), child)
        self.version = secretmanager.SecretVersion(
            f"{name}-version", secretmanager.SecretVersionArgs(
                secret=self.secret.id,
                secret_data=pulumi.Output.secret(value),
            ), child)
        # Granted on this secret only, not project-wide.
        self.accessor = secretmanager.SecretIamMember(
            f"{name}-accessor", secretmanager.SecretIamMemberArgs(
                secret_id=self.secret.id,
                role="roles/secretmanager.secretAccessor",
                member=service_account_member(reader),
            ), child)
        self.register_outputs({"secretName": self.secret.name})

    def environment_variable(self, key: str) -> run.ServiceTemplateContainerEnvArgs:
        """`key` in the function's environment, read from the version created here (pinned, so
        that a new value rolls out as a new revision, never silently to running instances)."""
        return run.ServiceTemplateContainerEnvArgs(
            name=key, value_source=run.ServiceTemplateContainerEnvValueSourceArgs(
                secret_key_ref=run.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                    secret=self.secret.secret_id, version=self.version.version)))


class GcpReceiver(pulumi.ComponentResource):
    """Everything the receiver needs on Google Cloud, ending with a live public URL."""

    def __init__(self, name: str, settings: StackSettings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:Receiver", name, None, opts)
        fn = settings.function_name

        apis = [gcp.projects.Service(f"api-{api.split('.')[0]}", gcp.projects.ServiceArgs(
            service=api,
            disable_on_destroy=False,  # other workloads in the project may rely on them
        ), pulumi.ResourceOptions(parent=self)) for api in REQUIRED_APIS]
        self.apis = apis
        child = pulumi.ResourceOptions(parent=self, depends_on=apis)

        # The identity the function runs as: it can read the hook secret and nothing else.
        runtime_account = gcp.serviceaccount.Account("runtime", gcp.serviceaccount.AccountArgs(
            account_id=account_id(fn, "run"),
            display_name=f"{fn}: Okta event hook receiver (runtime)",
        ), child)

        # The identity Cloud Build runs the functions' builds as. Set explicitly: the default
        # build account of newer projects lacks the roles. Cloud Run Builder is the role Google
        # documents for it; the two grants below scope its reads and writes to this stack's
        # bucket and repository. https://cloud.google.com/run/docs/configuring/services/build-service-account
        build_account = gcp.serviceaccount.Account("build", gcp.serviceaccount.AccountArgs(
            account_id=account_id(fn, "build"),
            display_name=f"{fn}: Okta event hook functions (build)",
        ), child)
        build_role = gcp.projects.IAMMember("build-role", gcp.projects.IAMMemberArgs(
            project=build_account.project,
            role="roles/run.builder",
            member=service_account_member(build_account),
        ), child)

        # The functions' images, in a repository the stack owns: one it does not own would
        # outlive `pulumi destroy` and grow with every deploy. Keeps the newest few per
        # function; destroy deletes it with its images.
        self.images = artifactregistry.Repository("images", artifactregistry.RepositoryArgs(
            repository_id=f"{fn}-images",
            location=settings.region,
            format="DOCKER",
            description=f"Images of the {fn} functions (okta-event-hook)",
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                artifactregistry.RepositoryCleanupPolicyArgs(
                    id="keep-newest", action="KEEP",
                    most_recent_versions=artifactregistry
                    .RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=KEPT_IMAGES)),
                artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-older", action="DELETE",
                    condition=artifactregistry.RepositoryCleanupPolicyConditionArgs(
                        tag_state="ANY", older_than="86400s")),
            ],
        ), child)
        images_writer = artifactregistry.RepositoryIamMember(
            "images-writer", artifactregistry.RepositoryIamMemberArgs(
                repository=self.images.name, location=self.images.location,
                role="roles/artifactregistry.writer",
                member=service_account_member(build_account)), child)

        # Private bucket for the uploaded source, which the build reads; emptied on destroy.
        bucket = gcp.storage.Bucket("source", gcp.storage.BucketArgs(
            location=settings.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=True,
        ), child)
        source_reader = gcp.storage.BucketIAMMember(
            "source-reader", gcp.storage.BucketIAMMemberArgs(
                bucket=bucket.name, role="roles/storage.objectViewer",
                member=service_account_member(build_account)), child)
        self.build_grants = [build_role, images_writer, source_reader]

        secrets = {"OKTA_HOOK_SECRET": FunctionSecret(
            "hook-secret", f"{fn}-hook-secret", settings.hook_secret, runtime_account, child)}
        if settings.previous_hook_secret is not None:  # only while a rotation is under way
            secrets["OKTA_HOOK_SECRET_PREVIOUS"] = FunctionSecret(
                "previous-hook-secret", f"{fn}-hook-secret-previous",
                settings.previous_hook_secret, runtime_account, child)

        # A build fails unless its account's roles have applied, and a revision fails to start
        # unless its account can read its secrets.
        self.build_setup = BuildSetup(
            project=settings.project, region=settings.region, bucket=bucket.name,
            repository_url=pulumi.Output.concat(settings.region, "-docker.pkg.dev/",
                                                settings.project, "/", self.images.name),
            build_account=build_account.id, source=function_source(),
            ready=[*apis, iam_settled("build-iam-settled", self.build_grants, self)])
        settled = iam_settled("receiver-iam-settled",
                              [s.accessor for s in secrets.values()], self)

        # Okta cannot authenticate to Google: the service admits every caller (its invoker
        # check disabled, no allUsers grant) and the receiver checks the hook secret itself.
        self.function = CloudRunFunction(
            "function", service_name=service_name(fn, "hook"), target=ENTRY_POINT,
            description="Receives Okta event hooks (okta-event-hook)",
            setup=self.build_setup, runtime_account=runtime_account,
            sizing=Sizing(cpu=settings.cpu, memory=settings.memory,
                          concurrency=settings.concurrency,
                          min_instances=settings.min_instances,
                          max_instances=settings.max_instances,
                          timeout_seconds=REQUEST_TIMEOUT_SECONDS),
            envs=[secret.environment_variable(key) for key, secret in secrets.items()],
            public=True, depends_on=[*apis, settled], opts=pulumi.ResourceOptions(parent=self))
        self.service = self.function.service

        self.url = self.function.url
        # Done only when the receiver answers for itself at its public URL.
        self.ready = EndpointReady("endpoint-ready", self.url, opts=pulumi.ResourceOptions(
            parent=self, depends_on=[self.service]))
        self.secret_name = secrets["OKTA_HOOK_SECRET"].secret.name
        self.register_outputs({"url": self.url, "secretName": self.secret_name})
