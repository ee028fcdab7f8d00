"""Numbers the catch-up and the stack that deploys it must agree on, kept in one place.

infra/ loads this file by its path (it imports nothing), so `pulumi up` refuses exactly what the
function would refuse, before anything is created.
"""

# Okta keeps System Log events for 90 days: a backfill starts no earlier.
# https://developer.okta.com/docs/reference/api/system-log/
MAX_BACKFILL_DAYS = 90
# Cloud Logging stores no entry dated more than 30 days in the past, whatever a log bucket's
# retention (https://cloud.google.com/logging/quotas), and each line is dated by its event.
LOGGING_OLDEST_DAYS = 30
# The look-back: the first pass's window, and the fallback when no usable cursor exists.
DEFAULT_LOOKBACK_MINUTES = 120
MAX_LOOKBACK_MINUTES = LOGGING_OLDEST_DAYS * 24 * 60
# A pass stops reading after this; the deployed function allows a little more.
DEFAULT_MAX_SECONDS = 240
# Runs of the schedule at least this far apart, so that one pass ends before the next begins.
MIN_SCHEDULE_MINUTES = 5
# The longest first-page URL of a polling request: Okta documents no limit, but many front ends
# refuse a request line past 8 KiB, and Okta's next links add an `after` to the query, for which
# 1 KiB is left. About 140 event types of 40 characters fit.
MAX_POLLING_URL_CHARS = 7 * 1024
