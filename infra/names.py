"""Names of what the stack creates, derived so that two stacks in one project never collide.

Cloud Functions, Secret Manager, Artifact Registry and service accounts each want names unique in
the project; a `staging` and a `prod` stack of this program must not fight over them. Where a name
has to be shortened or reshaped to fit Google's rules, a short hash of the original keeps it apart
from its neighbours.
"""

import hashlib
import re

PREFIX = "okta-event-hook"
# The catch-up function is "<functionName>-catch-up", within Cloud Functions' 63 characters.
MAX_FUNCTION_NAME = 63 - len("-catch-up")
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
    name = f"{function_name}-{role}"
    if len(name) <= 30:
        return name
    room = 30 - len(role) - _HASH - 2
    return f"{function_name[:room].rstrip('-')}-{short_hash(function_name)}-{role}"


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]
