"""The Pulumi program's own logic: the content-addressed source, the readiness gate, names."""

import base64
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from importlib.metadata import version

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import rfc7638
from okta_simulator.local_receiver import LocalReceiver, free_port
from stack_harness import INFRA, deploy, reveal

sys.path.insert(0, str(INFRA))
from endpoint_ready import EndpointReadyProvider  # noqa: E402
from function_source import FUNCTION_DIR, content_hash, function_source, source_files  # noqa: E402
from names import (  # noqa: E402
    MAX_FUNCTION_NAME,
    MAX_SERVICE_NAME,
    account_id,
    default_function_name,
    service_name,
)
from okta_catch_up_app import rsa_public_jwk  # noqa: E402


def make_tree(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_archive_holds_exactly_the_function_sources():
    names = set(source_files())
    assert {"main.py", "requirements.txt", "okta_hook/receiver.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert all((FUNCTION_DIR / n).is_file() for n in names)


def test_the_object_name_follows_the_content(tmp_path):
    tree = make_tree(tmp_path, {"main.py": "print(1)\n", "requirements.txt": "x==1\n"})
    name, _, digest = function_source(tree)
    assert digest == content_hash(source_files(tree))
    assert name == f"function-source-{digest[:16]}.tar.gz"

    make_tree(tree, {"__pycache__/main.cpython-311.pyc": "junk", ".main.py.swp": "junk"})
    assert function_source(tree)[0] == name  # caches and editor files change nothing

    make_tree(tree, {"main.py": "print(2)\n"})
    changed = function_source(tree)[0]
    assert changed != name
    make_tree(tree, {"main.py": "print(1)\n", "extra/helper.py": ""})
    assert function_source(tree)[0] not in (name, changed)


def test_the_archive_s_bytes_depend_on_names_and_contents_only(tmp_path):
    """Another clone, other file times, another umask or another order of creation: the same
    bytes, so no upload and no build (and the content hash alone decides a rebuild)."""
    files = {"main.py": "print(1)\n", "requirements.txt": "x==1\n", "pkg/a.py": "A = 1\n"}
    first = make_tree(tmp_path / "one", files)
    second = make_tree(tmp_path / "two", dict(reversed(list(files.items()))))
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
        path.chmod(0o700 if path.is_dir() else 0o600)
    assert function_source(first)[1:] == function_source(second)[1:]
    with tarfile.open(fileobj=io.BytesIO(function_source(first)[1]), mode="r:gz") as tar:
        entries = tar.getmembers()
    assert [e.name for e in entries] == ["main.py", "pkg/a.py", "requirements.txt"]
    assert {(e.mtime, e.mode, e.uid, e.gid, e.uname) for e in entries} == {(0, 0o644, 0, 0, "")}


def test_a_function_folder_without_main_is_refused(tmp_path):
    import pulumi

    make_tree(tmp_path, {"requirements.txt": ""})
    with pytest.raises(pulumi.RunError, match="must hold main.py and requirements.txt"):
        function_source(tmp_path)


# --- the readiness gate -------------------------------------------------------------------------

def props(url, timeout=5.0):
    return {"url": url, "timeoutSeconds": timeout, "pollSeconds": 0.05, "answered": None}


def test_ready_once_the_real_receiver_answers_for_itself():
    with LocalReceiver() as receiver:
        result = EndpointReadyProvider().create(props(receiver.url))
    assert result.id == receiver.url
    assert result.outs["answered"] == 401


def test_keeps_waiting_through_forbidden_answers(stub):
    stub.answer(*[(403, b"<html>Forbidden</html>")] * 3,
                (401, b'{"error": "missing or wrong Authorization header"}'))
    assert EndpointReadyProvider().create(props(stub.url)).outs["answered"] == 401
    assert len(stub.script.received) == 4


def test_gives_up_with_the_last_answer_when_the_receiver_never_answers(stub):
    stub.answer((403, b"<html>Forbidden</html>"))
    with pytest.raises(Exception, match=r"did not answer as the receiver within 0 s \(last "
                                        r"answer: HTTP 403\)"):
        EndpointReadyProvider().create(props(stub.url, timeout=0.2))


def test_reports_a_misconfigured_receiver_at_once(stub):
    stub.answer((503, b'{"error": "the receiver is misconfigured; see its logs"}'))
    with pytest.raises(Exception) as raised:
        EndpointReadyProvider().create(props(stub.url, timeout=60))
    assert str(raised.value) == (
        f"the receiver at {stub.url} is live but misconfigured; its CRITICAL log line in "
        "Cloud Logging says which setting is wrong")
    assert len(stub.script.received) == 1


@pytest.mark.parametrize("other", [
    (503, b"<html>Service Unavailable</html>"),  # Google's front end while the service starts
    (404, b'{"error": "misconfigured route"}'),  # not our 503, whatever its words
])
def test_only_the_receivers_own_503_is_a_misconfiguration(stub, other):
    stub.answer(other, (401, b'{"error": "missing or wrong Authorization header"}'))
    assert EndpointReadyProvider().create(props(stub.url)).outs["answered"] == 401


def test_waits_again_when_updated_and_keeps_the_new_inputs(stub):
    stub.answer((401, b'{"error": "missing or wrong Authorization header"}'))
    news = props(stub.url)
    result = EndpointReadyProvider().update("id", props("https://old.example/"), news)
    assert result.outs == {**news, "answered": 401}
    assert len(stub.script.received) == 1


def test_keeps_waiting_through_a_page_that_is_not_the_receiver(stub):
    stub.answer((200, b"<html>Service starting</html>"),
                (401, b'{"error": "missing or wrong Authorization header"}'))
    assert EndpointReadyProvider().create(props(stub.url)).outs["answered"] == 401
    assert len(stub.script.received) == 2


def test_gives_up_naming_the_connection_error_when_nothing_listens():
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(Exception, match=r"within 0 s \(last answer: .*[Cc]onnection refused"):
        EndpointReadyProvider().create(props(url, timeout=0.3))


def test_a_front_end_that_never_answers_is_given_up_at_the_deadline(stub):
    stub.answer((401, b'{"error": "too late"}', 30))
    began = time.monotonic()
    with pytest.raises(Exception, match=r"within 0 s \(last answer: timed out\)"):
        EndpointReadyProvider().create(props(stub.url, timeout=0.3))
    # Not a timing test: a try that outlived the deadline would take its whole 10 s.
    assert time.monotonic() - began < 5


def test_the_gate_changes_only_with_its_url_or_limits():
    """The serialized provider differs between checkouts (its code carries the path): that alone
    must not update the gate and wait again."""
    provider = EndpointReadyProvider()
    olds = {**props("https://a.example/"), "__provider": "serialized in /home/me/okta-event-hook"}
    assert provider.diff("id", olds, {**olds, "__provider": "from /tmp/clone"}).changes is False
    for key, value in (("url", "https://b.example/"), ("timeoutSeconds", 900),
                       ("pollSeconds", 1)):
        result = provider.diff("id", olds, {**olds, key: value})
        assert result.changes is True and result.replaces == []


def test_the_gate_waits_long_enough_for_iam_to_apply():
    from endpoint_ready import DEFAULT_TIMEOUT_SECONDS

    assert DEFAULT_TIMEOUT_SECONDS >= 7 * 60  # Google: a grant can take seven minutes


def test_the_provider_runs_after_pulumi_serializes_it_into_another_process(monkeypatch,
                                                                            tmp_path):
    """Pulumi stores the provider in state with dill and runs it in a separate provider host,
    where infra/ is not importable: it must work from the bytes the program registers alone."""
    gate = deploy(monkeypatch, tmp_path).one("pulumi-python:dynamic:Resource", "endpoint-ready")
    blob = reveal(gate.inputs["__provider"])
    script = ("import base64, json, sys, dill\n"
              "blob, props = sys.stdin.read().split()\n"
              "provider = dill.loads(base64.b64decode(blob))\n"
              "print(json.dumps(provider.create(json.loads(base64.b64decode(props))).outs))\n")
    with LocalReceiver() as receiver:
        props_text = base64.b64encode(json.dumps(props(receiver.url)).encode()).decode()
        done = subprocess.run([sys.executable, "-I", "-c", script], input=f"{blob} {props_text}",
                              capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answered"] == 401
    # Stored by value only for the pickling: the class keeps its module everywhere else.
    assert EndpointReadyProvider.__module__ == EndpointReadyProvider._wait.__module__ == \
        "endpoint_ready"


@pytest.mark.parametrize("function_name",
                         ["ab", "okta-event-hook", "a" * 63, "a" * 25 + "-" * 10 + "b"])
@pytest.mark.parametrize("role", ["run", "build"])
def test_service_account_ids_are_valid_for_any_function_name(function_name, role):
    value = account_id(function_name, role)
    assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", value), value
    assert value.endswith(f"-{role}")


@pytest.mark.parametrize("role", ["run", "build", "catchup", "sched"])
def test_long_function_names_keep_distinct_service_accounts(role):
    first, second = "okta-event-hook-staging-1", "okta-event-hook-staging-2"
    assert account_id(first, role) != account_id(second, role)
    assert account_id("okta-event-hook-dev", role) == f"okta-event-hook-dev-{role}"


@pytest.mark.parametrize("function_name", ["ab", "okta-event-hook-dev", "a" * MAX_FUNCTION_NAME,
                                           "a" * 40 + "-" * 10 + "b"])
def test_cloud_run_service_names_fit_the_admin_api_for_any_function_name(function_name):
    hook, catch_up = service_name(function_name, "hook"), service_name(function_name, "catchup")
    for name in (hook, catch_up):
        assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name) and len(name) <= MAX_SERVICE_NAME
    # Never the bare function name: a stack upgraded from Cloud Functions still has that service.
    assert function_name not in (hook, catch_up) and hook != catch_up
    longer = function_name + "x"
    assert service_name(longer, "hook") != hook


@pytest.mark.parametrize("stack, expected", [
    ("dev", "okta-event-hook-dev"), ("prod", "okta-event-hook-prod"),
    ("staging-2", "okta-event-hook-staging-2")])
def test_default_names_follow_the_stack(stack, expected):
    assert default_function_name(stack) == expected


@pytest.mark.parametrize("stacks", [("Prod", "prod"), ("team_a", "team-a"),
                                    ("x" * 60 + "1", "x" * 60 + "2"), ("__", "--")])
def test_reshaped_stack_names_stay_distinct_and_valid(stacks):
    names = [default_function_name(stack) for stack in stacks]
    assert names[0] != names[1]
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name) and len(name) <= MAX_FUNCTION_NAME


def test_the_deployed_runtime_pins_exactly_what_the_tests_run():
    """What the build installs (function/requirements.txt) is what was tested here."""
    runtime = (FUNCTION_DIR / "requirements.txt").read_text().split()
    names = ["functions-framework", "httptools", "uvloop", "orjson", "requests", "pyjwt",
             "cryptography", "google-cloud-storage"]
    assert runtime == [f"{name}=={version(name)}" for name in names]


def test_pulumi_new_asks_for_every_value_the_program_requires():
    import yaml

    from stack_settings import KNOWN_KEYS, PROJECT

    project = yaml.safe_load((INFRA.parent / "Pulumi.yaml").read_text())
    assert (project["name"], project["main"]) == (PROJECT, "infra/")
    asked = project["template"]["config"]
    required = {"gcp:project", "gcp:region", "okta:orgName", "okta:baseUrl", "okta:apiToken",
                f"{PROJECT}:hookSecret"}
    assert required <= set(asked)
    assert {key for key, spec in asked.items() if spec.get("secret")} == {
        "okta:apiToken", f"{PROJECT}:hookSecret"}
    assert all(spec.get("description") for spec in asked.values())
    ours = {key.split(":", 1)[1] for key in asked if key.startswith(f"{PROJECT}:")}
    assert ours <= KNOWN_KEYS  # no misspelt key for the program to refuse
    quickstart = project["template"]["quickstart"]  # what pulumi new shows once it is done
    assert "pulumi up" in quickstart and "make smoke" in quickstart
    assert f"{PROJECT}:" in quickstart  # the namespace that survives a rename


def test_the_service_app_s_key_id_is_its_rfc_7638_thumbprint():
    n = int.from_bytes(base64.urlsafe_b64decode(rfc7638.N + "=" * (-len(rfc7638.N) % 4)), "big")
    public = rsa.RSAPublicNumbers(65537, n).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert rsa_public_jwk(pem) == {"kid": rfc7638.THUMBPRINT, "kty": "RSA", "e": "AQAB",
                                   "n": rfc7638.N}
