"""Okta side of the catch-up: an API service app that may read the System Log and nothing else.

Okta: https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/ . A service
app authenticates with private_key_jwt only; it needs the scope granted and an admin role, both of
which only a super admin can give (the Okta credentials `pulumi up` runs with).
"""

import base64
import hashlib
import json

import pulumi
import pulumi_okta as okta
import pulumi_tls as tls
from cryptography.hazmat.primitives import serialization

from stack_settings import StackSettings

SCOPE = "okta.logs.read"  # and nothing else
ROLE = "READ_ONLY_ADMIN"  # Okta grants API scopes to a service app only with an admin role


def rsa_public_jwk(public_key_pem: str) -> dict:
    """The RSA public key as a JWK (RFC 7517), its kid the key's RFC 7638 thumbprint."""
    numbers = serialization.load_pem_public_key(public_key_pem.encode()).public_numbers()
    jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return {"kid": _b64url(hashlib.sha256(canonical).digest()), **jwk}


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OktaCatchUpApp(pulumi.ComponentResource):
    """The service app the catch-up signs in as, with its key pair."""

    def __init__(self, name: str, settings: StackSettings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:okta:CatchUpApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The app's key pair, made by the stack: the private half exists only as a Pulumi secret
        # (pulumi-tls marks it so) and in Secret Manager; Okta gets the public half.
        key = tls.PrivateKey("catch-up-key", tls.PrivateKeyArgs(algorithm="RSA", rsa_bits=2048),
                             child)
        jwk = key.public_key_pem.apply(rsa_public_jwk)
        self.app = okta.app.OAuth("catch-up-app", okta.app.OAuthArgs(
            label=f"{settings.hook_name}: System Log catch-up",
            type="service",
            grant_types=["client_credentials"],
            response_types=["token"],
            token_endpoint_auth_method="private_key_jwt",
            omit_secret=True,  # private_key_jwt only: no client secret, none in state
            jwks=[okta.app.OAuthJwkArgs(kid=jwk["kid"], kty=jwk["kty"], e=jwk["e"],
                                        n=jwk["n"])],
        ), pulumi.ResourceOptions(
            parent=self,
            # Replaced, never updated in place. The provider sends the inline key without `use`
            # on create and update alike (its recorded acceptance test shows a created app's key
            # without `use` too). `use` is optional in Okta's API (the OAuth 2.0 client JSON Web
            # Key) and in RFC 7517 (a key without it serves any purpose), and a created app is
            # what Okta's own service-app guide does; it is the in-place update that
            # okta/terraform-provider-okta#2840 (open) reports breaking token requests. A new app
            # (created before the old one is deleted) gets a new client id, which the catch-up
            # function is redeployed with. `make smoke` proves Okta takes the key on the first
            # deploy: its catch-up half answers FAILED with Okta's invalid_client words if not.
            replace_on_changes=["*"]))
        self.scope = okta.AppOauthApiScope("catch-up-scope", okta.AppOauthApiScopeArgs(
            app_id=self.app.id, issuer=settings.okta_org_url, scopes=[SCOPE]), child)
        self.role = okta.app.OauthRoleAssignment("catch-up-role", okta.app.OauthRoleAssignmentArgs(
            client_id=self.app.client_id, type=ROLE), child)

        self.client_id = self.app.client_id
        self.key_id = jwk["kid"]
        self.private_key_pem = key.private_key_pem
        self.register_outputs({"clientId": self.client_id})
