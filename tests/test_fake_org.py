"""The fake Okta org holds the catch-up to Okta's documented rules: it must refuse what Okta
refuses, or the catch-up's tests prove nothing."""

import base64
import hashlib
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import rfc7638
from okta_simulator import fake_org, payloads
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
    """A client assertion; keyword arguments change or (None) drop claims."""
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": org.token_url, "iat": now,
              "exp": now + 300, "jti": str(uuid.uuid4()), **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256")


def ask_token(org, client_assertion: str, scope: str = "okta.logs.read"):
    return requests.post(org.token_url, data={
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion})


def bearer(org, key) -> dict:
    reply = ask_token(org, assertion(org, key))
    assert reply.status_code == 200 and reply.json()["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


INVALID_ASSERTION = "The client_assertion signature or claims are invalid."


@pytest.mark.parametrize("changes, says", [
    ({"aud": "https://elsewhere.example/oauth2/v1/token"}, INVALID_ASSERTION),
    ({"iss": "0oa1someone0else0001"}, "The client_assertion iss/sub are wrong."),
    ({"exp": int(time.time()) - 10}, INVALID_ASSERTION),
    ({"exp": int(time.time()) + 7200}, "The client_assertion expires too late."),
])
def test_assertions_okta_would_refuse_are_refused(org, key, changes, says):
    reply = ask_token(org, assertion(org, key, **changes))
    # OAuth 2.0's error shape (RFC 6749, 5.2), as Okta's token endpoint answers
    assert (reply.status_code, reply.json()) == (
        401, {"error": "invalid_client", "error_description": says})


def test_a_replayed_assertion_another_key_or_scope_is_refused(org, key):
    once = assertion(org, key)
    assert ask_token(org, once).status_code == 200
    again = ask_token(org, once)
    assert (again.status_code, again.json()) == (401, {
        "error": "invalid_client", "error_description": "The client_assertion was used already."})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert ask_token(org, assertion(org, other)).json()["error"] == "invalid_client"
    reply = ask_token(org, assertion(org, key), scope="okta.users.manage")
    assert (reply.status_code, reply.json()) == (400, {
        "error": "invalid_scope", "error_description": "The requested scope is not granted."})


def test_a_dpop_org_asks_for_a_proof_first(key):
    with FakeOktaOrg(CLIENT_ID, key.public_key(), require_dpop=True) as org:
        reply = ask_token(org, assertion(org, key))
    assert (reply.status_code, reply.json()) == (400, {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof JWT header is missing."})


def test_logs_need_a_token_and_a_valid_filter(org, key):
    logs = f"{org.url}/api/v1/logs"
    reply = requests.get(logs)
    assert (reply.status_code, reply.json()) == (401, {
        "errorCode": "E0000011", "errorSummary": "Invalid token provided"})
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    reply = requests.get(logs, headers={"Authorization": "DPoP made-up"})
    assert (reply.status_code, reply.headers["WWW-Authenticate"]) == (
        401, 'DPoP error="invalid_token"')
    assert requests.get(logs, headers={"Authorization": "Bearer made-up"}).status_code == 401
    reply = requests.get(logs, params={"filter": 'eventType sw "user."'}, headers=bearer(org, key))
    assert (reply.status_code, reply.json()) == (400, {
        "errorCode": "E0000031", "errorSummary": "Invalid search criteria."})


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


def test_queued_answers_come_in_the_order_they_were_asked_for(org, key):
    auth = bearer(org, key)
    org.fail_next(503)
    org.rate_limit_next(2)
    statuses = [requests.get(f"{org.url}/api/v1/logs", headers=auth).status_code
                for _ in range(4)]
    assert statuses == [503, 429, 429, 200]
    org.fail_next(500)
    reply = requests.get(f"{org.url}/api/v1/logs", headers=auth)
    assert (reply.status_code, reply.json()) == (500, {
        "errorCode": "E0000009", "errorSummary": "Internal Server Error"})


def test_a_deployers_key_is_rsa_2048_as_okta_requires_for_private_key_jwt():
    key, pem = fake_org.new_app_key()
    assert key.key_size == 2048 and pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_429_carries_the_reset_time(org, key):
    auth = bearer(org, key)
    org.rate_limit_next()
    reply = requests.get(f"{org.url}/api/v1/logs", headers=auth)
    assert (reply.status_code, reply.json()) == (429, {
        "errorCode": "E0000047",
        "errorSummary": "API call exceeded rate limit due to too many requests."})
    assert reply.headers["X-Rate-Limit-Remaining"] == "0"
    assert time.time() <= int(reply.headers["X-Rate-Limit-Reset"]) <= time.time() + 2
    assert requests.get(f"{org.url}/api/v1/logs", headers=auth).status_code == 200


# --- the token endpoint's other refusals --------------------------------------------------------

@pytest.mark.parametrize("form, status, error, says", [
    ({"grant_type": "password"}, 400, "unsupported_grant_type", "Only client_credentials here."),
    ({"client_assertion_type": "urn:something:else"}, 401, "invalid_client",
     "A client assertion is required."),
    ({"client_assertion": None}, 401, "invalid_client", "A client assertion is required."),
])
def test_a_token_request_that_is_not_client_credentials_with_an_assertion_is_refused(
        org, key, form, status, error, says):
    data = {"grant_type": "client_credentials", "scope": "okta.logs.read",
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion(org, key),
            **form}
    reply = requests.post(org.token_url, data={k: v for k, v in data.items() if v is not None})
    assert (reply.status_code, reply.json()) == (status, {"error": error,
                                                          "error_description": says})


@pytest.mark.parametrize("changes", [{"sub": "0oa1someone0else0001"}, {"jti": None}])
def test_an_assertion_about_another_client_or_without_a_jti_is_refused(org, key, changes):
    assert ask_token(org, assertion(org, key, **changes)).json()["error"] == "invalid_client"


def test_a_token_lives_as_long_as_expires_in_says(org, key):
    org.token_lifetime = 1
    auth = bearer(org, key)
    assert requests.get(f"{org.url}/api/v1/logs", headers=auth).status_code == 200
    time.sleep(1.1)
    reply = requests.get(f"{org.url}/api/v1/logs", headers=auth)
    assert reply.status_code == 401 and 'error="invalid_token"' in reply.headers[
        "WWW-Authenticate"]


# --- DPoP (RFC 9449) ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dpop_key():
    return ec.generate_private_key(ec.SECP256R1())


def proof(dpop_key, method: str, url: str, typ: str = "dpop+jwt", private: bool = False,
          **claims) -> str:
    """A DPoP proof as RFC 9449 has it; keyword arguments change or (None) drop claims."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(dpop_key if private else
                                                       dpop_key.public_key()))
    body = {"htm": method, "htu": url, "iat": int(time.time()), "jti": str(uuid.uuid4()),
            **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, dpop_key,
                      algorithm="ES256", headers={"typ": typ, "jwk": jwk})


@pytest.fixture
def dpop_org(key):
    with FakeOktaOrg(CLIENT_ID, key.public_key(), require_dpop=True) as fake:
        yield fake


def ask_dpop_token(org, key, dpop_proof: str):
    return requests.post(org.token_url, headers={"DPoP": dpop_proof}, data={
        "grant_type": "client_credentials", "scope": "okta.logs.read",
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion(org, key)})


def test_a_proof_without_okta_s_nonce_gets_the_nonce_then_a_dpop_token(dpop_org, key, dpop_key):
    first = ask_dpop_token(dpop_org, key, proof(dpop_key, "POST", dpop_org.token_url))
    assert (first.status_code, first.json()) == (400, {
        "error": "use_dpop_nonce",
        "error_description": "Authorization server requires nonce in DPoP proof."})
    nonce = first.headers["DPoP-Nonce"]
    second = ask_dpop_token(dpop_org, key, proof(dpop_key, "POST", dpop_org.token_url,
                                                 nonce=nonce))
    assert second.status_code == 200 and second.json()["token_type"] == "DPoP"


@pytest.mark.parametrize("change, says", [
    ({"typ": "JWT"}, "The DPoP proof header is wrong."),
    ({"private": True}, "The DPoP proof header is wrong."),
    ({"htm": "GET"}, "The DPoP proof htm/htu/iat is wrong."),
    ({"htu": "https://elsewhere.example/t"}, "The DPoP proof htm/htu/iat is wrong."),
    ({"iat": int(time.time()) - 300}, "The DPoP proof htm/htu/iat is wrong."),
    ({"jti": None}, "The DPoP proof is invalid."),
    ({"htu": None}, "The DPoP proof is invalid."),
])
def test_a_proof_okta_would_refuse_is_refused(dpop_org, key, dpop_key, change, says):
    bad = proof(dpop_key, "POST", dpop_org.token_url, nonce=dpop_org.dpop_nonce, **change)
    reply = ask_dpop_token(dpop_org, key, bad)
    assert (reply.status_code, reply.json()) == (
        400, {"error": "invalid_dpop_proof", "error_description": says})


def test_a_replayed_proof_is_refused(dpop_org, key, dpop_key):
    once = proof(dpop_key, "POST", dpop_org.token_url, nonce=dpop_org.dpop_nonce)
    assert ask_dpop_token(dpop_org, key, once).status_code == 200
    again = ask_dpop_token(dpop_org, key, once)
    assert (again.status_code, again.json()) == (400, {
        "error": "invalid_dpop_proof", "error_description": "The DPoP proof was used already."})


def test_a_proof_may_be_signed_with_an_rsa_key_too(dpop_org, key):
    """RS256 as well as ES256 (the catch-up signs with ES256)."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    claims = {"htm": "POST", "htu": dpop_org.token_url, "iat": int(time.time()),
              "jti": str(uuid.uuid4()), "nonce": dpop_org.dpop_nonce}
    signed = jwt.encode(claims, key, algorithm="RS256", headers={"typ": "dpop+jwt", "jwk": jwk})
    reply = ask_dpop_token(dpop_org, key, signed)
    assert reply.status_code == 200 and reply.json()["token_type"] == "DPoP"


def dpop_token(org, key, dpop_key) -> str:
    reply = ask_dpop_token(org, key, proof(dpop_key, "POST", org.token_url,
                                           nonce=org.dpop_nonce))
    return reply.json()["access_token"]


def ath_of(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_dpop_token_is_used_with_a_proof_of_the_same_key_and_its_hash(dpop_org, key,
                                                                        dpop_key):
    token, logs = dpop_token(dpop_org, key, dpop_key), f"{dpop_org.url}/api/v1/logs"

    def get(scheme="DPoP", signer=dpop_key, **claims):
        headers = {"Authorization": f"{scheme} {token}",
                   "DPoP": proof(signer, "GET", logs, **{"ath": ath_of(token), **claims})}
        return requests.get(logs, headers=headers).status_code

    assert get() == 200
    assert get(scheme="Bearer") == 401  # a DPoP token is not a bearer token
    assert get(ath="wrong") == 401
    assert get(signer=ec.generate_private_key(ec.SECP256R1())) == 401  # another key
    assert get(htm="POST") == 401
    assert requests.get(logs, headers={"Authorization": f"DPoP {token}"}).status_code == 401


def test_an_api_that_wants_a_nonce_says_so_and_hands_it_out(key, dpop_key):
    with FakeOktaOrg(CLIENT_ID, key.public_key(), require_dpop=True, api_nonce=True) as org:
        token, logs = dpop_token(org, key, dpop_key), f"{org.url}/api/v1/logs"
        headers = {"Authorization": f"DPoP {token}",
                   "DPoP": proof(dpop_key, "GET", logs, ath=ath_of(token))}
        refused = requests.get(logs, headers=headers)
        assert (refused.status_code, refused.json()) == (401, {
            "errorCode": "E0000011", "errorSummary": "Nonce required"})
        assert refused.headers["WWW-Authenticate"] == 'DPoP error="use_dpop_nonce"'
        assert refused.headers["DPoP-Nonce"] == org.api_nonce
        headers["DPoP"] = proof(dpop_key, "GET", logs, ath=ath_of(token), nonce=org.api_nonce)
        assert requests.get(logs, headers=headers).status_code == 200


# --- the System Log's query -----------------------------------------------------------------

def test_the_filter_since_until_and_limit_choose_the_events(org, key):
    kinds = ["user.lifecycle.deactivate", "user.session.start", "event_hook.delivery"]
    events = [payloads.system_log_event(kind, []) for kind in kinds * 2]
    for minute, event in enumerate(events):
        event["published"] = f"2026-11-28T05:0{minute}:00.000Z"
    org.add(*events)
    auth, url = bearer(org, key), f"{org.url}/api/v1/logs"

    def uuids(**params):
        return [e["uuid"] for e in requests.get(url, params=params, headers=auth).json()]

    wanted = 'eventType eq "user.lifecycle.deactivate" or eventType eq "event_hook.delivery"'
    assert uuids(filter=wanted, since="2026-11-28T05:00:00.000Z") == [
        events[i]["uuid"] for i in (0, 2, 3, 5)]
    assert uuids(since="2026-11-28T05:01:00.000Z", until="2026-11-28T05:03:00.000Z") == [
        events[1]["uuid"], events[2]["uuid"]]  # since included, until not
    assert len(uuids(limit=2000)) == 6 and len(uuids(limit=4)) == 4
    assert uuids() == [e["uuid"] for e in events]  # no filter: every type


def test_every_answer_carries_okta_s_rate_limit_headers(org, key):
    reply = requests.get(f"{org.url}/api/v1/logs", headers=bearer(org, key))
    assert reply.headers["X-Rate-Limit-Limit"] == "120"
    assert reply.headers["X-Rate-Limit-Remaining"] == "119"
    assert 0 < int(reply.headers["X-Rate-Limit-Reset"]) - time.time() <= 60
    assert reply.headers["Content-Type"] == "application/json"
    assert 'rel="self"' in reply.headers["Link"]


def test_a_proof_key_s_thumbprint_is_rfc_7638_s():
    """The fake binds a DPoP token to the thumbprint of the proof's key: RFC 7638's RSA example
    and RFC 9449's EC one, other members (alg, kid, use) left out as the RFC says."""
    jwk = {"kty": "RSA", "n": rfc7638.N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert fake_org._thumbprint(jwk) == rfc7638.THUMBPRINT
    ec_jwk = {"kty": "EC", "x": rfc7638.EC_X, "y": rfc7638.EC_Y, "crv": "P-256", "use": "sig"}
    assert fake_org._thumbprint(ec_jwk) == rfc7638.EC_THUMBPRINT


# --- Okta's answers, word for word --------------------------------------------------------------
# What the catch-up shows an operator of a refusal is Okta's error object (errorCode, errorSummary)
# or OAuth error (error, error_description): the fake answers in exactly those shapes.

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/users"), ("POST", "/api/v1/logs"), ("GET", "/oauth2/v1/token")])
def test_other_endpoints_and_methods_are_okta_s_404(org, method, path):
    reply = requests.request(method, f"{org.url}{path}")
    assert (reply.status_code, reply.json()) == (404, {
        "errorCode": "E0000022", "errorSummary": "The endpoint does not exist."})


def test_a_token_answer_is_okta_s(org, key):
    reply = ask_token(org, assertion(org, key))
    body = reply.json()
    assert body == {"token_type": "Bearer", "expires_in": 3600, "scope": "okta.logs.read",
                    "access_token": body["access_token"]}
    assert len(body["access_token"]) == 43  # 32 random bytes
    assert org.token_forms[-1]["grant_type"] == "client_credentials"


def test_a_page_is_100_events_unless_asked_and_1000_at_most(org, key):
    events = [payloads.deactivation(f"U {i}", f"u{i}@example.com") for i in range(1001)]
    org.add(*events)
    auth, logs = bearer(org, key), f"{org.url}/api/v1/logs"
    assert len(requests.get(logs, headers=auth).json()) == 100
    assert len(requests.get(logs, params={"limit": 5000}, headers=auth).json()) == 1000


def test_a_bounded_request_that_fits_one_page_has_no_next_link(org, key):
    org.add(*[payloads.deactivation(f"U {i}", f"u{i}@example.com") for i in range(2)])
    reply = requests.get(f"{org.url}/api/v1/logs", headers=bearer(org, key), params={
        "since": "2000-01-01T00:00:00.000Z", "until": "2999-01-01T00:00:00.000Z", "limit": 2})
    assert len(reply.json()) == 2 and "next" not in reply.links
    assert reply.links["self"]["url"].startswith(f"{org.url}/api/v1/logs?")


def test_an_empty_polling_page_keeps_its_cursor(org, key):
    org.add(payloads.deactivation("Ann Lee", "ann.lee@example.com"))
    auth, logs = bearer(org, key), f"{org.url}/api/v1/logs"
    first = requests.get(logs, headers=auth)
    caught_up = requests.get(first.links["next"]["url"], headers=auth)
    assert caught_up.json() == []
    assert caught_up.links["next"]["url"] == first.links["next"]["url"]  # same cursor: poll again


def test_the_org_records_each_request_as_it_arrives(org, key):
    bearer(org, key)
    requests.get(f"{org.url}/api/v1/logs?limit=1", headers={"Authorization": "Bearer x"})
    (method, path, _), (api_method, api_path, headers) = org.requests
    assert (method, path, api_method, api_path) == (
        "POST", "/oauth2/v1/token", "GET", "/api/v1/logs?limit=1")
    assert headers["Authorization"] == "Bearer x"
    assert org.api_requests() == [org.requests[1]] and org.token_requests() == [org.requests[0]]
    assert len(org.request_times) == 2 and org.request_times[0] <= org.request_times[1]

