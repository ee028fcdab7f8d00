"""A fake Okta org on loopback: the org authorization server's token endpoint and the System Log
API, following Okta's documented behaviour, for the catch-up's tests and `make demo`.

- POST /oauth2/v1/token: client credentials with a private_key_jwt client assertion (signature,
  iss = sub = client id, aud = the token URL, exp within an hour, jti never reused) and scope
  okta.logs.read. With `require_dpop`, a DPoP proof (RFC 9449) is required: first answered 400
  use_dpop_nonce with a DPoP-Nonce header, then accepted with that nonce; the token is DPoP-bound.
- GET /api/v1/logs: since, until, filter (eventType eq "x" or ...), limit (at most 1,000),
  sortOrder, after. Pages are linked with Link headers; a polling request (no until) always has
  a next link, and an empty page means caught up. X-Rate-Limit-* headers on every answer; 429
  with X-Rate-Limit-Reset when told to.
Okta: https://developer.okta.com/docs/reference/api/system-log/ and
https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/
"""

import base64
import hashlib
import http.server
import json
import re
import secrets
import threading
import time
import urllib.parse
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_simulator import payloads

SCOPE = "okta.logs.read"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RATE_LIMIT = 120  # Okta's example: the /api/v1/logs bucket, per minute, org wide
# Okta documents no longest request URI; like any front end it refuses one at some length (414).
# This fake's length is an assumption, well past any link Okta hands out.
MAX_URI_CHARS = 16 * 1024
_FILTER_TERM = re.compile(r'eventType eq "([^"]+)"')


