"""Cloud Run functions' entry points: the Okta event hook and the System Log catch-up.

One source, two functions. `okta_event_hook` is public: Okta calls it (okta_hook/receiver.py).
`okta_catch_up` is private: Cloud Scheduler calls it to read Okta's System Log for what the hook
missed (okta_hook/catch_up/). Each target reads its settings from the environment on its first
request, so neither complains about the other's variables, and the catch-up's HTTP and JWT
libraries are imported by the catch-up only: the hook's cold start does not pay for them.
"""

import functools
import os

import functions_framework
import functions_framework.aio

from okta_hook.receiver import Receiver
from okta_hook.settings import Settings


@functools.cache
def hook_receiver() -> Receiver:
    return Receiver(Settings.from_environ(os.environ))


@functions_framework.aio.http
async def okta_event_hook(request):
    """Answer Okta's verification GET and acknowledge event deliveries."""
    return await hook_receiver().handle(request)


@functools.cache
def catch_up():
    from okta_hook.catch_up.handler import CatchUp
    from okta_hook.catch_up.settings import CatchUpSettings

    return CatchUp(CatchUpSettings.from_environ(os.environ))


@functions_framework.http
def okta_catch_up(request):
    """Run one System Log catch-up pass (a POST); answer with its summary."""
    return catch_up().handle(request)
