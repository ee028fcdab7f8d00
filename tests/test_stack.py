"""The Pulumi program under mocks: what `pulumi up` would ask Google Cloud and Okta to create."""

import re

import pulumi
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stack_harness import (
    ACCESSOR,
    BUILD,
    GCP_PROJECT,
    HOOK,
    PREVIOUS,
    READY,
    SECRET,
    SECRET_VERSION,
    SERVICE,
    URL,
    VERIFICATION,
    deploy,
    is_secret,
    plan_of,
    reveal,
)


def service_of(stack, name="function"):
    """The Cloud Run service's inputs ("function": the receiver; "catch-up-function")."""
    return stack.one(SERVICE, name).inputs


def container_of(stack, name="function"):
    [container] = service_of(stack, name)["template"]["containers"]
    return container


# --- Okta ---------------------------------------------------------------------------------------

SLEEP = "time:index/sleep:Sleep"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
AR_WRITER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"


def test_the_hook_points_at_the_receiver_s_service_url(stack):
    hook = stack.one(HOOK).inputs
    assert hook["channel"] == {"type": "HTTP", "version": "1.0.0", "uri": URL}
    assert hook["status"] == "ACTIVE"
    assert hook["name"] == "okta-event-hook-dev"
    assert stack.outputs["functionUrl"] == (URL, False)


def test_the_hook_auth_header_is_the_configured_secret_and_stays_secret(stack):
    hook = stack.one(HOOK)
    assert is_secret(hook.inputs["auth"])
    assert reveal(hook.inputs["auth"]) == {"type": "HEADER", "key": "Authorization",
                                           "value": SECRET}
    assert "auth" in hook.additional_secret_outputs


def test_the_events_config_drives_the_subscription(monkeypatch, tmp_path, stack):
    assert stack.one(HOOK).inputs["events"] == ["user.lifecycle.deactivate"]
    events = ["user.lifecycle.deactivate", "user.lifecycle.suspend"]
    assert deploy(monkeypatch, tmp_path, events=events).one(HOOK).inputs["events"] == events


def test_verification_waits_for_a_live_public_receiver(stack):
    verification = stack.one(VERIFICATION)
    assert verification.inputs["eventHookId"] == "who1a2b3c4d5e6f7g8h9"
    for resource_type, name in ((SERVICE, "function"), (READY, None)):
        assert stack.one(resource_type, name).urn in verification.dependencies


def verification_trigger(stack) -> str:
    """The verification's replacement trigger: a secret SHA-256, never the hook secret."""
    trigger = stack.one(VERIFICATION).replacement_trigger
    assert is_secret(trigger)
    assert re.fullmatch(r"[0-9a-f]{64}", reveal(trigger))
    return reveal(trigger)


@pytest.mark.parametrize("change", [
    {"hookSecret": "Basic bmV3OnJvdGF0ZWQtc2VjcmV0"},  # a rotation's new secret
    {"events": ["user.lifecycle.deactivate", "user.lifecycle.suspend"]},
    {"hookName": "Okta deactivations"},
    {"functionName": "hooks-moved"},  # a new service, so a new URL
])
def test_any_change_sent_to_okta_verifies_the_hook_again(monkeypatch, tmp_path, stack, change):
    """Okta marks an updated hook UNVERIFIED: a change to what the hook sends must replace the
    verification, or Okta silently stops delivering."""
    before = verification_trigger(stack)
    assert verification_trigger(deploy(monkeypatch, tmp_path)) == before  # deterministic
    assert verification_trigger(deploy(monkeypatch, tmp_path, **change)) != before


def test_changes_okta_does_not_see_leave_the_verification_alone(monkeypatch, tmp_path, stack):
    """Starting or ending a rotation's grace period, or tuning the function, does not touch the
    hook, so it must not re-run a verification either."""
    before = verification_trigger(stack)
    for change in ({"previousHookSecret": PREVIOUS}, {"memory": "1Gi", "minInstances": 0}):
        assert verification_trigger(deploy(monkeypatch, tmp_path, **change)) == before


