"""Upload, download, copy and sync between stores and local directories (tier 2).

Every side is a :class:`~stores.handles.StoreHandle` or a local path.  Files are streamed in
chunks (memory per worker is bounded by about two chunks plus one upload part), on a bounded
pool of threads; each file is retried with exponential backoff on transient errors, then checked
(size always; MD5 where the store gives one: S3 ETags, GCS ``md5Hash``).  S3 uploads carry
their Content-MD5 and are checked against the ETag the PUT itself answers (a large local file:
each part's and the whole upload's; its parts go up several at once, each streamed from the
file by its own thread, so memory does not grow with them); otherwise one by one, or, for more
than a few files into a bucket, against one listing taken afterwards (files that do not match
are sent again and checked one by one).  Local files
are written under a temporary name and renamed only when complete and checked; a failed bucket
upload is discarded (S3 multipart uploads aborted, GCS resumable uploads cancelled, Azure blocks
left uncommitted).  Failures raise :class:`~stores.errors.TransferError` listing every failed
key, after the other files have been tried.

**Circuit breaker**: when ``TransferOptions.unreachable_after`` files in a row (across workers;
``max(3, workers)`` by default) have failed, after their retries, with *connection-level*
errors (connection refused or reset, timeouts, endpoint unreachable; not an error status the
store answered, not an integrity error), no new file is started: the files in flight finish or
fail (without further retries), nothing is deleted, and the TransferError says how many files
were not attempted (the store looks unreachable; they are in its ``not_attempted``).  A file
that succeeds, or fails otherwise, resets the count; ``0`` disables the breaker.

**Accounting**: every source entry ends as exactly one of sent, unchanged, skipped by a named
rule (``TransferResult.excluded``: special files, folder markers, our temporary files, files gone
before they were read) or failed (``TransferResult.failed``, with a reason); any failure raises
TransferError after everything else was tried, its ``result`` holding the whole account.  Keys
are compared and deleted exactly as stored; a key that cannot be copied under the same name
(``_key_problem``) fails.  Local sources follow symlinks only inside their root.

**Incremental rule** (``sync``): a file is sent unless the destination already has a file at the
same key with the same size and

- a *local* destination's mtime equals the source's (every local file we write gets its
  source's mtime), or
- a *bucket* destination's modification time (its upload time) is later than the source's mtime;

and in both cases a copy made within ``_SETTLED`` (2 s) of the source's last change is compared
by content (or sent again), since one-second timestamps cannot tell it apart from a change.
With ``checksum=True`` a same-size pair is compared by MD5 whenever a side can be hashed or the
store gives one (S3 ETags, GCS ``md5Hash``, Azure Content-MD5).

**Bound**: a run that makes no progress for ``stall_timeout`` seconds (default 60) fails.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import random
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from .errors import IntegrityError, StoresError, TransferError
from .handles import StoreHandle, clean_key, local_store
from .kinds import KINDS
from .progress import Progress

__all__ = [
    "TransferOptions",
    "TransferResult",
    "upload",
    "download",
    "copy",
    "sync",
    "is_transient",
    "CHUNK_SIZE",
    "STALL_TIMEOUT",
    "escape_key",
]

#: bytes read and written per call
CHUNK_SIZE = 8 * 1024 * 1024
_MAX_PARTS = 9000  # S3 allows 10000 parts; keep a margin
_BATCH_VERIFY_MIN = 8  # more files than this into a bucket: verified by one listing
_PART_WORKERS = 2  # parts of one S3 file read from a stream in flight (memory: this many parts)
_HASHED_PUT_MIN = 1024 * 1024  # objects this big go through backends.s3_upload_fs
_FILE_PART_WORKERS = 4  # parts of one local file in flight (streamed; 8 measured no faster, +20 MB)
_MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last (a multiple of GCS's 256 KiB)


@dataclass(frozen=True)
class TransferOptions:
    workers: int = 8
    retries: int = 4
    backoff: float = 0.25  # first retry delay in seconds; doubles each time, with jitter
    max_backoff: float = 8.0
    verify: bool = True
    checksum: bool = False  # sync: compare MD5s, not mtimes, when both sides have one
    delete: bool = False  # sync: remove destination files the source does not have
    missing_ok: bool = False  # a source that does not exist is empty, not an error
    chunk_size: int = CHUNK_SIZE
    #: stop starting files after this many files in a row failed to reach the store (connection
    #: refused/reset, timeouts): the store looks unreachable.  None: ``max(3, workers)``; 0: never
    unreachable_after: int | None = None
    #: plan only: list what would be sent, skipped, failed and deleted; change nothing
    dry_run: bool = False
    #: seconds without any progress (no byte moved, no file finished, no listing answered) after
    #: which the transfer fails as stalled: the bound on how long a dead store can hold it
    stall_timeout: float | None = None

    def breaker_threshold(self) -> int:
        """Consecutive connection failures that stop a transfer (0: never)."""
        if self.unreachable_after is None:
            return max(3, self.workers)
        return max(0, self.unreachable_after)


@dataclass
class TransferResult:
    """What a transfer did; keys are relative to the source/destination roots.

    Every source entry ends in exactly one of: ``transferred`` (sent), ``skipped`` (unchanged:
    the destination already had it), ``excluded`` (skipped by a named rule: a special file, a
    folder marker, a file gone before it could be read, ...; key -> reason) or ``failed`` (key ->
    reason).  :meth:`account` lists them; a transfer with a failure raises TransferError, whose
    ``result`` is this account."""

    transferred: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: source files listed, then gone before they could be read (a writer's temporary files):
    #: not an error, there is nothing left to copy (also in ``excluded``)
    vanished: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    #: dry run: what would be sent and deleted
    planned: list[str] = field(default_factory=list)
    planned_deletes: list[str] = field(default_factory=list)
    #: remarks on the whole run (e.g. pairs that --checksum could only compare by time)
    notes: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.transferred)

    @property
    def unchanged(self) -> list[str]:
        return self.skipped

    def account(self) -> list[dict[str, Any]]:
        """One row per source entry (and per deletion): key, fate, size, reason."""
        rows: list[dict[str, Any]] = []
        add = lambda key, fate, reason=None: rows.append(  # noqa: E731
            {"key": key, "fate": fate, "size": self.sizes.get(key), "reason": reason})
        for key in self.transferred:
            add(key, "sent")
        for key in self.planned:
            add(key, "would-send")
        for key in self.skipped:
            add(key, "unchanged")
        for key, why in self.excluded.items():
            add(key, "skipped", why)
        for key, why in self.failed.items():
            add(key, "failed", why)
        for key in self.deleted:
            add(key, "deleted")
        for key in self.planned_deletes:
            add(key, "would-delete")
        return sorted(rows, key=lambda r: (r["key"], r["fate"]))

    def summary(self) -> str:
        from .progress import human_bytes

        rate = self.bytes / self.seconds if self.seconds > 0 else 0.0
        out = f"{self.count} file(s) sent, {len(self.skipped)} unchanged, {human_bytes(self.bytes)} in {self.seconds:.1f}s ({human_bytes(rate)}/s)"
        out += f", {len(self.deleted)} deleted" if self.deleted else ""
        rules = len(self.excluded) - len(self.vanished)
        out += f", {rules} skipped by rule" if rules else ""
        out += f", {len(self.vanished)} vanished from the source" if self.vanished else ""
        return out + (f", {len(self.failed)} failed" if self.failed else "")


def escape_key(key: str) -> str:
    """``key`` printable on one line: control characters as ``\\xNN`` (``\\n``, ``\\t``,
    ``\\r``), a backslash doubled so the escaping is unambiguous; everything else as it is."""
    if not _UNSAFE_PRINT.search(key):
        return key
    return _UNSAFE_PRINT.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"
                                                     if ord(m.group()) < 0x100 else repr(m.group())[1:-1]), key)


_UNSAFE_PRINT = re.compile(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


# ---- error classification ---------------------------------------------------------------------

_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, StoresError)
_TRANSIENT_NAMES = ("timeout", "connection", "throttl", "slowdown", "serverdisconnected",
                    "incompleteread", "readerror", "protocolerror", "serviceunavailable",
                    "clientpayloaderror", "responsestreamingerror")


def _status(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(code, int):
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: timeouts, dropped connections, throttling, 5xx, a checksum mismatch."""
    if isinstance(exc, SourceChangedError):
        return False
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    status = _status(exc)
    if status is not None and (status == 429 or 500 <= status < 600):
        return True
    chain: BaseException | None = exc
    while chain is not None:
        name = type(chain).__name__.lower()
        if any(t in name for t in _TRANSIENT_NAMES) or any(t in str(chain).lower() for t in ("slow down", "throttl", "timed out", "connection reset")):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


