"""HTTP exchanges that end by a deadline, whatever the peer does: the catch-up's calls to Okta
and to Cloud Storage.

A socket timeout only bounds each read: an answer that trickles a byte at a time never trips it.
Inside `watched(seconds)`, every connection this thread uses, new or kept alive, hands its socket
to a watchdog before anything is read, and the watchdog shuts it when the time is up, so the
status line, the headers and the body of any answer, however framed, end by then. Mount
WatchedAdapter on a requests session for its connections to take part.
"""

import contextlib
import socket
import threading

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


@contextlib.contextmanager
def watched(seconds: float):
    """Connections this thread uses in the block are shut after `seconds`; yields the watchdog
    (its `fired` says whether the time ran out)."""
    watchdog = _Watchdog(max(seconds, 0.0))
    _watching.watchdog = watchdog
    try:
        yield watchdog
    finally:
        _watching.watchdog = None
        watchdog.cancel()


class _Watchdog:
    """Shuts the socket of the exchange under way when the deadline comes.

    It holds the socket itself: for an answer that closes its connection (HTTP/1.0, `Connection:
    close`), http.client hands the socket to the response and sets the connection's `sock` to
    None once the headers are read, so the connection no longer knows what to shut.
    """

    def __init__(self, seconds: float):
        self._sock = None
        self._lock = threading.Lock()
        self.fired = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:  # the deadline came while the connection was being made
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read; close() would not
    except OSError:
        pass


# The watchdog of the exchange this thread is making: a pass runs in one thread.
_watching = threading.local()


class _Watched:
    """A urllib3 connection that hands its socket to the current watchdog once it is connected,
    before anything is read, so the deadline covers the status line, headers and body of every
    answer, however it is framed."""

    def connect(self):
        super().connect()
        watchdog = getattr(_watching, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(self.sock)

    def request(self, *args, **kwargs):
        watchdog = getattr(_watching, "watchdog", None)
        if watchdog is not None and self.sock is not None:  # a kept-alive connection
            watchdog.watch(self.sock)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}
