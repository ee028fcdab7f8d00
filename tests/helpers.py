"""Small request builders and expectations shared by the receiver's and catch-up's tests."""

import hashlib
import json
from datetime import datetime, timedelta, timezone

from okta_simulator import payloads
from okta_simulator.fake_org import pem_of
from okta_simulator.local_receiver import DEV_SECRET

CLIENT_ID = "0oa1catchup0000000001"  # the catch-up's service app in the fake org


def auth(secret: str = DEV_SECRET) -> dict:
    return {"Authorization": secret}


def okta_headers(secret: str = DEV_SECRET) -> dict:
    """The headers of an Okta delivery: JSON both ways, and the auth header."""
    return {"Content-Type": "application/json", "Accept": "application/json", **auth(secret)}


def as_body(document) -> bytes:
    """`document` as JSON; bytes are sent as they are."""
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def post(client, document, secret: str = DEV_SECRET, **headers):
    """POST `document` through the test client as Okta does."""
    return client.post("/", content=as_body(document), headers={**okta_headers(secret), **headers})


def deactivations(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("action") == "user.deactivated"]


def pinned_insert_id(*key: str) -> str:
    """The insertId a line of record must carry for `key`, written out here on purpose: lines
    written before and after an upgrade are one Cloud Logging entry only if it never changes."""
    return "okta-" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:40]


def env_for(org_url: str, app_key, **extra) -> dict:
    """The catch-up's environment for reading the fake org at `org_url` with `app_key`."""
    return {"OKTA_ORG_URL": org_url, "OKTA_CLIENT_ID": CLIENT_ID,
            "OKTA_PRIVATE_KEY": pem_of(app_key), **extra}


def minutes_ago(minutes: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deactivation(name: str, login: str, minutes: float = 5, **kwargs) -> dict:
    """A deactivation as the System Log holds it, published `minutes` ago."""
    event = payloads.deactivation(name, login, **kwargs)
    event["published"] = minutes_ago(minutes)
    return event


def burst(org, count: int, oldest_minutes: float = 60) -> list[str]:
    """`count` deactivations added to the fake `org`, oldest first, published over the last
    `oldest_minutes`; their logins."""
    events = [deactivation(f"User {i}", f"user{i}@example.com",
                           minutes=oldest_minutes - i * oldest_minutes / (count + 1))
              for i in range(count)]
    org.add(*events)
    return [e["target"][0]["alternateId"] for e in events]


def stored(storage, cursor_name) -> dict | None:
    """The cursor object's JSON in the emulator; None if there is none."""
    data = storage.read(cursor_name)
    return None if data is None else json.loads(data)