def test_the_readiness_gate_watches_the_service_url_once_the_service_is_deployed(stack):
    ready = stack.one(READY)
    assert ready.inputs["url"] == URL
    assert stack.one(SERVICE, "function").urn in ready.dependencies


def test_the_hook_is_updated_only_after_the_receiver_s_service(stack):
    assert stack.one(SERVICE, "function").urn in stack.one(HOOK).dependencies


# --- Google Cloud -------------------------------------------------------------------------------

def test_the_secret_version_holds_the_configured_secret_as_a_secret(stack):
    version = stack.one(SECRET_VERSION, "hook-secret-version")
    assert is_secret(version.inputs["secretData"])
    assert reveal(version.inputs["secretData"]) == SECRET
    assert version.inputs["secret"] == \
        f"projects/{GCP_PROJECT}/secrets/okta-event-hook-dev-hook-secret"


def test_the_receiver_reads_its_secret_from_secret_manager_pinned_to_the_version(stack):
    assert container_of(stack)["envs"] == [{  # never a plain variable
        "name": "OKTA_HOOK_SECRET", "valueSource": {"secretKeyRef": {
            "secret": "okta-event-hook-dev-hook-secret", "version": "1"}}}]


def test_each_runtime_account_may_read_its_own_secret_only(stack):
    accessors = {r.name: r for r in stack.by_type[ACCESSOR]}
    assert set(accessors) == {"hook-secret-accessor", "catch-up-key-accessor"}
    for name, secret, account, function in (
            ("hook-secret-accessor", "okta-event-hook-dev-hook-secret",
             "okta-event-hook-dev-run", "function"),
            ("catch-up-key-accessor", "okta-event-hook-dev-catch-up-key",
             "okta-event-hook-dev-catchup", "catch-up-function")):
        email = f"{account}@{GCP_PROJECT}.iam.gserviceaccount.com"
        assert accessors[name].inputs == {
            "secretId": f"projects/{GCP_PROJECT}/secrets/{secret}",
            "role": "roles/secretmanager.secretAccessor", "member": f"serviceAccount:{email}"}
        assert service_of(stack, function)["template"]["serviceAccount"] == email
        assert accessors[name].urn in settled_before(stack, function).dependencies
    project_roles = [r.inputs["role"] for r in stack.by_type["gcp:projects/iAMMember:IAMMember"]]
    assert project_roles == ["roles/run.builder"]  # the build's account, as Google documents


def settled_before(stack, function: str):
    """The IAM pause that `function`'s service waits for (see infra/iam_settled.py)."""
    name = {"function": "receiver-iam-settled", "catch-up-function": "catch-up-iam-settled"}
    pause = stack.one(SLEEP, name[function])
    assert pause.urn in stack.one(SERVICE, function).dependencies
    return pause


def test_grants_settle_before_the_builds_and_services_that_rely_on_them(monkeypatch, tmp_path,
                                                                         stack):
    build_grants = {"build-role", "images-writer", "source-reader"}
    build_pause = stack.one(SLEEP, "build-iam-settled")
    assert build_pause.inputs["createDuration"] == "60s"
    assert {r.name for r in stack.registrations
            if r.urn in build_pause.dependencies} == build_grants
    for image in ("function-image", "catch-up-function-image"):
        assert build_pause.urn in stack.one(BUILD, image).dependencies
    for function in ("function", "catch-up-function"):
        assert settled_before(stack, function).inputs["createDuration"] == "60s"
    # A grant added during a rotation (the previous secret's reader) waits again; tuning does not.
    before = settled_before(stack, "function").inputs["triggers"]
    rotating = deploy(monkeypatch, tmp_path, previousHookSecret=PREVIOUS)
    assert settled_before(rotating, "function").inputs["triggers"] != before
    tuned = deploy(monkeypatch, tmp_path, memory="1Gi")
    assert settled_before(tuned, "function").inputs["triggers"] == before