_CONNECTION_ERRNOS = frozenset(getattr(errno, n) for n in (
    "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
    "ENETDOWN", "EHOSTDOWN", "EPIPE") if hasattr(errno, n))


def _is_connection_failure(exc: BaseException) -> bool:
    """The store could not be reached or talked to at all: a refused, reset or closed connection,
    a timeout, an unreachable endpoint (anywhere in the exception chain).  Not an error status the
    store answered (429, 5xx, 4xx), not an integrity error, not a body cut short mid-answer."""
    chain: BaseException | None = exc
    seen: set[int] = set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, StoresError) or _status(chain) is not None:
            return False  # the store answered (or the data is wrong): it is there
        if isinstance(chain, (ConnectionError, TimeoutError)):
            return True
        if isinstance(chain, OSError) and chain.errno in _CONNECTION_ERRNOS:
            return True
        names = [c.__name__.lower() for c in type(chain).__mro__]
        if any("connect" in n or "timeout" in n for n in names):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


class _Breaker:
    """Counts files in a row that failed to reach the store; open (tripped) at ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.streak = 0
        self.tripped = threading.Event()
        self._lock = threading.Lock()

    def record(self, exc: BaseException | None) -> None:
        """One file's outcome: ``None`` (sent) or the error it failed with after its retries."""
        with self._lock:
            if exc is not None and _is_connection_failure(exc):
                self.streak += 1
                if self.limit and self.streak >= self.limit:
                    self.tripped.set()
            else:
                self.streak = 0


# ---- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    size: int
    mtime: float | None
    md5: str | None = None
    #: the object's version when it was listed (S3/Azure ETag, GCS generation): a download that
    #: cannot be checked by MD5 is checked against it afterwards
    version: str | None = None
    #: local files: when the inode last changed (our copies: when they were written)
    ctime: float | None = None


