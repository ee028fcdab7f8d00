"""The catch-up's deployment and the alert policies, under mocks: what `pulumi up` would create."""

import json
import sys

import jwt
import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stack_harness import (
    ACCESSOR,
    BUILD,
    CHANNEL,
    GCP_PROJECT,
    INFRA,
    INVOKER,
    METRIC,
    OKTA_APP_ID,
    OKTA_CLIENT_ID,
    POLICY,
    SECRET_VERSION,
    SERVICE,
    deploy,
    generated_key_pems,
    is_secret,
    reveal,
)

sys.path.insert(0, str(INFRA))
from catch_up_limits import limits  # noqa: E402
from okta_catch_up_app import rsa_public_jwk  # noqa: E402
from stack_settings import cron_gaps_minutes  # noqa: E402

APP = "okta:app/oAuth:OAuth"
SCOPE = "okta:index/appOauthApiScope:AppOauthApiScope"
ROLE = "okta:app/oauthRoleAssignment:OauthRoleAssignment"
JOB = "gcp:cloudscheduler/job:Job"
CATCH_UP_URL = "https://okta-event-hook-dev-catchup-7q2hxyzq6a-uc.a.run.app"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
CATCH_UP_TYPES = {APP, SCOPE, ROLE, JOB, "tls:index/privateKey:PrivateKey"}


def account(name: str) -> str:
    return f"{name}@{GCP_PROJECT}.iam.gserviceaccount.com"


# --- Okta: a service app that may read the System Log, nothing else -----------------------------

def test_the_service_app_uses_private_key_jwt_with_the_generated_key(stack):
    app = stack.one(APP).inputs
    assert (app["type"], app["grantTypes"], app["responseTypes"]) == (
        "service", ["client_credentials"], ["token"])
    assert app["tokenEndpointAuthMethod"] == "private_key_jwt" and app["omitSecret"] is True
    [jwk] = app["jwks"]
    assert jwk == rsa_public_jwk(generated_key_pems()[1])
    key = stack.one("tls:index/privateKey:PrivateKey").inputs
    assert (key["algorithm"], key["rsaBits"]) == ("RSA", 2048)


def test_the_app_gets_the_log_read_scope_and_a_read_only_admin_role_only(stack):
    scope = stack.one(SCOPE).inputs
    assert scope == {"appId": OKTA_APP_ID, "issuer": "https://dev-123456.okta.com",
                     "scopes": ["okta.logs.read"]}
    assert stack.one(ROLE).inputs == {"clientId": OKTA_CLIENT_ID, "type": "READ_ONLY_ADMIN"}


def test_the_jwk_is_a_valid_rsa_public_key_matching_the_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    jwk = rsa_public_jwk(pem)
    assert set(jwk) == {"kid", "kty", "e", "n"} and jwk["kty"] == "RSA" and jwk["e"] == "AQAB"
    assert not any(c in jwk["n"] + jwk["kid"] for c in "+/=")  # base64url without padding
    loaded = jwt.PyJWK({k: v for k, v in jwk.items() if k != "kid"}).key
    assert loaded.public_numbers() == key.public_key().public_numbers()
    # The kid is the RFC 7638 thumbprint, as PyJWT computes it too.
    assert jwk["kid"] == jwt.PyJWK(jwk).key_id and jwk["kid"] == rsa_public_jwk(pem)["kid"]


# --- Google Cloud: a private function, run by the scheduler alone -------------------------------

