"""What the receiver does with each Okta System Log event, by event type.

To act on another event type, write one function and decorate it with @handles("the.event.type");
then subscribe the hook to that type (Pulumi config `okta-event-hook:events`). A handler gets the
event (an untrusted dict) and the log fields that identify it, and must not raise for odd input:
it logs a WARNING and returns instead.
"""

from typing import Callable

from okta_hook.logs import log

Handler = Callable[[dict, dict], None]
HANDLERS: dict[str, Handler] = {}
# Longest text copied from an event into a log field: Cloud Logging refuses entries over 256 KB.
MAX_FIELD_CHARS = 1024


def handles(event_type: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[event_type] = handler
        return handler

    return register


def text(value) -> str | None:
    """`value` if it is a non-empty string (clipped to MAX_FIELD_CHARS), else None."""
    if isinstance(value, str) and value:
        return value[:MAX_FIELD_CHARS]
    return None


@handles("user.lifecycle.deactivate")
def log_deactivated_users(event: dict, fields: dict) -> None:
    """Log the name and login of each user the event says was deactivated."""
    outcome = event.get("outcome")
    result = text(outcome.get("result")) if isinstance(outcome, dict) else None
    if result != "SUCCESS":
        log("WARNING", f"A user deactivation did not succeed (outcome {result}); nothing to do.",
            outcome=result, **fields)
        return

    targets = event.get("target")
    if not isinstance(targets, list):
        log("WARNING", "Skipped a deactivation event without a target list.", **fields)
        return
    users = 0
    for target in targets:
        if not isinstance(target, dict):
            log("WARNING", "Skipped a deactivation target that is not an object.", **fields)
            continue
        if target.get("type") != "User":
            continue
        users += 1
        name, login = text(target.get("displayName")), text(target.get("alternateId"))
        user_id = text(target.get("id"))
        if name is None or login is None:
            log("WARNING", "Skipped a deactivated user without displayName or alternateId.",
                userId=user_id, **fields)
            continue
        log("NOTICE", f"The user {name} ({login}) has been deactivated on the Okta org!",
            action="user.deactivated", userId=user_id, login=login, displayName=name, **fields)
    if users == 0:
        log("WARNING", "Skipped a deactivation event without a User target.", **fields)
