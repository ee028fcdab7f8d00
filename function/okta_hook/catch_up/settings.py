"""Catch-up settings, read once per instance from the environment.

As for the hook, problems are collected rather than raised: the instance starts, answers 503, and
says in one CRITICAL line per problem which variable is wrong. The private key is parsed here, so a
bad key is a configuration problem, and neither the PEM nor a parser's message is ever repeated.
"""

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_hook.catch_up import hook_events
from okta_hook.catch_up.limits import (
    DEFAULT_LOOKBACK_MINUTES,
    DEFAULT_MAX_SECONDS,
    MAX_LOOKBACK_MINUTES,
    MAX_POLLING_URL_CHARS,
)
from okta_hook.catch_up.system_log import polling_url
from okta_hook.events import HANDLERS
from okta_hook.settings import whole_number

DEFAULT_MAX_PAGES = 100  # of 1,000 events each
MIN_RSA_BITS = 2048
# gs://BUCKET/OBJECT: Cloud Storage's bucket naming rules (dots aside), an object name of at most
# 1,024 bytes without line breaks. https://cloud.google.com/storage/docs/buckets#naming
_CURSOR = re.compile(r"gs://([a-z0-9][a-z0-9_-]{1,61}[a-z0-9])/([^\r\n]{1,1024})")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+")  # also keeps the filter well-formed
_OKTA_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_ORG_URL_EXAMPLE = "the org's base URL, e.g. https://dev-123456.okta.com"


@dataclass(frozen=True)
class CatchUpSettings:
    org_url: str = ""  # scheme and host only, no trailing slash
    client_id: str = ""
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)  # never printed
    private_key_id: str | None = None
    events: tuple = ()
    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES
    event_hook_id: str | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    max_seconds: int = DEFAULT_MAX_SECONDS
    cursor: tuple | None = None  # (bucket, object) of the cursor in Cloud Storage
    problems: tuple = ()

    @property
    def read_types(self) -> tuple:
        """What a pass asks Okta for: the configured types a handler acts on, and Okta's events
        about the hook. Reading the others would log nothing and spend Okta's org-wide System
        Log rate limit, and a pass full of them would fall behind on the ones that matter."""
        return read_types(self.events)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "CatchUpSettings":
        problems: list[str] = []

        def optional_id(name: str) -> str | None:
            value = environ.get(name, "").strip()
            if value and not _OKTA_ID.fullmatch(value):
                problems.append(f"{name} must be letters, digits, '-' or '_'")
            return value or None

        client_id = environ.get("OKTA_CLIENT_ID", "").strip()
        if not client_id:
            problems.append("OKTA_CLIENT_ID is not set (the service app's client id)")
        elif not _OKTA_ID.fullmatch(client_id):
            problems.append("OKTA_CLIENT_ID must be letters, digits, '-' or '_'")

        org_url = _org_url(environ.get("OKTA_ORG_URL", ""), problems)
        events = _events(environ.get("OKTA_CATCH_UP_EVENTS"), problems)
        if org_url and events:
            _check_url_length(org_url, events, problems)
        return cls(
            org_url=org_url,
            client_id=client_id,
            private_key=_private_key(environ.get("OKTA_PRIVATE_KEY", ""), problems),
            private_key_id=optional_id("OKTA_PRIVATE_KEY_ID"),
            events=events,
            lookback_minutes=_whole_number(environ, "OKTA_CATCH_UP_LOOKBACK_MINUTES",
                                           DEFAULT_LOOKBACK_MINUTES, 1, MAX_LOOKBACK_MINUTES,
                                           problems),
            event_hook_id=optional_id("OKTA_EVENT_HOOK_ID"),
            max_pages=_whole_number(environ, "OKTA_CATCH_UP_MAX_PAGES", DEFAULT_MAX_PAGES, 1,
                                    10_000, problems),
            max_seconds=_whole_number(environ, "OKTA_CATCH_UP_MAX_SECONDS", DEFAULT_MAX_SECONDS,
                                      1, 3600, problems),
            cursor=_cursor(environ.get("OKTA_CATCH_UP_CURSOR", ""), problems),
            problems=tuple(problems),
        )


