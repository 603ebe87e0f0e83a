"""A large object read as ranges of one part, several in flight at once, handed out in order
(what a download of one large file waits on: a single stream of sequential ranged GETs leaves
the network idle between them)."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

__all__ = ["RangedReader", "AHEAD", "AHEAD_BYTES", "BUDGET_BYTES", "range_size"]

#: ranges one reader keeps in flight, at most
AHEAD = 4
#: bytes one reader keeps in flight, at most (fewer ranges when they are large)
AHEAD_BYTES = 64 * 1024 * 1024
#: bytes in flight across every reader of the process: memory stays bounded however many large
#: files download at once
BUDGET_BYTES = 192 * 1024 * 1024
#: a range is at most this large (and at least one part)
MAX_RANGE = 32 * 1024 * 1024

_lock = threading.Lock()
_inflight = [0]
_pool: ThreadPoolExecutor | None = None


def range_size(size: int, part: int) -> int:
    """The ranges a ``size``-byte object is read in: one part, or an eighth of the object up to
    :data:`MAX_RANGE` (each request has a cost of its own: fewer, larger ranges for a large
    object; README, "Benchmarks")."""
    return max(part, min(MAX_RANGE, -(-size // 8)))


def _take(nbytes: int) -> bool:
    with _lock:
        if _inflight[0] + nbytes > BUDGET_BYTES:
            return False
        _inflight[0] += nbytes
        return True


def _give(nbytes: int) -> None:
    with _lock:
        _inflight[0] -= nbytes


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2 * AHEAD * 2, thread_name_prefix="stores-range")
        return _pool


class RangedReader:
    """``read(n)`` over the object ``fetch(start, end)`` serves, ``size`` bytes long (as
    listed), in ranges of :func:`range_size`.  The next ranges are fetched ahead, at most
    :data:`AHEAD` ranges and :data:`AHEAD_BYTES` per reader and :data:`BUDGET_BYTES` in the
    process (a reader that gets no share of the budget fetches its next range itself, so it never
    waits on another).  ``seek`` before the first read starts at an offset (a resumed download
    asks only for the rest).  A range that comes back short (the object shrank) ends the stream
    there, so the caller's size check fails."""

    def __init__(self, fetch: Callable[[int, int], bytes | memoryview], size: int, part: int) -> None:
        self._fetch, self._end = fetch, size
        self._part = range_size(size, max(1, part))
        self._ahead_max = max(1, min(AHEAD, AHEAD_BYTES // self._part))
        self._pos = 0  # the next byte read() hands out
        self._next = 0  # where the next range to fetch starts
        self._buf = memoryview(b"")
        self._ahead: deque[tuple[Future[bytes | memoryview], int, bool]] = deque()
        self._closed = False

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or self._ahead or self._buf or self._next != self._pos:
            raise OSError("RangedReader seeks only to an absolute offset before the first read")
        self._pos = self._next = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def _fetch_range(self, start: int, end: int) -> bytes | memoryview:
        try:
            return self._fetch(start, end)
        finally:
            _give(end - start)

    def _fill(self) -> None:
        """Queue ranges up to the reader's limits, each holding its share of the process's
        budget while there is one; with none and nothing queued, the next range is fetched here
        and now."""
        while self._next < self._end and len(self._ahead) < self._ahead_max and not self._closed:
            start, end = self._next, min(self._next + self._part, self._end)
            if _take(end - start):
                self._ahead.append((_executor().submit(self._fetch_range, start, end), end - start, True))
            elif not self._ahead:
                done: Future[bytes | memoryview] = Future()
                done.set_result(self._fetch(start, end))
                self._ahead.append((done, end - start, False))
            else:
                return
            self._next = end

    def read(self, n: int = -1) -> bytes:
        if not self._buf:
            if self._pos >= self._end:
                return b""
            self._fill()
            future, want, _ = self._ahead.popleft()
            data = future.result()
            if len(data) < want:  # shorter than listed: stop after it
                self.close()
                self._end = self._next = self._pos + len(data)
            self._buf = memoryview(data)
            self._fill()
        take = len(self._buf) if n is None or n < 0 else n
        out = bytes(self._buf[:take])
        self._buf = self._buf[len(out):]
        self._pos += len(out)
        return out

    def close(self) -> None:
        """Cancel the ranges not started; those running finish in the background."""
        self._closed = True
        while self._ahead:
            future, want, budgeted = self._ahead.popleft()
            if future.cancel() and budgeted:
                _give(want)
