"""Small request builders shared by the receiver's tests."""

import json

from okta_simulator.local_receiver import DEV_SECRET


def auth(secret: str = DEV_SECRET) -> dict:
    return {"Authorization": secret}


def post(client, document, secret: str = DEV_SECRET, **headers):
    """POST `document` as Okta does (JSON, with the auth header); bytes are sent as they are."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post("/", content=body, headers={
        "Content-Type": "application/json", "Accept": "application/json", **auth(secret),
        **headers})


def deactivations(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("action") == "user.deactivated"]
