"""Progress of a transfer (stdlib): files, bytes and rate.

- On a terminal: one line on stderr, redrawn at most ten times a second.
- Off a terminal (an init container, a sidecar, a CI log): a line on the ``stores.progress``
  logger every ``interval`` seconds while bytes move (INFO; the ``stores`` command shows them
  with their UTC time, or as JSON objects with ``--log-format json``), so a long download is
  never silent.
- Any fsspec ``Callback`` (``fsspec.callbacks.TqdmCallback`` for a tqdm bar, or your own) is
  told the total bytes (``set_size``) and the bytes done (``absolute_update``).

Safe to update from many threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO, Any, Protocol

__all__ = ["Progress", "human_bytes", "as_progress", "DEFAULT_INTERVAL"]

#: seconds between two progress lines off a terminal (``STORES_PROGRESS_INTERVAL``, the CLI's
#: ``--progress-interval``)
DEFAULT_INTERVAL = 15.0

_log = logging.getLogger("stores.progress")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class ByteProgress(Protocol):
    """What one file's copy reports its bytes to: a :class:`Progress`, or the engine's per-file view of one."""

    def advance(self, nbytes: int) -> None: ...

    def rewind(self, nbytes: int) -> None: ...


class Progress:
    """Counts files and bytes and shows them.  ``enabled``: ``None`` draws the line on a terminal
    and logs periodic lines otherwise; ``True`` always draws; ``False`` shows nothing itself.
    ``callback``: an fsspec ``Callback`` told the bytes (whatever ``enabled`` says).
    ``interval``: seconds between logged lines (``0``: none)."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None, label: str = "",
                 callback: Any = None, interval: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.lines = False
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
            self.lines = not enabled
        self.enabled = enabled
        self.label = label
        self.callback = callback
        self.interval = DEFAULT_INTERVAL if interval is None else interval
        self._last_line = time.monotonic()
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
            if self.callback is not None:
                self.callback.set_size(self.bytes_total)
        self._draw()

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_done += nbytes
            if self.callback is not None:
                self.callback.absolute_update(self.bytes_done)
        self._draw()

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1
        self._draw()

    def rewind(self, nbytes: int) -> None:
        """Take back bytes of an attempt that will be retried."""
        with self._lock:
            self.bytes_done -= nbytes
            if self.callback is not None:
                self.callback.absolute_update(self.bytes_done)

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

    def fields(self) -> dict[str, Any]:
        """The counts, as a JSON log line carries them."""
        return {"files_done": self.files_done, "files_total": self.files_total, "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total, "bytes_per_second": round(self.rate, 1)}

    def _log_line(self) -> None:
        """A progress line on the logger, at most every ``interval`` seconds."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_line < self.interval:
                return
            self._last_line = now
            line, fields = self.line(), self.fields()
        _log.info("%s", line, extra={"fields": fields})

    def tick(self) -> None:
        """Log a line if one is due, whether or not anything moved (a transfer's watcher calls
        this several times a second: the lines keep coming while a store is slow)."""
        if self.lines and self.interval > 0 and _log.isEnabledFor(logging.INFO):
            self._log_line()

    def _draw(self, force: bool = False) -> None:
        self.tick()
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_progress(progress: Any) -> Progress:
    """What a transfer's ``progress=`` argument means: a :class:`Progress` as it is; an fsspec
    ``Callback`` (anything with ``set_size`` and ``absolute_update``) told the bytes, nothing
    drawn; ``None``: a line on a terminal, periodic log lines otherwise; ``True``/``False``:
    always drawn / nothing."""
    if isinstance(progress, Progress):
        return progress
    if hasattr(progress, "set_size") and hasattr(progress, "absolute_update"):
        return Progress(enabled=False, callback=progress)
    if progress is None or isinstance(progress, bool):
        return Progress(enabled=progress)
    raise TypeError(f"progress must be a Progress, an fsspec Callback, a bool or None, not {type(progress).__name__}")
