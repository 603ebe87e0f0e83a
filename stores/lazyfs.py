"""A handle's fsspec filesystem built on first use (tier 2).

A transfer that goes through a native client (:mod:`stores.transfer.native`) may never touch
the fsspec filesystem, and importing s3fs (aiobotocore, aiohttp, botocore) is a fifth of a
second of a command's start-up.  :class:`Deferred` builds it once, for every handle that shares
it; :class:`FileSystemSlot` is the handle's ``fs`` attribute, which builds it when read."""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["Deferred", "FileSystemSlot"]


class Deferred:
    """``build()`` called once, on the first :meth:`get`, its result kept (or its error raised
    again on every later call)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build: Callable[[], Any] | None = build
        self._value: Any = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._build is None

    def get(self) -> Any:
        with self._lock:
            if self._build is not None:
                build, self._build = self._build, None
                try:
                    self._value = build()
                except BaseException as exc:
                    self._error = exc
            if self._error is not None:
                raise self._error
            return self._value


class FileSystemSlot:
    """A data descriptor for a dataclass field holding a filesystem or a :class:`Deferred` one:
    reading the field gives the filesystem (built then, if deferred); :meth:`raw` gives what is
    stored, for another handle to share without building it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attr = f"_{name}_slot"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # a dataclass field without a default
            raise AttributeError(self._attr)
        value = obj.__dict__[self._attr]
        return value.get() if isinstance(value, Deferred) else value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._attr] = value

    def raw(self, obj: Any) -> Any:
        return obj.__dict__[self._attr]
