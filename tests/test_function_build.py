"""infra/function_build.py over HTTP against a local fake of Google's REST APIs: the upload, Cloud
Run's builds:submit, Cloud Build's operation polled to its end, the errors, and credentials."""

import base64
import io
import json
import subprocess
import sys
import tarfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime import rpc

from fake_google_build import (
    ACCESS_TOKEN,
    IMPERSONATED_TOKEN,
    REFRESHED_TOKEN,
    FakeGoogleBuild,
    Fault,
)
from stack_harness import BUILD, INFRA, deploy, reveal

sys.path.insert(0, str(INFRA))
from function_build import MAX_TRIES, FunctionBuildProvider  # noqa: E402
from function_source import function_source, source_files  # noqa: E402

IMAGE = "us-central1-docker.pkg.dev/test-project/okta-images/okta-hook"
BUILD_ACCOUNT = ("projects/test-project/serviceAccounts/"
                 "okta-build@test-project.iam.gserviceaccount.com")
SUBMIT = r"/v2/projects/test-project/locations/us-central1/builds:submit$"
OPERATION = r"/v1/projects/test-project/locations/us-central1/operations/"


def build_props(**changes) -> dict:
    name, archive, digest = function_source()
    return {"project": "test-project", "region": "us-central1", "bucket": "okta-source-1a2b",
            "object": name, "archive": base64.b64encode(archive).decode(),
            "sourceHash": digest, "functionTarget": "okta_event_hook", "imageUri": IMAGE,
            "baseImage": "python313", "serviceAccount": BUILD_ACCOUNT,
            "timeoutSeconds": 20, "pollSeconds": 0.01, **changes}


def provider_for(google: FakeGoogleBuild, **settings) -> FunctionBuildProvider:
    """The provider as Pulumi's provider host makes it: configured with the stack's config."""
    provider = FunctionBuildProvider()
    config = {**google.endpoints(), "gcp:accessToken": ACCESS_TOKEN, **settings}
    provider.configure(ConfigureRequest(Config({k: v for k, v in config.items() if v},
                                               "okta-event-hook")))
    return provider


