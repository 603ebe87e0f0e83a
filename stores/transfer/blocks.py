"""Bytes in chunks, and the checks of what arrived: sizes always, MD5s when verifying."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError

if TYPE_CHECKING:
    from .listing import _Entry
    from .options import TransferOptions


def _md5_local(path: str, chunk: int) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _blocks(reader: Any, size: int, chunk: int) -> Any:
    """The ``size`` bytes the listing promised, in chunks; a source that has grown since (a log
    still being written) yields one byte more, so the size check fails instead of reading on."""
    left = size
    while left > 0:
        block = reader.read(min(chunk, left))
        if not block:
            return
        left -= len(block)
        yield block
    yield reader.read(1)


def _check(sent: int, md5: str, sentry: _Entry, arrived_size: int, arrived_md5: str | None,
           where: str, opts: TransferOptions) -> None:
    if sent != sentry.size:
        raise IntegrityError(f"{where}: read {sent} bytes, the source listed {sentry.size}")
    if arrived_size != sent:
        raise IntegrityError(f"{where}: {arrived_size} bytes arrived, {sent} were sent")
    if not opts.verify:
        return
    for expected in (sentry.md5, arrived_md5):
        if expected is not None and expected != md5:
            raise IntegrityError(f"{where}: MD5 {md5} of the data differs from the store's {expected}")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
