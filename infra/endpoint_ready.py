"""Wait, during `pulumi up`, until the deployed receiver itself answers at its public URL.

A new Cloud Run service, or one whose URL or invoker check just changed, takes a while to answer
as itself everywhere: until then Google's front end answers 403 or 404, and an Okta verification
sent in that window fails.
The receiver answers an unauthenticated GET with its own 401 JSON error, so that answer proves the
function is live and public. Okta's verification is made to depend on this resource.

The provider is serialized into the stack's state by Pulumi and run from there, so it imports what
it uses inside its methods and relies on the standard library only.
"""

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from by_value import stored_by_value

# Google documents up to seven minutes for an IAM change to apply; the same bound serves here.
DEFAULT_TIMEOUT_SECONDS = 600
WATCHED = ("url", "timeoutSeconds", "pollSeconds")
DEFAULT_POLL_SECONDS = 5.0


class EndpointReadyProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["url"], outs={**props, **self._wait(props)})

    def diff(self, _id, olds, news):
        """Only the URL and the limits matter. Without this, Pulumi compares the serialized
        provider too, whose code carries the checkout's path, and every `pulumi up` from another
        clone would update the gate and wait again."""
        changed = [key for key in WATCHED if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[])

    def update(self, _id, _olds, news):
        return UpdateResult(outs={**news, **self._wait(news)})

    def _wait(self, props) -> dict:
        import json
        import time
        import urllib.error
        import urllib.request

        url, timeout = props["url"], float(props["timeoutSeconds"])
        deadline = time.monotonic() + timeout
        while True:
            # Each try ends by the deadline, and within 10 s: a front end that accepts and never
            # answers must neither hold `pulumi up` past it nor use up the window in one try.
            try_seconds = min(10.0, max(deadline - time.monotonic(), 0.1))
            try:
                with urllib.request.urlopen(url, timeout=try_seconds) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            except OSError as error:  # no HTTP answer at all: refused, reset, timed out
                status, body = None, str(error).encode()
            try:
                answer = json.loads(body)
            except ValueError:
                answer = None
            if status == 401 and isinstance(answer, dict) and "error" in answer:
                return {"answered": status}
            if status == 503 and isinstance(answer, dict) and "misconfigured" in str(answer):
                raise Exception(f"the receiver at {url} is live but misconfigured; its "
                                "CRITICAL log line in Cloud Logging says which setting is wrong")
            last = f"HTTP {status}" if status else body.decode()
            if time.monotonic() >= deadline:
                raise Exception(f"{url} did not answer as the receiver within {timeout:.0f} s "
                                f"(last answer: {last}). Is the function deployed and public?")
            time.sleep(float(props["pollSeconds"]))


class EndpointReady(pulumi.dynamic.Resource):
    """Created once the receiver at `url` answers for itself; updated (waits again) if it moves."""

    def __init__(self, name: str, url: pulumi.Input[str],
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 poll_seconds: float = DEFAULT_POLL_SECONDS,
                 opts: pulumi.ResourceOptions | None = None):
        with stored_by_value(EndpointReadyProvider):  # Pulumi pickles it in __init__
            super().__init__(EndpointReadyProvider(), name,
                             {"url": url, "timeoutSeconds": timeout_seconds,
                              "pollSeconds": poll_seconds, "answered": None}, opts)