def test_images_go_to_a_repository_the_stack_owns_and_cleans(stack):
    repository = stack.one(REPOSITORY).inputs
    assert (repository["repositoryId"], repository["format"], repository["location"]) == (
        "okta-event-hook-dev-images", "DOCKER", "us-central1")
    assert repository["cleanupPolicyDryRun"] is False
    policies = {p["id"]: p for p in repository["cleanupPolicies"]}
    assert policies["keep-newest"]["action"] == "KEEP"
    assert policies["keep-newest"]["mostRecentVersions"]["keepCount"] == 5
    assert policies["delete-older"]["action"] == "DELETE"
    for image, service in (("function-image", "okta-event-hook-dev-hook"),
                           ("catch-up-function-image", "okta-event-hook-dev-catchup")):
        assert stack.one(BUILD, image).inputs["imageUri"] == (
            f"us-central1-docker.pkg.dev/{GCP_PROJECT}/okta-event-hook-dev-images/{service}")
    writer = stack.one(AR_WRITER).inputs
    assert writer == {"repository": "okta-event-hook-dev-images", "location": "us-central1",
                      "role": "roles/artifactregistry.writer",
                      "member": f"serviceAccount:{BUILD_ACCOUNT_EMAIL}"}


BUILD_ACCOUNT_EMAIL = f"okta-event-hook-dev-build@{GCP_PROJECT}.iam.gserviceaccount.com"


def every_member(value):
    """Every IAM member string anywhere in `value` (inputs of any resource)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("member", "members"):
                yield from (item if isinstance(item, list) else [item])
            else:
                yield from every_member(item)
    elif isinstance(value, list):
        for item in value:
            yield from every_member(item)


@pytest.mark.parametrize("config", [{}, {"deactivationTopic": True, "alertEmail": "a@b.co",
                                          "previousHookSecret": PREVIOUS}, {"catchUp": False}])
def test_the_receiver_is_public_with_its_invoker_check_disabled_and_no_all_users_grant(
        monkeypatch, tmp_path, config):
    """Domain Restricted Sharing refuses any grant to allUsers or allAuthenticatedUsers: the
    receiver's service admits every caller by having the invoker IAM check disabled instead."""
    stack = deploy(monkeypatch, tmp_path, **config)
    members = [m for r in stack.registrations for m in every_member(reveal(r.inputs))]
    assert members and not [m for m in members if m in ("allUsers", "allAuthenticatedUsers")]
    assert not [r for r in stack.registrations  # nothing that could replace a policy whole
                if r.type.startswith("gcp:") and ("IamBinding" in r.type or "IamPolicy" in r.type)]
    receiver = service_of(stack)
    assert receiver["invokerIamDisabled"] is True and receiver["ingress"] == "INGRESS_TRAFFIC_ALL"
    assert "gcp:cloudfunctionsv2/function:Function" not in stack.by_type


def test_the_receiver_runs_on_python_3_13_built_from_function_s_source(stack):
    build = stack.one(BUILD, "function-image").inputs
    assert (build["functionTarget"], build["baseImage"]) == ("okta_event_hook", "python313")
    assert build["serviceAccount"] == (f"projects/{GCP_PROJECT}/serviceAccounts/"
                                       f"{BUILD_ACCOUNT_EMAIL}")
    assert build["bucket"] == "source-4f1c2e7" and build["project"] == GCP_PROJECT
    assert build["object"].startswith("function-source-") and build["object"].endswith(".tar.gz")
    assert len(build["sourceHash"]) == 64 and build["region"] == "us-central1"
    # The service runs exactly the image built, on the base image Google keeps patched.
    container = container_of(stack)
    assert container["image"] == (f"{build['imageUri']}@sha256:{'0' * 64}")
    assert container["baseImageUri"] == ("us-central1-docker.pkg.dev/serverless-runtimes/"
                                         "google-22/runtimes/python313")
    assert stack.one(BUILD, "function-image").urn in stack.one(SERVICE, "function").dependencies


