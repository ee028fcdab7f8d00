"""The stack's settings, read once from Pulumi config and checked before anything is declared."""

import re
from dataclasses import dataclass
from typing import Optional

import pulumi

DEFAULT_EVENTS = ["user.lifecycle.deactivate"]
MAX_EVENT_TYPES = 300  # Okta's limit for one event hook
_MEMORY = re.compile(r"^[1-9][0-9]*(Mi|Gi|M|G)$")


class ConfigError(pulumi.RunError):
    """A config value that would fail the deployment later, reported before anything is created."""


@dataclass(frozen=True)
class StackSettings:
    hook_secret: pulumi.Output  # secret: the exact Authorization header value Okta sends
    previous_hook_secret: Optional[pulumi.Output]  # secret, only during a rotation
    events: list
    region: str
    hook_name: str
    function_name: str
    memory: str
    cpu: str
    min_instances: int
    max_instances: int
    concurrency: int


def load_settings() -> StackSettings:
    config = pulumi.Config()  # the project's namespace: okta-event-hook:*
    try:
        events = config.get_object("events")
    except pulumi.ConfigTypeError:
        events = None  # not JSON: reported by check() below with an example
    else:
        events = DEFAULT_EVENTS if events is None else events
    settings = StackSettings(
        hook_secret=config.require_secret("hookSecret"),
        previous_hook_secret=config.get_secret("previousHookSecret"),
        events=events,
        region=pulumi.Config("gcp").require("region"),
        hook_name=config.get("hookName") or "okta-event-hook",
        function_name=config.get("functionName") or "okta-event-hook",
        memory=config.get("memory") or "512Mi",
        cpu=config.get("cpu") or "1",
        min_instances=_get_int(config, "minInstances", 1),
        max_instances=_get_int(config, "maxInstances", 10),
        concurrency=_get_int(config, "concurrency", 80),
    )
    check(settings)
    return settings


def _get_int(config: pulumi.Config, key: str, default: int) -> int:
    value = config.get_int(key)
    return default if value is None else value


def check(settings: StackSettings) -> None:
    """Raise ConfigError naming the key for each value Okta or Cloud Functions would refuse."""
    events = settings.events
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) and e for e in events)):
        raise ConfigError("okta-event-hook:events must be a non-empty list of event types, "
                          'e.g. ["user.lifecycle.deactivate"]')
    if len(events) > MAX_EVENT_TYPES:
        raise ConfigError(f"okta-event-hook:events lists {len(events)} event types; "
                          f"Okta allows {MAX_EVENT_TYPES} per hook")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,61}[a-z0-9]", settings.function_name):
        raise ConfigError("okta-event-hook:functionName must be lower-case letters, digits and "
                          "hyphens, start with a letter and be at most 63 characters")
    if not _MEMORY.match(settings.memory):
        raise ConfigError('okta-event-hook:memory must look like "512Mi" or "1Gi"')
    if not 0 <= settings.min_instances <= settings.max_instances or settings.max_instances < 1:
        raise ConfigError("okta-event-hook:minInstances must be between 0 and maxInstances, "
                          "and maxInstances at least 1")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", settings.cpu) or float(settings.cpu) <= 0:
        raise ConfigError('okta-event-hook:cpu must be a positive number of vCPUs, e.g. "1"')
    if settings.concurrency < 1:
        raise ConfigError("okta-event-hook:concurrency must be at least 1")
    if settings.concurrency > 1 and float(settings.cpu) < 1:
        raise ConfigError("Cloud Functions serves more than one request at a time only with "
                          "okta-event-hook:cpu of 1 or more; raise cpu or set concurrency to 1")