def test_the_catch_up_function_is_built_from_the_same_source_and_configured(stack):
    hook, catch_up = stack.one(BUILD, "function-image").inputs, stack.one(
        BUILD, "catch-up-function-image").inputs
    assert catch_up["functionTarget"] == "okta_catch_up"
    same = ("bucket", "object", "sourceHash", "serviceAccount", "baseImage")
    assert {k: catch_up[k] for k in same} == {k: hook[k] for k in same}
    service = stack.one(SERVICE, "catch-up-function").inputs
    assert service["name"] == "okta-event-hook-dev-catchup"
    assert "invokerIamDisabled" not in service or service["invokerIamDisabled"] is False
    template = service["template"]
    assert (template["scaling"], template["maxInstanceRequestConcurrency"],
            template["timeout"]) == ({"minInstanceCount": 0, "maxInstanceCount": 1}, 1, "300s")
    assert template["serviceAccount"] == account("okta-event-hook-dev-catchup")
    [container] = template["containers"]
    assert container["image"].startswith(catch_up["imageUri"] + "@sha256:")
    plain = {e["name"]: e["value"] for e in container["envs"] if "value" in e}
    assert plain == {
        "OKTA_ORG_URL": "https://dev-123456.okta.com", "OKTA_CLIENT_ID": OKTA_CLIENT_ID,
        "OKTA_PRIVATE_KEY_ID": rsa_public_jwk(generated_key_pems()[1])["kid"],
        "OKTA_EVENT_HOOK_ID": "who1a2b3c4d5e6f7g8h9",
        "OKTA_CATCH_UP_EVENTS": "user.lifecycle.deactivate",
        "OKTA_CATCH_UP_LOOKBACK_MINUTES": "120",
        "OKTA_CATCH_UP_CURSOR": "gs://catch-up-cursor-4f1c2e7/okta-catch-up-cursor.json"}
    assert [e for e in container["envs"] if "value" not in e] == [{
        "name": "OKTA_PRIVATE_KEY", "valueSource": {"secretKeyRef": {
            "secret": "okta-event-hook-dev-catch-up-key", "version": "1"}}}]


def test_only_the_scheduler_account_may_invoke_the_catch_up(stack):
    invokers = {r.name: r.inputs for r in stack.by_type[INVOKER]}
    assert invokers["catch-up-invoker"] == {
        "project": GCP_PROJECT, "location": "us-central1", "role": "roles/run.invoker",
        "member": f"serviceAccount:{account('okta-event-hook-dev-sched')}",
        "name": "okta-event-hook-dev-catchup"}
    catch_up_service = invokers["catch-up-invoker"]["name"]
    assert [i for i in invokers.values() if i["name"] == catch_up_service] == [
        invokers["catch-up-invoker"]]  # no allUsers on the catch-up


def test_the_schedule_posts_with_an_oidc_token_for_the_function(stack):
    job = stack.one(JOB)
    assert job.inputs["schedule"] == "*/15 * * * *" and job.inputs["timeZone"] == "Etc/UTC"
    assert job.inputs["httpTarget"] == {  # the run.app URL, which is the token's audience
        "uri": CATCH_UP_URL, "httpMethod": "POST",
        "oidcToken": {"serviceAccountEmail": account("okta-event-hook-dev-sched"),
                      "audience": CATCH_UP_URL}}
    assert job.inputs["retryConfig"]["retryCount"] == 3
    assert stack.one(INVOKER, "catch-up-invoker").urn in job.dependencies
    assert int(job.inputs["attemptDeadline"].rstrip("s")) > 300  # longer than the function's


def test_the_private_key_is_a_secret_everywhere(stack):
    private_pem = generated_key_pems()[0]
    body = private_pem.splitlines()[1]
    version = stack.one(SECRET_VERSION, "catch-up-key-version")
    assert is_secret(version.inputs["secretData"])
    assert reveal(version.inputs["secretData"]) == private_pem
    for registration in stack.registrations:
        plain = json.dumps(_without_secrets(registration.inputs), default=str)
        assert body not in plain, registration.name
    for name, (value, secret) in stack.outputs.items():
        assert secret or body not in json.dumps(value), name


def _without_secrets(value):
    if is_secret(value):
        return "<secret>"
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def test_catch_up_outputs(stack):
    assert stack.outputs["catchUpFunctionUrl"] == (CATCH_UP_URL, False)
    # make smoke runs this job once; its id names the project, the region and the job.
    assert stack.outputs["catchUpSchedulerJob"] == (
        f"projects/{GCP_PROJECT}/locations/us-central1/jobs/okta-event-hook-dev-catch-up", False)
    assert stack.outputs["catchUpService"] == ("okta-event-hook-dev-catchup", False)
    assert stack.outputs["oktaServiceAppClientId"] == (OKTA_CLIENT_ID, False)


