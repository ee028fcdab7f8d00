"""The platform's floor: functions that do nothing, served by the same functions-framework.

`empty_wsgi` runs in the default (Flask/gunicorn) mode, `empty_asgi` in the ASGI (Starlette/uvicorn)
mode the receiver uses. Both answer 200 with an empty body and never read the request.
`parse_asgi` is not a floor but a yardstick: it only reads and parses the body, the least any
receiver of a JSON delivery must do, so the receiver's own logic is what it adds on top.
"""

import json

import functions_framework.aio


def empty_wsgi(request):
    return ""


@functions_framework.aio.http
async def empty_asgi(request):
    return ""


@functions_framework.aio.http
async def parse_asgi(request):
    json.loads(await request.body())
    return ""
