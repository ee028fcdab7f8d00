"""The platform's floor: functions that do nothing, served by the same functions-framework.

`empty_wsgi` runs in the default (Flask/gunicorn) mode, `empty_asgi` in the ASGI (Starlette/uvicorn)
mode the receiver uses. Both answer 200 with an empty body and never read the request.
"""

import functions_framework.aio


def empty_wsgi(request):
    return ""


@functions_framework.aio.http
async def empty_asgi(request):
    return ""