@dataclass
class _Listing:
    """What a listing found: files, and entries that are not files to copy (key -> reason)."""

    files: dict[str, _Entry] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _to_ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        try:
            return _to_ts(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _remote_md5(info: dict[str, Any]) -> str | None:
    etag = info.get("ETag") or info.get("etag")
    if isinstance(etag, str) and "content_settings" not in info:  # Azure ETags are not MD5s
        etag = etag.strip('"')
        if (len(etag) == 32 and "-" not in etag and info.get("ServerSideEncryption") != "aws:kms"
                and not info.get("SSECustomerAlgorithm")):
            return etag.lower()
    b64 = info.get("md5Hash")
    if isinstance(b64, str) and b64:
        import binascii

        try:
            return base64.b64decode(b64).hex()
        except (ValueError, binascii.Error):
            return None
    settings = info.get("content_settings")  # Azure: the Content-MD5 the blob was stored with
    raw = settings.get("content_md5") if isinstance(settings, dict) else getattr(settings, "content_md5", None)
    return bytes(raw).hex() if raw else None


def _version(info: dict[str, Any]) -> str | None:
    for key in ("generation", "ETag", "etag"):
        value = info.get(key)
        if value not in (None, ""):
            return str(value).strip('"')
    return None


def _entry(info: dict[str, Any]) -> _Entry:
    mtime = None
    for key in ("mtime", "LastModified", "last_modified", "updated", "timeCreated", "created"):
        mtime = _to_ts(info.get(key))
        if mtime is not None:
            break
    return _Entry(int(info.get("size") or 0), mtime, _remote_md5(info), _version(info))


#: our temporary files: a dot, a fixed word, 12 hex digits; fixed length, so any name fits
_TMP_PREFIX = ".stores-tmp-"
_TMP = re.compile(re.escape(_TMP_PREFIX) + r"[0-9a-f]{12}")
_NAME_MAX = 255  # bytes in one local file name (Linux, macOS)


def _special_kind(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return "not a regular file"


def _inside_root(real_root: str, real: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip("/") + "/")


def _list_local(root: str, strict: bool = True) -> _Listing:
    """Every regular file under ``root``, symlinks followed while they stay inside it.

    The rules (``strict``: a source; a destination only needs its files): special files (FIFO,
    socket, device) are skipped unopened; a folder that cannot be read, a dangling symlink, a
    symlink leading out of ``root`` and a symlink loop are failures; our own temporary files are
    skipped."""
    out = _Listing()
    st = os.stat(root)
    if not stat.S_ISDIR(st.st_mode):
        if stat.S_ISREG(st.st_mode):
            out.files[""] = _Entry(st.st_size, st.st_mtime, ctime=st.st_ctime)
        else:
            out.skipped[""] = f"{_special_kind(st.st_mode)}: not read"
        return out
    _walk(root, "", os.path.realpath(root), [(st.st_dev, st.st_ino)], out, strict)
    return out


def _walk(folder: str, prefix: str, real_root: str, chain: list[tuple[int, int]], out: _Listing,
          strict: bool) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return  # removed while we walked
    except OSError as exc:
        out.failed[prefix or "./"] = f"cannot read the folder: {exc.strerror or exc}"
        return
    for e in entries:
        key = prefix + e.name
        if _TMP.fullmatch(e.name) and e.is_file(follow_symlinks=False):  # ours are files, never folders
            out.skipped[key] = "temporary file of an unfinished stores download"
            continue
        try:
            if e.is_symlink() and strict:
                real = os.path.realpath(e.path)
                if not os.path.exists(e.path):
                    out.failed[key] = f"dangling symlink (to {os.readlink(e.path)})"
                    continue
                if not _inside_root(real_root, real):
                    out.failed[key] = f"symlink leads outside the source folder (to {real})"
                    continue
            st = e.stat()
        except FileNotFoundError:
            continue  # removed while we walked
        except OSError as exc:
            out.failed[key] = f"cannot stat: {exc.strerror or exc}"
            continue
        if stat.S_ISDIR(st.st_mode):
            ident = (st.st_dev, st.st_ino)
            if ident in chain:
                out.failed[key + "/"] = "symlink loop (leads back to a folder above it)"
                continue
            _walk(e.path, key + "/", real_root, chain + [ident], out, strict)
        elif stat.S_ISREG(st.st_mode):
            out.files[key] = _Entry(st.st_size, st.st_mtime, ctime=st.st_ctime)
        elif strict:
            out.skipped[key] = f"{_special_kind(st.st_mode)}: not read"


def _azure_container(handle: StoreHandle) -> Any:
    """A synchronous client of the handle's container (adlfs' own listing folds ``t/`` into
    ``t`` and loses control characters: names are read exactly from the SDK instead)."""
    from .backends import azure_container_client

    return azure_container_client(handle.fs, handle.root.split("/", 1)[0])


def _azure_name(handle: StoreHandle, key: str) -> str:
    prefix = handle.root.partition("/")[2].rstrip("/")
    return f"{prefix}/{key}" if prefix and key else (prefix or key)


def _azure_set_md5(handle: StoreHandle, key: str, digest: bytes) -> None:
    """Record the Content-MD5 of a blob we committed block by block (Azure computes none then):
    later downloads are verified against it and syncs compare content by it."""
    from azure.storage.blob import ContentSettings

    blob = _azure_container(handle).get_blob_client(_azure_name(handle, key))
    blob.set_http_headers(ContentSettings(content_type="application/octet-stream", content_md5=bytearray(digest)))


def _list_azure(handle: StoreHandle) -> dict[str, dict[str, Any]]:
    container, _, prefix = handle.root.partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    out = {}
    for blob in _azure_container(handle).list_blobs(name_starts_with=prefix or None):
        out[blob.name[len(prefix):]] = {
            "size": blob.size, "last_modified": blob.last_modified, "etag": blob.etag,
            "content_settings": {"content_md5": blob.content_settings.content_md5}}
    return out


def _list(handle: StoreHandle, strict: bool = True) -> _Listing:
    """Every file under the handle's root, by its exact key (relative to the root): ``{"": entry}``
    when the root is itself a file; nothing when nothing is there."""
    if handle.is_local:
        return _list_local(handle.root, strict) if os.path.exists(handle.root) else _Listing()
    fs = handle.fs
    try:
        info = fs.info(handle.root)
    except FileNotFoundError:
        info = None
    out = _Listing()
    if info is not None and info.get("type") == "file" and not handle.root.endswith("/"):
        out.files[""] = _entry(info)
        return out
    lister = KINDS[handle.kind].code("lister")
    if lister is not None:
        found = lister(handle)
    else:
        root = handle.root.rstrip("/") + "/"
        found = {p[len(root):]: i for p, i in fs.find(handle.root, detail=True).items()
                 if p.startswith(root) and i.get("type") != "directory"}
    for key, info in found.items():
        entry = _entry(info)
        if key.endswith("/") and entry.size == 0:
            out.skipped[key] = "folder marker (an empty object whose key ends in '/')"
        else:
            out.files[key] = entry
    return out


def _key_problem(key: str, src: StoreHandle, dst: StoreHandle) -> str | None:
    """Why the source entry ``key`` cannot be copied to the same key of ``dst`` exactly, or None.
    Keys are identities: one that a side would store or read under another name is refused."""
    if not key:
        return None
    parts = key.split("/")
    if key.endswith("/"):
        return "the key ends with '/' and holds data (no file can have that name)"
    if "" in parts:
        return "the key has an empty segment ('//' or a leading '/')"
    if "." in parts or ".." in parts:
        return "the key has a '.' or '..' segment (it would name another path)"
    if "\x00" in key:
        return "the key holds a NUL character"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8 (a bucket key must be)"
    if dst.is_local:
        longest = max(len(p.encode("utf-8")) for p in parts)
        if longest > _NAME_MAX:
            return f"a segment is {longest} bytes, past the {_NAME_MAX}-byte limit of a local file name"
    # what each side's kind cannot store / read exactly; the lowest order speaks
    rules = (*KINDS[dst.kind].write_rules, *KINDS[src.kind].read_rules)
    hit = min((r for r in rules if re.search(r.pattern, key)), key=lambda r: r.order, default=None)
    return hit.message if hit is not None else None


# ---- one file ---------------------------------------------------------------------------------


def _join(handle: StoreHandle, key: str) -> str:
    return handle.path(key) if key else handle.root


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


def _discard(writer: Any) -> None:
    """Throw away a half-written bucket file without committing it (aborts the multipart
    upload), and mark it closed so its finaliser does not commit it either."""
    try:
        writer.discard()
    finally:
        writer.closed = True
        # adlfs keeps a container client per file; close it without committing blocks
        client = getattr(writer, "container_client", None)
        loop = getattr(writer, "loop", None)
        if client is not None and loop is not None:
            import asyncio

            asyncio.run_coroutine_threadsafe(client.close(), loop)


class SourceChangedError(IntegrityError):
    """The object changed while it was read: that file fails (retrying would copy a version the
    listing never saw), nothing is put in place."""


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


def _copy_one(src: StoreHandle, skey: str, sentry: _Entry, dst: StoreHandle, dkey: str,
              opts: TransferOptions, progress: Progress, deferred: dict[str, tuple[int, str]] | None = None) -> int:
    spath, dpath = _join(src, skey), _join(dst, dkey)
    md5 = hashlib.md5(usedforsecurity=False)
    sent = 0
    reader = _open_local(spath) if src.is_local else src.fs.open(spath, "rb", block_size=opts.chunk_size, cache_type="none")
    try:
        if dst.is_local:
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
        else:
            part = max(opts.chunk_size, _MIN_PART, -(-sentry.size // _MAX_PARTS))
            upload = KINDS[dst.kind].code("uploader")
            if upload is not None:
                return upload(src, dst, dkey, dpath, spath, reader, sentry, part, opts, progress, md5, deferred)
            writer = dst.fs.open(dpath, "wb", block_size=part)
            try:
                for block in _blocks(reader, sentry.size, opts.chunk_size):
                    writer.write(block)
                    md5.update(block)
                    sent += len(block)
                    progress.advance(len(block))
                if sent != sentry.size:  # the source changed under us: do not commit it
                    raise IntegrityError(f"{spath}: read {sent} bytes, expected {sentry.size}")
            except BaseException as exc:
                try:
                    _discard(writer)
                except Exception as cleanup:  # keep the cause; report the failed clean-up with it
                    exc.add_note(f"discarding the partial upload also failed: {type(cleanup).__name__}: {cleanup}")
                raise
            writer.close()
            after_write = KINDS[dst.kind].code("after_write")
            if after_write is not None:
                after_write(dst, dkey, md5.digest())
            if deferred is not None:  # checked later against one listing of the destination
                deferred[dkey] = (sent, md5.hexdigest())
            elif opts.verify:
                arrived = _entry(dst.fs.info(dpath))
                _check(sent, md5.hexdigest(), sentry, arrived.size, arrived.md5, dpath, opts)
    except BaseException:
        progress.rewind(sent)
        raise
    finally:
        reader.close()
    return sent


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _s3_upload(src: StoreHandle, dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any, sentry: _Entry,
               part: int, opts: TransferOptions, progress: Progress, md5: Any,
               deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file to S3 (the kinds table's ``uploader``): one PUT, or a multipart upload."""
    if sentry.size > part and src.is_local:
        return _s3_multipart_local(dst, dpath, spath, reader, sentry, part, opts, progress)
    if sentry.size <= part:
        return _s3_put(dst, dkey, dpath, spath, reader, sentry, opts, progress, deferred)
    sent = _s3_multipart(dst, dpath, reader, sentry, part, opts, progress, md5)
    try:
        if deferred is not None:
            deferred[dkey] = (sent, md5.hexdigest())
        elif opts.verify:
            arrived = _entry(dst.fs.info(dpath))
            _check(sent, md5.hexdigest(), sentry, arrived.size, arrived.md5, dpath, opts)
    except BaseException:
        progress.rewind(sent)  # what the caller would have taken back had the bytes been its own
        raise
    return sent


def _s3_put(dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any, sentry: _Entry,
            opts: TransferOptions, progress: Progress, deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file of at most one part as one ``PutObject`` carrying its Content-MD5 (the store refuses
    a body that does not match it).  The ETag it answers is the MD5 of what arrived: when the store
    gives one, that is the check, with no second request; otherwise (SSE-KMS, SSE-C) the size is
    checked by a listing afterwards (``deferred``) or a HEAD."""
    data = reader.read(sentry.size) if sentry.size else b""
    while len(data) < sentry.size:
        more = reader.read(sentry.size - len(data))
        if not more:
            break
        data += more
    if len(data) != sentry.size or reader.read(1):  # shrunk or grown since the listing
        raise IntegrityError(f"{spath}: the file changed while it was read (listed {sentry.size} bytes)")
    md5 = hashlib.md5(data, usedforsecurity=False)
    fs = dst.fs
    if sentry.size >= _HASHED_PUT_MIN:  # the SDK's own hashing of a large body costs more than a client
        from .backends import s3_upload_fs

        fs = s3_upload_fs(fs)
    bucket, key, _ = fs.split_path(dpath)
    out = fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, ContentMD5=_b64(md5.digest()))
    fs.invalidate_cache(dpath)
    sent, digest = len(data), md5.hexdigest()
    del data
    if opts.verify:
        arrived = _remote_md5(out)
        if arrived is not None:  # the MD5 the store computed over the bytes it stored
            _check(sent, digest, sentry, sent, arrived, dpath, opts)
        elif deferred is not None:
            deferred[dkey] = (sent, digest)
        else:
            got = _entry(fs.info(dpath))
            _check(sent, digest, sentry, got.size, got.md5, dpath, opts)
    progress.advance(sent)
    return sent


class _FileRange(io.RawIOBase):
    """``length`` bytes of a file from ``start``, read with ``pread`` (no shared position, so
    several parts of one file are sent at once); seekable, so the SDK can hash and resend it."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        super().__init__()
        self._fd, self._start, self._length, self._pos = fd, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self._length

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._length)[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        left = self._length - self._pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._start + self._pos)
        if not data:
            raise IntegrityError("the file shrank while it was sent")
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _s3_multipart_local(dst: StoreHandle, dpath: str, spath: str, reader: Any, sentry: _Entry, part: int,
                        opts: TransferOptions, progress: Progress) -> int:
    """A large local file as an S3 multipart upload, ``_FILE_PART_WORKERS`` parts at once.  Each
    worker hashes its part (hashlib runs outside the GIL) and streams it from the file, so memory
    does not grow with the part size; the part's Content-MD5 makes the store refuse a body that
    differs, and the ETag answered for each part and for the whole is checked against our MD5s
    (a HEAD only when the store's ETags are not MD5s).  A file that changes while it is read
    fails; any failure aborts the upload, so no part lingers."""
    from .backends import s3_upload_fs

    fs = s3_upload_fs(dst.fs)  # every request below carries its Content-MD5
    bucket, key, _ = fs.split_path(dpath)
    fd = reader.fileno()
    before = os.fstat(fd)
    if before.st_size != sentry.size:
        raise IntegrityError(f"{spath}: {before.st_size} bytes now, the listing said {sentry.size}")
    count = -(-sentry.size // part)
    block = max(64 * 1024, min(opts.chunk_size, 1024 * 1024))
    stop = threading.Event()
    lock = threading.Lock()
    advanced = 0
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]

    def put(index: int) -> tuple[dict[str, Any], bytes]:
        nonlocal advanced
        if stop.is_set():
            raise IntegrityError("cancelled")  # another part failed; never reported on its own
        start = index * part
        length = min(part, sentry.size - start)
        h = hashlib.md5(usedforsecurity=False)
        done = 0
        while done < length:
            data = os.pread(fd, min(block, length - done), start + done)
            if not data:
                raise IntegrityError(f"{spath}: the file shrank while it was read")
            h.update(data)
            done += len(data)
        out = fs.call_s3("upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=index + 1,
                         Body=_FileRange(fd, start, length), ContentLength=length, ContentMD5=_b64(h.digest()))
        arrived = _remote_md5(out)
        if arrived is not None and arrived != h.hexdigest():
            raise IntegrityError(f"{dpath}: part {index + 1} arrived with MD5 {arrived}, {h.hexdigest()} was sent")
        progress.advance(length)
        with lock:
            advanced += length
        return {"ETag": out["ETag"], "PartNumber": index + 1}, h.digest()

    try:
        pool = ThreadPoolExecutor(max_workers=min(_FILE_PART_WORKERS, count), thread_name_prefix="stores-part")
        try:
            futures = [pool.submit(put, i) for i in range(count)]
            results = [f.result() for f in futures]
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        after = os.fstat(fd)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise IntegrityError(f"{spath}: the file changed while it was read ({after.st_size} bytes now, "
                                 f"{sentry.size} listed)")
        out = fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                         MultipartUpload={"Parts": [r for r, _ in results]})
    except BaseException as exc:
        progress.rewind(advanced)
        _abort_multipart(fs, bucket, key, upload_id, exc)
        raise
    fs.invalidate_cache(dpath)
    # the whole object's ETag is the MD5 of its parts' MD5s: equal means every byte arrived
    composite = hashlib.md5(b"".join(d for _, d in results), usedforsecurity=False).hexdigest() + f"-{count}"
    if opts.verify and str(out.get("ETag", "")).strip('"').lower() != composite:
        got = _entry(fs.info(dpath))  # the store's ETags are not MD5s: check the size at least
        if got.size != sentry.size:
            raise IntegrityError(f"{dpath}: {got.size} bytes arrived, {sentry.size} were sent")
    return sentry.size


def _abort_multipart(fs: Any, bucket: str, key: str, upload_id: str, cause: BaseException) -> None:
    """Abort a failed multipart upload so no part lingers; a failed abort is noted on ``cause``
    (the error the caller re-raises), never raised in its place."""
    try:
        fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as cleanup:
        cause.add_note(f"aborting the multipart upload also failed: {type(cleanup).__name__}: {cleanup}")


def _s3_multipart(dst: StoreHandle, dpath: str, reader: Any, sentry: _Entry, part: int,
                  opts: TransferOptions, progress: Progress, md5: Any) -> int:
    """One large file as an S3 multipart upload whose parts go up concurrently (at most
    ``_PART_WORKERS`` parts in memory at once); aborted on any failure, so no part lingers."""
    fs = dst.fs
    bucket, key, _ = fs.split_path(dpath)
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
    slots = threading.BoundedSemaphore(_PART_WORKERS)
    failed: list[BaseException] = []
    sent = 0

    def put(number: int, data: bytes) -> dict[str, Any]:
        try:
            out = fs.call_s3("upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
            return {"ETag": out["ETag"], "PartNumber": number}
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            slots.release()

    try:
        futures = []
        with ThreadPoolExecutor(max_workers=_PART_WORKERS, thread_name_prefix="stores-part") as pool:
            buf = bytearray()
            for block in _blocks(reader, sentry.size, opts.chunk_size):
                buf += block
                md5.update(block)
                sent += len(block)
                progress.advance(len(block))
                while len(buf) >= part:
                    slots.acquire()
                    futures.append(pool.submit(put, len(futures) + 1, bytes(buf[:part])))
                    del buf[:part]
                    if failed:
                        raise failed[0]  # a part failed after its SDK retries: stop reading
            if sent != sentry.size:
                raise IntegrityError(f"{dpath}: read {sent} bytes, expected {sentry.size}")
            if buf:
                slots.acquire()
                futures.append(pool.submit(put, len(futures) + 1, bytes(buf)))
            parts = [f.result() for f in futures]
        fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                   MultipartUpload={"Parts": parts})
    except BaseException as exc:
        _abort_multipart(fs, bucket, key, upload_id, exc)
        raise
    fs.invalidate_cache(dpath)
    return sent


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


def _with_retries(fn: Callable[[], int], opts: TransferOptions, stop: threading.Event | None = None) -> int:
    """``fn()``, retried with backoff on transient errors; not retried once ``stop`` is set (the
    circuit breaker: the store looks unreachable)."""
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if attempt >= opts.retries or not is_transient(exc) or (stop is not None and stop.is_set()):
                raise
            delay = min(opts.max_backoff, opts.backoff * (2 ** attempt))
            time.sleep(delay * (0.5 + random.random() / 2))
            attempt += 1


# ---- planning and running ----------------------------------------------------------------------


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
    try:
        if src.is_local and dst.is_local:
            return _md5_file(spath(), opts) == _md5_file(dpath(), opts)
        if not (src.is_local or dst.is_local):
            return None
        remote, path = (d, spath()) if src.is_local else (s, dpath())
        if remote.md5 is not None:
            return _md5_file(path, opts) == remote.md5
        if _multipart(remote):
            return _multipart_etag(path, remote.size, opts) == remote.version
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


def _as_handle(side: Any) -> StoreHandle:
    if isinstance(side, StoreHandle):
        return side
    if isinstance(side, (str, os.PathLike)):
        return local_store(side)
    raise StoresError(f"expected a StoreHandle or a local path, got {type(side).__name__}")


#: default of ``TransferOptions.stall_timeout``: a store that answers nothing for this long
#: (each SDK request times out after 20 s and is retried at most a few times) ends the transfer
STALL_TIMEOUT = 60.0


def _run(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions,
         progress: Progress | bool | None) -> TransferResult:
    """The transfer in a thread of its own, watched: a run that makes no progress (no byte, no
    file, no listing) for ``stall_timeout`` seconds fails, whatever an SDK is blocked in, and its
    temporary files are removed (its threads end when their requests time out)."""
    bar = progress if isinstance(progress, Progress) else Progress(enabled=None if progress is None else bool(progress))
    beats = [0]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = _run_watched(src, dst, incremental, opts, bar, beats)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name="stores-transfer-run", daemon=True)
    worker.start()
    limit = STALL_TIMEOUT if opts.stall_timeout is None else opts.stall_timeout
    seen, last = (-1, -1), time.monotonic()
    while worker.is_alive():
        worker.join(0.2)
        now = (bar.bytes_done + bar.files_done, beats[0])
        if now != seen:
            seen, last = now, time.monotonic()
        elif limit and time.monotonic() - last > limit and worker.is_alive():
            bar.close()
            for tmp in list(_TEMPS):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            err = TransferError(f"the transfer stalled: no progress for {limit:g}s ({src.url} -> {dst.url}); "
                                "the store looks unreachable")
            err.stalled = True  # type: ignore[attr-defined]
            raise err
    if "error" in box:
        raise box["error"]
    return box["result"]


def _run_watched(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions, bar: Progress,
                 beats: list[int]) -> TransferResult:
    start = time.monotonic()
    redact = src.credentials.redact
    listing = _listed(lambda: _list(src), src, opts)
    beats[0] += 1
    sources = listing.files
    if not sources and not listing.failed and not listing.skipped:
        if opts.missing_ok:
            result = TransferResult(seconds=time.monotonic() - start)
            bar.close()
            return result
        if src.is_local and not os.path.exists(src.root):
            raise TransferError(f"nothing to copy: {src.root} does not exist")
        if not incremental:  # an explicit copy of nothing is a mistake; an empty sync is not
            raise TransferError(f"nothing to copy: no file at or under {src.url}")
    result = TransferResult()
    single = list(sources) == [""] or list(listing.skipped) == [""]
    if single and _listed(lambda: _is_dir(dst), dst, opts):
        dst = dst.child(posixpath_basename(src.root))  # a file into a directory keeps its name
    name = lambda key: key or posixpath_basename(dst.root)  # noqa: E731 (the key a single file reports)
    failures: dict[str, BaseException] = {}
    for key, why in listing.skipped.items():
        result.excluded[name(key)] = why
    for key, why in listing.failed.items():
        result.failed[name(key)] = why
    for key in list(sources):
        problem = _key_problem(key, src, dst)
        if problem:
            result.failed[key] = problem
            result.sizes[key] = sources.pop(key).size
    dentries = (_listed(lambda: _list(dst, strict=False), dst, opts).files
                if (incremental or (opts.delete and not single)) else {})
    beats[0] += 1
    todo: list[tuple[str, str]] = []
    uncompared = [0]
    for key in sorted(sources):
        result.sizes[name(key)] = sources[key].size
        if incremental and _up_to_date(sources[key], dentries.get(key), src, dst, lambda: _planned_path(src, key),
                                       lambda: _planned_path(dst, key), opts, uncompared):
            result.skipped.append(name(key))
        else:
            todo.append((key, key))
    if uncompared[0]:
        result.notes.append(f"--checksum: {uncompared[0]} same-size file(s) compared by size and time: "
                            f"{'the destination' if not dst.is_local else 'the source'} store gives no MD5 for them")
    # keys are identities: only a destination key that no source entry has (whatever became of
    # that entry: sent, failed, skipped) is extra; a key written in this run never is
    extra = sorted(set(dentries) - set(listing.files) - set(listing.skipped) - set(listing.failed)) \
        if opts.delete and not single else []
    if opts.dry_run:
        result.planned = [name(k) for k, _ in todo]
        result.planned_deletes = extra
        result.seconds = time.monotonic() - start
        bar.close()
        return result
    bar.add_total(len(todo), sum(sources[s].size for s, _ in todo))
    lock = threading.Lock()
    breaker = _Breaker(opts.breaker_threshold())
    not_attempted: list[str] = []
    unverified: list[str] = []  # sent into a bucket, not checked: the breaker tripped before the listing

    # many files into a bucket: one listing afterwards checks them all, instead of a HEAD each
    deferred: dict[str, tuple[int, str]] | None = (
        {} if opts.verify and not dst.is_local and not single and len(todo) > _BATCH_VERIFY_MIN else None)

    def work(pair: tuple[str, str], batch: dict[str, tuple[int, str]] | None = deferred) -> None:
        skey, dkey = pair
        beats[0] += 1
        if breaker.tripped.is_set():  # the store looks unreachable: start nothing more
            with lock:
                not_attempted.append(name(dkey))
            return
        try:
            n = _with_retries(lambda: _copy_one(src, skey, sources[skey], dst, dkey, opts, bar, batch), opts,
                             breaker.tripped)
        except Exception as exc:  # collected and raised below, with every other failure
            if isinstance(exc, FileNotFoundError) and _vanished(src, skey):
                with lock:
                    result.vanished.append(name(skey))
                    result.excluded[name(skey)] = "vanished: removed from the source after it was listed"
                return
            breaker.record(exc)
            with lock:
                failures[name(dkey)] = exc
            return
        breaker.record(None)
        with lock:
            result.transferred.append(name(dkey))
            result.bytes += n
        bar.file_done()

    try:
        if opts.workers <= 1 or len(todo) <= 1:
            for pair in todo:
                work(pair)
        else:
            with ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="stores-transfer") as pool:
                list(pool.map(work, todo))
        if breaker.tripped.is_set():
            # no listing to check the batch against, no deletion: the store is not answering
            for dkey, (sent, _) in sorted((deferred or {}).items()):
                if dkey in result.transferred:
                    unverified.append(dkey)
                    result.transferred.remove(dkey)
                    result.bytes -= sent
        elif deferred:
            arrived = _listed(lambda: _list(dst, strict=False), dst, opts).files
            beats[0] += 1
            redo = []
            for dkey, (sent, md5) in sorted(deferred.items()):
                got = arrived.get(dkey)
                if got is None or got.size != sent or (got.md5 is not None and got.md5 != md5):
                    redo.append((dkey, dkey))
                    result.transferred.remove(dkey)
                    result.bytes -= sent
            for pair in redo:  # sent again, each checked on its own
                work(pair, None)
        if not breaker.tripped.is_set():
            written = set(result.transferred)
            for dkey in extra:
                if dkey in written:  # cannot happen (keys are compared raw); never risk fresh data
                    continue
                try:
                    _rm_exact(dst, dkey)
                    result.deleted.append(dkey)
                except Exception as exc:
                    failures[dkey] = exc
                beats[0] += 1
    finally:
        bar.close()
    for key, exc in failures.items():
        result.failed[key] = f"{type(exc).__name__}: {dst.credentials.redact(redact(str(exc)))}"
    for key in not_attempted + unverified:
        result.failed[key] = ("not attempted: the store looks unreachable" if key in not_attempted
                              else "sent but not verified: the store stopped answering (re-run the transfer)")
    result.transferred.sort()
    result.vanished.sort()
    result.seconds = time.monotonic() - start
    if result.failed or breaker.tripped.is_set():
        raise _failed(result, src, dst, failures, breaker, not_attempted, unverified, len(todo))
    return result


def _failed(result: TransferResult, src: StoreHandle, dst: StoreHandle, failures: dict[str, BaseException],
            breaker: _Breaker, not_attempted: list[str], unverified: list[str], tried: int) -> TransferError:
    """The TransferError of a run with failures: every failed key (escaped) and its reason."""
    listed = {k: v for k, v in result.failed.items() if k not in failures and k not in not_attempted
              and k not in unverified}
    lines = [f"  {escape_key(k)}: {escape_key(result.failed[k])}" for k in sorted(failures)]
    lines += [f"  {escape_key(k)}: {escape_key(v)}" for k, v in sorted(listed.items())]
    if breaker.tripped.is_set():
        not_attempted.sort()
        lines.insert(0, f"stopped after {breaker.limit} consecutive connection failures; "
                     f"{len(not_attempted)} file(s) not attempted: the store looks unreachable")
        if unverified:
            lines.insert(1, f"{len(unverified)} file(s) sent but not verified (re-run the transfer)")
    err = TransferError(
        f"{len(failures) + len(listed)} of {tried + len(listed)} file(s) failed ({src.url} -> {dst.url}):\n"
        + "\n".join(lines))
    # every failed entry, with the exception it failed with (a refused entry: a StoresError)
    err.failures = {**{k: StoresError(v) for k, v in listed.items()}, **failures}  # type: ignore[attr-defined]
    err.not_attempted = list(not_attempted)  # type: ignore[attr-defined]
    err.unverified = list(unverified)  # type: ignore[attr-defined]
    err.result = result  # type: ignore[attr-defined]
    return err


def _rm_exact(handle: StoreHandle, key: str) -> None:
    """Delete exactly the object ``key`` (a raw key: ``a//b`` is not ``a/b``).  Local keys are
    plain paths; S3 and Azure are addressed by the SDK with the exact name; other keys that a
    filesystem path would normalise are refused rather than risk deleting another object."""
    if handle.is_local:
        os.unlink(_join(handle, key))
        return
    full = f"{handle.root.rstrip('/')}/{key}"
    delete = KINDS[handle.kind].code("deleter")
    if delete is not None:
        delete(handle, key)
        return
    if _key_problem(key, handle, handle) is not None or handle.fs._strip_protocol(full) != full:
        raise StoresError(f"cannot delete {escape_key(key)!r} exactly through this store's client: left in place")
    handle.fs.rm_file(full)


def _rm_s3(handle: StoreHandle, key: str) -> None:
    bucket, _, prefix = handle.root.partition("/")
    handle.fs.call_s3("delete_object", Bucket=bucket, Key=f"{prefix.rstrip('/')}/{key}" if prefix else key)


def _rm_azure(handle: StoreHandle, key: str) -> None:
    _azure_container(handle).delete_blob(_azure_name(handle, key))


def _listed(fn: Callable[[], Any], handle: StoreHandle, opts: TransferOptions) -> Any:
    """``fn()`` (a listing), retried like a file; its failure is a TransferError naming the store."""
    try:
        return _with_retries(fn, opts)
    except StoresError:
        raise
    except Exception as exc:
        msg = handle.credentials.redact(f"{type(exc).__name__}: {exc}")
        raise TransferError(f"cannot list {handle.url}: {msg}") from exc


def _planned_path(src: StoreHandle, key: str) -> str:
    """A local path for planning; "" for a key the handle refuses (a symlink out of a local
    store), which then fails on its own when copied instead of aborting every other file."""
    try:
        return _join(src, key)
    except StoresError:
        return ""


def _vanished(src: StoreHandle, key: str) -> bool:
    """The source file ``key`` is gone (removed or renamed since the listing)."""
    try:
        return not (os.path.exists(_join(src, key)) if src.is_local else src.fs.exists(_join(src, key)))
    except Exception:  # cannot tell: keep the original failure
        return False


def _is_dir(handle: StoreHandle) -> bool:
    if handle.url.endswith("/"):
        return True
    if handle.is_local:
        return os.path.isdir(handle.root)
    if "/" not in handle.root.strip("/"):
        return True
    return bool(handle.fs.isdir(handle.root))


def posixpath_basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _side(side: Any, key: str) -> StoreHandle:
    handle = _as_handle(side)
    return handle.child(key) if clean_key(key) else handle


def copy(src: Any, dst: Any, *, src_key: str = "", dst_key: str = "", options: TransferOptions | None = None,
         progress: Progress | bool | None = None) -> TransferResult:
    """Copy a file or a tree (every file under it) from ``src`` to ``dst``, always sending."""
    return _run(_side(src, src_key), _side(dst, dst_key), False, options or TransferOptions(), progress)


def upload(local_path: str | os.PathLike[str], store: StoreHandle, key: str = "", *,
           options: TransferOptions | None = None, progress: Progress | bool | None = None) -> TransferResult:
    """Upload a local file or directory to ``key`` in ``store``."""
    return copy(local_path, store, dst_key=key, options=options, progress=progress)


def download(store: StoreHandle, key: str, local_path: str | os.PathLike[str], *,
             options: TransferOptions | None = None, progress: Progress | bool | None = None) -> TransferResult:
    """Download ``key`` (a file or a prefix) from ``store`` to ``local_path``."""
    return copy(store, local_path, src_key=key, options=options, progress=progress)


def sync(src: Any, dst: Any, *, src_key: str = "", dst_key: str = "", options: TransferOptions | None = None,
         progress: Progress | bool | None = None) -> TransferResult:
    """Make ``dst`` hold every file of ``src``, sending only what changed (module docstring)."""
    return _run(_side(src, src_key), _side(dst, dst_key), True, options or TransferOptions(), progress)
