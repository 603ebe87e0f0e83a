"""Listings: every file under a root by its exact key (local folders walked by their rules,
buckets through their client or the kind's own lister), the rules keys must follow to be copied
under the same name, and how keys are joined to a handle's root and printed."""

from __future__ import annotations

import base64
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from ..errors import StoresError
from ..handles import StoreHandle, clean_key, local_store
from ..kinds import KINDS

if TYPE_CHECKING:
    from .native import NativeClient

T = TypeVar("T")


def escape_key(key: str) -> str:
    """``key`` printable on one line: control characters as ``\\xNN`` (``\\n``, ``\\t``,
    ``\\r``), a backslash doubled so the escaping is unambiguous; everything else as it is."""
    if not _UNSAFE_PRINT.search(key):
        return key
    return _UNSAFE_PRINT.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"
                                                     if ord(m.group()) < 0x100 else repr(m.group())[1:-1]), key)


_UNSAFE_PRINT = re.compile(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


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
    #: GCS: the object's CRC-32C as the store gives it (base64 of 4 big-endian bytes); composite
    #: objects have no MD5, only this
    crc32c: str | None = None


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


class _Background(Generic[T]):
    """``fn()`` started now in a thread of its own: ``result()`` waits for it and returns what it
    returned or raises what it raised (in the caller's thread); ``wait()`` only waits.  What a
    run starts beside its own work is always waited for: no request outlives the run."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._box["value"] = fn()
        except BaseException as exc:  # handed to result()
            self._box["error"] = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if "error" in self._box:
            raise self._box["error"]
        value: T = self._box["value"]
        return value


def _native_for(handle: StoreHandle, key: str) -> NativeClient | None:
    """The native client of a bucket handle when it serves the object key ``key`` exactly
    (``plain_key``), else None: the fsspec filesystem answers for that key instead."""
    from .native import native_client, plain_key

    if handle.is_local or not plain_key(key):
        return None
    return native_client(handle)


def _object_info(handle: StoreHandle, path: str) -> dict[str, Any]:
    """One object's info (size, time, checksums, version) as the listing has it: the kind's own
    ``stat`` (Azure: the SDK's blob properties, with the Content-MD5), else a HEAD through the
    native client when it serves the key, else ``fs.info`` (an fsspec filesystem is built for
    one question only when nothing else answers it: s3fs and botocore, or adlfs, take a third to
    most of a second to import)."""
    stat_of = KINDS[handle.kind].code("stat")
    if stat_of is not None:
        found: dict[str, Any] = stat_of(handle, path)
        return found
    key = path.partition("/")[2]
    client = _native_for(handle, key)
    if client is not None:
        return client.head(key)
    info: dict[str, Any] = handle.fs.info(path)
    return info


def _entry(info: dict[str, Any]) -> _Entry:
    mtime = None
    for key in ("mtime", "LastModified", "last_modified", "updated", "timeCreated", "created"):
        mtime = _to_ts(info.get(key))
        if mtime is not None:
            break
    crc = info.get("crc32c")
    return _Entry(int(info.get("size") or 0), mtime, _remote_md5(info), _version(info),
                  crc32c=crc if isinstance(crc, str) and crc else None)


#: our temporary files: a dot, a fixed word, 12 hex digits; fixed length, so any name fits
_TMP_PREFIX = ".stores-tmp-"
#: a resumable download's partial file keeps its name and has a state file beside it
_RESUME_SUFFIX = ".resume"
_TMP = re.compile(re.escape(_TMP_PREFIX) + r"[0-9a-f]{12}(\.resume(\.new)?)?")
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


def _list(handle: StoreHandle, strict: bool = True, beat: Callable[[], None] | None = None) -> _Listing:
    """Every file under the handle's root, by its exact key (relative to the root): ``{"": entry}``
    when the root is itself a file; nothing when nothing is there."""
    if handle.is_local:
        return _list_local(handle.root, strict) if os.path.exists(handle.root) else _Listing()
    out = _Listing()
    native = _list_native(handle, beat)
    if native is not None:
        found = native
    else:
        info = None
        if "/" in handle.root.strip("/") and not handle.root.endswith("/"):  # a bucket's root is no object
            try:
                info = _object_info(handle, handle.root)
            except FileNotFoundError:
                pass
        if info is not None and info.get("type") == "file":
            out.files[""] = _entry(info)
            return out
        found = _list_exact(handle, beat)
    for key, info in found.items():
        if key == "":
            out.files[""] = _entry(info)
            return out
        entry = _entry(info)
        if key.endswith("/") and entry.size == 0:
            out.skipped[key] = "folder marker (an empty object whose key ends in '/')"
        else:
            out.files[key] = entry
    return out


def _list_native(handle: StoreHandle, beat: Callable[[], None] | None = None) -> dict[str, dict[str, Any]] | None:
    """The listing through the kind's native client (:mod:`.native`), ``{"": info}`` when the
    root is itself an object; ``None`` when there is no native client or its listing could be
    inexact (then :func:`_list_exact`)."""
    if KINDS[handle.kind].lister is not None:
        return None  # the kind's own lister reads what the native one lacks (Azure: Content-MD5)
    from .native import native_client

    prefix = handle.root.partition("/")[2]
    client = _native_for(handle, prefix.strip("/")) if prefix else native_client(handle)
    if client is None:
        return None
    if not prefix or handle.root.endswith("/"):
        return client.list(prefix, beat)
    # is the root itself an object? asked beside the listing, not before it (one round trip less)
    asking = _Background(lambda: _head_or_none(client, prefix), "stores-head-root")
    try:
        listed = client.list(prefix, beat)
    except BaseException:
        try:
            root = asking.result()
        except BaseException:
            root = None  # the listing's own error is the one raised
        if root is not None:
            return {"": root}
        raise
    root = asking.result()  # its error, if any, as when the question came first
    return {"": root} if root is not None else listed


def _head_or_none(client: NativeClient, key: str) -> dict[str, Any] | None:
    try:
        return client.head(key)
    except FileNotFoundError:
        return None


def _list_exact(handle: StoreHandle, beat: Callable[[], None] | None = None) -> dict[str, dict[str, Any]]:
    """Every object under the root through the kind's exact lister (``beat()`` after each page)
    or ``fs.find`` (whose pages are its own: the listing counts once, when it ends)."""
    lister = KINDS[handle.kind].code("lister")
    if lister is not None:
        found: dict[str, dict[str, Any]] = lister(handle, beat)
    else:
        root = handle.root.rstrip("/") + "/"
        found = {p[len(root):]: i for p, i in handle.fs.find(handle.root, detail=True).items()
                 if p.startswith(root) and i.get("type") != "directory"}
    return found


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


def _join(handle: StoreHandle, key: str, real_dirs: dict[str, str] | None = None) -> str:
    return handle.path(key, real_dirs=real_dirs) if key else handle.root


def _planned_path(src: StoreHandle, key: str, real_dirs: dict[str, str] | None = None) -> str:
    """A local path for planning; "" for a key the handle refuses (a symlink out of a local
    store), which then fails on its own when copied instead of aborting every other file.
    ``real_dirs``: the planning pass's memo of resolved directories (``StoreHandle.path``)."""
    try:
        return _join(src, key, real_dirs)
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
    # a file into a bucket asks this first: the native client answers it with one listing
    # request, where the fsspec filesystem would be built (most of a second) for the question
    prefix = handle.root.partition("/")[2].strip("/")
    client = _native_for(handle, prefix)
    if client is not None:
        return client.has_under(prefix)
    return bool(handle.fs.isdir(handle.root))


def posixpath_basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _side(side: Any, key: str) -> StoreHandle:
    handle = _as_handle(side)
    return handle.child(key) if clean_key(key) else handle


def _as_handle(side: Any) -> StoreHandle:
    if isinstance(side, StoreHandle):
        return side
    if isinstance(side, (str, os.PathLike)):
        return local_store(side)
    raise StoresError(f"expected a StoreHandle or a local path, got {type(side).__name__}")