def test_the_receiver_runs_with_safe_defaults_and_no_default_of_google_s_left_to_diff(stack):
    service = service_of(stack)
    assert (service["name"], service["location"]) == ("okta-event-hook-dev-hook", "us-central1")
    assert service["deletionProtection"] is False  # or pulumi destroy fails
    template = service["template"]
    assert {k: template[k] for k in ("timeout", "maxInstanceRequestConcurrency", "scaling",
                                     "serviceAccount")} == {
        "timeout": "10s", "maxInstanceRequestConcurrency": 80,
        "scaling": {"minInstanceCount": 1, "maxInstanceCount": 10},
        "serviceAccount": f"okta-event-hook-dev-run@{GCP_PROJECT}.iam.gserviceaccount.com"}
    container = container_of(stack)
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "512Mi"},
                                      "cpuIdle": True, "startupCpuBoost": True}
    assert container["ports"] == {"containerPort": 8080, "name": "http1"}


def test_tuning_comes_from_config(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, functionName="hooks-prod", hookName="Prod hook",
                   memory="1Gi", cpu="2", minInstances=0, maxInstances=3, concurrency=40)
    template = service_of(stack)["template"]
    assert (template["containers"][0]["resources"]["limits"], template["scaling"],
            template["maxInstanceRequestConcurrency"]) == (
        {"cpu": "2", "memory": "1Gi"}, {"minInstanceCount": 0, "maxInstanceCount": 3}, 40)
    assert service_of(stack)["name"] == "hooks-prod-hook"
    assert stack.one(HOOK).inputs["name"] == "Prod hook"
    assert "hooks-prod-hook" in stack.outputs["deactivationLogQuery"][0]


def test_apis_are_enabled_first_and_left_enabled_on_destroy(stack):
    apis = stack.by_type["gcp:projects/service:Service"]
    assert {a.inputs["service"] for a in apis} >= {
        "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
        "secretmanager.googleapis.com", "storage.googleapis.com"}
    assert "cloudfunctions.googleapis.com" not in {a.inputs["service"] for a in apis}
    assert all(a.inputs["disableOnDestroy"] is False for a in apis)
    receiver_apis = {a.urn for a in apis if a.name != "api-cloudscheduler"}
    for function in ("function", "catch-up-function"):
        assert receiver_apis <= set(stack.one(SERVICE, function).dependencies)
    build_waits_for = set(stack.one(BUILD, "function-image").dependencies)
    assert receiver_apis <= build_waits_for
    scheduler_api = stack.one("gcp:projects/service:Service", "api-cloudscheduler").urn
    assert scheduler_api in stack.one("gcp:cloudscheduler/job:Job").dependencies


def test_the_source_bucket_is_private_and_only_the_build_reads_it(stack):
    bucket = stack.one("gcp:storage/bucket:Bucket", "source").inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["location"] == "us-central1"
    reader = stack.one("gcp:storage/bucketIAMMember:BucketIAMMember", "source-reader").inputs
    assert reader == {"bucket": "source-4f1c2e7", "role": "roles/storage.objectViewer",
                      "member": f"serviceAccount:{BUILD_ACCOUNT_EMAIL}"}


# --- rotation -----------------------------------------------------------------------------------

def test_a_previous_secret_reaches_the_function_during_a_rotation(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, previousHookSecret=PREVIOUS)
    variables = container_of(stack)["envs"]
    assert [(v["name"], v["valueSource"]["secretKeyRef"]["secret"]) for v in variables] == [
        ("OKTA_HOOK_SECRET", "okta-event-hook-dev-hook-secret"),
        ("OKTA_HOOK_SECRET_PREVIOUS", "okta-event-hook-dev-hook-secret-previous")]
    versions = {reveal(v.inputs["secretData"]) for v in stack.by_type[SECRET_VERSION]
                if "hook-secret" in v.name}
    assert versions == {SECRET, PREVIOUS}
    assert {r.name for r in stack.by_type[ACCESSOR]} >= {
        "hook-secret-accessor", "previous-hook-secret-accessor"}
    # Okta keeps sending only the current secret.
    assert reveal(stack.one(HOOK).inputs["auth"])["value"] == SECRET


# --- secrets never leak -------------------------------------------------------------------------

