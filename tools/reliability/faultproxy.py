"""A TCP proxy that breaks connections on purpose (threads, stdlib only).

Put it between a client and a server (``FaultProxy(host, port)``; the client talks to
``proxy.url``) and say what happens to each new connection with ``proxy.plan``: a function
``connection number -> Fault | None``.  A ``Fault`` drops the connection (with a TCP reset) or
stalls it once ``after`` bytes went in its direction (``"up"``: client to server, ``"down"``:
server to client), or refuses it outright.  ``fail_next(n, fault)`` and ``random_faults(rng, p)``
are the usual plans; ``heal()`` lets everything through again.  ``bytes_down`` counts the bytes
passed from the server to clients (what a client was served); ``throttle`` (bytes per second,
None: unlimited) slows every connection's server-to-client direction.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

__all__ = ["Fault", "FaultProxy"]


@dataclass(frozen=True)
class Fault:
    kind: str  # "drop" | "stall" | "refuse"
    direction: str = "down"  # "up" | "down"
    after: int = 0  # bytes let through in that direction first
    seconds: float = 0.0  # how long a stall lasts (then the connection is dropped)


def _reset(sock: socket.socket) -> None:
    """Close with RST, not FIN: the peer sees a broken connection, not a clean end."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # wakes a thread blocked in recv() on it (close() alone would wait for that thread,
        # and the RST would never go out); SHUT_RD sends nothing
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.plan: Callable[[int], Fault | None] = lambda n: None
        self.injected: Counter[str] = Counter()
        self.connections = 0
        self.bytes_down = 0
        self.throttle: float | None = None
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    # -- plans ---------------------------------------------------------------------------------

    def heal(self) -> None:
        self.plan = lambda n: None

    def fail_next(self, count: int, fault: Fault) -> None:
        """The next ``count`` connections get ``fault``; the rest pass."""
        first = self.connections

        def plan(n: int) -> Fault | None:
            return fault if n < first + count else None

        self.plan = plan

    def fail_all(self, fault: Fault) -> None:
        self.plan = lambda n: fault

    def random_faults(self, rng: random.Random, probability: float, max_after: int = 256 * 1024,
                      stall: float = 0.0) -> None:
        """Each connection, with ``probability``, is dropped (or stalled, when ``stall`` > 0)
        after a random number of bytes in a random direction."""
        lock = threading.Lock()

        def plan(n: int) -> Fault | None:
            with lock:  # one Random shared by the accept thread only, but be safe
                if rng.random() >= probability:
                    return None
                kinds = ["drop", "drop", "refuse"] + (["stall"] if stall > 0 else [])
                return Fault(rng.choice(kinds), rng.choice(["up", "down"]), rng.randrange(max_after), stall)

        self.plan = plan

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        _reset(self._listener)
        with self._lock:
            for s in list(self._open):
                _reset(s)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                n = self.connections
                self.connections += 1
            try:
                fault = self.plan(n)
            except Exception:  # a broken plan must not kill the proxy
                fault = None
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: Fault | None) -> None:
        if fault is not None and fault.kind == "refuse":
            self.injected["refuse"] += 1
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _reset(client)  # the server is down: the client sees what it would see directly
            return
        with self._lock:
            self._open.update((client, upstream))
        broken = threading.Event()
        down_fault = fault if fault is not None and fault.direction == "down" else None
        up_fault = fault if fault is not None and fault.direction == "up" else None
        t = threading.Thread(target=self._pump, args=(client, upstream, up_fault, broken), daemon=True)
        t.start()
        self._pump(upstream, client, down_fault, broken, down=True)
        t.join()
        with self._lock:
            self._open.difference_update((client, upstream))

    def _pump(self, src: socket.socket, dst: socket.socket, fault: Fault | None, broken: threading.Event,
              down: bool = False) -> None:
        sent = 0
        try:
            while not broken.is_set():
                rate = self.throttle if down else None
                data = src.recv(min(65536, max(1024, int(rate / 20))) if rate else 65536)
                if rate and data:
                    time.sleep(len(data) / rate)
                if down and data:
                    with self._lock:
                        self.bytes_down += len(data)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if fault is not None and sent + len(data) > fault.after:
                    keep = fault.after - sent
                    if keep > 0:
                        dst.sendall(data[:keep])
                    self.injected[fault.kind] += 1
                    if fault.kind == "stall":
                        # the client waits on a connection that says nothing, then loses it
                        deadline = time.monotonic() + fault.seconds
                        while time.monotonic() < deadline and not broken.is_set():
                            time.sleep(0.05)
                    broken.set()
                    _reset(src)
                    _reset(dst)
                    return
                dst.sendall(data)
                sent += len(data)
        except OSError:
            broken.set()
            _reset(src)
            _reset(dst)