class FakeOktaOrg:
    """Use as a context manager; `url` is the org's base URL (http, loopback)."""

    def __init__(self, client_id: str, public_key: rsa.RSAPublicKey, require_dpop: bool = False,
                 api_nonce: bool = False):
        """`api_nonce`: the System Log API, too, wants Okta's nonce in DPoP proofs (RFC 9449
        section 9 lets a resource server ask for one with 401 and use_dpop_nonce)."""
        self.client_id, self.public_key, self.require_dpop = client_id, public_key, require_dpop
        self.api_nonce = secrets.token_urlsafe(16) if api_nonce else None
        self.events: list[dict] = []
        self.requests: list[tuple] = []  # (method, path with query, headers)
        self.request_bodies: list[str] = []  # each request's body, in the same order
        self.request_times: list[float] = []  # time.monotonic() of each, as it arrived
        self.tokens: dict[str, dict] = {}  # access token -> {"type", "jkt", "expires"}
        self.token_forms: list[dict] = []  # each token request's form, as the endpoint read it
        self.dpop_nonce = secrets.token_urlsafe(16)
        # (status, body, headers) to send before any work, one a request; a header set to None is
        # left out; None instead of a tuple lets that request be answered as usual.
        self.answers_ahead: list[tuple | None] = []
        self.page_delay = 0.0  # seconds each System Log page takes, for a slow org
        # Seconds between the bytes of every answer (0: answers are written at once), and
        # whether the status line and headers trickle too or are sent at once, body only after.
        self.trickle = 0.0
        self.trickle_head = True
        # How answers are framed: "http/1.0" (each answer closes its connection), "close"
        # (HTTP/1.1 with Connection: close), "length" (HTTP/1.1, Content-Length, kept alive) or
        # "chunked" (HTTP/1.1, Transfer-Encoding: chunked, kept alive).
        self.framing = "http/1.0"
        self.token_lifetime = 3600  # seconds, as Okta's expires_in says (an hour by default)
        self._used_jtis: set[str] = set()
        self._last_proof_nonce = None
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.token_url = f"{self.url}/oauth2/v1/token"

    def __enter__(self) -> "FakeOktaOrg":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests and the demo set up ---------------------------------------------------------

    def add(self, *events: dict) -> None:
        with self._lock:
            self.events.extend(events)

    def rate_limit_next(self, requests: int = 1) -> None:
        """Answer the next `requests` requests 429, reset one second from now."""
        self.answers_ahead += [("rate limit", None, None)] * requests

    def fail_next(self, status: int, requests: int = 1) -> None:
        body = {"errorCode": "E0000009", "errorSummary": "Internal Server Error"}
        self.answers_ahead += [(status, body, {})] * requests

    def record_failed_delivery(self, hook_id: str, hook_name: str, reason: str) -> dict:
        """Okta's System Log record of an event hook delivery it gave up on."""
        event = payloads.failed_delivery([payloads.hook_target(hook_id, hook_name)], reason)
        self.add(event)
        return event

    def record_hook_change(self, event_type: str, hook_id: str, hook_name: str,
                           result: str = "SUCCESS", reason: str | None = None) -> dict:
        """Okta's System Log record of the hook deactivated, deleted or (not) verified."""
        event = payloads.hook_lifecycle(event_type, [payloads.hook_target(hook_id, hook_name)],
                                        result, reason)
        self.add(event)
        return event

    def api_requests(self) -> list[tuple]:
        return [r for r in self.requests if r[1].startswith("/api/v1/logs")]

    def token_requests(self) -> list[tuple]:
        return [r for r in self.requests if r[1] == "/oauth2/v1/token"]

    # --- the token endpoint ---------------------------------------------------------------------

    def token(self, form: dict, headers) -> tuple:
        self.token_forms.append(form)
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only client_credentials here.")
        if form.get("client_assertion_type") != ASSERTION_TYPE or "client_assertion" not in form:
            return _oauth_error(401, "invalid_client", "A client assertion is required.")
        try:
            claims = jwt.decode(form["client_assertion"], self.public_key, algorithms=["RS256"],
                                audience=self.token_url,
                                options={"require": ["iss", "sub", "aud", "exp", "jti"]})
        except jwt.PyJWTError:
            return _oauth_error(401, "invalid_client",
                                "The client_assertion signature or claims are invalid.")
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id:
            return _oauth_error(401, "invalid_client", "The client_assertion iss/sub are wrong.")
        if claims["exp"] > time.time() + 3600:
            return _oauth_error(401, "invalid_client", "The client_assertion expires too late.")
        with self._lock:
            if claims["jti"] in self._used_jtis:
                return _oauth_error(401, "invalid_client", "The client_assertion was used already.")
            self._used_jtis.add(claims["jti"])
        if form.get("scope") != SCOPE:
            return _oauth_error(400, "invalid_scope", "The requested scope is not granted.")

        jkt = None
        if self.require_dpop:
            proof = headers.get("DPoP")
            if not proof:
                return _oauth_error(400, "invalid_dpop_proof",
                                    "The DPoP proof JWT header is missing.")
            checked = self._check_proof(proof, "POST", self.token_url)
            if isinstance(checked, tuple):
                return checked
            jkt = checked
        access_token = secrets.token_urlsafe(32)
        token_type = "DPoP" if jkt else "Bearer"
        self.tokens[access_token] = {"type": token_type, "jkt": jkt,
                                     "expires": time.time() + self.token_lifetime}
        return 200, {"token_type": token_type, "expires_in": self.token_lifetime,
                     "access_token": access_token, "scope": SCOPE}, {}

    def _check_proof(self, proof: str, method: str, url: str, ath: str | None = None):
        """The key thumbprint of a valid proof, or the error answer."""
        try:
            header = jwt.get_unverified_header(proof)
            key = jwt.PyJWK(header["jwk"]).key
            claims = jwt.decode(proof, key, algorithms=["ES256", "RS256"],
                                options={"require": ["htm", "htu", "iat", "jti"]})
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof is invalid.")
        if header.get("typ") != "dpop+jwt" or "d" in header["jwk"]:
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof header is wrong.")
        if (claims["htm"], claims["htu"]) != (method, url) or abs(claims["iat"] - time.time()) > 60:
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof htm/htu/iat is wrong.")
        with self._lock:
            if claims["jti"] in self._used_jtis:
                return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof was used already.")
            self._used_jtis.add(claims["jti"])
        if ath is not None and claims.get("ath") != ath:
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof ath is wrong.")
        self._last_proof_nonce = claims.get("nonce")
        if ath is None and claims.get("nonce") != self.dpop_nonce:
            return _oauth_error(400, "use_dpop_nonce",
                                "Authorization server requires nonce in DPoP proof.",
                                {"DPoP-Nonce": self.dpop_nonce})
        return _thumbprint(header["jwk"])

    # --- the System Log API ---------------------------------------------------------------------

    def logs(self, path: str, query: dict, headers) -> tuple:
        refused = self._check_access(path, headers)
        if refused:
            return refused
        wanted = _parse_filter(query.get("filter"))
        if wanted is None:
            return 400, {"errorCode": "E0000031", "errorSummary": "Invalid search criteria."}, {}
        limit = min(int(query.get("limit", 100)), 1000)
        since, until = query.get("since"), query.get("until")
        try:
            after = _cursor_position(query.get("after"))
        except ValueError:  # not a cursor this org handed out
            return 400, {"errorCode": "E0000001", "errorSummary": "Api validation failed: after",
                         "errorCauses": [{"errorSummary": "after: Invalid cursor"}]}, {}
        with self._lock:
            chosen = sorted((e for e in self.events
                             if (not wanted or e["eventType"] in wanted)
                             and (since is None or _time(e["published"]) >= _time(since))
                             and (until is None or _time(e["published"]) < _time(until))
                             and (after is None or _position(e) > after)), key=_position)
        page = chosen[:limit]
        links = [f'<{self.url}{path}?{urllib.parse.urlencode(query)}>; rel="self"']
        if until is None or len(chosen) > limit:  # polling: a next link on every page
            cursor = _cursor(_position(page[-1])) if page else query.get("after")
            follow = {**query, **({"after": cursor} if cursor else {})}
            links.append(f'<{self.url}{path}?{urllib.parse.urlencode(follow)}>; rel="next"')
        return 200, page, {"Link": ", ".join(links)}

    def _check_access(self, path: str, headers):
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        issued = self.tokens.get(token)
        invalid = (401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"},
                   {"WWW-Authenticate": f'{scheme or "Bearer"} error="invalid_token"'})
        if issued is None or issued["expires"] < time.time() or scheme != issued["type"]:
            return invalid
        if issued["type"] == "DPoP":
            ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=")
            checked = self._check_proof(headers.get("DPoP", ""), "GET",
                                        f"{self.url}{path}", ath=ath.decode())
            if isinstance(checked, tuple) or checked != issued["jkt"]:
                return invalid
            if self.api_nonce and self._last_proof_nonce != self.api_nonce:
                return (401, {"errorCode": "E0000011", "errorSummary": "Nonce required"},
                        {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                         "DPoP-Nonce": self.api_nonce})
        return None


