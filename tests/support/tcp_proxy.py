"""A TCP proxy that can be cut: the network between the app and its database, on demand.

    with TCPProxy(upstream=("127.0.0.1", 5432)) as proxy:
        ...  # point the app at 127.0.0.1:proxy.port
        proxy.cut()  # as if the database server had stopped
        proxy.restore()  # and come back

Each forwarded connection is pumped by a thread of its own: made for the handful
of connections of a test, not for traffic.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import suppress

ACCEPT_POLL_SECONDS = 0.05
UPSTREAM_CONNECT_TIMEOUT_SECONDS = 5.0
# SO_LINGER on with a zero timeout: close() sends a reset, not a graceful FIN.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class _Connection:
    """A client connection and its upstream twin, pumped both ways by one thread."""

    def __init__(
        self,
        client: socket.socket,
        upstream: socket.socket,
        *,
        trips: Callable[[bytes], bool],
        on_close: Callable[[_Connection, bool], None],
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.trips = trips
        self.on_close = on_close
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tripped = False
        try:
            tripped = self._pump()
        finally:
            with self.lock:
                self.closed = True
                for sock in (self.client, self.upstream):
                    if tripped:
                        with suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                    sock.close()
            self.on_close(self, tripped)

    def _pump(self) -> bool:
        """Forward both ways until either side closes; True when a client message trips."""
        with selectors.DefaultSelector() as selector, suppress(OSError):
            selector.register(self.client, selectors.EVENT_READ, self.upstream)
            selector.register(self.upstream, selectors.EVENT_READ, self.client)
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return False
                    if key.fileobj is self.client and self.trips(data):
                        return True
                    key.data.sendall(data)
        return False

    def abort(self) -> None:
        """Reset both sides and wait for the pump thread to end."""
        with self.lock:
            if not self.closed:
                for sock in (self.client, self.upstream):
                    with suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                        # Wakes the pump thread, which then closes the sockets.
                        sock.shutdown(socket.SHUT_RDWR)
        self.thread.join()


class TCPProxy:
    """Forwards connections made to 127.0.0.1:``port`` to ``upstream``, until cut.

    ``cut()`` stops listening, so new connections are refused, and resets every
    open connection on both sides, as when the server behind the proxy stops:
    once it returns, nothing gets through. ``restore()`` listens on the same
    port again. ``cut_on(pattern)`` cuts at a precise moment instead: when a
    client sends ``pattern`` (within one read), which never reaches upstream.
    """

    def __init__(self, *, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._accepting: threading.Thread | None = None
        self._stop = threading.Event()
        self._trip_pattern: bytes | None = None
        self._tripped = threading.Event()

    def __enter__(self) -> TCPProxy:
        self.restore()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cut()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def restore(self) -> None:
        """Listen (on the same port, after a cut) and forward new connections."""
        if self._accepting is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        self._stop.clear()
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        """Refuse new connections and reset every open one, both sides."""
        with self._lock:
            accepting, self._accepting = self._accepting, None
            self._trip_pattern = None
        if accepting is None:
            return
        self._stop.set()
        accepting.join()  # the listener is closed when it returns
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.abort()

    def cut_on(self, pattern: bytes) -> threading.Event:
        """Cut when a client sends ``pattern``; the event is set once the cut is complete."""
        with self._lock:
            self._trip_pattern = pattern
            self._tripped = threading.Event()
            return self._tripped

    def _trips(self, data: bytes) -> bool:
        with self._lock:
            return self._trip_pattern is not None and self._trip_pattern in data

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(
                self.upstream, timeout=UPSTREAM_CONNECT_TIMEOUT_SECONDS
            )
        except OSError:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            client.close()
            return
        upstream.settimeout(None)
        connection = _Connection(client, upstream, trips=self._trips, on_close=self._closed)
        with self._lock:
            self._connections.add(connection)
        connection.thread.start()

    def _closed(self, connection: _Connection, tripped: bool) -> None:
        with self._lock:
            self._connections.discard(connection)
            tripped_event = self._tripped
        if tripped:
            # Not on this thread: cut() waits for every pump thread, this one included.
            threading.Thread(target=self._cut_after_trip, args=(tripped_event,)).start()

    def _cut_after_trip(self, tripped: threading.Event) -> None:
        self.cut()
        tripped.set()
