"""A scripted HTTP server on loopback: answers in a given order and records what it received."""

import http.server
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Script:
    # (status, body, delay in seconds) in order; the last one repeats.
    answers: list = field(default_factory=lambda: [(200, b"", 0.0)])
    received: list = field(default_factory=list)  # (method, headers, body)
    trickle: float = 0.0  # seconds between the body's bytes, once the headers are sent


class StubServer:
    def __init__(self):
        self.script = Script()
        script = self.script

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                script.received.append((self.command, dict(self.headers), self.rfile.read(length)))
                answers = script.answers
                status, body, delay = answers.pop(0) if len(answers) > 1 else answers[0]
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                pieces = [body[i:i + 1] for i in range(len(body))] if script.trickle else [body]
                for piece in pieces:  # wfile is unbuffered: each piece goes out on its own
                    time.sleep(script.trickle)
                    self.wfile.write(piece)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, *answers) -> "StubServer":
        """Script the answers: each (status, body) or (status, body, delay)."""
        self.script.answers[:] = [(a + (0.0,))[:3] for a in answers]
        return self

    def trickle(self, seconds: float) -> "StubServer":
        """Send each answer's body a byte at a time, `seconds` apart."""
        self.script.trickle = seconds
        return self

    def __enter__(self) -> "StubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
