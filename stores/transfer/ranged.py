"""A large object read as ranges of one part, several in flight at once, handed out in order
(what a download of one large file waits on: a single stream of sequential ranged GETs leaves
the network idle between them)."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

__all__ = ["RangedReader", "AHEAD", "BUDGET"]

#: ranges one reader keeps in flight
AHEAD = 4
#: ranges in flight across every reader of the process: memory stays bounded (this many parts)
#: however many large files download at once
BUDGET = 12

_budget = threading.BoundedSemaphore(BUDGET)
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=BUDGET, thread_name_prefix="stores-range")
        return _pool


class RangedReader:
    """``read(n)`` over the object ``fetch(start, end)`` serves, ``size`` bytes long (as
    listed), in ranges of ``part`` bytes.  The next ranges are fetched ahead, at most
    :data:`AHEAD` per reader and :data:`BUDGET` in the process (a reader that gets no slot
    fetches its next range itself, so it never waits on another).  ``seek`` before the first
    read starts at an offset (a resumed download asks only for the rest).  A range that comes
    back short (the object shrank) ends the stream there, so the caller's size check fails."""

    def __init__(self, fetch: Callable[[int, int], bytes], size: int, part: int) -> None:
        self._fetch, self._end, self._part = fetch, size, max(1, part)
        self._pos = 0  # the next byte read() hands out
        self._next = 0  # where the next range to fetch starts
        self._buf = memoryview(b"")
        self._ahead: deque[tuple[Future[bytes], int, bool]] = deque()
        self._closed = False

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or self._ahead or self._buf or self._next != self._pos:
            raise OSError("RangedReader seeks only to an absolute offset before the first read")
        self._pos = self._next = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def _fetch_range(self, start: int, end: int) -> bytes:
        try:
            return self._fetch(start, end)
        finally:
            _budget.release()

    def _fill(self) -> None:
        """Queue ranges up to AHEAD, each holding a slot of the process's budget while there is
        one; with none free and nothing queued, the next range is fetched here and now."""
        while self._next < self._end and len(self._ahead) < AHEAD and not self._closed:
            start, end = self._next, min(self._next + self._part, self._end)
            if _budget.acquire(blocking=False):
                self._ahead.append((_executor().submit(self._fetch_range, start, end), end - start, True))
            elif not self._ahead:
                done: Future[bytes] = Future()
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
            future, _, slot = self._ahead.popleft()
            if future.cancel() and slot:
                _budget.release()