def test_catch_up_false_creates_none_of_it_and_keeps_alerting(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, catchUp=False)
    assert not CATCH_UP_TYPES & set(stack.by_type)
    assert [r.name for r in stack.by_type[BUCKET]] == ["source"]  # no cursor bucket
    assert [r.name for r in stack.by_type[BUCKET_MEMBER]] == ["source-reader"]
    assert [r.name for r in stack.by_type[SERVICE]] == ["function"]
    assert [r.name for r in stack.by_type[BUILD]] == ["function-image"]
    assert [r.name for r in stack.by_type[ACCESSOR]] == ["hook-secret-accessor"]
    assert {r.name for r in stack.by_type[POLICY]} == {"receiver-errors-alert",
                                                       "refused-deliveries-alert"}
    assert "catchUpFunctionUrl" not in stack.outputs
    # No catch-up means no Okta org URL is needed either.
    deploy(monkeypatch, tmp_path, catchUp=False, **{"okta:orgName": None})


# --- alerting -----------------------------------------------------------------------------------

def policies(stack) -> dict:
    return {r.name.removesuffix("-alert"): r.inputs for r in stack.by_type[POLICY]}


def test_seven_policies_with_documentation_and_no_channel_by_default(stack):
    found = policies(stack)
    assert set(found) == {"receiver-errors", "refused-deliveries", "delivery-failures",
                          "hook-stopped", "catch-up-not-called", "catch-up-stopped",
                          "catch-up-behind"}
    for policy in found.values():
        assert "**What to do:**" in policy["documentation"]["content"]
        assert policy["documentation"]["mimeType"] == "text/markdown"
        assert policy.get("notificationChannels", []) == []
    assert CHANNEL not in stack.by_type
    names, secret = stack.outputs["alertPolicyNames"]
    assert sorted(names) == sorted(f"projects/{GCP_PROJECT}/alertPolicies/{k}-alert"
                                   for k in found) and not secret


def test_log_matching_policies_watch_our_services_only(stack):
    found = policies(stack)
    services = '("okta-event-hook-dev-hook" OR "okta-event-hook-dev-catchup")'
    for key, must in (
            ("delivery-failures", 'jsonPayload.action=("okta.event_hook.delivery_failed")'),
            ("hook-stopped", 'jsonPayload.action=("okta.event_hook.deactivated" OR '
                             '"okta.event_hook.deleted" OR "okta.event_hook.verification_failed")'),
            ("refused-deliveries", 'jsonPayload.status=401 AND jsonPayload.method="POST"'),
            ("receiver-errors", "httpRequest.status>=500")):
        [condition] = found[key]["conditions"]
        log_filter = condition["conditionMatchedLog"]["filter"]
        assert f"resource.labels.service_name={services}" in log_filter and must in log_filter
        assert found[key]["alertStrategy"]["notificationRateLimit"]["period"] == "300s"
    receiver_errors = found["receiver-errors"]["conditions"][0]["conditionMatchedLog"]["filter"]
    # Okta's word about the hook fires its own policy, not this one too.
    assert ('(severity>=ERROR AND NOT jsonPayload.action=("okta.event_hook.delivery_failed" OR '
            '"okta.event_hook.deactivated" OR "okta.event_hook.deleted" OR '
            '"okta.event_hook.verification_failed")) OR httpRequest.status>=500') in receiver_errors


def test_the_stack_watches_every_line_the_catch_up_writes_of_okta_s_word_about_the_hook():
    """infra/ cannot import the function's code; the action names are kept equal here."""
    from log_filters import DELIVERY_FAILED_ACTION, HOOK_STOPPED_ACTIONS
    from okta_hook.catch_up import hook_events

    assert hook_events.ACTIONS == (DELIVERY_FAILED_ACTION, *HOOK_STOPPED_ACTIONS)


