"""Fixtures: the receiver and the catch-up through functions-framework's app and test client,
their log, and the fake Okta org the catch-up reads."""

import json
import uuid

import pytest
from functions_framework import create_app
from starlette.testclient import TestClient

from helpers import CLIENT_ID, env_for
from okta_simulator.cloud_storage import LocalStorage
from okta_simulator.fake_org import FakeOktaOrg, new_app_key, pem_of
from okta_simulator.local_receiver import DEV_SECRET, SOURCE, TARGET
from stub_server import StubServer

PREVIOUS_SECRET = "Basic cHJldmlvdXM6b2xkLXNlY3JldA=="  # previous:old-secret
RECEIVER_ENV = ("OKTA_HOOK_SECRET", "OKTA_HOOK_SECRET_PREVIOUS", "OKTA_HOOK_AUTH_HEADER",
                "OKTA_HOOK_MAX_BODY_BYTES")
CATCH_UP_ENV = ("OKTA_ORG_URL", "OKTA_CLIENT_ID", "OKTA_PRIVATE_KEY", "OKTA_PRIVATE_KEY_ID",
                "OKTA_CATCH_UP_EVENTS", "OKTA_CATCH_UP_LOOKBACK_MINUTES", "OKTA_EVENT_HOOK_ID",
                "OKTA_CATCH_UP_MAX_PAGES", "OKTA_CATCH_UP_MAX_SECONDS", "OKTA_CATCH_UP_CURSOR",
                "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")
SECRETS = (DEV_SECRET, PREVIOUS_SECRET, DEV_SECRET.split()[1], PREVIOUS_SECRET.split()[1])


class CapturedLog:
    """What the receiver wrote to stdout, kept whole so every test can be checked for leaks."""

    def __init__(self, capsys):
        self._capsys = capsys
        self.text = ""

    def records(self) -> list[dict]:
        self.text += self._capsys.readouterr().out
        return [json.loads(line) for line in self.text.splitlines()]

    def messages(self, severity: str | None = None) -> list[str]:
        return [r["message"] for r in self.records() if severity in (None, r["severity"])]


@pytest.fixture
def log(capsys):
    captured = CapturedLog(capsys)
    yield captured
    captured.records()
    for secret in SECRETS:
        assert secret not in captured.text, "a credential reached the log"


@pytest.fixture
def make_client(monkeypatch, log):
    """A test client for a receiver instance started with `env` (OKTA_HOOK_SECRET defaults to
    the dev secret; pass None to leave a variable unset)."""

    def make(**env) -> TestClient:
        for name in RECEIVER_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in {"OKTA_HOOK_SECRET": DEV_SECRET, **env}.items():
            if value is not None:
                monkeypatch.setenv(name, value)
        # create_app executes main.py afresh: a new instance with empty memories (a cold start).
        return TestClient(create_app(TARGET, str(SOURCE)))

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def stub():
    """A scripted HTTP server on loopback (see stub_server.py)."""
    with StubServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_key():
    return new_app_key()[0]


@pytest.fixture(scope="session")
def key_material(app_key) -> list[str]:
    """Strings that must never appear in any output: the PEM's base64 lines."""
    return [line for line in pem_of(app_key).splitlines() if not line.startswith("-----")]


@pytest.fixture
def org(app_key):
    with FakeOktaOrg(CLIENT_ID, app_key.public_key()) as fake:
        yield fake


@pytest.fixture
def make_catch_up(monkeypatch, log):
    """functions-framework's app for okta_catch_up, started with `env` (a fresh instance)."""

    def make(**env):
        for name in CATCH_UP_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app("okta_catch_up", str(SOURCE)).test_client()

    return make


@pytest.fixture
def stack(monkeypatch, tmp_path):
    """The program deployed under mocks with the dev stack's basic config (stack_harness.py)."""
    from stack_harness import deploy

    return deploy(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def storage():
    """fake-gcs-server behind the fidelity proxy (okta_simulator/cloud_storage.py), one a module."""
    with LocalStorage() as emulator:
        yield emulator


@pytest.fixture
def cursor_name() -> str:
    return f"cursor-{uuid.uuid4().hex}.json"


@pytest.fixture
def instance(make_catch_up, org, app_key, storage, cursor_name):
    """A fresh okta_catch_up instance keeping its cursor in the emulator; call it again for a
    new instance (the old one's memory is gone, the cursor is not)."""

    def new(**extra):
        return make_catch_up(**env_for(org.url, app_key), **storage.environment(cursor_name),
                             **extra)

    return new
