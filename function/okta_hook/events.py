"""What is done with each Okta System Log event, by event type, from the hook or the catch-up.

To act on another event type, write one function and decorate it with @handles("the.event.type");
then subscribe the hook to that type (Pulumi config `okta-event-hook:events`). A handler gets the
event (an untrusted dict) and the log fields that identify it, returns how many lines of record it
wrote, and must not raise for odd input: it logs a WARNING and returns instead. A line of record
carries shown_once(...) fields, so the hook, Okta's retries and the catch-up may all write it.
"""

from typing import Callable

from okta_hook.logs import log, shown_once

Handler = Callable[[dict, dict], int]
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


def event_fields(event: dict, delivery_id: str | None) -> dict:
    """The log fields that identify an event (and the hook delivery that brought it, if any)."""
    return {"eventId": delivery_id, "uuid": text(event.get("uuid")),
            "eventType": text(event.get("eventType")), "published": text(event.get("published"))}


def dispatch(event: dict, fields: dict) -> int | None:
    """Run the handler of the event's type: the lines of record written, or None if it failed
    (our fault: the caller answers 5xx so that the event is tried again)."""
    event_type = fields["eventType"]
    handler = HANDLERS.get(event_type)
    if handler is None:
        log("DEBUG", "Acknowledged an event type this receiver does not act on.", **fields)
        return 0
    try:
        return handler(event, fields) or 0  # a handler that returns nothing wrote no record
    except Exception as error:
        log("ERROR", f"The {event_type} handler failed: {type(error).__name__}", **fields)
        return None


@handles("user.lifecycle.deactivate")
def log_deactivated_users(event: dict, fields: dict) -> int:
    """Log each user the event says was deactivated, with whatever identity the event carries.

    Okta's real events always carry an outcome and full targets; the Admin Console's Preview and
    hand-edited bodies may not, and for an audit trail a line with what we know beats a skip.
    """
    outcome = event.get("outcome")
    result = outcome.get("result") if isinstance(outcome, dict) else None
    if result is not None and result != "SUCCESS":
        shown = text(result) or repr(result)[:MAX_FIELD_CHARS]
        log("WARNING", f"A user deactivation did not succeed (outcome {shown}); nothing to do.",
            outcome=shown, **fields)
        return 0

    targets = event.get("target")
    if not isinstance(targets, list):
        log("WARNING", "Skipped a deactivation event without a target list.", **fields)
        return 0
    # Who did it: the admin (or Okta itself, for an automation) the event names as its actor.
    actor = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    by = {"actorId": text(actor.get("id")), "actorLogin": text(actor.get("alternateId")),
          "actorName": text(actor.get("displayName"))}
    users = logged = 0
    for target in targets:
        if not isinstance(target, dict):
            log("WARNING", "Skipped a deactivation target that is not an object.", **fields)
            continue
        if target.get("type") != "User":
            continue
        users += 1
        name, login = text(target.get("displayName")), text(target.get("alternateId"))
        user_id = text(target.get("id"))
        who = user_description(name, login, user_id)
        if who is None:
            log("WARNING", "Skipped a deactivated user without displayName, alternateId or id.",
                **fields)
            continue
        log("NOTICE", f"The user {who} has been deactivated on the Okta org!",
            action="user.deactivated", userId=user_id, login=login, displayName=name,
            outcome=result, **by, **fields, **shown_once(fields["published"], fields["uuid"],
                                                   user_id or who))
        logged += 1
    if users == 0:
        log("WARNING", "Skipped a deactivation event without a User target.", **fields)
    return logged


def user_description(name: str | None, login: str | None, user_id: str | None) -> str | None:
    """"John Doe (john.doe@example.com)" when both are known, else the best single identity."""
    if name and login:
        return f"{name} ({login})"
    return name or login or user_id
