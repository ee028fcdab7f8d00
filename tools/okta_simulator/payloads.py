"""Okta-shaped event hook deliveries: the envelope and System Log events Okta sends.

Shapes follow Okta's documented samples (https://developer.okta.com/docs/concepts/event-hooks/
and the System Log's LogEvent, https://developer.okta.com/docs/reference/api/system-log/),
including the nulls and string "null"s real events carry, so the receiver is exercised on what it
will meet.
"""

import uuid
from datetime import datetime, timedelta, timezone

ORG_URL = "https://example.okta.com"
ADMIN = {"id": "00u1admin0000000000", "type": "User", "alternateId": "admin@example.com",
         "displayName": "Okta Admin", "detailEntry": None}
OKTA_SYSTEM = {"id": "0oa1system", "type": "PublicClientApp", "alternateId": "Okta System",
               "displayName": "Okta System", "detailEntry": None}


def now() -> str:
    return rfc3339(datetime.now(timezone.utc))


def user_target(name: str, login: str) -> dict:
    return {"id": "00u" + uuid.uuid4().hex[:17], "type": "User", "alternateId": login,
            "displayName": name, "detailEntry": None}


def system_log_event(event_type: str, targets: list, result: str = "SUCCESS") -> dict:
    """One System Log LogEvent of `event_type` done by an admin to `targets`."""
    return {
        "uuid": str(uuid.uuid4()),
        "published": now(),
        "eventType": event_type,
        "version": "0",
        "displayMessage": "Deactivate Okta user",
        "severity": "INFO",
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X",
                                 "browser": "CHROME"},
                   "zone": "null", "device": "Computer", "id": None, "ipAddress": "203.0.113.7",
                   "geographicalContext": None},
        "device": None,
        "actor": ADMIN,
        "outcome": {"result": result, "reason": None},
        "target": targets,
        "transaction": {"type": "WEB", "id": "Xa1b2c3d4", "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/api/v1/users/00u1/lifecycle/deactivate"}},
        "legacyEventType": "core.user.config.user_deactivated",
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": "102abc"},
        "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None,
                            "isProxy": None},
        "request": {"ipChain": [{"ip": "203.0.113.7", "version": "V4", "source": None}]},
    }


def burst(count: int, since: datetime, spacing: timedelta, who: str = "User") -> list[dict]:
    """`count` deactivations of numbered users ("<who> 7", <who>7@example.com, lower-cased),
    published `spacing` apart from `since`, oldest first: a System Log larger than one page."""
    login = who.lower().replace(" ", "")
    return [{**deactivation(f"{who} {number}", f"{login}{number}@example.com"),
             "published": rfc3339(since + number * spacing)} for number in range(count)]


def rfc3339(moment: datetime) -> str:
    """A UTC time as Okta writes it: 2026-11-28T05:00:00.000Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def deactivation(name: str, login: str, result: str = "SUCCESS") -> dict:
    """A `user.lifecycle.deactivate` event for the user `name` with login `login`."""
    return system_log_event("user.lifecycle.deactivate", [user_target(name, login)], result)


def hook_target(hook_id: str, name: str, kind: str = "EventHook") -> dict:
    return {"id": hook_id, "type": kind, "alternateId": None, "displayName": name,
            "detailEntry": None}


def failed_delivery(targets: list, reason: str | None = None,
                    display_message: str | None = "Event hook delivery failed",
                    outcome: str | None = "FAILURE") -> dict:
    """Okta's System Log record of an event hook delivery it gave up on; `outcome=None` for a
    record that carries none."""
    event = system_log_event("event_hook.delivery", targets)
    event.update(displayMessage=display_message, actor=OKTA_SYSTEM, legacyEventType=None,
                 outcome=outcome and {"result": outcome, "reason": reason})
    return event


# Okta's catalogue (https://developer.okta.com/docs/reference/api/event-types/): what an admin's
# change to an event hook records. event_hook.verified fires for every verification attempt, its
# outcome saying whether the hook answered.
HOOK_LIFECYCLE_MESSAGES = {"event_hook.deactivated": "Event hook deactivated",
                           "event_hook.deleted": "Event hook deleted",
                           "event_hook.verified": "Event hook verified"}


def hook_lifecycle(event_type: str, targets: list, result: str = "SUCCESS",
                   reason: str | None = None) -> dict:
    """Okta's System Log record of an admin deactivating, deleting or verifying an event hook."""
    event = system_log_event(event_type, targets, result)
    event.update(displayMessage=HOOK_LIFECYCLE_MESSAGES[event_type], legacyEventType=None,
                 outcome={"result": result, "reason": reason},
                 debugContext={"debugData": {"requestUri": "/api/v1/eventHooks"}})
    return event


def envelope(events: list, event_id: str | None = None) -> dict:
    """The delivery Okta POSTs to the hook: a CloudEvents 0.1 style envelope around `events`."""
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": f"{ORG_URL}/api/v1/eventHooks/who8example0000000000",
        "eventId": event_id or str(uuid.uuid4()),
        "eventTime": now(),
        "contentType": "application/json",
        "data": {"events": events},
    }


# The target Okta's event hook guide tells an admin to paste into the Admin Console's Preview
# (Workflow > Event Hooks > Preview) when the org has no recent deactivation: an empty login.
GUIDE_PREVIEW_TARGET = {"id": "00u3m90rsKgGQ0G6L1d76", "type": "User", "alternateId": "",
                        "displayName": "John Doe", "detailEntry": None}


def guide_preview() -> dict:
    """The delivery Okta's Preview sends with the guide's target: a sample event whose fields
    Okta could not fill are null, the outcome included."""
    event = {key: None for key in system_log_event("user.lifecycle.deactivate", [])}
    event.update(uuid=str(uuid.uuid4()), published=now(), eventType="user.lifecycle.deactivate",
                 version="0", displayMessage="Deactivate Okta user", severity="INFO",
                 target=[dict(GUIDE_PREVIEW_TARGET)])
    return envelope([event])
