"""One file, from its source to its destination: the reader opened, the writer chosen (a local
file, the kind's own ``uploader``, or one streamed fsspec write), the reader closed."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, Any, Callable

from ..handles import StoreHandle
from ..kinds import KINDS
from .generic import _write_streamed
from .listing import _Entry, _join, _native_for
from .local import _open_local, _write_local
from .options import _MAX_PARTS, _MIN_PART
from .ranged import RangedReader

if TYPE_CHECKING:
    from ..progress import ByteProgress
    from .options import TransferOptions


def _open_reader(src: StoreHandle, spath: str, sentry: _Entry, opts: TransferOptions) -> Any:
    """The source file, to read from.  An object no larger than one part is fetched whole, in one
    GET: its file object would first ask the store for the object's details (s3fs sends a HEAD
    per file for them), doubling the requests of a small-file download.  Larger ones are read
    part by part.  Either way an object replaced since the listing fails its MD5 or version check,
    and one that grew yields the extra byte ``_blocks`` looks for."""
    if src.is_local:
        return _open_local(spath)
    fetch = _range_fetcher(src, spath)
    if 0 < sentry.size <= opts.chunk_size:
        # a range (one byte past the listed size, so growth still shows): without one, s3fs's
        # cat_file asks for the size first
        return io.BytesIO(fetch(0, sentry.size + 1))
    # larger ones as ranges of one part, a few in flight at once (one stream of sequential ranged
    # GETs left most of the network idle: README, "Benchmarks")
    return RangedReader(fetch, sentry.size, opts.chunk_size)


def _fsspec_range(src: StoreHandle, spath: str) -> Callable[[int, int], bytes | memoryview]:
    def fetch(start: int, end: int) -> bytes | memoryview:
        data: bytes = src.fs.cat_file(spath, start=start, end=end)
        return data
    return fetch


def _range_fetcher(src: StoreHandle, spath: str) -> Callable[[int, int], bytes | memoryview]:
    """``fetch(start, end) -> bytes`` of the object ``spath``: through the kind's native client
    when it serves this handle and key (:mod:`.native`), else the fsspec filesystem's ranged
    ``cat_file``."""
    key = spath.partition("/")[2]
    client = _native_for(src, key)
    if client is not None:
        return lambda start, end: client.get_range(key, start, end)
    return _fsspec_range(src, spath)


def _copy_one(src: StoreHandle, skey: str, sentry: _Entry, dst: StoreHandle, dkey: str,
              opts: TransferOptions, progress: ByteProgress, deferred: dict[str, tuple[int, str]] | None = None) -> int:
    """Copy the source file ``skey`` (listed as ``sentry``) to ``dkey``; the bytes sent.  Progress
    taken back on failure; with ``deferred``, a bucket upload is recorded there for one listing
    to check instead of being checked now."""
    spath, dpath = _join(src, skey), _join(dst, dkey)
    md5 = hashlib.md5(usedforsecurity=False)
    reader = _open_reader(src, spath, sentry, opts)
    try:
        if dst.is_local:
            return _write_local(src, spath, reader, sentry, dpath, opts, progress)
        part = max(opts.chunk_size, _MIN_PART, -(-sentry.size // _MAX_PARTS))
        upload = KINDS[dst.kind].code("uploader")
        if upload is not None:
            sent: int = upload(src, dst, dkey, dpath, spath, reader, sentry, part, opts, progress, md5, deferred)
            return sent
        return _write_streamed(dst, dkey, dpath, spath, reader, sentry, part, opts, progress, md5, deferred)
    finally:
        reader.close()
