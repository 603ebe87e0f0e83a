"""Bytes in chunks, and the checks of what arrived: sizes always, MD5s when verifying."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError

if TYPE_CHECKING:
    from .listing import _Entry
    from .options import TransferOptions

__all__ = ["Digests", "crc32c", "crc32c_file", "multipart_count", "part_size_candidates"]


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


def _read_whole(reader: Any, size: int, where: str) -> bytes:
    """The ``size`` bytes the listing promised, in memory (a file of at most one part); an
    IntegrityError if the source has shrunk or grown since."""
    data = reader.read(size) if size else b""
    while len(data) < size:
        more = reader.read(size - len(data))
        if not more:
            break
        data += more
    if len(data) != size or reader.read(1):
        raise IntegrityError(f"{where}: the file changed while it was read (listed {size} bytes)")
    return bytes(data)


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


# ---- checksums beyond the whole MD5: GCS crc32c, S3 multipart ETags ---------------------------

def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


class _PyCrc32c:
    """CRC-32C (Castagnoli), pure Python: the fallback when ``google-crc32c`` is not installed
    (a few MB/s; GCS gives it for every object, and composite objects have nothing else)."""

    _TABLE: list[int] | None = None

    def __init__(self) -> None:
        if _PyCrc32c._TABLE is None:
            _PyCrc32c._TABLE = _crc32c_table()
        self._crc = 0xFFFFFFFF

    def update(self, data: bytes) -> None:
        crc, table = self._crc, self._TABLE
        assert table is not None
        for byte in memoryview(data).cast("B"):
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ 0xFFFFFFFF).to_bytes(4, "big")


def crc32c() -> Any:
    """A CRC-32C hasher (``update(bytes)``, ``digest() -> 4 bytes, big-endian``): google-crc32c's
    C implementation when it is installed, the pure-Python fallback otherwise."""
    try:
        import google_crc32c
    except ImportError:
        return _PyCrc32c()
    return google_crc32c.Checksum()  # type: ignore[no-untyped-call]  # google-crc32c leaves it unannotated


_MULTIPART_ETAG = re.compile(r"([0-9a-f]{32})-([0-9]+)")
_MiB = 1024 * 1024
#: part sizes S3 clients use (aws cli/boto3: 8 MiB; s3fs: 50 MiB; rclone, s5cmd, Go SDK: 5/16/64 MiB)
_COMMON_PARTS = (5, 8, 15, 16, 25, 32, 50, 64, 100, 128, 256, 512)


def multipart_count(etag: str | None) -> int | None:
    """The part count of an S3 multipart ETag (``<md5 of the parts' MD5s>-<count>``), else None."""
    m = _MULTIPART_ETAG.fullmatch((etag or "").strip('"').lower())
    return int(m.group(2)) if m else None


def part_size_candidates(size: int, count: int, ours: int | None = None) -> list[int]:
    """The part sizes an upload of ``size`` bytes in ``count`` parts can have used (every part but
    the last of one size): the common client defaults, the size split evenly (exactly and rounded
    up to a MiB), and ``ours`` (what stores.transfer itself sends), each kept only when it gives
    ``count`` parts."""
    if count < 1 or size < 0:
        return []
    if count == 1:
        return [max(size, 1)]
    cands = {m * _MiB for m in _COMMON_PARTS}
    even = -(-size // count)
    cands |= {even, -(-even // _MiB) * _MiB}
    if ours:
        cands.add(ours)
    return sorted(c for c in cands if c > 0 and -(-size // c) == count)


class _PartHasher:
    """The MD5 of each ``part``-byte part of a stream, as S3 hashes a multipart upload."""

    digests: list[bytes]

    def __init__(self, part: int) -> None:
        self.part, self.digests, self._h, self._left = part, [], hashlib.md5(usedforsecurity=False), part

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            take = min(self._left, len(view))
            self._h.update(view[:take])
            view, self._left = view[take:], self._left - take
            if self._left == 0:
                self.digests.append(self._h.digest())
                self._h, self._left = hashlib.md5(usedforsecurity=False), self.part

    def etag(self) -> str:
        digests = list(self.digests)
        if self._left != self.part:
            digests.append(self._h.digest())
        return hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + f"-{len(digests)}"


class Digests:
    """Every checksum of a stream that a store's entry can be checked against: the whole MD5
    always; with ``full`` (``--checksum``), the entry's GCS crc32c and, for an S3 multipart ETag,
    the ETag computed for every part size that gives its part count."""

    def __init__(self, entry: _Entry, full: bool, ours: int | None = None, hint: int | None = None) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.entry = entry
        self.crc = crc32c() if full and entry.crc32c else None
        count = multipart_count(entry.version) if full and entry.md5 is None else None
        sizes = part_size_candidates(entry.size, count, ours) if count else []
        if count and hint and hint not in sizes and -(-entry.size // hint) == count:
            sizes.append(hint)  # the store's own answer (S3: HEAD ?partNumber=1)
        self.parts = [_PartHasher(p) for p in sizes]
        self.expect_parts = count is not None

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        if self.crc is not None:
            self.crc.update(data)
        for p in self.parts:
            p.update(data)

    def hexdigest(self) -> str:
        return self.md5.hexdigest()

    def check(self, where: str) -> None:
        """The stream against the entry's crc32c and multipart ETag (the MD5 is ``_check``'s):
        IntegrityError naming ``where`` on a mismatch."""
        if self.crc is not None:
            got = _b64(self.crc.digest())
            if got != self.entry.crc32c:
                raise IntegrityError(f"{where}: crc32c {got} of the data differs from the store's {self.entry.crc32c}")
        if self.expect_parts:
            etag = (self.entry.version or "").strip('"').lower()
            tried = [p.etag() for p in self.parts]
            if etag not in tried:
                sizes = ", ".join(f"{p.part // _MiB if p.part % _MiB == 0 else p.part}"
                                  f"{' MiB' if p.part % _MiB == 0 else ' B'}" for p in self.parts) or "none fits"
                raise IntegrityError(f"{where}: the multipart ETag {etag} matches the data in no part size "
                                     f"(tried {sizes})")


def crc32c_file(path: str, chunk: int) -> str:
    h = crc32c()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return _b64(h.digest())
