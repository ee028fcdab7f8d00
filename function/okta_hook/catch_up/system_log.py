"""Reading Okta's System Log as a polling request, page by page.

https://developer.okta.com/docs/reference/api/system-log/ : a request with `since`, no `until` and
ascending order is a polling request. Every page, the last one included, carries a `next` link
(Link header); an empty page means the reader has caught up, and its `next` link is where to poll
again. Okta asks clients to follow those links rather than page by hand with since/until, which
is why the catch-up's cursor is such a link.
"""

import urllib.parse
from datetime import datetime, timezone
from typing import Iterator, NamedTuple

from okta_hook.catch_up.okta_http import OktaUnavailable
from okta_hook.catch_up.okta_oauth import OktaClient

PAGE_SIZE = 1000  # Okta's maximum
LOGS_PATH = "/api/v1/logs"


class Page(NamedTuple):
    events: list
    next_url: str | None  # where to read on from; None when Okta gave no next link


def rfc3339(moment: datetime) -> str:
    """A UTC time the way Okta writes it: 2026-11-28T05:00:00.000Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def event_type_filter(event_types) -> str:
    """Okta's filter expression for any of `event_types` (checked to be plain dotted names)."""
    return " or ".join(f'eventType eq "{event_type}"' for event_type in event_types)


def polling_url(org_url: str, since: datetime, event_types) -> str:
    """The first page of a polling request for `event_types` published since `since`."""
    query = urllib.parse.urlencode({"since": rfc3339(since), "sortOrder": "ASCENDING",
                                    "limit": PAGE_SIZE, "filter": event_type_filter(event_types)})
    return f"{org_url}{LOGS_PATH}?{query}"


def is_log_url(url: str, org_url: str) -> bool:
    """True for a URL of this org's System Log API: the access token goes nowhere else."""
    parts, org = urllib.parse.urlsplit(url), urllib.parse.urlsplit(org_url)
    return (parts.scheme, parts.netloc, parts.path) == (org.scheme, org.netloc, LOGS_PATH)


def url_filter(url: str) -> str | None:
    """The `filter` a System Log URL asks for (a next link keeps the request's filter)."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("filter")


def pages(client: OktaClient, url: str, org_url: str) -> Iterator[Page]:
    """Each page from `url` on, oldest first, ending with the empty page (caught up: its next
    link is where to poll again) or a page without a next link. The caller stops early by not
    asking for the next page."""
    while True:
        response = client.get(url)
        events = response.json()
        if not isinstance(events, list):
            raise OktaUnavailable("Okta's System Log answered something other than a list "
                                  f"of events (HTTP {response.status})")
        next_url = response.links.get("next", {}).get("url")
        if next_url is not None and not is_log_url(next_url, org_url):
            raise OktaUnavailable("Okta's next link points away from the org's System Log; "
                                  "not followed")
        if events and next_url == url:
            raise OktaUnavailable("Okta's next link leads back to the page just read; not "
                                  "followed")
        yield Page(events, next_url)
        if not events or next_url is None:
            return
        url = next_url
