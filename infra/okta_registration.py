"""Okta side: the event hook pointing at the receiver, and its verification."""

import pulumi
import pulumi_okta as okta

from gcp_receiver import GcpReceiver
from stack_settings import StackSettings

AUTH_HEADER = "Authorization"  # the receiver's default OKTA_HOOK_AUTH_HEADER


class OktaEventHook(pulumi.ComponentResource):
    """An ACTIVE event hook for the configured events, verified against the live receiver."""

    def __init__(self, name: str, settings: StackSettings, receiver: GcpReceiver,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:okta:EventHook", name, None, opts)

        self.hook = okta.EventHook("event-hook", okta.EventHookArgs(
            name=settings.hook_name,
            events=settings.events,
            status="ACTIVE",
            channel={"type": "HTTP", "version": "1.0.0", "uri": receiver.url},
            auth={"type": "HEADER", "key": AUTH_HEADER, "value": settings.hook_secret},
        ), pulumi.ResourceOptions(
            parent=self,
            # The provider does not mark `auth` sensitive: keep it encrypted in state and outputs.
            additional_secret_outputs=["auth"],
            # Updated only after the function, so that during a rotation Okta never sends a secret
            # the deployed function does not yet accept.
            depends_on=[receiver.function]))

        # Okta sends its challenge once, now: the function must be live and public. A hook whose
        # URI changes becomes UNVERIFIED, so a new URI replaces (re-runs) the verification.
        self.verification = okta.EventHookVerification("event-hook-verification",
            okta.EventHookVerificationArgs(event_hook_id=self.hook.id),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[receiver.function, receiver.invoker, receiver.ready],
                replacement_trigger=receiver.url))

        self.register_outputs({"hookId": self.hook.id})
