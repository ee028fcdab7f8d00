"""Okta side: the event hook pointing at the receiver, and its verification."""

import hashlib
import json

import pulumi
import pulumi_okta as okta

from gcp_receiver import GcpReceiver
from stack_settings import StackSettings

AUTH_HEADER = "Authorization"  # the receiver's default OKTA_HOOK_AUTH_HEADER


def digest_of(values: dict) -> pulumi.Output:
    """A SHA-256 of `values` (outputs resolved), kept a Pulumi secret since it covers the hook
    secret: a hash of a weak password must not sit in plain state for offline guessing."""
    def sha256(resolved: dict) -> str:
        return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()

    return pulumi.Output.secret(pulumi.Output.from_input(values).apply(sha256))


class OktaEventHook(pulumi.ComponentResource):
    """An ACTIVE event hook for the configured events, verified against the live receiver."""

    def __init__(self, name: str, settings: StackSettings, receiver: GcpReceiver,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:okta:EventHook", name, None, opts)

        # Everything the provider sends to Okta for this hook, in one place.
        sent_to_okta = {
            "name": settings.hook_name,
            "events": settings.events,
            "status": "ACTIVE",
            "channel": {"type": "HTTP", "version": "1.0.0", "uri": receiver.url},
            "auth": {"type": "HEADER", "key": AUTH_HEADER, "value": settings.hook_secret},
        }
        self.hook = okta.EventHook("event-hook", okta.EventHookArgs(**sent_to_okta),
            pulumi.ResourceOptions(
                parent=self,
                # The provider does not mark `auth` sensitive: keep it encrypted in state and
                # outputs.
                additional_secret_outputs=["auth"],
                # Updated only after the receiver's service, so that during a rotation Okta
                # never sends a secret the deployed function does not yet accept.
                depends_on=[receiver.service]))

        # Okta sends its challenge once, now: the function must be live and public. The provider
        # re-sends the whole hook (channel and auth header included) on any update, and Okta then
        # marks the hook UNVERIFIED and delivers nothing to it. So any change to what is sent
        # (URI, secret, events, name) replaces, that is re-runs, the verification.
        self.verification = okta.EventHookVerification("event-hook-verification",
            okta.EventHookVerificationArgs(event_hook_id=self.hook.id),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[receiver.service, receiver.ready],
                replacement_trigger=digest_of(sent_to_okta)))

        self.register_outputs({"hookId": self.hook.id})
