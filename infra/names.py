"""Names of what the stack creates, derived so that two stacks in one project never collide.

Cloud Run, Secret Manager, Artifact Registry, Cloud Scheduler and service accounts each want names
unique in the project; a `staging` and a `prod` stack of this program must not fight over them.
Where a name has to be shortened or reshaped to fit Google's rules, a short hash of the original
keeps it apart from its neighbours.
"""

import hashlib
import re

PREFIX = "okta-event-hook"
# Names made by adding to the function name (the scheduler job "<functionName>-catch-up", secret
# and repository ids) stay within Google's 63 characters.
MAX_FUNCTION_NAME = 63 - len("-catch-up")
MAX_ACCOUNT_ID = 30  # IAM: 6 to 30 characters
# Cloud Run Admin API v2: a service id "must contain fewer than 50 characters" (CreateService).
MAX_SERVICE_NAME = 49
_HASH = 6


def default_function_name(stack: str) -> str:
    """okta-event-hook-<stack>: lower-case letters, digits and hyphens, at most 54 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", stack.lower()).strip("-")
    name = f"{PREFIX}-{slug}" if slug else PREFIX
    if slug != stack or len(name) > MAX_FUNCTION_NAME:  # reshaped: keep "Prod" apart from "prod"
        name = f"{name[:MAX_FUNCTION_NAME - _HASH - 1].rstrip('-')}-{short_hash(stack)}"
    return name


def account_id(function_name: str, role: str) -> str:
    """A service account id (6 to 30 characters) for `role` of the function `function_name`."""
    return suffixed(function_name, role, MAX_ACCOUNT_ID)


def service_name(function_name: str, role: str) -> str:
    """The Cloud Run service of `role` ("hook", "catchup"), at most 49 characters. Never the bare
    function name: a stack deployed with Cloud Functions has a Cloud Run service of that name
    until its upgrade's `pulumi up` ends, and the new service must be created beside it."""
    return suffixed(function_name, role, MAX_SERVICE_NAME)


def suffixed(function_name: str, role: str, limit: int) -> str:
    """<function_name>-<role> within `limit` characters, shortened with a hash of the whole
    function name when it is longer."""
    name = f"{function_name}-{role}"
    if len(name) <= limit:
        return name
    room = limit - len(role) - _HASH - 2
    return f"{function_name[:room].rstrip('-')}-{short_hash(function_name)}-{role}"


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]
