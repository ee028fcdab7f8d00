"""The fake Okta org holds the catch-up to Okta's documented rules: it must refuse what Okta
refuses, or the catch-up's tests prove nothing."""

import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_simulator import payloads
from okta_simulator.fake_org import ASSERTION_TYPE, FakeOktaOrg

CLIENT_ID = "0oa1fake0org00000001"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def org(key):
    with FakeOktaOrg(CLIENT_ID, key.public_key()) as fake:
        yield fake


def assertion(org, key, **changes) -> str:
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": org.token_url, "iat": now,
              "exp": now + 300, "jti": str(uuid.uuid4()), **changes}
    return jwt.encode(claims, key, algorithm="RS256")


def ask_token(org, client_assertion: str, scope: str = "okta.logs.read"):
    return requests.post(org.token_url, data={
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion})


def bearer(org, key) -> dict:
    reply = ask_token(org, assertion(org, key))
    assert reply.status_code == 200 and reply.json()["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


@pytest.mark.parametrize("changes, status, error", [
    ({"aud": "https://elsewhere.example/oauth2/v1/token"}, 401, "invalid_client"),
    ({"iss": "0oa1someone0else0001"}, 401, "invalid_client"),
    ({"exp": int(time.time()) - 10}, 401, "invalid_client"),
    ({"exp": int(time.time()) + 7200}, 401, "invalid_client"),
])
def test_assertions_okta_would_refuse_are_refused(org, key, changes, status, error):
    reply = ask_token(org, assertion(org, key, **changes))
    assert (reply.status_code, reply.json()["error"]) == (status, error)


def test_a_replayed_assertion_another_key_or_scope_is_refused(org, key):
    once = assertion(org, key)
    assert ask_token(org, once).status_code == 200
    assert ask_token(org, once).json()["error"] == "invalid_client"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert ask_token(org, assertion(org, other)).json()["error"] == "invalid_client"
    reply = ask_token(org, assertion(org, key), scope="okta.users.manage")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_scope")


def test_a_dpop_org_asks_for_a_proof_first(key):
    with FakeOktaOrg(CLIENT_ID, key.public_key(), require_dpop=True) as org:
        reply = ask_token(org, assertion(org, key))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_dpop_proof")


def test_logs_need_a_token_and_a_valid_filter(org, key):
    logs = f"{org.url}/api/v1/logs"
    assert requests.get(logs).status_code == 401
    assert requests.get(logs, headers={"Authorization": "Bearer made-up"}).status_code == 401
    reply = requests.get(logs, params={"filter": 'eventType sw "user."'}, headers=bearer(org, key))
    assert (reply.status_code, reply.json()["errorCode"]) == (400, "E0000031")


def test_polling_always_links_next_and_bounded_requests_end(org, key):
    events = [payloads.deactivation(f"U {i}", f"u{i}@example.com") for i in range(3)]
    for second, event in enumerate(events):
        event["published"] = f"2026-11-28T05:00:0{second}.000Z"
    org.add(*reversed(events))  # served by published, not by arrival
    auth = bearer(org, key)
    url = f"{org.url}/api/v1/logs"
    page = requests.get(url, params={"since": "2000-01-01T00:00:00.000Z", "limit": 2,
                                     "sortOrder": "ASCENDING"}, headers=auth)
    assert [e["uuid"] for e in page.json()] == [e["uuid"] for e in events[:2]]
    assert page.headers["X-Rate-Limit-Limit"] and "next" in page.links
    rest = requests.get(page.links["next"]["url"], headers=auth)
    assert [e["uuid"] for e in rest.json()] == [events[2]["uuid"]]
    empty = requests.get(rest.links["next"]["url"], headers=auth)
    assert empty.json() == [] and "next" in empty.links  # polling: caught up, keep the link
    bounded = requests.get(url, params={"since": "2000-01-01T00:00:00.000Z", "limit": 5,
                                        "until": "2999-01-01T00:00:00.000Z"}, headers=auth)
    assert len(bounded.json()) == 3 and "next" not in bounded.links


def test_429_carries_the_reset_time(org, key):
    auth = bearer(org, key)
    org.rate_limit_next()
    reply = requests.get(f"{org.url}/api/v1/logs", headers=auth)
    assert (reply.status_code, reply.json()["errorCode"]) == (429, "E0000047")
    assert time.time() <= int(reply.headers["X-Rate-Limit-Reset"]) <= time.time() + 2
    assert requests.get(f"{org.url}/api/v1/logs", headers=auth).status_code == 200
