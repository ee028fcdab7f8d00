"""An OAuth 2.0 client for Okta's own APIs: client credentials with private_key_jwt, DPoP when the
service app requires it, the access token reused while it is valid.

Okta: https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/
DPoP (RFC 9449): https://developer.okta.com/docs/guides/dpop/nonoktaresourceserver/main/
A service app created in the Admin Console requires DPoP by default; one created through the API
may not. So the client starts without it and switches for good when Okta asks for a proof.
"""

import base64
import hashlib
import json
import re
import time
import urllib.parse
import uuid
from typing import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from okta_hook.catch_up.okta_http import Answer, OktaHttp, OktaRefused, OktaUnavailable

SCOPE = "okta.logs.read"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300  # Okta accepts client assertions that expire within an hour
EXPIRY_MARGIN_SECONDS = 60  # a token this close to expiry is renewed first
# A token lifetime Okta does not state as a whole number of seconds from 1 to a day is taken to
# be five minutes: renewed after four, never kept on a guess.
DEFAULT_LIFETIME_SECONDS, LONGEST_LIFETIME_SECONDS = 300, 86_400
# What an Authorization header can carry (RFC 6750's b64token), and no more than this.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
LONGEST_TOKEN = 16 * 1024
_DPOP_ASKED = {"use_dpop_nonce", "invalid_dpop_proof"}


class OktaClient:
    def __init__(self, http: OktaHttp, org_url: str, client_id: str,
                 private_key: rsa.RSAPrivateKey, key_id: str | None = None,
                 clock: Callable[[], float] = time.time):
        self.http = http
        self._clock = clock
        self.token_url = f"{org_url}/oauth2/v1/token"
        self._client_id, self._private_key, self._key_id = client_id, private_key, key_id
        self._token: str | None = None
        self._token_type = "Bearer"
        self._expires_at = 0.0
        # DPoP: a key of this instance's own (RFC 9449 lets the client choose it), and the
        # nonces Okta's token endpoint and API hand out.
        self._dpop_key: ec.EllipticCurvePrivateKey | None = None
        self._nonces: dict[str, str] = {}

    @property
    def uses_dpop(self) -> bool:
        return self._dpop_key is not None

    def get(self, url: str) -> Answer:
        """GET an Okta API URL with the access token: the answer, or OktaRefused for a 4xx."""
        for _ in range(3):  # a DPoP nonce round, then one new token if the old one was refused
            response = self.http.send("GET", url, lambda: (self._authorization("GET", url), None))
            if response.status != 401:
                break
            challenge = response.headers.get("WWW-Authenticate", "")
            if "use_dpop_nonce" in challenge and self._take_nonce(response, "api"):
                continue
            self._token = None  # expired or revoked: one new token, then give up
        if response.status >= 400:
            raise OktaRefused(_describe_refusal(response), response.status)
        return response

    def _authorization(self, method: str, url: str) -> dict:
        token = self._access_token()
        headers = {"Authorization": f"{self._token_type} {token}"}
        if self._token_type == "DPoP":
            ath = _b64url(hashlib.sha256(token.encode()).digest())
            headers["DPoP"] = self._dpop_proof(method, url, "api", ath=ath)
        return headers

    def _access_token(self) -> str:
        if self._token and self._clock() < self._expires_at - EXPIRY_MARGIN_SECONDS:
            return self._token
        for _ in range(3):  # at most: plain, then DPoP without a nonce, then with Okta's nonce
            response = self._request_token()
            if response.status != 400 or _json(response).get("error") not in _DPOP_ASKED:
                break
            fresh_nonce = self._take_nonce(response, "token")
            if self.uses_dpop and not fresh_nonce:
                break  # a proof with the current nonce was refused: nothing left to try
            self._dpop_key = self._dpop_key or ec.generate_private_key(ec.SECP256R1())
        body = _json(response)
        token, token_type = body.get("access_token"), str(body.get("token_type", "")).lower()
        if response.status != 200 or not isinstance(token, str) or not token:
            raise OktaRefused(f"Okta refused an access token: {_describe_refusal(response)}")
        if token_type not in ("bearer", "dpop") or (token_type == "dpop") != self.uses_dpop:
            raise OktaUnavailable("Okta issued a token of an unexpected type "
                                  f"({clip(token_type)!r})")
        if len(token) > LONGEST_TOKEN or not _TOKEN.fullmatch(token):
            raise OktaUnavailable("Okta issued a token that no Authorization header can carry")
        self._token, self._token_type = token, "DPoP" if token_type == "dpop" else "Bearer"
        self._expires_at = self._clock() + token_lifetime(body.get("expires_in"))
        return token

    def _request_token(self) -> Answer:
        """POST to the token endpoint; each attempt carries a new assertion (and DPoP proof), so
        that a retry never presents a `jti` Okta may have recorded already."""
        def attempt() -> tuple:
            headers = {"DPoP": self._dpop_proof("POST", self.token_url, "token")} \
                if self.uses_dpop else {}
            return headers, {"grant_type": "client_credentials", "scope": SCOPE,
                             "client_assertion_type": ASSERTION_TYPE,
                             "client_assertion": self._client_assertion()}

        return self.http.send("POST", self.token_url, attempt)

    def _client_assertion(self) -> str:
        now = int(self._clock())
        claims = {"iss": self._client_id, "sub": self._client_id, "aud": self.token_url,
                  "iat": now, "exp": now + ASSERTION_SECONDS, "jti": str(uuid.uuid4())}
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers)

    def _dpop_proof(self, method: str, url: str, server: str, ath: str | None = None) -> str:
        parts = urllib.parse.urlsplit(url)
        claims = {"htm": method, "htu": f"{parts.scheme}://{parts.netloc}{parts.path}",
                  "iat": int(self._clock()), "jti": str(uuid.uuid4())}
        if server in self._nonces:
            claims["nonce"] = self._nonces[server]
        if ath is not None:
            claims["ath"] = ath
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._dpop_key.public_key()))
        return jwt.encode(claims, self._dpop_key, algorithm="ES256",
                          headers={"typ": "dpop+jwt", "jwk": public})

    def _take_nonce(self, response, server: str) -> bool:
        """Keep the DPoP-Nonce Okta sent; False if it sent none or the one already used."""
        nonce = response.headers.get("DPoP-Nonce")
        if not nonce or self._nonces.get(server) == nonce:
            return False
        self._nonces[server] = nonce
        return True


def token_lifetime(expires_in) -> int:
    """Okta's `expires_in` when it is a sensible whole number of seconds, else five minutes."""
    if (isinstance(expires_in, int) and not isinstance(expires_in, bool)
            and 1 <= expires_in <= LONGEST_LIFETIME_SECONDS):
        return expires_in
    return DEFAULT_LIFETIME_SECONDS


def clip(value, limit: int = 100) -> str:
    """`value` as text of at most `limit` characters: what Okta sent may reach a line or an
    answer, never whole."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(response: Answer) -> dict:
    body = response.json()
    return body if isinstance(body, dict) else {}


def _describe_refusal(response: Answer) -> str:
    """HTTP status and Okta's own error words (OAuth error, or an API errorCode/errorSummary)."""
    body = _json(response)
    words = [str(body[key])[:300] for key in ("error", "error_description", "errorCode",
                                               "errorSummary") if body.get(key)]
    return f"HTTP {response.status}" + (f" ({'; '.join(words)})" if words else "")
