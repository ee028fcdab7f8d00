"""Okta's own word about the event hook, which only the System Log carries: deliveries it gave up
on, and the hook deactivated, deleted or failing its verification (then Okta delivers nothing).
Each becomes one ERROR line, shown once in Cloud Logging however many passes read it.

Event types from Okta's catalogue (https://developer.okta.com/docs/reference/api/event-types/):
event_hook.delivery fires only for a failed delivery; event_hook.verified for every verification
attempt, its outcome saying whether it failed; event_hook.deactivated and event_hook.deleted when an
admin (or the API) did so. Okta documents no target schema for most of them: the hook is the target
whose id is the stack's hook (OKTA_EVENT_HOOK_ID), or else the first target of an EventHook-like
type. An event of any shape is at worst a WARNING: one that stopped every pass would stall the
catch-up on its page for good.
"""

from okta_hook.events import text
from okta_hook.logs import log, shown_once

DELIVERY_FAILED, DELIVERY_FAILED_ACTION = "event_hook.delivery", "okta.event_hook.delivery_failed"
VERIFIED = "event_hook.verified"
# What each event says of the hook, and the line's action; VERIFIED only when it failed.
STOPPED = {
    "event_hook.deactivated": ("was deactivated in Okta: Okta delivers nothing to it until it is "
                               "activated again", "okta.event_hook.deactivated"),
    "event_hook.deleted": ("was deleted in Okta: `pulumi up --refresh` creates and verifies it "
                           "again",
                           "okta.event_hook.deleted"),
    VERIFIED: ("failed Okta's verification: Okta delivers nothing to it until it is verified",
               "okta.event_hook.verification_failed"),
}
EVENT_TYPES = (DELIVERY_FAILED, *STOPPED)
ACTIONS = (DELIVERY_FAILED_ACTION, *(action for _, action in STOPPED.values()))


def report(event: dict, fields: dict, hook_id: str | None) -> int:
    """The ERROR line for one of EVENT_TYPES about our hook (any hook when `hook_id` is None):
    1 if written, 0 for another hook's event, a verification that succeeded, or an event that
    names no hook (a WARNING)."""
    targets = _targets(event)
    if not targets and hook_id is not None:
        which = f"event {fields['uuid']}" if fields["uuid"] else "event"
        log("WARNING", f"Skipped Okta's {fields['eventType']} {which}, which names no event "
                       "hook: whether it concerns this stack's hook cannot be told.", **fields)
        return 0
    hook = _hook_target(targets, hook_id)
    if hook is None:
        return 0
    outcome = event.get("outcome") if isinstance(event.get("outcome"), dict) else {}
    event_type = fields["eventType"]
    if event_type == VERIFIED and outcome.get("result") == "SUCCESS":
        return 0
    reason = text(outcome.get("reason")) or text(event.get("displayMessage"))
    hook_id, hook_name = text(hook.get("id")), text(hook.get("displayName"))
    hook_words = f"event hook {hook_name or hook_id}" if hook_name or hook_id else \
        "an event hook it did not name"
    actor = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    identity = {"eventHookId": hook_id, "eventHookName": hook_name, "reason": reason,
                "actorLogin": text(actor.get("alternateId")), **fields,
                **shown_once(fields["published"], fields["uuid"], event_type)}
    if event_type == DELIVERY_FAILED:
        log("ERROR", f"Okta could not deliver to {hook_words}: {reason or 'no reason given'}",
            action=DELIVERY_FAILED_ACTION, **identity)
    else:
        what, action = STOPPED[event_type]
        by = f" (by {identity['actorLogin']})" if identity["actorLogin"] else ""
        because = f" ({reason})" if reason and event_type == VERIFIED else ""
        log("ERROR", f"The {hook_words} {what}{by}{because}.", action=action, **identity)
    return 1


def _targets(event: dict) -> list:
    """The event's targets that are objects: Okta sends a list; one object alone counts too."""
    target = event.get("target")
    if isinstance(target, dict):
        target = [target]
    return [t for t in target if isinstance(t, dict)] if isinstance(target, list) else []


def _hook_target(targets: list, hook_id: str | None) -> dict | None:
    if hook_id is not None:
        return next((t for t in targets if t.get("id") == hook_id), None)
    return next((t for t in targets if "hook" in str(t.get("type", "")).lower()),
                targets[0] if targets else {})