def _org_url(value: str, problems: list) -> str:
    """https://host[:port], or http:// for a loopback host (tests and the local fake org)."""
    name = "OKTA_ORG_URL"
    if not value.strip():
        problems.append(f"{name} is not set ({_ORG_URL_EXAMPLE})")
        return ""
    parts = urllib.parse.urlsplit(value.strip())
    try:
        parts.port  # raises ValueError for a port that is not a number
        host = parts.hostname
    except ValueError:
        host = None
    if (parts.scheme not in ("https", "http") or not host or parts.username or parts.password
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        problems.append(f"{name} must be {_ORG_URL_EXAMPLE}")
        return ""
    if parts.scheme == "http" and not _is_loopback(host):
        problems.append(f"{name} must use https (http is accepted for a loopback host only)")
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _cursor(value: str, problems: list) -> tuple | None:
    """(bucket, object) of gs://BUCKET/OBJECT; None when unset (a pass then remembers nothing)."""
    if not value.strip():
        return None
    match = _CURSOR.fullmatch(value.strip())
    if match is None or len(match.group(2).encode()) > 1024:
        problems.append("OKTA_CATCH_UP_CURSOR must be gs://BUCKET/OBJECT, e.g. "
                        "gs://my-cursor-bucket/okta-catch-up-cursor.json")
        return None
    return match.group(1), match.group(2)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private_key(pem: str, problems: list) -> rsa.RSAPrivateKey | None:
    name = "OKTA_PRIVATE_KEY"
    # A PEM pasted into a one-line variable often arrives with literal "\n" sequences.
    pem = pem.strip().replace("\\n", "\n")
    if not pem:
        problems.append(f"{name} is not set (the service app's private key, PEM)")
        return None
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except Exception:  # the parser's message is not repeated: it could quote the input
        problems.append(f"{name} is not an unencrypted private key in PEM form")
        return None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_RSA_BITS:
        problems.append(f"{name} must be an RSA key of at least {MIN_RSA_BITS} bits (RS256)")
        return None
    return key


def _events(value: str | None, problems: list) -> tuple:
    """The event types to read: the comma-separated list, or those a handler acts on."""
    if value is None or not value.strip():
        return tuple(sorted(HANDLERS))
    events = tuple(dict.fromkeys(e.strip() for e in value.split(",") if e.strip()))
    if not events or not all(_EVENT_TYPE.fullmatch(e) for e in events):
        problems.append("OKTA_CATCH_UP_EVENTS must be comma-separated event types, "
                        "e.g. user.lifecycle.deactivate")
        return ()
    return events


def read_types(events) -> tuple:
    return tuple(dict.fromkeys([*(e for e in events if e in HANDLERS),
                                *hook_events.EVENT_TYPES]))


def _check_url_length(org_url: str, events: tuple, problems: list) -> None:
    """The polling URL for the types read must stay within MAX_POLLING_URL_CHARS: past it, a
    front end may refuse every pass (414), or refuse Okta's own next link mid-read."""
    length = len(polling_url(org_url, datetime.now(timezone.utc), read_types(events)))
    if length > MAX_POLLING_URL_CHARS:
        problems.append(f"OKTA_CATCH_UP_EVENTS asks for event types whose polling URL would be "
                        f"{length} characters, more than the {MAX_POLLING_URL_CHARS} a pass "
                        "may send: list fewer of the types a handler acts on")


def _whole_number(environ: Mapping[str, str], name: str, default: int, low: int, high: int,
                  problems: list) -> int:
    text = environ.get(name, "")
    if not text.strip():
        return default
    number = whole_number(text)
    if number is None or not low <= number <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}")
        return default
    return number
