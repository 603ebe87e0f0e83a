"""The incremental rule of ``sync``: whether the destination's copy of a file can stay."""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING, Callable

from .blocks import _md5_local, _PartHasher, crc32c_file, multipart_count, part_size_candidates
from .listing import _Entry
from .options import _MAX_PARTS, _MIN_PART

if TYPE_CHECKING:
    from ..handles import StoreHandle
    from .options import TransferOptions


#: a copy whose time is this close to its source's last change may predate that change (the
#: stores' timestamps have one-second resolution): it is compared by content, or sent again
_SETTLED = 2.0


def _up_to_date(s: _Entry, d: _Entry | None, src: StoreHandle, dst: StoreHandle,
                spath: Callable[[], str], dpath: Callable[[], str], opts: TransferOptions,
                uncompared: list[int]) -> bool:
    """The destination copy ``d`` can stay.  Same size, then: with ``checksum``, equal MD5s (a
    local side is hashed; a pair with no MD5 on a bucket side falls back to times and is counted
    in ``uncompared``); otherwise times: a local copy carries its source's mtime exactly; a bucket
    copy's time is its upload.  A copy made within ``_SETTLED`` seconds of its source's mtime
    proves nothing by time, so it is compared by content (or sent again): no blind spot lasts.
    ``spath``/``dpath`` give local paths, asked only when a file must be hashed."""
    if d is None or s.size != d.size:
        return False
    if opts.checksum:
        same = _same_content(s, d, src, dst, spath, dpath, opts)
        if same is not None:
            return same
        uncompared[0] += 1
    if s.mtime is None or d.mtime is None:
        return False
    if dst.is_local:
        if abs(d.mtime - s.mtime) > 0.001:  # we set it to the source's: any other value is a change
            return False
        settled = d.ctime is None or d.ctime - s.mtime >= _SETTLED
    else:
        settled = d.mtime - s.mtime >= _SETTLED
        if not settled and d.mtime < s.mtime - 1.0:
            return False  # changed after it was sent
    if settled:
        return True
    return bool(_same_content(s, d, src, dst, spath, dpath, opts))


def _same_content(s: _Entry, d: _Entry, src: StoreHandle, dst: StoreHandle, spath: Callable[[], str],
                  dpath: Callable[[], str], opts: TransferOptions) -> bool | None:
    """Equal MD5s, hashing a local side; None when a side cannot give one.  An S3 multipart
    ETag (the MD5 of its parts' MD5s) is matched by hashing the local file in our part size."""
    if s.md5 is not None and d.md5 is not None:
        return s.md5 == d.md5
    if s.crc32c is not None and d.crc32c is not None:  # two GCS objects (composite ones have no MD5)
        return s.crc32c == d.crc32c
    try:
        if src.is_local and dst.is_local:
            return _md5_file(spath(), opts) == _md5_file(dpath(), opts)
        if not (src.is_local or dst.is_local):
            return None
        remote, path = (d, spath()) if src.is_local else (s, dpath())
        if not path or not os.path.isfile(path):
            return None
        if remote.md5 is not None:
            return _md5_file(path, opts) == remote.md5
        if remote.crc32c is not None:
            return crc32c_file(path, opts.chunk_size) == remote.crc32c
        if _multipart(remote):
            return (remote.version or "").lower() in _multipart_etags(path, remote.size, opts,
                                                                      multipart_count(remote.version) or 0)
    except OSError:
        return None  # unreadable: it is then copied, and fails there with its reason
    return None


def _md5_file(path: str, opts: TransferOptions) -> str | None:
    return _md5_local(path, opts.chunk_size) if path and os.path.isfile(path) else None


def _multipart(e: _Entry) -> bool:
    return e.md5 is None and bool(e.version) and re.fullmatch(r"[0-9a-f]{32}-\d+", e.version or "") is not None


def _multipart_etag(path: str, size: int, opts: TransferOptions) -> str:
    """The ETag S3 gives a multipart upload of this file in the parts stores.transfer sends."""
    part = max(opts.chunk_size, _MIN_PART, -(-size // _MAX_PARTS))
    digests = []
    with open(path, "rb") as fh:
        while block := fh.read(part):
            digests.append(hashlib.md5(block, usedforsecurity=False).digest())
    return hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + f"-{len(digests)}"


def _multipart_etags(path: str, size: int, opts: TransferOptions, count: int) -> set[str]:
    """The ETags a multipart upload of this file in ``count`` parts can have: one per part size
    that gives that count (the common clients' defaults, an even split, ours); one read of the file."""
    ours = max(opts.chunk_size, _MIN_PART, -(-size // _MAX_PARTS))
    hashers = [_PartHasher(p) for p in part_size_candidates(size, count, ours)]
    if not hashers:
        return set()
    with open(path, "rb") as fh:
        while block := fh.read(opts.chunk_size):
            for h in hashers:
                h.update(block)
    return {h.etag() for h in hashers}
