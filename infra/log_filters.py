"""Cloud Logging filters the stack's sinks, metrics, alerts and outputs share, so that each says
the same thing the same way: "these functions' entries", "these actions".
https://cloud.google.com/logging/docs/view/logging-query-language
"""

import pulumi

# The catch-up's lines of Okta's own word about the event hook (function/okta_hook/catch_up/
# hook_events.py: a test holds the two equal): a delivery Okta gave up on, then the hook stopped.
DELIVERY_FAILED_ACTION = "okta.event_hook.delivery_failed"
HOOK_STOPPED_ACTIONS = ("okta.event_hook.deactivated", "okta.event_hook.deleted",
                        "okta.event_hook.verification_failed")


def services_filter(service_names: pulumi.Input[list]) -> pulumi.Output:
    """Entries of the functions named (Cloud Run services), and of no other workload."""
    return pulumi.Output.from_input(service_names).apply(
        lambda names: 'resource.type="cloud_run_revision" AND resource.labels.service_name=('
                      + " OR ".join(f'"{name}"' for name in names) + ")")


def actions_filter(actions) -> str:
    """Lines whose `action` is one of `actions`."""
    return "jsonPayload.action=(" + " OR ".join(f'"{action}"' for action in actions) + ")"


def both(first: pulumi.Input[str], second: pulumi.Input[str]) -> pulumi.Output:
    return pulumi.Output.format("{0} AND ({1})", first, second)
