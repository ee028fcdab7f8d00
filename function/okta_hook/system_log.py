"""Reading Okta's System Log as a polling request, page by page.

https://developer.okta.com/docs/reference/api/system-log/ : a request with `since`, no `until` and
ascending order is a polling request. Every page, the last one included, carries a `next` link
(Link header); an empty page means the reader has caught up. Okta asks clients to follow those
links rather than page by hand with since/until.
"""

import urllib.parse
from datetime import datetime, timezone
from typing import Iterator

from okta_hook.okta_http import OktaUnavailable
from okta_hook.okta_oauth import OktaClient

PAGE_SIZE = 1000  # Okta's maximum


def rfc3339(moment: datetime) -> str:
    """A UTC time the way Okta writes it: 2026-11-28T05:00:00.000Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def event_type_filter(event_types) -> str:
    """Okta's filter expression for any of `event_types` (checked to be plain dotted names)."""
    return " or ".join(f'eventType eq "{event_type}"' for event_type in event_types)


def polling_pages(client: OktaClient, org_url: str, since: datetime,
                  event_types) -> Iterator[list]:
    """Each page of events published since `since`, oldest first, until an empty page.

    The caller stops early by not asking for the next page. A `next` link to anywhere but the
    org itself is not followed: the access token must never leave for another host.
    """
    query = urllib.parse.urlencode({"since": rfc3339(since), "sortOrder": "ASCENDING",
                                    "limit": PAGE_SIZE, "filter": event_type_filter(event_types)})
    url = f"{org_url}/api/v1/logs?{query}"
    while url:
        response = client.get(url)
        try:
            events = response.json()
        except ValueError:
            events = None
        if not isinstance(events, list):
            raise OktaUnavailable("Okta's System Log answered something other than a list "
                                  f"of events (HTTP {response.status_code})")
        if not events:
            return
        yield events
        url = response.links.get("next", {}).get("url")
        if url and not _same_origin(url, org_url):
            raise OktaUnavailable("Okta's next link points away from the org; not followed")


def _same_origin(url: str, org_url: str) -> bool:
    parts, org = urllib.parse.urlsplit(url), urllib.parse.urlsplit(org_url)
    return (parts.scheme, parts.netloc) == (org.scheme, org.netloc)
