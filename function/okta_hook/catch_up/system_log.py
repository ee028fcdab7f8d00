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
# What the query of a polling request's links may hold: a stored cursor holding anything else
# (`until` bounds the request, `q` narrows it) would read less than everything, and say it had.
POLLING_KEYS = frozenset({"since", "sortOrder", "limit", "filter", "after"})


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


def polling_link_problem(url: str, org_url: str, now: datetime) -> str | None:
    """Why `url` is not a link Okta could have given a polling reader of this org's System Log;
    None if it could be one."""
    if not is_log_url(url, org_url):
        return "it points away from this org's System Log"
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs):
        return "a query parameter appears twice"
    foreign = sorted(set(query) - POLLING_KEYS)
    if foreign:
        return f"its query holds {', '.join(foreign)}, which no polling link holds"
    if query.get("sortOrder", "ASCENDING") != "ASCENDING":
        return "it does not read in ascending order"
    since = parsed_time(query.get("since", rfc3339(now)))
    if since is None:
        return "its since is not a time"
    if since > now:
        return "its since is in the future"
    return None


# Times outside these are nobody's System Log event or cursor, and near the calendar's edges a
# time cannot be compared or moved without OverflowError ("0001-01-01T00:00:00+14:00").
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1,
                                                                        tzinfo=timezone.utc)


def parsed_time(value) -> datetime | None:
    """An RFC 3339 time as an aware datetime in UTC; None if it is not one, or not between
    1970 and 9000."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return None
        moment = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return moment if EARLIEST <= moment < LATEST else None


def url_filter(url: str) -> str | None:
    """The `filter` a System Log URL asks for (a next link keeps the request's filter)."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("filter")


def pages(client: OktaClient, url: str, org_url: str) -> Iterator[Page]:
    """Each page from `url` on, oldest first, ending with the empty page (caught up: its next
    link is where to poll again) or a page without a next link. LinkLoop instead of a page whose
    link was followed already in this read. The caller stops early by not asking for more."""
    followed = set()
    while True:
        followed.add(url)
        response = client.get(url)
        if response.status != 200:  # a redirect or another success is no page of events
            raise OktaUnavailable(f"Okta's System Log answered HTTP {response.status} where a "
                                  "page of events was due; not followed")
        events = response.json()
        if not isinstance(events, list):
            raise OktaUnavailable("Okta's System Log answered something other than a list "
                                  f"of events (HTTP {response.status})")
        next_url = response.links.get("next", {}).get("url")
        if next_url is not None and not is_log_url(next_url, org_url):
            raise OktaUnavailable("Okta's next link points away from the org's System Log; "
                                  "not followed")
        yield Page(events, next_url)
        if not events or next_url is None:
            return
        if next_url in followed:
            raise LinkLoop(next_url)
        url = next_url


class LinkLoop(Exception):
    """Okta's next link leads to a page already read in this pass."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url
