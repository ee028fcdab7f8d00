"""The platform's floor: functions that do as little as a function can, for the bench.

`empty_asgi` answers 200 with an empty body in the ASGI (Starlette/uvicorn) mode the receiver
uses, without reading the request; the bench serves it from a stock functions-framework install
and from the receiver's own environment. `parse_asgi` is not a floor but a yardstick: it only
reads and parses the body, the least any receiver of a JSON delivery must do, so the receiver's
own logic is what it adds on top.
"""

import json

import functions_framework.aio


@functions_framework.aio.http
async def empty_asgi(request):
    return ""


@functions_framework.aio.http
async def parse_asgi(request):
    json.loads(await request.body())
    return ""