def test_a_catch_up_cloud_scheduler_cannot_call_is_watched_from_the_callers_side(stack):
    """Refused at Cloud Run's door (401/403), the function writes nothing, and an absence
    condition never fires for a metric that never had a point: the refusals and the Scheduler
    job's own refused attempts are watched instead; a stranger's 401 at the guessable URL, and
    the catch-up's own 5xx (another alert's), are not."""
    [condition] = policies(stack)["catch-up-not-called"]["conditions"]
    assert condition["conditionMatchedLog"]["filter"] == (
        '(resource.type="cloud_run_revision" AND resource.labels.service_name='
        '"okta-event-hook-dev-catchup" AND httpRequest.status=(401 OR 403) AND '
        'httpRequest.userAgent:"Google-Cloud-Scheduler") OR '
        '(resource.type="cloud_scheduler_job" AND resource.labels.job_id='
        '"okta-event-hook-dev-catch-up" AND jsonPayload.status=("UNAUTHENTICATED" OR '
        '"PERMISSION_DENIED"))')
    catch_up = stack.one(SERVICE, "catch-up-function")
    job = stack.one("gcp:cloudscheduler/job:Job")
    assert (catch_up.inputs["name"], job.inputs["name"]) == (
        "okta-event-hook-dev-catchup", "okta-event-hook-dev-catch-up")


def test_a_catch_up_that_does_not_catch_up_is_an_absence_of_complete_passes(
        monkeypatch, tmp_path, stack):
    [condition] = policies(stack)["catch-up-stopped"]["conditions"]
    absent = condition["conditionAbsent"]
    assert absent["duration"] == "1800s"  # twice the 15-minute schedule
    assert 'metric.type="logging.googleapis.com/user/okta-event-hook-dev-catch-up-stopped"' in \
        absent["filter"]
    metric = stack.one(METRIC, "catch-up-stopped-metric").inputs
    # Only complete passes count: a pass stopped early writes the same action, incomplete.
    assert 'jsonPayload.action="okta.catch_up.pass" AND jsonPayload.complete=true' in \
        metric["filter"]
    # The policy waits until Cloud Monitoring knows the new metric.
    pause = stack.one("time:index/sleep:Sleep", "catch-up-stopped-metric-visible")
    assert pause.urn in stack.one(POLICY, "catch-up-stopped-alert").dependencies
    hourly = deploy(monkeypatch, tmp_path, catchUpSchedule="0 * * * *", catchUpLookbackMinutes=180)
    assert policies(hourly)["catch-up-stopped"]["conditions"][0]["conditionAbsent"][
        "duration"] == "7200s"


@pytest.mark.parametrize("schedule, duration", [
    ("0 */12 * * *", "84600s"),  # twice 12 hours is past Monitoring's longest: capped at 23.5 h
    ("0 */11 * * *", "79200s"),
])
def test_the_absence_window_is_capped_at_monitoring_s_longest(monkeypatch, tmp_path, schedule,
                                                              duration):
    stack = deploy(monkeypatch, tmp_path, catchUpSchedule=schedule, catchUpLookbackMinutes=1440)
    assert policies(stack)["catch-up-stopped"]["conditions"][0]["conditionAbsent"][
        "duration"] == duration


def test_a_catch_up_behind_by_two_intervals_alerts_on_its_pass_or_failure_line(stack):
    [condition] = policies(stack)["catch-up-behind"]["conditions"]
    log_filter = condition["conditionMatchedLog"]["filter"]
    assert ('jsonPayload.action=("okta.catch_up.pass" OR "okta.catch_up.failed") AND '
            "jsonPayload.behindSeconds>1800") in log_filter


def test_an_alert_email_is_attached_to_every_policy(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, alertEmail="oncall@example.com")
    channel = stack.one(CHANNEL)
    assert channel.inputs["type"] == "email"
    assert channel.inputs["labels"] == {"email_address": "oncall@example.com"}
    name = f"projects/{GCP_PROJECT}/notificationChannels/alert-email"
    for policy in policies(stack).values():
        assert policy["notificationChannels"] == [name]


