"""Local files: read without blocking on what is no longer a regular file, written under a
temporary name and renamed only when complete and checked."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from typing import TYPE_CHECKING, Any, Callable

from ..handles import StoreHandle
from ..errors import IntegrityError
from ..kinds import KINDS
from .blocks import Digests, _blocks, _check, multipart_count
from .listing import _RESUME_SUFFIX, _TMP_PREFIX, _Entry, _object_info, _special_kind, _version
from .options import _MAX_PARTS, _MIN_PART
from .retry import SourceChangedError

if TYPE_CHECKING:
    from ..progress import ByteProgress
    from .options import TransferOptions

_TEMPS: set[str] = set()  # local temporary files being written (removed when a transfer stalls)


def _temp_file(folder: str) -> tuple[int, str]:
    """A new file in ``folder`` under a fixed-length name that user files are listed past (so it
    fits NAME_MAX whatever the target's name) and that is created exclusively (never collides)."""
    while True:
        tmp = os.path.join(folder, _TMP_PREFIX + os.urandom(6).hex())
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        _TEMPS.add(tmp)
        return fd, tmp


def _open_local(path: str) -> Any:
    """Open a local source without blocking (a FIFO put in place of a listed file would hang an
    ordinary open) and only if it is still a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IsADirectoryError(errno.EISDIR, f"{_special_kind(mode)} now, not a file: not read", path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _same_version(src: StoreHandle, spath: str, sentry: _Entry) -> None:
    if sentry.version is None:
        return
    now = _version(_object_info(src, spath))
    if now != sentry.version:
        raise SourceChangedError(f"{spath}: the object changed while it was read (version {sentry.version} "
                                 f"when listed, {now} now); not put in place")


def _write_local(src: StoreHandle, spath: str, reader: Any, sentry: _Entry, dpath: str, opts: TransferOptions,
                 progress: ByteProgress) -> int:
    """A file to a local destination: written under a temporary name, checked, given its
    source's mtime, then renamed into place; a failure removes the temporary file, except for a
    resumable download (:func:`_resumable`), whose partial file and state stay for the next
    attempt.  The bytes read from the source this time."""
    folder = os.path.dirname(dpath) or "."
    os.makedirs(folder, exist_ok=True)
    ours = max(opts.chunk_size, _MIN_PART, -(-sentry.size // _MAX_PARTS))  # the part size we upload in
    hint = _first_part_size(src, spath, sentry) if opts.checksum else None
    digests = Digests(sentry, opts.checksum, ours, hint)
    resume = _Resume(folder, dpath, sentry) if _resumable(src, sentry, opts) else None
    sent = offset = 0
    try:
        if resume is not None:
            offset, digests = resume.open(lambda: Digests(sentry, opts.checksum, ours, hint), opts.chunk_size)
            fd, tmp = resume.fd, resume.tmp
            if offset:
                reader.seek(offset)  # a ranged GET for the rest only
                progress.advance(offset)
        else:
            fd, tmp = _temp_file(folder)
        done = False
        try:
            with os.fdopen(fd, "wb") as out:
                if offset:
                    out.seek(offset)
                for block in _blocks(reader, sentry.size - offset, opts.chunk_size):
                    out.write(block)
                    digests.update(block)
                    sent += len(block)
                    progress.advance(len(block))
                    if resume is not None:
                        resume.save(out, offset + sent, digests)
            _check(offset + sent, digests.hexdigest(), sentry, os.path.getsize(tmp), None, spath, opts)
            digests.check(spath)
            if not src.is_local and opts.verify and sentry.md5 is None:
                _same_version(src, spath, sentry)  # no MD5 to prove it: the object must not have changed
            if sentry.mtime is not None:
                os.utime(tmp, (sentry.mtime, sentry.mtime))
            os.replace(tmp, dpath)
            done = True
        except BaseException as exc:
            # a resumable download keeps what it verified, unless what it holds is wrong
            keep = resume is not None and not isinstance(exc, IntegrityError)
            if not keep:
                os.unlink(tmp) if os.path.exists(tmp) else None
                if resume is not None:
                    resume.forget()
            raise
        finally:
            _TEMPS.discard(tmp)
            if done and resume is not None:
                resume.forget()
    except BaseException:
        progress.rewind(offset + sent)
        raise
    return sent


def _first_part_size(src: StoreHandle, spath: str, sentry: _Entry) -> int | None:
    """S3: the size of a multipart object's first part (``HEAD ?partNumber=1``), the part size
    its ETag was computed with; None when the store does not say (then common sizes are tried)."""
    if src.is_local or not multipart_count(sentry.version):
        return None
    ask = KINDS[src.kind].code("first_part_size")
    try:
        size = ask(src, spath) if ask is not None else None
    except Exception:
        return None
    return size if size and 0 < size < sentry.size else None


def _resumable(src: StoreHandle, sentry: _Entry, opts: TransferOptions) -> bool:
    """A download that resumes: from a store (whose object has a version to compare) and at least
    ``opts.resume_min`` bytes."""
    return (not src.is_local and opts.resume_min is not None and sentry.size >= max(1, opts.resume_min)
            and bool(sentry.version))


class _Resume:
    """The partial file of one download (``.stores-tmp-<12 hex of the destination's name>``) and
    its state file beside it (``...resume``: JSON with the object's version and size, the length
    written and flushed to disk, and the MD5 of that prefix).  A later attempt continues only when
    the object is unchanged (same version and size) and the prefix on disk still hashes to the
    recorded MD5; otherwise it starts over."""

    def __init__(self, folder: str, dpath: str, sentry: _Entry) -> None:
        name = hashlib.sha256(os.path.basename(dpath).encode("utf-8", "surrogateescape")).hexdigest()[:12]
        self.tmp = os.path.join(folder, _TMP_PREFIX + name)
        self.state = self.tmp + _RESUME_SUFFIX
        self.sentry = sentry
        self.fd = -1

    def open(self, make: Callable[[], Digests], chunk: int) -> tuple[int, Digests]:
        """Open the partial file: the verified length to continue from (0: from the start) and
        the digests of the stream so far (``make()`` fed with the verified prefix)."""
        self.fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT, 0o600)
        digests = make()
        offset = self._verified(digests, chunk)
        if not offset:
            digests = make()
            self.forget_state()
        os.ftruncate(self.fd, offset)
        return offset, digests

    def _verified(self, digests: Digests, chunk: int) -> int:
        try:
            with open(self.state, encoding="utf-8") as fh:
                state = json.load(fh)
            length = int(state["length"])
            if (state.get("version") != self.sentry.version or int(state.get("size", -1)) != self.sentry.size
                    or not 0 < length < self.sentry.size or os.fstat(self.fd).st_size < length):
                return 0
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        # the prefix is hashed from the local file, not asked for again
        left = length
        while left:
            block = os.pread(self.fd, min(chunk, left), length - left)
            if not block:
                return 0
            digests.update(block)
            left -= len(block)
        return length if digests.hexdigest() == state.get("md5") else 0

    def save(self, out: Any, length: int, digests: Digests) -> None:
        """Record ``length`` bytes as written: flushed to disk first, then the state replaced."""
        out.flush()
        os.fsync(out.fileno())
        new = self.state + ".new"
        with open(new, "w", encoding="utf-8") as fh:
            json.dump({"version": self.sentry.version, "size": self.sentry.size, "length": length,
                       "md5": digests.hexdigest()}, fh)
        os.replace(new, self.state)

    def forget_state(self) -> None:
        for path in (self.state, self.state + ".new"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def forget(self) -> None:
        self.forget_state()
