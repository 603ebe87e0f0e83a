"""Local files: read without blocking on what is no longer a regular file, written under a
temporary name and renamed only when complete and checked."""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING, Any

from ..handles import StoreHandle
from .blocks import _blocks, _check
from .listing import _TMP_PREFIX, _Entry, _special_kind, _version
from .retry import SourceChangedError

if TYPE_CHECKING:
    from ..progress import Progress
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
    now = _version(src.fs.info(spath))
    if now != sentry.version:
        raise SourceChangedError(f"{spath}: the object changed while it was read (version {sentry.version} "
                                 f"when listed, {now} now); not put in place")


def _write_local(src: StoreHandle, spath: str, reader: Any, sentry: _Entry, dpath: str, opts: TransferOptions,
                 progress: Progress, md5: Any) -> int:
    """A file to a local destination: written under a temporary name, checked, given its
    source's mtime, then renamed into place; a failure removes the temporary file."""
    sent = 0
    try:
        folder = os.path.dirname(dpath) or "."
        os.makedirs(folder, exist_ok=True)
        fd, tmp = _temp_file(folder)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in _blocks(reader, sentry.size, opts.chunk_size):
                    out.write(block)
                    md5.update(block)
                    sent += len(block)
                    progress.advance(len(block))
            _check(sent, md5.hexdigest(), sentry, os.path.getsize(tmp), None, spath, opts)
            if not src.is_local and opts.verify and sentry.md5 is None:
                _same_version(src, spath, sentry)  # no MD5 to prove it: the object must not have changed
            if sentry.mtime is not None:
                os.utime(tmp, (sentry.mtime, sentry.mtime))
            os.replace(tmp, dpath)
        except BaseException:
            os.unlink(tmp) if os.path.exists(tmp) else None
            raise
        finally:
            _TEMPS.discard(tmp)
    except BaseException:
        progress.rewind(sent)
        raise
    return sent