# --- config -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"catchUp": "sometimes"}, "okta-event-hook:catchUp"),
    ({"catchUpSchedule": "every 15 minutes"}, "okta-event-hook:catchUpSchedule must be"),
    ({"catchUpSchedule": "*/15 * * * * *"}, "okta-event-hook:catchUpSchedule must be"),
    ({"catchUpSchedule": "* * * * *"}, "runs 1 minute(s) apart"),
    ({"catchUpSchedule": "*/4 * * * *"}, "runs 4 minute(s) apart"),
    ({"catchUpSchedule": "0,2,30 * * * *"}, "runs 2 minute(s) apart"),  # 28 min at most
    ({"catchUpSchedule": "0 9 * * *", "catchUpLookbackMinutes": 2000},
     "leaves up to 1440 minutes between runs"),  # an alert would fire before every run
    ({"catchUpSchedule": "0 0 1 * *", "catchUpLookbackMinutes": 43200},
     "leaves up to 44640 minutes between runs"),  # 31 days, not 28
    ({"catchUpLookbackMinutes": 15}, "okta-event-hook:catchUpLookbackMinutes must exceed"),
    ({"catchUpSchedule": "0 * * * *", "catchUpLookbackMinutes": 60},
     "longest interval (60 minutes)"),
    ({"catchUpLookbackMinutes": 43_201}, "be at most 43200"),
    ({"catchUpSchedulerRegion": "Europe West"},
     "okta-event-hook:catchUpSchedulerRegion must be a region, e.g. us-central1"),
    ({"alertEmail": "not an address"}, "okta-event-hook:alertEmail"),
    ({"okta:orgName": None}, "the catch-up reads the Okta org at https://<okta:orgName>."
                             "<okta:baseUrl>: set both (e.g. dev-123456 and okta.com), or "
                             "okta-event-hook:catchUp false"),
    ({"functionName": "a" * 55}, "at most 54 characters"),
])
def test_catch_up_config_errors_name_the_key(monkeypatch, tmp_path, config, message):
    monkeypatch.delenv("OKTA_ORG_NAME", raising=False)
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, **config)
    assert message in str(error.value)


def test_the_okta_providers_environment_variables_give_the_org_too(monkeypatch, tmp_path):
    monkeypatch.setenv("OKTA_ORG_NAME", "acme")
    monkeypatch.setenv("OKTA_BASE_URL", "oktapreview.com")
    stack = deploy(monkeypatch, tmp_path, **{"okta:orgName": None, "okta:baseUrl": None})
    assert stack.one(SCOPE).inputs["issuer"] == "https://acme.oktapreview.com"


@pytest.mark.parametrize("schedule, gaps", [
    ("*/15 * * * *", (15, 15)), ("*/5 * * * *", (5, 5)), ("0 * * * *", (60, 60)),
    ("0,10 * * * *", (10, 50)), ("0 9 * * *", (1440, 1440)),
    ("0 0 1 * *", (28 * 1440, 31 * 1440)),  # February, then a 31-day month
    ("0 8 * * 1-5", (1440, 3 * 1440)),  # Friday to Monday
    ("30 23 28 2 *", (365 * 1440, 366 * 1440)), ("0 0 29 2 *", (1461 * 1440, 1461 * 1440)),
    # 2027-12-25 to 2028-12-25 crosses a leap day: a yearly date after February needs the leap
    # year in the walk to find its longest gap.
    ("0 0 25 12 *", (365 * 1440, 366 * 1440)),
])
def test_the_schedule_gaps_are_measured_over_a_whole_year(schedule, gaps):
    assert cron_gaps_minutes(schedule) == gaps


@pytest.mark.parametrize("config", [
    {"catchUpSchedule": "*/5 * * * *"},  # the shortest allowed
    {"catchUpLookbackMinutes": limits.MAX_LOOKBACK_MINUTES},
    {"catchUpSchedule": "0 */23 * * *", "catchUpLookbackMinutes": 1400},  # 23 h at most
])
def test_the_limits_themselves_are_accepted(monkeypatch, tmp_path, config):
    assert deploy(monkeypatch, tmp_path, **config).by_type[JOB]


def test_the_stack_and_the_function_share_the_look_back_limit():
    from okta_hook.catch_up import limits as function_limits

    assert limits.MAX_LOOKBACK_MINUTES == function_limits.MAX_LOOKBACK_MINUTES == 43_200


# --- the cursor ---------------------------------------------------------------------------------

def test_the_cursor_bucket_is_private_regional_and_emptied_on_destroy(stack):
    bucket = stack.one(BUCKET, "catch-up-cursor").inputs
    assert bucket == {"location": "us-central1", "uniformBucketLevelAccess": True,
                      "publicAccessPrevention": "enforced", "forceDestroy": True,
                      "softDeletePolicy": {"retentionDurationSeconds": 0}}


