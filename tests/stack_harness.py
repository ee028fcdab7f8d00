"""Runs the Pulumi program in infra/ under pulumi.runtime.set_mocks, as the language host would.

The real Pulumi SDK and the real pulumi-gcp and pulumi-okta SDKs build every resource; only the
engine's answers are mocked. Each registration's raw request is kept, so tests can check what the
engine would receive: secret markers, dependencies, additional secret outputs, replacement triggers.
"""

import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import ROOT
from pulumi.runtime.sync_await import _sync_await

INFRA = Path(__file__).resolve().parents[1] / "infra"
PROJECT, STACK, GCP_PROJECT = "okta-event-hook", "dev", "test-project"
PROGRAM_MODULES = [p.stem for p in INFRA.glob("*.py") if p.stem != "__main__"]


class StackMocks(pulumi.runtime.Mocks):
    """What Google Cloud and Okta would compute for each resource, in the shapes they use."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        resource_id = f"{args.name}-id"
        if args.typ == "gcp:cloudfunctionsv2/function:Function":
            name, location = outputs["name"], outputs["location"]
            service = f"projects/{GCP_PROJECT}/locations/{location}/services/{name}"
            outputs.update(
                project=GCP_PROJECT,
                url=f"https://{location}-{GCP_PROJECT}.cloudfunctions.net/{name}",
                serviceConfig={**outputs["serviceConfig"], "service": service})
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
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    inputs: dict  # secrets still wrapped: see is_secret()
    dependencies: list
    additional_secret_outputs: list
    replacement_trigger: object


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        trigger = (json_format.MessageToDict(request.replacement_trigger)
                   if request.HasField("replacement_trigger") else None)
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=response.urn,
            inputs=rpc.deserialize_properties(request.object),
            dependencies=list(request.dependencies),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            replacement_trigger=trigger))
        return response


@dataclass
class Deployment:
    registrations: list
    outputs: dict  # export name -> (value, is_secret)
    by_type: dict = field(init=False)

    def __post_init__(self):
        self.by_type = {}
        for registration in self.registrations:
            self.by_type.setdefault(registration.type, []).append(registration)

    def one(self, resource_type: str) -> Registration:
        [registration] = self.by_type[resource_type]
        return registration


def is_secret(value) -> bool:
    return rpc.is_rpc_secret(value)


def reveal(value):
    return rpc.unwrap_rpc_secret(value)


def _resolve(value) -> tuple:
    """(value, is_secret) of a resolved export."""
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), _sync_await(output.is_secret())


def run_program(config: dict, secret_keys: tuple = ()) -> Deployment:
    """Run infra/__main__.py with `config` (full keys, e.g. "gcp:region") and return what it
    registered and exported. Raises what the program raises."""
    mocks = StackMocks()
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)  # a fresh root stack per run
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
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
