"""Logging of the toolkit (stdlib :mod:`logging`): the logger ``stores`` and its children.

=========================  ==========================================================================
logger                     what it says
=========================  ==========================================================================
``stores.transfer``        a transfer's plan (INFO), files skipped by a rule (INFO), deletions (INFO),
                           each file sent or unchanged (DEBUG), each file that failed (WARNING)
``stores.transfer.retry``  each retry of a file or a listing, with the error and the delay (WARNING);
                           the circuit breaker tripping (WARNING; the command's error says it too)
``stores.progress``        periodic progress lines off a terminal (INFO), every ``progress_interval``
``stores.cli``             what a command reports: summaries and notes (INFO), errors (ERROR)
=========================  ==========================================================================

The package never configures logging on import: a program that uses it as a library sees these
records through its own configuration (none: warnings and errors only, Python's default).  The
``stores`` command calls :func:`configure` with :func:`stores.settings.load_log_settings` (the
precedence is written there: ``-v/-q`` > ``STORES_LOG_LEVEL`` > ``POLYAXON_LOG_LEVEL`` > INFO).

Two formats: ``text`` prints the message (``warning: ...`` above INFO; progress lines start with
their UTC time, since an init container's log has no other clock); ``json`` prints one JSON object
per line, ``{"time", "level", "logger", "message", ...}`` plus the record's fields (a progress
line's counts), for a log collector.  Every message goes through :func:`stores.redact.redact_text`
on its way out; the code logs credentials' ``redact``-ed error texts, never a secret value.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from .redact import redact_text

__all__ = ["LOGGER", "configure", "reset", "timestamp", "TextFormatter", "JsonFormatter", "active_format"]

LOGGER = "stores"

_ACTIVE: list[str] = []  # the format configure() last set ("text" or "json"); empty: not configured


def timestamp(when: float) -> str:
    """``2026-12-02T02:30:00.123Z`` (UTC, milliseconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when * 1000) % 1000:03d}Z"


def active_format() -> str | None:
    """The format of the handler :func:`configure` installed, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None


def _message(record: logging.LogRecord) -> str:
    """The record's message through the one redaction policy (tracebacks are never shown: a
    traceback may quote anything)."""
    return redact_text(record.getMessage())


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = _message(record)
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname.lower()}: {message}"
        if record.name == f"{LOGGER}.progress":
            message = f"{timestamp(record.created)} {message}"
        return message


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"time": timestamp(record.created), "level": record.levelname.lower(),
                               "logger": record.name, "message": _message(record)}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update({k: v for k, v in fields.items() if k not in doc})
        return redact_text(json.dumps(doc, default=str))


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to the ``sys.stderr`` of the moment unless given a stream."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream)
        self._fixed = stream  # StreamHandler stored sys.stderr for None: look it up at each write

    @property
    def stream(self) -> IO[str]:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._fixed = value


def configure(settings: Any = None, stream: IO[str] | None = None) -> logging.Logger:
    """Send the ``stores`` loggers' records at ``settings.level`` and above to ``stream``
    (standard error by default) in ``settings.format``; replaces what an earlier call installed.
    ``settings``: a :class:`stores.settings.LogSettings` (default: ``load_log_settings()``)."""
    if settings is None:
        from .settings import load_log_settings

        settings = load_log_settings()
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler.setLevel(settings.level)
    logger.addHandler(handler)
    # the level is the handler's: records still propagate, at every level, to whatever the
    # process configured at the root (nothing, for the command; a test's capture, for one)
    logger.setLevel(logging.DEBUG)
    _ACTIVE[:] = [settings.format]
    return logger


def reset() -> None:
    """Undo :func:`configure`: the ``stores`` logger back to Python's defaults."""
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    logger.setLevel(logging.NOTSET)
    _ACTIVE.clear()
