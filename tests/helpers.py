"""Small request builders and expectations shared by the receiver's and catch-up's tests."""

import hashlib
import json

from okta_simulator.local_receiver import DEV_SECRET


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