@pytest.fixture
def google():
    with FakeGoogleBuild() as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch):
    for name in ("GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON",
                 "GCLOUD_KEYFILE_JSON", "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
                 "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_RUN_V2_CUSTOM_ENDPOINT",
                 "GOOGLE_CLOUD_BUILD_CUSTOM_ENDPOINT", "GOOGLE_STORAGE_CUSTOM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


# --- a build, start to end -----------------------------------------------------------------

def test_a_build_uploads_submits_waits_and_gives_the_image_by_digest(google):
    result = provider_for(google).create(build_props())
    [(_, _, _, _, submitted)] = google.calls("POST", SUBMIT)
    request = json.loads(submitted)
    [upload] = google.calls("POST", r"^/upload/storage/v1/b/okta-source-1a2b/o$")
    assert upload[2] == {"uploadType": "media", "name": build_props()["object"],
                         "ifGenerationMatch": "0"}
    assert request == {
        "storageSource": {"bucket": "okta-source-1a2b", "object": build_props()["object"],
                          "generation": "1700000000000000"},
        "imageUri": IMAGE,
        "buildpackBuild": {"functionTarget": "okta_event_hook", "baseImage": "python313",
                           "enableAutomaticUpdates": True},
        "serviceAccount": BUILD_ACCOUNT}
    polls = google.calls("GET", OPERATION)
    assert len(polls) == 2  # the fake's build is done at its second poll
    build_id = result.id
    assert polls[-1][1].endswith(f"/operations/{build_id}")
    assert result.outs["image"].startswith(f"{IMAGE}@sha256:")
    assert len(result.outs["image"].split("@sha256:")[1]) == 64
    assert result.outs["baseImageUri"] == ("us-central1-docker.pkg.dev/serverless-runtimes/"
                                           "google-22/runtimes/python313")
    assert build_id in result.outs["logUrl"]
    assert all(headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
               for _, _, _, headers, _ in google.state.requests)


def test_the_upload_is_exactly_the_function_folder_as_a_tarball(google):
    provider_for(google).create(build_props())
    [(_, _, _, headers, body)] = google.calls("POST", "^/upload/")
    assert headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == sorted(source_files())
        assert tar.extractfile("main.py").read() == source_files()["main.py"].read_bytes()


def test_a_source_uploaded_before_is_built_as_it_is_and_never_overwritten(google):
    provider = provider_for(google)
    first = provider.create(build_props())
    again = provider.update(first.id, first.outs, build_props(functionTarget="okta_catch_up"))
    uploads = google.calls("POST", "^/upload/")
    assert len(uploads) == 2 and len(google.state.objects) == 1  # the second answered 412
    second_request = json.loads(google.calls("POST", SUBMIT)[-1][4])
    assert "generation" not in second_request["storageSource"]  # the latest: the same files
    assert second_request["buildpackBuild"]["functionTarget"] == "okta_catch_up"
    assert again.outs["image"] != first.outs["image"]


# --- when it goes wrong --------------------------------------------------------------------

def test_a_failed_build_stops_pulumi_up_naming_its_log(google):
    google.state.fail_builds = True
    with pytest.raises(Exception) as error:
        provider_for(google).create(build_props())
    message = str(error.value)
    build_id = next(iter(google.state.builds))
    assert "the build of okta_event_hook failed (FAILURE: Build failed" in message
    assert f"https://console.cloud.google.com/cloud-build/builds;region=us-central1/{build_id}" \
        in message
    assert "Nothing was deployed from it" in message


def test_a_refused_build_names_the_roles_the_deployer_lacks(google):
    google.state.faults.append(Fault(SUBMIT, 403, times=99,
                                     message="Permission 'run.builds.create' denied"))
    with pytest.raises(Exception) as error:
        provider_for(google).create(build_props())
    message = str(error.value)
    assert "HTTP 403: Permission 'run.builds.create' denied" in message
    assert "roles/run.sourceDeveloper" in message and "project test-project" in message
    assert f"roles/iam.serviceAccountUser) on the build's account {BUILD_ACCOUNT}" in message
    assert len(google.calls("POST", SUBMIT)) == 1  # a refusal is not tried again


def test_a_404_from_the_build_api_is_read_as_a_missing_permission_as_gcloud_does(google):
    google.state.faults.append(Fault(SUBMIT, 404, message="Requested entity was not found."))
    with pytest.raises(Exception, match=r"HTTP 404.*roles/run.sourceDeveloper"):
        provider_for(google).create(build_props())


@pytest.mark.parametrize("step, path, needed", [
    ("upload", "^/upload/", "roles/storage.objectCreator on bucket okta-source-1a2b"),
    ("poll", OPERATION, "cloudbuild.operations.get on project test-project"),
])
def test_each_step_refused_names_what_it_needs(google, step, path, needed):
    google.state.faults.append(Fault(path, 403, times=99))
    with pytest.raises(Exception) as error:
        provider_for(google).create(build_props())
    assert f"Google refused the {step} step of building okta_event_hook" in str(error.value)
    assert needed in str(error.value)


def test_rate_limits_and_unavailability_are_tried_again(google):
    google.state.faults += [Fault(SUBMIT, 503, times=2), Fault(OPERATION, 429, times=1),
                            Fault("^/upload/", 500, times=1)]
    result = provider_for(google).create(build_props())
    assert result.outs["image"].startswith(IMAGE + "@sha256:")
    assert len(google.calls("POST", SUBMIT)) == 3
    assert len(google.calls("POST", "^/upload/")) == 2


def test_a_service_that_stays_unavailable_is_given_up_after_a_bounded_number_of_tries(google):
    google.state.faults.append(Fault(SUBMIT, 503, times=99, message="The service is down"))
    with pytest.raises(Exception) as error:
        provider_for(google).create(build_props())
    assert len(google.calls("POST", SUBMIT)) == MAX_TRIES
    assert f"after {MAX_TRIES} tries (HTTP 503: The service is down)" in str(error.value)


def test_an_operation_that_never_ends_is_a_clear_time_out(google):
    google.state.polls_to_finish = None
    with pytest.raises(Exception) as error:
        provider_for(google).create(build_props(timeoutSeconds=0.3))
    message = str(error.value)
    assert "the build of okta_event_hook did not finish within 0.3 s (last status WORKING)" \
        in message
    assert "cloud-build/builds" in message and "run pulumi up again" in message
    assert len(google.calls("GET", OPERATION)) >= 2


def test_an_answer_without_a_base_image_is_refused_rather_than_deployed_unpatched(google,
                                                                                monkeypatch):
    provider = provider_for(google)
    real_submit = provider.call

    def without_base_image(session, method, url, step, *args, **kwargs):
        response = real_submit(session, method, url, step, *args, **kwargs)
        if step == "submit":
            answer = response.json()
            answer.pop("baseImageUri")
            response._content = json.dumps(answer).encode()
        return response

    monkeypatch.setattr(provider, "call", without_base_image)
    with pytest.raises(Exception, match="without a build operation or a baseImageUri"):
        provider.create(build_props())


# --- nothing happens but a build -----------------------------------------------------------

def test_only_a_change_that_makes_a_new_image_builds_again(google):
    provider = provider_for(google)
    olds = {**build_props(), "image": f"{IMAGE}@sha256:{'1' * 64}", "__provider": "old code"}
    same = {**build_props(), "__provider": "new code from another clone",
            "archive": base64.b64encode(b"other bytes, same content hash").decode(),
            "timeoutSeconds": 60, "pollSeconds": 5}
    assert provider.diff("id", olds, same).changes is False
    for key, value in (("sourceHash", "0" * 64), ("functionTarget", "okta_catch_up"),
                       ("baseImage", "python314"), ("imageUri", IMAGE + "-2"),
                       ("serviceAccount", "projects/p/serviceAccounts/x@p.iam.gserviceaccount.com"),
                       ("sourceHash", rpc.UNKNOWN)):  # unknown in a preview: a change
        diff = provider.diff("id", olds, {**same, key: value})
        assert diff.changes is True and not diff.replaces, key
    assert google.state.requests == []  # diff asks Google nothing (it runs in preview too)


def test_check_names_missing_inputs_and_calls_nothing(google):
    provider = provider_for(google)
    assert provider.check({}, build_props()).failures == []
    failures = provider.check({}, build_props(imageUri="", archive=None)).failures
    assert sorted(f.property for f in failures) == ["archive", "imageUri"]
    assert google.state.requests == []


def test_deleting_leaves_the_image_to_the_repository_s_cleanup(google):
    provider_for(google).delete("build-id", build_props())
    assert google.state.requests == []


# --- the gcp provider's credentials ----------------------------------------------------------

def service_account_key(google) -> dict:
    """A service account key file's JSON, its token URI at the fake (google-auth honours a key's
    token_uri; an authorized_user file's always goes to Google's)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "test-project", "private_key_id": "k1",
            "private_key": pem, "client_email": "deployer@test-project.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": f"{google.url}token"}


def tokens_used(google) -> set:
    return {headers.get("authorization") for _, path, _, headers, _ in google.state.requests
            if path != "/token"}


def test_gcp_credentials_as_json_or_a_path_are_used(google, tmp_path):
    key = json.dumps(service_account_key(google))
    provider_for(google, **{"gcp:accessToken": None, "gcp:credentials": key}) \
        .create(build_props())
    path = tmp_path / "key.json"
    path.write_text(key)
    provider_for(google, **{"gcp:accessToken": None, "gcp:credentials": str(path)}) \
        .create(build_props())
    assert tokens_used(google) == {f"Bearer {REFRESHED_TOKEN}"}


def test_application_default_credentials_are_used_when_nothing_is_set(google, tmp_path,
                                                                     monkeypatch):
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(service_account_key(google)))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    provider_for(google, **{"gcp:accessToken": None}).create(build_props())
    assert tokens_used(google) == {f"Bearer {REFRESHED_TOKEN}"}


def test_the_provider_s_environment_variables_are_read_when_config_is_not(google,
                                                                        monkeypatch):
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", ACCESS_TOKEN)
    for key, value in google.endpoints().items():
        monkeypatch.setenv({"gcp:cloudRunV2CustomEndpoint": "GOOGLE_CLOUD_RUN_V2_CUSTOM_ENDPOINT",
                            "gcp:cloudBuildCustomEndpoint": "GOOGLE_CLOUD_BUILD_CUSTOM_ENDPOINT",
                            "gcp:storageCustomEndpoint": "GOOGLE_STORAGE_CUSTOM_ENDPOINT",
                            "gcp:iamCredentialsCustomEndpoint":
                                "GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT"}[key], value)
    provider = FunctionBuildProvider()
    provider.configure(ConfigureRequest(Config({}, "okta-event-hook")))
    assert provider.create(build_props()).outs["image"].startswith(IMAGE)
    assert tokens_used(google) == {f"Bearer {ACCESS_TOKEN}"}


def test_impersonation_is_applied_to_whatever_credentials_were_found(google):
    target = "deployer@test-project.iam.gserviceaccount.com"
    provider_for(google, **{"gcp:impersonateServiceAccount": target}).create(build_props())
    assert google.state.impersonated == [target]
    assert tokens_used(google) - {f"Bearer {ACCESS_TOKEN}"} == {f"Bearer {IMPERSONATED_TOKEN}"}
    assert len(google.calls("POST", SUBMIT)) == 1


def test_credentials_google_refuses_are_reported_not_retried(google):
    with pytest.raises(Exception) as error:
        provider_for(google, **{"gcp:accessToken": "ya29.expired"}).create(build_props())
    assert "Google refused the credentials in the upload step" in str(error.value)
    assert "gcp:credentials" in str(error.value)
    assert len(google.calls("POST", "^/upload/")) == 1


# --- as Pulumi runs it --------------------------------------------------------------------

def test_the_provider_builds_after_pulumi_serializes_it_into_another_process(
        google, monkeypatch, tmp_path):
    """Pulumi stores the provider in state with dill and runs it in its provider host, where
    infra/ cannot be imported: configured with the stack's config, it must build from the bytes
    the program registered alone."""
    registration = deploy(monkeypatch, tmp_path).one(BUILD, "function-image")
    blob = reveal(registration.inputs["__provider"])
    config = {**google.endpoints(), "gcp:accessToken": ACCESS_TOKEN}
    script = (
        "import base64, json, sys, dill\n"
        "from pulumi.dynamic import Config, ConfigureRequest\n"
        "blob, config, props = sys.stdin.read().split()\n"
        "provider = dill.loads(base64.b64decode(blob))\n"
        "provider.configure(ConfigureRequest(Config(json.loads(base64.b64decode(config)),"
        " 'okta-event-hook')))\n"
        "print(json.dumps(provider.create(json.loads(base64.b64decode(props))).outs))\n")
    encode = lambda value: base64.b64encode(json.dumps(value).encode()).decode()  # noqa: E731
    done = subprocess.run([sys.executable, "-I", "-c", script],
                          input=f"{blob} {encode(config)} {encode(build_props())}",
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["image"].startswith(IMAGE + "@sha256:")
    assert FunctionBuildProvider.__module__ == "function_build"
