"""Cloud Logging filters the stack's sinks, metrics, alerts and outputs share, so that each says
the same thing the same way: "these functions' entries", "these actions".
https://cloud.google.com/logging/docs/view/logging-query-language
"""

import pulumi


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
