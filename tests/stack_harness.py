"""Runs the Pulumi program in infra/ under pulumi.runtime.set_mocks, as the language host would.

The real Pulumi SDK and the real pulumi-gcp and pulumi-okta SDKs build every resource; only the
engine's answers are mocked. Each registration's raw request is kept, so tests can check what the
engine would receive: secret markers, dependencies, additional secret outputs, replacement triggers.
"""

import asyncio
import base64
import functools
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import ROOT
from pulumi.runtime.sync_await import _sync_await

INFRA = Path(__file__).resolve().parents[1] / "infra"
PROJECT, STACK, GCP_PROJECT = "okta-event-hook", "dev", "test-project"
PROGRAM_MODULES = [p.stem for p in INFRA.glob("*.py") if p.stem != "__main__"]
OKTA_APP_ID, OKTA_CLIENT_ID = "0oa1app0catchup000001", "0oa1client0catchup001"


@functools.cache
def generated_key_pems() -> tuple[str, str]:
    """What pulumi-tls's PrivateKey (RSA 2048) computes: a real key pair, PKCS#1 and SPKI PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


class StackMocks(pulumi.runtime.Mocks):
    """What Google Cloud and Okta would compute for each resource, in the shapes they use.
    `kept`: outputs an existing stack's state holds, by resource name, which the engine gives the
    program instead of the inputs it ignores (ignore_changes)."""

    def __init__(self, kept: dict | None = None):
        self.kept = kept or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        outputs.update(self.kept.get(args.name, {}))
        resource_id = f"{args.name}-id"
        if args.typ == SERVICE:
            name, location = outputs["name"], outputs["location"]
            resource_id = f"projects/{GCP_PROJECT}/locations/{location}/services/{name}"
            uri = f"https://{name}-7q2hxyzq6a-uc.a.run.app"
            outputs.update(uri=uri, urls=[uri])
        elif args.typ == BUILD:  # what a finished build gives (infra/function_build.py)
            resource_id = f"{args.name}-build-id"
            outputs.update(image=f"{outputs['imageUri']}@sha256:{'0' * 64}",
                           baseImageUri=f"{outputs['region']}-docker.pkg.dev/serverless-runtimes/"
                                        f"google-22/runtimes/{outputs['baseImage']}",
                           buildId=resource_id, logUrl="https://console.cloud.google.com/"
                                                       f"cloud-build/builds/{resource_id}")
        elif args.typ == "gcp:serviceaccount/account:Account":
            email = f"{outputs['accountId']}@{GCP_PROJECT}.iam.gserviceaccount.com"
            resource_id = f"projects/{GCP_PROJECT}/serviceAccounts/{email}"
            outputs.update(email=email, project=GCP_PROJECT)
        elif args.typ == "gcp:secretmanager/secret:Secret":
            resource_id = f"projects/{GCP_PROJECT}/secrets/{outputs['secretId']}"
            outputs.update(name=f"projects/123456789/secrets/{outputs['secretId']}",
                           project=GCP_PROJECT)
        elif args.typ == "gcp:secretmanager/secretVersion:SecretVersion":
            outputs.update(version="1")
        elif args.typ == "gcp:storage/bucket:Bucket":
            outputs.update(name=f"{args.name}-4f1c2e7")
        elif args.typ == "okta:index/eventHook:EventHook":
            resource_id = "who1a2b3c4d5e6f7g8h9"
        elif args.typ == "okta:app/oAuth:OAuth":
            resource_id = OKTA_APP_ID
            outputs.update(clientId=OKTA_CLIENT_ID)
        elif args.typ == "tls:index/privateKey:PrivateKey":
            private_pem, public_pem = generated_key_pems()
            outputs.update(privateKeyPem=private_pem, publicKeyPem=public_pem)
        elif args.typ == "gcp:artifactregistry/repository:Repository":
            resource_id = (f"projects/{GCP_PROJECT}/locations/{outputs['location']}/"
                           f"repositories/{outputs['repositoryId']}")
            outputs.update(name=outputs["repositoryId"])
        elif args.typ == "gcp:cloudscheduler/job:Job":  # as the provider's import id reads
            resource_id = (f"projects/{GCP_PROJECT}/locations/{args.inputs['region']}/jobs/"
                           f"{args.inputs['name']}")
        elif args.typ == "time:index/static:Static":
            outputs.update(unix=1764460800, rfc3339="2025-11-30T00:00:00Z")
        elif args.typ == "random:index/randomId:RandomId":
            outputs.update(hex="5f3a9c1e", dec="1597676574", b64Url="XzqcHg", b64Std="XzqcHg==")
        elif args.typ == "gcp:logging/projectBucketConfig:ProjectBucketConfig":
            resource_id = (f"projects/{outputs['project']}/locations/{outputs['location']}/"
                           f"buckets/{outputs['bucketId']}")
            outputs.update(name=resource_id)
        elif args.typ == "gcp:logging/projectSink:ProjectSink":
            outputs.update(writerIdentity="serviceAccount:service-123456789@gcp-sa-logging"
                                          ".iam.gserviceaccount.com")
        elif args.typ == "gcp:pubsub/topic:Topic":
            resource_id = f"projects/{outputs['project']}/topics/{outputs['name']}"
        elif args.typ == "gcp:monitoring/dashboard:Dashboard":
            resource_id = f"projects/123456789/dashboards/{args.name}-3f2a9c"
        elif args.typ == "gcp:monitoring/alertPolicy:AlertPolicy":
            outputs.update(name=f"projects/{GCP_PROJECT}/alertPolicies/{args.name}")
        elif args.typ == "gcp:monitoring/notificationChannel:NotificationChannel":
            outputs.update(name=f"projects/{GCP_PROJECT}/notificationChannels/{args.name}")
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


# Resource options that change what the engine does with a resource; the plan snapshot shows
# those a resource sets (SDK versions, source positions and the like would only be noise).
PLANNED_OPTIONS = ("protect", "provider", "providers", "deleteBeforeReplace", "ignoreChanges",
                   "additionalSecretOutputs", "importId", "customTimeouts", "replaceOnChanges",
                   "retainOnDelete", "aliases", "aliasSpecs", "deletedWith", "replace_with",
                   "replacement_trigger", "hideDiffs", "hooks", "transforms")


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    inputs: dict  # secrets still wrapped: see is_secret()
    dependencies: list
    options: dict  # those of PLANNED_OPTIONS the resource sets, as the engine receives them

    @property
    def additional_secret_outputs(self) -> list:
        return self.options.get("additionalSecretOutputs", [])

    @property
    def replacement_trigger(self):
        return self.options.get("replacement_trigger")


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self._mark_additional_secret_outputs(request, response)
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=response.urn,
            inputs=rpc.deserialize_properties(request.object),
            dependencies=list(request.dependencies), options=self._options(request)))
        return response

    @staticmethod
    def _options(request) -> dict:
        every = json_format.MessageToDict(request, preserving_proto_field_name=True)
        return {key: every[key] for key in PLANNED_OPTIONS if every.get(key) not in (None, {})}

    @staticmethod
    def _mark_additional_secret_outputs(request, response) -> None:
        """What the engine does and the mock monitor does not: the outputs a resource lists in
        additionalSecretOutputs come back as secrets (pulumi-tls lists its private key)."""
        for key in request.additionalSecretOutputs:
            if key in response.object.fields:
                secret = struct_pb2.Struct()
                secret.update({rpc._special_sig_key: rpc._special_secret_sig})
                secret.fields["value"].CopyFrom(response.object.fields[key])
                response.object.fields[key].struct_value.CopyFrom(secret)


@dataclass
class Deployment:
    registrations: list
    outputs: dict  # export name -> (value, is_secret)
    by_type: dict = field(init=False)

    def __post_init__(self):
        self.by_type = {}
        for registration in self.registrations:
            self.by_type.setdefault(registration.type, []).append(registration)

    def one(self, resource_type: str, name: str | None = None) -> Registration:
        """The one resource of `resource_type` (named `name`, when the program has several)."""
        [registration] = [r for r in self.by_type.get(resource_type, [])
                          if name in (None, r.name)]
        return registration


def is_secret(value) -> bool:
    return rpc.is_rpc_secret(value)


def reveal(value):
    return rpc.unwrap_rpc_secret(value)


def _resolve(value) -> tuple:
    """(value, is_secret) of a resolved export."""
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), _sync_await(output.is_secret())


_EVENT_LOOP = asyncio.new_event_loop()


def run_program(config: dict, secret_keys: tuple = (), stack: str = STACK,
                project: str = PROJECT, kept: dict | None = None) -> Deployment:
    """Run infra/__main__.py as stack `stack` with `config` (full keys, e.g. "gcp:region") and
    return what it registered and exported. Raises what the program raises."""
    mocks = StackMocks(kept)
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)  # a fresh root stack per run
    # The Pulumi SDK asks asyncio for the current event loop outside a running one; from Python
    # 3.12 that warns when no loop was set (the CLI's language host sets one). The mocks get the
    # same one every run, as a program has.
    asyncio.set_event_loop(_EVENT_LOOP)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, list(secret_keys))
    for module in PROGRAM_MODULES:  # each run imports the program afresh
        sys.modules.pop(module, None)
    sys.path.insert(0, str(INFRA))
    try:
        @pulumi.runtime.test
        def program():
            runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")
            outputs = pulumi.runtime.get_root_resource().outputs
            return pulumi.Output.all(*outputs.values())  # waits for every export

        program()
    finally:
        sys.path.remove(str(INFRA))
    exported = {name: _resolve(value) for name, value in
                pulumi.runtime.get_root_resource().outputs.items()}
    return Deployment(monitor.registrations, exported)


# --- the dev stack, as the tests deploy it ---------------------------------------------------

SECRET = "Basic b2t0YTpzM2NyZXQtZm9yLXRlc3Rz"
PREVIOUS = "Basic b2xkOnByZXZpb3VzLXNlY3JldA=="
SERVICE = "gcp:cloudrunv2/service:Service"
BUILD = "pulumi-python:dynamic/cloudrun:FunctionBuild"
READY = "pulumi-python:dynamic:Resource"
HOOK = "okta:index/eventHook:EventHook"
VERIFICATION = "okta:index/eventHookVerification:EventHookVerification"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
ACCESSOR = "gcp:secretmanager/secretIamMember:SecretIamMember"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
METRIC = "gcp:logging/metric:Metric"
URL = "https://okta-event-hook-dev-hook-7q2hxyzq6a-uc.a.run.app"


def deploy(monkeypatch, tmp_path, stack: str = STACK, plain_keys: tuple = (),
           project: str = PROJECT, kept: dict | None = None, **config):
    """Run the program as `stack` from an unrelated directory, with the dev stack's basic config.
    The hook secrets are set as secrets, unless listed in `plain_keys` (full keys). `kept`: see
    StackMocks."""
    monkeypatch.chdir(tmp_path)  # paths must come from the program's own file
    values = {"gcp:project": GCP_PROJECT, "gcp:region": "us-central1",
              "okta:orgName": "dev-123456", "okta:baseUrl": "okta.com",
              "okta-event-hook:hookSecret": SECRET}
    values.update({(k if ":" in k else f"okta-event-hook:{k}"): v for k, v in config.items()})
    # The engine hands every config value over as a string: structured ones as JSON.
    values = {k: v if isinstance(v, str) else json.dumps(v)
              for k, v in values.items() if v is not None}
    secret_keys = [k for k in values
                   if k.endswith(("hookSecret", "HookSecret")) and k not in plain_keys]
    return run_program(values, tuple(secret_keys), stack, project, kept)


# --- the whole plan, for the snapshot test ------------------------------------------------------

def plan_of(deployment: Deployment) -> dict:
    """Every resource the program registers, by URN (without the stack and project), with its
    inputs, explicit dependencies and options, as the engine would receive them. Secrets show as
    [secret]; values that change with the function's source or the mocks' random key show as
    placeholders, so the plan changes only when the program does."""
    sys.path.insert(0, str(INFRA))
    try:
        from function_source import function_source
        from okta_catch_up_app import rsa_public_jwk
    finally:
        sys.path.remove(str(INFRA))
    jwk = rsa_public_jwk(generated_key_pems()[1])
    name, archive, content = function_source()
    placeholders = {name: "<the function's archive>", content: "<the function's hash>",
                    base64.b64encode(archive).decode(): "<the function's files>",
                    jwk["n"]: "<generated key n>", jwk["kid"]: "<generated key id>",
                    str(INFRA.parent): "<repo>"}

    def short(urn: str) -> str:
        return urn.split("::", 2)[2]

    def plain(value):
        if rpc.is_rpc_secret(value):
            return "[secret]"
        if isinstance(value, dict):
            return {k: "[pickled provider]" if k == "__provider" else plain(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, pulumi.AssetArchive):
            return "<the function's files>"
        return value

    plan = {short(r.urn): {"inputs": plain(r.inputs),
                           "dependsOn": sorted(short(u) for u in r.dependencies),
                           **({"options": r.options} if r.options else {})}
            for r in deployment.registrations}
    text = json.dumps(plan, sort_keys=True)
    for value, placeholder in placeholders.items():
        text = text.replace(value, placeholder)
    return json.loads(text)
