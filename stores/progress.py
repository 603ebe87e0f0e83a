"""A small progress line for transfers (stdlib): files, bytes and rate on stderr.

Drawn only when the stream is a terminal and nobody asked for quiet; redrawn at most ten times a
second; safe to update from many threads.  When the stream is not a terminal (a container's log)
and ``every`` is given, a plain line is written at most every ``every`` seconds instead (the first
one after ``every`` seconds, so a short transfer writes none).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO

__all__ = ["Progress", "human_bytes"]


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class Progress:
    """Counts files and bytes; ``enabled=None`` means "when ``stream`` is a terminal"."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None, label: str = "",
                 every: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        #: plain lines every ``every`` seconds (a log), not a bar redrawn in place
        self.lines = False
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
            if not enabled and every:
                enabled = self.lines = True
        self.every = every or 0.0
        self.enabled = enabled
        self._wrote_line = False
        self.label = label
        self.files_total = 0
        self.bytes_total = 0
        self.files_done = 0
        self.bytes_done = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_draw = 0.0

    def add_total(self, files: int, nbytes: int) -> None:
        with self._lock:
            self.files_total += files
            self.bytes_total += nbytes
        self._draw()

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_done += nbytes
        self._draw()

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1
        self._draw()

    def rewind(self, nbytes: int) -> None:
        """Take back bytes of an attempt that will be retried."""
        with self._lock:
            self.bytes_done -= nbytes

    @property
    def rate(self) -> float:
        elapsed = max(time.monotonic() - self._start, 1e-6)
        return self.bytes_done / elapsed

    def line(self) -> str:
        head = f"{self.label}: " if self.label else ""
        return (
            f"{head}{self.files_done}/{self.files_total} files  "
            f"{human_bytes(self.bytes_done)}/{human_bytes(self.bytes_total)}  "
            f"{human_bytes(self.rate)}/s"
        )

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.lines:
            with self._lock:
                due = now - max(self._last_draw, self._start) >= self.every
                if not (due or (force and self._wrote_line)):
                    return
                self._last_draw, self._wrote_line = now, True
                self.stream.write(self.line() + "\n")
                self.stream.flush()
            return
        with self._lock:
            if not force and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.lines:
            self._draw(force=True)  # the last line, when there were any
        elif self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