def new_app_key() -> tuple[rsa.RSAPrivateKey, str]:
    """A service app's key pair as a deployer makes one: the key (the fake org gets its public
    half) and its PEM, the catch-up's OKTA_PRIVATE_KEY."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, pem_of(key)


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _handler_for(org: FakeOktaOrg):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # each answer may still close its connection (framing)

        def do_POST(self):
            self._serve()

        def do_GET(self):
            self._serve()

        def _serve(self):
            org.requests.append((self.command, self.path, dict(self.headers)))
            org.request_times.append(time.monotonic())
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            org.request_bodies.append(body)
            path, _, raw_query = self.path.partition("?")
            query = dict(urllib.parse.parse_qsl(raw_query))
            ahead = org.answers_ahead.pop(0) if org.answers_ahead else None
            if len(self.path) > MAX_URI_CHARS:
                status, answer, headers = 414, {"errorSummary": "URI Too Long"}, {}
            elif ahead is not None:
                status, answer, headers = ahead
                if status == "rate limit":
                    status, answer, headers = 429, {
                        "errorCode": "E0000047",
                        "errorSummary": "API call exceeded rate limit due to too many requests."
                    }, {"X-Rate-Limit-Remaining": "0",
                        "X-Rate-Limit-Reset": str(int(time.time()) + 1)}
            elif self.command == "POST" and path == "/oauth2/v1/token":
                status, answer, headers = org.token(dict(urllib.parse.parse_qsl(body)),
                                                    self.headers)
            elif self.command == "GET" and path == "/api/v1/logs":
                time.sleep(org.page_delay)
                status, answer, headers = org.logs(path, query, self.headers)
            else:
                status, answer, headers = 404, {"errorCode": "E0000022",
                                                "errorSummary": "The endpoint does not exist."}, {}
            self._answer(status, json.dumps(answer).encode(), headers)

        def _answer(self, status: int, data: bytes, headers: dict) -> None:
            framing = org.framing
            if framing == "http/1.0":
                self.protocol_version, self.close_connection = "HTTP/1.0", True
            self.send_response(status)
            limits = {"X-Rate-Limit-Limit": str(RATE_LIMIT), "X-Rate-Limit-Remaining": "119",
                      "X-Rate-Limit-Reset": str(int(time.time()) // 60 * 60 + 60)}
            for name, value in {"Content-Type": "application/json", **limits, **headers}.items():
                if value is not None:  # None: a header left out on purpose
                    self.send_header(name, value)
            if framing == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
                data = (b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + b"0\r\n\r\n"
            else:
                self.send_header("Content-Length", str(len(data)))
            if framing == "close":
                self.send_header("Connection", "close")
            head, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n", []
            if not org.trickle:
                self.wfile.write(head + data)
                return
            try:
                if not org.trickle_head:
                    self.wfile.write(head)
                    self.wfile.flush()
                    head = b""
                for byte in head + data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(org.trickle)
            except OSError:  # the client gave up
                self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler


def _oauth_error(status: int, error: str, description: str, headers: dict | None = None):
    return status, {"error": error, "error_description": description}, headers or {}


def _parse_filter(expression: str | None) -> set | None:
    """The event types of `eventType eq "a" or eventType eq "b"`; empty for no filter; None if
    the expression is not of that form."""
    if not expression:
        return set()
    terms = expression.split(" or ")
    types = [_FILTER_TERM.fullmatch(term.strip()) for term in terms]
    return {match.group(1) for match in types} if all(types) else None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _position(event: dict) -> tuple:
    return (_time(event["published"]), event["uuid"])


def _cursor(position: tuple) -> str:
    text = f"{position[0].isoformat()}|{position[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _cursor_position(cursor: str | None) -> tuple | None:
    """The position an `after` cursor stands for; ValueError for one this org did not make."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor") from None
    published, _, event_uuid = text.partition("|")
    return (datetime.fromisoformat(published), event_uuid)


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint of a public JWK."""
    members = {k: jwk[k] for k in sorted(jwk) if k in ("crv", "e", "kty", "n", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
