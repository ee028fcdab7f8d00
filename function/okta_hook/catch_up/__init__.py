"""The System Log catch-up: what the event hook missed, read from Okta's System Log.

handler.py    the HTTP answer to Cloud Scheduler's POST (one pass) or an operator's backfill
reading.py    one pass: Okta's polling request, page by page, each page's lines then the cursor
cursor.py     where the pass resumes: Okta's `next` link, kept in a Cloud Storage object
hook_events.py Okta's word about the hook: failed deliveries, the hook stopped
system_log.py the System Log API's pages, and what a polling link may hold
okta_oauth.py the service app's access token (private_key_jwt, DPoP when Okta asks)
okta_http.py  HTTP to Okta: bounded in time and bytes, Okta's rate-limit rule, retries
settings.py   the environment, read once; limits.py the numbers the stack checks too

Imported only by the catch-up target, so the hook's cold start pays for none of it.
"""