def _plain_strings(value):
    """Every string in `value` that is not inside a secret."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _plain_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _plain_strings(item)
    elif isinstance(value, str):
        yield value


def test_no_input_or_output_holds_a_secret_outside_a_secret(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, previousHookSecret=PREVIOUS)
    credentials = [SECRET, PREVIOUS, SECRET.split()[1], PREVIOUS.split()[1]]
    for registration in stack.registrations:
        for text in _plain_strings(registration.inputs):
            assert not any(c in text for c in credentials), registration.name
    for name, (value, secret) in stack.outputs.items():
        assert secret or not any(c in str(value) for c in credentials), name


# --- config errors ------------------------------------------------------------------------------

def test_a_missing_hook_secret_is_a_clear_config_error(monkeypatch, tmp_path):
    with pytest.raises(pulumi.ConfigMissingError) as error:
        deploy(monkeypatch, tmp_path, hookSecret=None)
    assert "okta-event-hook:hookSecret" in str(error.value)
    assert "pulumi config set --secret" in str(error.value)


@pytest.mark.parametrize("config, message", [
    ({"events": []}, "okta-event-hook:events must be a non-empty list"),
    ({"events": "user.lifecycle.deactivate"}, "okta-event-hook:events must be a non-empty list"),
    ({"events": [f"type.{i}" for i in range(301)]}, "Okta allows 300"),
    ({"functionName": "Okta_Hook"}, "okta-event-hook:functionName"),
    ({"memory": "512"}, "okta-event-hook:memory"),
    ({"cpu": "half"}, "okta-event-hook:cpu"),
    ({"cpu": "0.5"}, "raise cpu or set concurrency to 1"),
    ({"minInstances": 5, "maxInstances": 2}, "okta-event-hook:minInstances"),
    ({"maxInstances": 0, "minInstances": 0}, "maxInstances at least 1"),
    ({"concurrency": 0}, "okta-event-hook:concurrency"),
    ({"concurrency": 1001}, "okta-event-hook:concurrency must be from 1 to 1000"),
    ({"cpu": "0"}, "okta-event-hook:cpu must be at least 0.08"),
    ({"cpu": "0.05", "concurrency": 1}, "okta-event-hook:cpu must be at least 0.08"),
    ({"cpu": "0.0005", "concurrency": 1}, "okta-event-hook:cpu must be a number"),
    ({"cpu": "3"}, "okta-event-hook:cpu above 1 must be 2, 4, 6 or 8"),
    ({"cpu": "7"}, "okta-event-hook:cpu above 1 must be 2, 4, 6 or 8"),
    ({"cpu": "1.5"}, "okta-event-hook:cpu above 1 must be 2, 4, 6 or 8"),
    ({"memory": "8Gi"}, "okta-event-hook:memory must be from 128 MiB to 4 GiB with 1 vCPU"),
    ({"cpu": "4", "memory": "1Gi"}, "from 2048 MiB to 16 GiB with 4 vCPU"),
    ({"cpu": "0.4", "concurrency": 1, "memory": "600Mi"}, "more than 512 MiB needs 0.5 vCPU"),
    ({"cpu": "0.5", "concurrency": 1, "memory": "2Gi"}, "more than 1 GiB needs 1 vCPU"),
    ({"memory": "64Mi", "cpu": "0.5", "concurrency": 1}, "at least 128Mi"),
    ({"hookSecret": "   "}, "okta-event-hook:hookSecret is blank"),
    ({"previousHookSecret": " "}, "okta-event-hook:previousHookSecret is blank"),
    ({"events": ["user.lifecycle.deactivate", "user.lifecycle.deactivate"]},
     "okta-event-hook:events lists user.lifecycle.deactivate more than once"),
    ({"fuctionName": "hooks"}, "okta-event-hook:fuctionName is not a setting of this program. "
                               "Did you mean okta-event-hook:functionName?"),
    ({"catchup": "false"}, "Did you mean okta-event-hook:catchUp?"),
    ({"region": "europe-west1"}, "okta-event-hook:region is not a setting of this program."),
])
def test_invalid_config_fails_before_anything_is_created(monkeypatch, tmp_path, config, message):
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, **config)
    assert message in str(error.value)


@pytest.mark.parametrize("key", ["okta-event-hook:hookSecret",
                                 "okta-event-hook:previousHookSecret"])
def test_a_hook_secret_stored_in_plain_text_is_refused(monkeypatch, tmp_path, key):
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, plain_keys=(key,), previousHookSecret=PREVIOUS)
    assert f"{key} is stored in plain text" in str(error.value)
    assert f"pulumi config set --secret {key}" in str(error.value)
    assert SECRET not in str(error.value) and PREVIOUS not in str(error.value)


@pytest.mark.parametrize("cpu, memory, concurrency", [
    ("0.5", "1Gi", 1), ("0.08", "128Mi", 1), ("2", "8Gi", 80), ("4", "2Gi", 1000),
    ("8", "32Gi", 80), ("1", "4Gi", 80), ("0.999", "512M", 1), ("6", "4Gi", 80),
    ("6", "24Gi", 80), ("1", "1G", 80)])
def test_combinations_cloud_run_accepts_pass(monkeypatch, tmp_path, cpu, memory, concurrency):
    container = container_of(deploy(monkeypatch, tmp_path, cpu=cpu, memory=memory,
                                    concurrency=concurrency))
    assert container["resources"]["limits"] == {"cpu": cpu, "memory": memory}


def test_min_instances_may_equal_max_instances(monkeypatch, tmp_path):
    template = service_of(deploy(monkeypatch, tmp_path, minInstances=3, maxInstances=3))[
        "template"]
    assert template["scaling"] == {"minInstanceCount": 3, "maxInstanceCount": 3}


def test_one_request_at_a_time_may_use_a_fraction_of_a_cpu(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, cpu="0.5", concurrency=1, memory="256Mi")
    assert container_of(stack)["resources"]["limits"]["cpu"] == "0.5"


# --- two stacks in one project ------------------------------------------------------------------

NAMED_INPUTS = ("name", "accountId", "secretId", "repositoryId")


def project_names(stack) -> set:
    """Every name the stack claims in the Google Cloud project."""
    return {(r.type, r.inputs[key]) for r in stack.registrations
            if r.type.startswith("gcp:")
            for key in NAMED_INPUTS if isinstance(r.inputs.get(key), str)}


def test_two_stacks_in_one_project_claim_no_name_in_common(monkeypatch, tmp_path):
    staging = deploy(monkeypatch, tmp_path, stack="staging")
    prod = deploy(monkeypatch, tmp_path, stack="prod")
    assert service_of(staging)["name"] == "okta-event-hook-staging-hook"
    assert service_of(prod)["name"] == "okta-event-hook-prod-hook"
    assert len(project_names(prod)) >= 15  # functions, accounts, secrets, job, repository...
    assert not project_names(staging) & project_names(prod)
    assert staging.one(HOOK).inputs["name"] != prod.one(HOOK).inputs["name"]


# --- the whole plan -----------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    {},
    {"previousHookSecret": PREVIOUS, "events": ["user.lifecycle.deactivate", "user.session.start"],
     "hookName": "Deactivations", "functionName": "okta-hook-prod", "memory": "1Gi", "cpu": "1",
     "minInstances": 1, "maxInstances": 5, "concurrency": 40, "catchUpSchedule": "*/30 * * * *",
     "catchUpLookbackMinutes": 240, "catchUpSchedulerRegion": "europe-west1",
     "alertEmail": "oncall@example.com", "retentionDays": 730, "deactivationTopic": True},
    {"catchUp": False},
], ids=["defaults", "every-setting", "no-catch-up"])
def test_the_plan_changes_only_on_purpose(monkeypatch, tmp_path, snapshot, config):
    """Every resource's URN, inputs and dependencies, as `pulumi up` would send them. A changed
    URN replaces that resource on every existing stack; a lost input or dependency changes what is
    deployed. When this fails, read the diff; if the change is meant, record it with
    `make snapshots` and commit the file under tests/__snapshots__/ with the code."""
    plan = plan_of(deploy(monkeypatch, tmp_path, **config))
    assert plan == snapshot(extension_class=JSONSnapshotExtension)