def test_only_the_catch_up_may_use_the_cursor_and_only_in_its_bucket(stack):
    [member] = [m for m in stack.by_type[BUCKET_MEMBER] if m.name != "source-reader"]
    assert member.inputs == {"bucket": "catch-up-cursor-4f1c2e7",
                             "role": "roles/storage.objectUser",
                             "member": f"serviceAccount:{account('okta-event-hook-dev-catchup')}"}
    assert not [m for m in stack.by_type["gcp:projects/iAMMember:IAMMember"]
                if "storage" in m.inputs["role"]]  # no project-wide storage role
    # The function starts once the grant has had time to apply.
    settle = stack.one("time:index/sleep:Sleep", "catch-up-iam-settled")
    assert member.urn in settle.dependencies


def test_the_function_keeps_its_cursor_in_that_bucket(stack):
    [container] = stack.one(SERVICE, "catch-up-function").inputs["template"]["containers"]
    assert {"name": "OKTA_CATCH_UP_CURSOR",
            "value": "gs://catch-up-cursor-4f1c2e7/okta-catch-up-cursor.json"} in container["envs"]


def test_the_service_app_is_replaced_never_updated_in_place(stack):
    app = stack.one(APP)
    assert app.options["replaceOnChanges"] == ["*"]
    assert not app.options.get("deleteBeforeReplace")  # the new app exists before the old goes


def test_the_schedule_may_live_in_another_region_than_the_functions(monkeypatch, tmp_path):
    """Cloud Scheduler does not serve every region Cloud Run does; a job may call a
    function anywhere."""
    stack = deploy(monkeypatch, tmp_path, catchUpSchedulerRegion="europe-west1")
    assert stack.one(JOB).inputs["region"] == "europe-west1"
    assert stack.one(SERVICE, "catch-up-function").inputs["location"] == "us-central1"


def test_by_default_the_schedule_lives_in_the_stack_s_region(stack):
    assert stack.one(JOB).inputs["region"] == "us-central1"


# --- the runbook for a service app deleted in the Admin Console ----------------------------------

FORGET = INFRA.parent / "tools" / "forget-okta-app"


def exported_state(stack) -> dict:
    """What `pulumi stack export` holds of these registrations: URNs, types and dependencies."""
    return {"version": 3, "deployment": {"manifest": {}, "resources": [
        {"urn": r.urn, "type": r.type, "dependencies": r.dependencies,
         "propertyDependencies": {"inputs": r.dependencies}} for r in stack.registrations]}}


def test_the_catch_up_depends_on_the_service_app_so_state_delete_is_refused(stack):
    """`pulumi state delete` refuses a resource others depend on: the runbook cannot use it."""
    app_resources = {r.urn for r in stack.registrations if r.type in (APP, SCOPE, ROLE)}
    assert len(app_resources) == 3
    assert app_resources <= set(stack.one(SERVICE, "catch-up-function").dependencies)


def test_forget_okta_app_drops_the_app_its_grants_and_every_reference_to_them(stack):
    import subprocess

    state = exported_state(stack)
    done = subprocess.run([str(FORGET)], input=json.dumps(state), capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    edited = json.loads(done.stdout)["deployment"]["resources"]
    gone = {r.urn for r in stack.registrations if r.type in (APP, SCOPE, ROLE)}
    assert {r["urn"] for r in edited} == {r.urn for r in stack.registrations} - gone
    assert not gone & {u for r in edited for u in r["dependencies"]}
    assert not gone & {u for r in edited for u in r["propertyDependencies"]["inputs"]}
    assert "pulumi stack import --file" in done.stderr
    again = subprocess.run([str(FORGET)], input=done.stdout, capture_output=True, text=True,
                           timeout=30)
    assert again.returncode == 2 and "nothing to do" in again.stderr
    garbage = subprocess.run([str(FORGET)], input="not json", capture_output=True, text=True,
                             timeout=30)
    assert garbage.returncode == 2 and "pipe `pulumi stack export`" in garbage.stderr
