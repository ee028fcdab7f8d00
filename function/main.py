"""Cloud Functions entry point: receives Okta event hooks.

Deployed with entry point `okta_event_hook`. Settings come from the environment once per instance
(see okta_hook/settings.py); all request handling lives in okta_hook/receiver.py.
"""

import os

import functions_framework.aio

from okta_hook.receiver import Receiver
from okta_hook.settings import Settings

receiver = Receiver(Settings.from_environ(os.environ))


@functions_framework.aio.http
async def okta_event_hook(request):
    """Answer Okta's verification GET and acknowledge event deliveries."""
    return await receiver.handle(request)
