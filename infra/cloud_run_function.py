"""One entry point of function/ as a Cloud Run function, deployed through the Cloud Run Admin API.

Its image is built from the source by Cloud Run's build API (function_build.py), and a Cloud Run
service (gcp.cloudrunv2.Service) runs it pinned to the image's digest, enrolled in automatic base
image updates: Google patches the Python runtime and OS underneath without a new revision, as it
does for functions deployed with Cloud Functions. Owning the service is what allows the receiver to
be public with the invoker IAM check disabled, which a Cloud Functions function cannot set
(hashicorp/terraform-provider-google#23360), and which Domain Restricted Sharing does not refuse.
"""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import cloudrunv2 as run

from function_build import FunctionBuild

# Google's Python 3.13 runtime base image, as `gcloud run deploy --base-image` takes it; the build
# answers with its full Artifact Registry path, which the service is enrolled with.
# https://cloud.google.com/run/docs/configuring/services/runtime-base-images
BASE_IMAGE = "python313"
PORT = 8080  # functions-framework's default, and Cloud Run's


@dataclass(frozen=True)
class BuildSetup:
    """Where function/ is built and by whom: the same for every entry point."""
    project: str
    region: str
    bucket: pulumi.Output  # the private bucket the source is uploaded to
    repository_url: pulumi.Output  # REGION-docker.pkg.dev/PROJECT/REPOSITORY
    build_account: pulumi.Output  # projects/PROJECT/serviceAccounts/EMAIL
    source: tuple  # function_source.function_source(): name, bytes, content hash
    ready: list  # what a build waits for: the APIs, the build account's grants applied


@dataclass(frozen=True)
class Sizing:
    """A revision's resources and scaling (Cloud Run's rules are checked in cloud_run_limits)."""
    cpu: str
    memory: str
    concurrency: int
    min_instances: int
    max_instances: int
    timeout_seconds: int


class CloudRunFunction(pulumi.ComponentResource):
    """The image of `target` and the Cloud Run service `service_name` that runs it."""

    def __init__(self, name: str, *, service_name: str, target: str, description: str,
                 setup: BuildSetup, runtime_account: gcp.serviceaccount.Account,
                 sizing: Sizing, envs: list, public: bool, depends_on: list,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:CloudRunFunction", name, None, opts)
        self.build = FunctionBuild(f"{name}-image", project=setup.project, region=setup.region,
                                   bucket=setup.bucket, source=setup.source,
                                   function_target=target, base_image=BASE_IMAGE,
                                   image_uri=pulumi.Output.concat(setup.repository_url, "/",
                                                                  service_name),
                                   service_account=setup.build_account,
                                   opts=pulumi.ResourceOptions(parent=self,
                                                               depends_on=setup.ready))
        self.service = run.Service(name, run.ServiceArgs(
            name=service_name,
            project=setup.project,
            location=setup.region,
            description=description,
            # Okta and Cloud Scheduler call from the internet; who may call is decided by the
            # invoker check (the catch-up) or by the receiver's own secret check (the hook).
            ingress="INGRESS_TRAFFIC_ALL",
            # Public without any IAM member: Domain Restricted Sharing has nothing to refuse.
            # https://cloud.google.com/run/docs/securing/managing-access#invoker_check
            invoker_iam_disabled=public,
            deletion_protection=False,  # the provider's default (true) would block destroy
            template=run.ServiceTemplateArgs(
                service_account=runtime_account.email,
                timeout=f"{sizing.timeout_seconds}s",
                max_instance_request_concurrency=sizing.concurrency,
                scaling=run.ServiceTemplateScalingArgs(
                    min_instance_count=sizing.min_instances,
                    max_instance_count=sizing.max_instances),
                containers=[run.ServiceTemplateContainerArgs(
                    image=self.build.image,
                    base_image_uri=self.build.baseImageUri,
                    envs=envs,
                    ports=run.ServiceTemplateContainerPortsArgs(container_port=PORT,
                                                                name="http1"),
                    resources=run.ServiceTemplateContainerResourcesArgs(
                        limits={"cpu": sizing.cpu, "memory": sizing.memory},
                        # CPU only while a request is served, as a Cloud Functions function
                        # has it; a faster cold start within Okta's 3 seconds. Both set, so
                        # that no default of Google's shows as a diff.
                        cpu_idle=True,
                        startup_cpu_boost=True),
                )],
            ),
        ), pulumi.ResourceOptions(parent=self, depends_on=depends_on))
        self.url = self.service.uri
        self.register_outputs({"url": self.url, "image": self.build.image})


def plain_env(name: str, value: pulumi.Input[str]) -> run.ServiceTemplateContainerEnvArgs:
    return run.ServiceTemplateContainerEnvArgs(name=name, value=value)
