"""Google Cloud side: the receiver as a public Cloud Function (2nd gen) with its secret."""

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import artifactregistry, secretmanager
from pulumi_gcp import cloudfunctionsv2 as functions

from endpoint_ready import EndpointReady
from function_archive import function_archive
from iam_settled import iam_settled
from names import account_id
from stack_settings import StackSettings

# What the deployment uses; enabled here so that a fresh project needs no clicks.
REQUIRED_APIS = [
    "artifactregistry.googleapis.com",  # holds the function's built container image
    "cloudbuild.googleapis.com",  # builds that image from the uploaded source
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",  # the two service accounts
    "logging.googleapis.com",
    "monitoring.googleapis.com",  # the alert policies
    "run.googleapis.com",  # 2nd gen functions run as Cloud Run services
    "secretmanager.googleapis.com",
    "storage.googleapis.com",  # the source bucket
]
RUNTIME = "python312"
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

    def environment_variable(
            self, key: str) -> functions.FunctionServiceConfigSecretEnvironmentVariableArgs:
        """`key` in the function's environment, read from the version created here (pinned, so
        that a new value rolls out as a new revision, never silently to running instances)."""
        return functions.FunctionServiceConfigSecretEnvironmentVariableArgs(
            key=key, project_id=self.secret.project, secret=self.secret.secret_id,
            version=self.version.version)


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

        # The identity Cloud Build uses to build the function. Set explicitly: the default build
        # account of newer projects often lacks the roles, and the build then fails.
        build_account = gcp.serviceaccount.Account("build", gcp.serviceaccount.AccountArgs(
            account_id=account_id(fn, "build"),
            display_name=f"{fn}: Okta event hook receiver (build)",
        ), child)
        build_role = gcp.projects.IAMMember("build-role", gcp.projects.IAMMemberArgs(
            project=build_account.project,
            role="roles/cloudbuild.builds.builder",
            member=service_account_member(build_account),
        ), child)

        # The functions' images, in a repository the stack owns: the default (gcf-artifacts)
        # outlives `pulumi destroy` and grows with every deploy. Keeps the newest few per
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
        self.build_grants = [build_role, images_writer]

        secrets = {"OKTA_HOOK_SECRET": FunctionSecret(
            "hook-secret", f"{fn}-hook-secret", settings.hook_secret, runtime_account, child)}
        if settings.previous_hook_secret is not None:  # only while a rotation is under way
            secrets["OKTA_HOOK_SECRET_PREVIOUS"] = FunctionSecret(
                "previous-hook-secret", f"{fn}-hook-secret-previous",
                settings.previous_hook_secret, runtime_account, child)

        # Private bucket for the uploaded source; emptied on destroy.
        bucket = gcp.storage.Bucket("source", gcp.storage.BucketArgs(
            location=settings.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=True,
        ), child)
        object_name, archive = function_archive()
        source = gcp.storage.BucketObject("source-archive", gcp.storage.BucketObjectArgs(
            bucket=bucket.name, name=object_name, source=archive,
        ), child)
        self._build = (build_account, bucket, source)
        settled = iam_settled("receiver-iam-settled",
                              [*self.build_grants, *(s.accessor for s in secrets.values())], self)

        self.function = functions.Function("function", functions.FunctionArgs(
            name=fn,
            location=settings.region,
            description="Receives Okta event hooks (okta-event-hook)",
            build_config=self.build_config(ENTRY_POINT),
            service_config=functions.FunctionServiceConfigArgs(
                service_account_email=runtime_account.email,
                available_memory=settings.memory,
                available_cpu=settings.cpu,
                min_instance_count=settings.min_instances,
                max_instance_count=settings.max_instances,
                max_instance_request_concurrency=settings.concurrency,
                timeout_seconds=REQUEST_TIMEOUT_SECONDS,
                ingress_settings="ALLOW_ALL",  # Okta calls from the internet
                all_traffic_on_latest_revision=True,
                secret_environment_variables=[
                    secret.environment_variable(key) for key, secret in secrets.items()],
            ),
        ), pulumi.ResourceOptions(
            parent=self,
            # The build and the first start fail unless these grants have applied.
            depends_on=[*apis, settled]))

        # Okta cannot authenticate to Google: the service must admit unauthenticated calls, and
        # the receiver checks the hook secret itself. 2nd gen functions are Cloud Run services,
        # so it is run.invoker on that service (cloudfunctions.invoker has no effect on them).
        self.invoker = gcp.cloudrunv2.ServiceIamMember(
            "public-invoker", gcp.cloudrunv2.ServiceIamMemberArgs(
                project=self.function.project,
                location=self.function.location,
                name=self.function.service_config.service,
                role="roles/run.invoker",
                member="allUsers",
            ), pulumi.ResourceOptions(parent=self))

        self.url = self.function.url
        # Done only when the receiver answers for itself at its public URL.
        self.ready = EndpointReady("endpoint-ready", self.url, opts=pulumi.ResourceOptions(
            parent=self, depends_on=[self.function, self.invoker]))
        self.secret_name = secrets["OKTA_HOOK_SECRET"].secret.name
        self.register_outputs({"url": self.url, "secretName": self.secret_name})

    def build_config(self, entry_point: str) -> functions.FunctionBuildConfigArgs:
        """How a function with `entry_point` is built: the same source archive, runtime and build
        account for every target of function/."""
        build_account, bucket, source = self._build
        return functions.FunctionBuildConfigArgs(
            runtime=RUNTIME,
            entry_point=entry_point,
            service_account=build_account.id,
            docker_repository=self.images.id,
            source=functions.FunctionBuildConfigSourceArgs(
                storage_source=functions.FunctionBuildConfigSourceStorageSourceArgs(
                    bucket=bucket.name, object=source.name)))
