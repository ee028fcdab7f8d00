"""The catch-up's settings on their own: every variable, every way it can be wrong."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from okta_hook.catch_up.settings import (
    DEFAULT_LOOKBACK_MINUTES,
    MAX_LOOKBACK_MINUTES,
    CatchUpSettings,
)
from okta_hook.catch_up.system_log import event_type_filter


def pem(key, password: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption).decode()


@pytest.fixture(scope="module")
def key_pem():
    return pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def settings(key_pem, **env) -> CatchUpSettings:
    base = {"OKTA_ORG_URL": "https://dev-123456.okta.com", "OKTA_CLIENT_ID": "0oa1abc",
            "OKTA_PRIVATE_KEY": key_pem}
    return CatchUpSettings.from_environ({k: v for k, v in {**base, **env}.items()
                                         if v is not None})


def test_defaults(key_pem):
    s = settings(key_pem)
    assert s.problems == ()
    assert s.org_url == "https://dev-123456.okta.com"
    assert s.events == ("user.lifecycle.deactivate",)  # what a handler acts on
    assert s.lookback_minutes == DEFAULT_LOOKBACK_MINUTES == 120
    assert (s.event_hook_id, s.private_key_id) == (None, None)
    assert s.private_key.key_size == 2048


@pytest.mark.parametrize("url, expected", [
    ("https://dev-123456.okta.com/", "https://dev-123456.okta.com"),
    (" https://login.example.com:8443 ", "https://login.example.com:8443"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://localhost:9", "http://localhost:9"),
    ("http://[::1]:9", "http://[::1]:9"),
])
def test_org_urls_accepted(key_pem, url, expected):
    s = settings(key_pem, OKTA_ORG_URL=url)
    assert s.problems == () and s.org_url == expected


BASE_URL = ("OKTA_ORG_URL must be the org's base URL, e.g. "
            "https://dev-123456.okta.com")
HTTPS_ONLY = "OKTA_ORG_URL must use https (http is accepted for a loopback host only)"


@pytest.mark.parametrize("url, problem", [
    ("http://dev-123456.okta.com", HTTPS_ONLY),
    ("http://10.0.0.8", HTTPS_ONLY),
    ("dev-123456.okta.com", BASE_URL),
    ("https://dev-123456.okta.com/oauth2/default", BASE_URL),
    ("https://dev-123456.okta.com?x=1", BASE_URL),
    ("https://user:pw@dev-123456.okta.com", BASE_URL),
    ("https://user@dev-123456.okta.com", BASE_URL),
    ("https://:pw@dev-123456.okta.com", BASE_URL),
    ("https://dev-123456.okta.com:port", BASE_URL),
    ("ftp://dev-123456.okta.com", BASE_URL),
    ("", "OKTA_ORG_URL is not set (the org's base URL, e.g. https://dev-123456.okta.com)"),
])
def test_org_urls_refused(key_pem, url, problem):
    refused = settings(key_pem, OKTA_ORG_URL=url)
    assert (refused.problems, refused.org_url) == ((problem,), "")


def test_settings_cannot_change_once_read(key_pem):
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        settings(key_pem).org_url = "https://elsewhere.example.com"


def test_a_pem_with_literal_backslash_n_is_accepted(key_pem):
    assert settings(key_pem, OKTA_PRIVATE_KEY=key_pem.replace("\n", "\\n")).problems == ()


@pytest.mark.parametrize("make_key, problem", [
    (lambda: "not a key", "not an unencrypted private key"),
    (lambda: pem(rsa.generate_private_key(65537, 2048), b"pw"), "not an unencrypted"),
    (lambda: pem(rsa.generate_private_key(65537, 1024)), "RSA key of at least 2048 bits"),
    (lambda: pem(ec.generate_private_key(ec.SECP256R1())), "RSA key of at least 2048 bits"),
])
def test_keys_refused_without_repeating_them(make_key, problem, key_pem):
    value = make_key()
    [found] = settings(key_pem, OKTA_PRIVATE_KEY=value).problems
    assert found.startswith("OKTA_PRIVATE_KEY") and problem in found
    body = [line for line in value.splitlines() if line and not line.startswith("-----")]
    assert not any(line in found for line in body)


def test_the_key_is_never_printed(key_pem):
    s = settings(key_pem)
    body = key_pem.splitlines()[1]
    assert body not in repr(s) and "private_key=" not in repr(s)


@pytest.mark.parametrize("value, expected", [
    ("user.lifecycle.deactivate", ("user.lifecycle.deactivate",)),
    (" user.lifecycle.deactivate , user.lifecycle.suspend,", ("user.lifecycle.deactivate",
                                                               "user.lifecycle.suspend")),
    ("a.b,a.b", ("a.b",)),
    ("", ("user.lifecycle.deactivate",)),
])
def test_events(key_pem, value, expected):
    s = settings(key_pem, OKTA_CATCH_UP_EVENTS=value)
    assert s.problems == () and s.events == expected


CURSOR_WORDS = ("OKTA_CATCH_UP_CURSOR must be gs://BUCKET/OBJECT, e.g. "
                "gs://my-cursor-bucket/okta-catch-up-cursor.json")
EVENTS_WORDS = ("OKTA_CATCH_UP_EVENTS must be comma-separated event types, e.g. "
                "user.lifecycle.deactivate")


@pytest.mark.parametrize("name, value, field, left, problem", [
    *(("OKTA_CATCH_UP_EVENTS", value, "events", (), EVENTS_WORDS) for value in [
        'user.lifecycle.deactivate" or eventType eq "x', "nodots", ",", "a.b c.d"]),
    *(("OKTA_CATCH_UP_CURSOR", value, "cursor", None, CURSOR_WORDS) for value in [
        "s3://bucket/cursor.json", "gs://Bucket/cursor.json", "gs://bucket/", "gs://b/o"]),
])
def test_a_refused_list_or_location_says_what_it_must_be_and_is_left_empty(key_pem, name, value,
                                                                         field, left, problem):
    refused = settings(key_pem, **{name: value})
    assert (refused.problems, getattr(refused, field)) == ((problem,), left)


@pytest.mark.parametrize("name, value, problem", [
    ("OKTA_CATCH_UP_LOOKBACK_MINUTES", "0", "a whole number from 1 to 43200"),
    ("OKTA_CATCH_UP_LOOKBACK_MINUTES", str(MAX_LOOKBACK_MINUTES + 1),
     "a whole number from 1 to 43200"),
    ("OKTA_CATCH_UP_LOOKBACK_MINUTES", "2h", "a whole number from 1 to 43200"),
    ("OKTA_CATCH_UP_LOOKBACK_MINUTES", "\u00b2", "a whole number from 1 to 43200"),
    ("OKTA_CATCH_UP_MAX_PAGES", "0", "a whole number from 1 to 10000"),
    ("OKTA_CATCH_UP_MAX_PAGES", "10001", "a whole number from 1 to 10000"),
    ("OKTA_CATCH_UP_MAX_SECONDS", "-1", "a whole number from 1 to 3600"),
    ("OKTA_CATCH_UP_MAX_SECONDS", "3601", "a whole number from 1 to 3600"),
    ("OKTA_EVENT_HOOK_ID", "who/../x", "letters, digits, '-' or '_'"),
    ("OKTA_PRIVATE_KEY_ID", "kid with spaces", "letters, digits, '-' or '_'"),
    ("OKTA_CLIENT_ID", 'x" or "y', "letters, digits, '-' or '_'"),
])
def test_bad_values_name_their_variable(key_pem, name, value, problem):
    assert settings(key_pem, **{name: value}).problems == (f"{name} must be {problem}",)


def test_a_missing_client_id_says_what_it_is(key_pem):
    assert settings(key_pem, OKTA_CLIENT_ID="").problems == (
        "OKTA_CLIENT_ID is not set (the service app's client id)",)


@pytest.mark.parametrize("name, value", [
    ("OKTA_CATCH_UP_LOOKBACK_MINUTES", 1), ("OKTA_CATCH_UP_MAX_PAGES", 1),
    ("OKTA_CATCH_UP_MAX_PAGES", 10_000), ("OKTA_CATCH_UP_MAX_SECONDS", 1),
    ("OKTA_CATCH_UP_MAX_SECONDS", 3600),
])
def test_the_limits_of_each_number_are_accepted(key_pem, name, value):
    assert settings(key_pem, **{name: str(value)}).problems == ()


def test_numbers_and_ids_accepted(key_pem):
    s = settings(key_pem, OKTA_CATCH_UP_LOOKBACK_MINUTES="43200", OKTA_EVENT_HOOK_ID="who1x",
                 OKTA_PRIVATE_KEY_ID="kid-1_a", OKTA_CATCH_UP_MAX_PAGES="5")
    assert (s.problems, s.lookback_minutes, s.event_hook_id, s.private_key_id, s.max_pages) == (
        (), 43200, "who1x", "kid-1_a", 5)


def test_the_filter_names_each_type():
    assert event_type_filter(["a.b", "c.d"]) == 'eventType eq "a.b" or eventType eq "c.d"'
