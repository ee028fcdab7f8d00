"""Run the receiver locally as Cloud Run's buildpack does: functions-framework on a free port.

Its stdout (the structured log) goes to a file, so that a chatty receiver can never block on a full
pipe and every line it wrote can be read back and parsed.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "function" / "main.py"
TARGET = "okta_event_hook"
# Only dev/test use: "Basic " + base64("dev:dev-only-secret"). Never use it for a deployed hook.
DEV_SECRET = "Basic ZGV2OmRldi1vbmx5LXNlY3JldA=="


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def end(process: subprocess.Popen, grace: float = 10) -> None:
    """Stop `process`: asked first, killed if it has not exited within `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LocalReceiver:
    """A functions-framework process serving the receiver; use it as a context manager."""

    def __init__(self, env: dict | None = None, source: Path = SOURCE, target: str = TARGET,
                 executable: Path | None = None, log_dir: str | None = None,
                 port: int | None = None):
        """`executable`: another installation's functions-framework (the bench's stock one);
        by default this environment's. `log_dir`: where the stdout file goes (the bench puts it
        in memory); by default the temporary directory. `port`: a free one unless given."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._env = {"OKTA_HOOK_SECRET": DEV_SECRET} if env is None else env
        self._command = [
            str(executable or Path(sys.executable).with_name("functions-framework")),
            "--source", str(source), "--target", target,
            "--host", "127.0.0.1", "--port", str(self.port),
        ]
        self._log = tempfile.NamedTemporaryFile(prefix="receiver-", suffix=".log", dir=log_dir)
        self._process = None

    def start(self, timeout: float = 30.0) -> "LocalReceiver":
        # Only the given settings: none of the receiver's or the catch-up's from this shell.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_")}
        self._process = subprocess.Popen(
            self._command, env={**inherited, **self._env},
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_until_listening(timeout)
        return self

    def stop(self) -> None:
        if self._process:
            end(self._process)

    def __enter__(self) -> "LocalReceiver":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
        self._log.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def processes(self) -> list[psutil.Process]:
        """The server process and all its descendants (gunicorn's workers)."""
        server = psutil.Process(self.pid)
        return [server, *server.children(recursive=True)]

    @property
    def log_path(self) -> Path:
        """The file its stdout (the structured log) goes to."""
        return Path(self._log.name)

    def output(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict]:
        """The structured log so far: every whole line that is a JSON object.

        Other lines are the server's own; a line still being written (no newline yet) waits.
        """
        records = []
        for line in self.output().split("\n")[:-1]:
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def wait_for_records(self, predicate, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """The records matching `predicate`, once there are at least `count` (or at timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [r for r in self.log_records() if predicate(r)]
            if len(matching) >= count or time.monotonic() > deadline:
                return matching
            time.sleep(0.02)

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"receiver exited with {self._process.returncode}:\n"
                                   + self.output())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.005)
        self.stop()
        raise TimeoutError(f"receiver did not listen on port {self.port} within {timeout} s")
