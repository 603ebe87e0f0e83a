"""Store handles: an fsspec filesystem plus the store's root (tier 2, backends load lazily).

::

    from stores.handles import open_store
    h = open_store("data-s3")                 # a name from POLYAXON_RUN_DATA_PATHS
    h = open_store("s3://bucket/prefix")      # a URL
    h = open_store(connection)                # a connection model
    with h.open("train/part-0.csv") as f: ...

Backends are found through :data:`BACKENDS` (kind -> ``"module:factory"``, like fsspec's
registry) and imported only when a handle of that kind is opened.  Keys are relative to the
root; absolute keys and ``..`` segments are refused, so a handle never reaches outside its store.
"""

from __future__ import annotations

import importlib.util
import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .credentials import Credentials, resolve_credentials
from .errors import ContractError, SelectionError, StoresError
from .kinds import KINDS, resolve
from .lazyfs import Deferred, FileSystemSlot
from .readonly import ReadOnlyFileSystem, read_only_error

__all__ = ["BACKENDS", "StoreHandle", "StoreLocation", "register_backend", "open_store",
           "locate_store", "clean_key", "local_store"]

#: kind -> ``"module:factory"`` or a callable ``(credentials, account) -> filesystem``; the
#: kinds table's ``backend`` until :func:`register_backend` says otherwise
BACKENDS: dict[str, str | Callable[..., Any]] = {kind: entry.backend for kind, entry in KINDS.items()}

#: URL scheme -> kind (a kind's schemes and their aliases)
_SCHEMES = {scheme: kind for kind, entry in KINDS.items() for scheme in (*entry.schemes, *entry.scheme_aliases)}


def register_backend(kind: str, factory: str | Callable[..., Any]) -> None:
    """Use ``factory`` (``"module:function"`` or a callable) for handles of ``kind``."""
    if kind not in KINDS:
        raise StoresError(f"unknown store kind {kind!r}; known: {', '.join(KINDS)}")
    BACKENDS[kind] = factory


def clean_key(key: str) -> str:
    """A normalised key relative to a store's root; refuses keys that could escape it."""
    if not isinstance(key, str):
        raise StoresError(f"a store key must be a string, got {type(key).__name__}")
    if "\x00" in key:
        raise StoresError(f"a store key may not contain a NUL byte: {key!r}")
    if key.startswith("/"):
        raise StoresError(f"a store key must be relative to the store's root, got the absolute {key!r}")
    if ".." in key.split("/"):
        raise StoresError(f"a store key may not contain '..' (it would leave the store): {key!r}")
    norm = posixpath.normpath(key) if key else ""
    return "" if norm == "." else norm


def _inside(root: str, full: str, key: str, real_dirs: dict[str, str] | None = None) -> None:
    """Refuse a local key that a symlink leads out of the root: clean_key cannot see those, and
    reading or writing through one would reach anywhere on the node.  ``real_dirs``: one pass's
    memo of directories' real paths (``os.path.realpath`` stats every component of every key;
    a name that is not itself a symlink resolves to its directory's real path plus the name)."""
    if real_dirs is None:
        real_root, real = os.path.realpath(root), os.path.realpath(full)
    else:
        real_root = _memo_realpath(real_dirs, root)
        parent, _, name = full.rpartition("/")
        real = os.path.realpath(full) if os.path.islink(full) else f"{_memo_realpath(real_dirs, parent).rstrip('/')}/{name}"
    if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
        raise StoresError(f"store key {key!r} leads out of the store through a symlink (to {real})")


def _memo_realpath(memo: dict[str, str], path: str) -> str:
    if path not in memo:
        memo[path] = os.path.realpath(path)
    return memo[path]


@dataclass(repr=False)
class StoreHandle:
    """One opened store: ``fs`` (fsspec) and ``root`` (the fsspec path of the store's root)."""

    kind: str
    #: the fsspec filesystem, built on first use when the handle was opened with a native client
    #: at hand (:mod:`stores.lazyfs`)
    if TYPE_CHECKING:
        fs: Any
    else:
        fs: Any = FileSystemSlot()  # a data descriptor, and no default (its class access raises)
    root: str
    url: str
    name: str | None = None
    credentials: Credentials = field(default_factory=lambda: Credentials("host_path"))
    #: the connection says ``readOnly``: every write through the handle (and ``fs``) is refused
    read_only: bool = False
    #: the mounted key file the credentials were read from (``stores.refresh.KeyFileWatch``)
    key_watch: Any = field(default=None, compare=False)

    @property
    def is_local(self) -> bool:
        return not KINDS[self.kind].is_bucket

    def path(self, key: str = "", *, real_dirs: dict[str, str] | None = None) -> str:
        """The fsspec path of ``key`` (relative to the root).  In a local store the path must
        stay under the root once symlinks are followed; ``real_dirs`` (an empty dict to start)
        keeps the directories resolved so far, for one pass over many keys."""
        key = clean_key(key)
        if not key:
            return self.root
        full = f"{self.root.rstrip('/')}/{key}"
        if self.is_local:
            _inside(self.root, full, key, real_dirs)
        return full

    def key_of(self, path: str) -> str:
        """The key of an fsspec path under the root (the inverse of :meth:`path`)."""
        root = self.root.rstrip("/")
        path = path.rstrip("/")
        if path == root:
            return ""
        if not path.startswith(root + "/"):
            raise StoresError(f"{path!r} is not under the store's root {self.root!r}")
        return path[len(root) + 1:]

    def child(self, key: str) -> "StoreHandle":
        """A handle rooted at ``key`` inside this one."""
        slash = "/" if key.endswith("/") else ""  # "copy into this folder"
        key = clean_key(key)
        url = f"{self.url.rstrip('/')}/{key}{slash}" if key else self.url
        return StoreHandle(self.kind, _FS.raw(self), self.path(key), url, self.name, self.credentials, self.read_only,
                           self.key_watch)

    def key_file_changed(self) -> bool:
        """Whether the key file the handle's credentials came from was swapped since it was read
        (the kubelet's ``..data`` update of a Secret volume).  S3 handles re-read it by
        themselves; a long-running loop (``stores sync --watch``) opens the others again."""
        return self.key_watch is not None and self.key_watch.changed()

    def check_writable(self, what: str = "write to it") -> None:
        """Raise ``ReadOnlyStoreError`` (a ``PermissionError``) if the handle is read-only."""
        if self.read_only:
            raise read_only_error(self.name, self.url, what)

    def credentials_signature(self) -> Any:
        """What the handle's refreshable credentials were read from, as it is now (a key file's
        or token file's resolved path, inode, size and mtime); ``None`` without such a file.
        The transfer engine compares two of these to tell a rotation from a bad key."""
        raw = _FS.raw(self)
        if (isinstance(raw, Deferred) and not raw.built and self.key_watch is None
                and not self.credentials.get("web_identity_token_file")):
            return None  # nothing refreshable, and nothing to build the filesystem for
        session = getattr(getattr(self.fs, "_fs", self.fs), "session", None)
        watch = getattr(getattr(session, "_stores_credentials", None), "watch", None)
        return watch.signature() if watch is not None else None

    # -- thin fsspec wrappers that keep keys inside the store -----------------------------------

    def open(self, key: str, mode: str = "rb", **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            self.check_writable(f"open {key!r} for writing")
        if "w" in mode and self.is_local:
            os.makedirs(os.path.dirname(self.path(key)), exist_ok=True)
        return self.fs.open(self.path(key), mode, **kwargs)

    def read_bytes(self, key: str) -> bytes:
        data: bytes = self.fs.cat_file(self.path(key))
        return data

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open(key, "wb") as fh:
            fh.write(data)

    def exists(self, key: str = "") -> bool:
        found: bool = self.fs.exists(self.path(key))
        return found

    def info(self, key: str = "") -> dict[str, Any]:
        info: dict[str, Any] = self.fs.info(self.path(key))
        return info

    def ls(self, key: str = "", detail: bool = False) -> list[Any]:
        """Direct children of ``key``: keys, or info dicts whose ``key`` is set."""
        entries = self.fs.ls(self.path(key), detail=True)
        out = []
        for e in entries:
            k = self.key_of(e["name"])
            out.append({**e, "key": k} if detail else k)
        return out

    def find(self, key: str = "") -> dict[str, dict[str, Any]]:
        """Every file under ``key``: ``{key: info}``."""
        found = self.fs.find(self.path(key), detail=True)
        return {self.key_of(p): i for p, i in found.items() if i.get("type") != "directory"}

    def rm(self, key: str, recursive: bool = False) -> None:
        self.check_writable(f"remove {key!r}")
        self.fs.rm(self.path(key), recursive=recursive)

    def __repr__(self) -> str:
        ro = ", read_only=True" if self.read_only else ""
        text = f"StoreHandle(kind={self.kind!r}, name={self.name!r}, url={self.url!r}{ro}, credentials={self.credentials!r})"
        return self.credentials.redact(text)


#: the descriptor behind ``StoreHandle.fs``
_FS: FileSystemSlot = StoreHandle.__dict__["fs"]


def _factory(kind: str) -> Callable[..., Any]:
    target = BACKENDS[kind]
    return target if callable(target) else resolve(target)


@dataclass(frozen=True)
class StoreLocation:
    """Where a store is and how to reach it, before any SDK is imported: what
    :func:`open_store` builds a handle from, and what :mod:`stores.plxfs` hands to libraries that
    take a URL and options."""

    kind: str
    url: str
    root: str
    name: str | None
    credentials: Credentials
    account: str | None = None
    #: a ``readOnly`` connection: the handle refuses writes
    read_only: bool = False

    @property
    def is_local(self) -> bool:
        return not KINDS[self.kind].is_bucket


def _filesystem(loc: StoreLocation) -> Any:
    from .backends import require

    kind, name, creds = loc.kind, loc.name, loc.credentials
    require(kind)
    try:
        fs = _factory(kind)(creds, loc.account)
    except StoresError:
        raise
    except Exception as exc:
        # SDK constructors may echo what they were given: scrub before showing
        raise StoresError(
            f"cannot open {kind} store {name or loc.url}: {creds.redact(str(exc))}"
        ) from None
    return ReadOnlyFileSystem(fs, name, loc.url) if loc.read_only else fs


def _build(loc: StoreLocation) -> StoreHandle:
    kind, name, creds = loc.kind, loc.name, loc.credentials
    # a local store (the engine reads and writes its files with os) and a kind with a native
    # client build their fsspec filesystem only when something needs it
    deferred = not KINDS[kind].is_bucket or (
        KINDS[kind].native_store is not None and importlib.util.find_spec("obstore") is not None)
    if deferred:
        from .backends import require

        require(kind, load=False)  # a missing extra is still named now
    fs = Deferred(lambda: _filesystem(loc)) if deferred else _filesystem(loc)
    from .refresh import KeyFileWatch, key_file_of

    files = [f for f in (key_file_of(creds.sources, s) for s in sorted(creds.sources)) if f]
    return StoreHandle(kind, fs, loc.root, loc.url, name, creds, loc.read_only, KeyFileWatch(files[0]) if files else None)


def _local(path: str | os.PathLike[str], name: str | None = None, kind: str = "host_path",
           read_only: bool = False) -> StoreLocation:
    root = os.path.abspath(os.fspath(path))
    return StoreLocation(kind, root, root, name, Credentials(kind), read_only=read_only)


def local_store(path: str | os.PathLike[str], name: str | None = None, kind: str = "host_path",
                read_only: bool = False) -> StoreHandle:
    """A handle on a local directory (host paths, claims, or any local path); ``read_only``
    refuses writes (a ``readOnly`` host path or claim)."""
    return _build(_local(path, name, kind, read_only))


def _catalog_connections(environ: Mapping[str, str]) -> dict[str, Any]:
    """The connections of ``POLYAXON_CONNECTIONS_CATALOG`` (what the renderer, or Polyaxon, gave
    this container), as models; entries we cannot read are left out."""
    from .contract.read import read_connections_catalog

    docs = read_connections_catalog(environ)
    if not docs:
        return {}  # outside such a pod: pydantic (the models' tier) is not even imported
    from pydantic import ValidationError

    from .models import parse_connection

    out: dict[str, Any] = {}
    for name, doc in docs.items():
        try:
            out[name] = parse_connection(doc)
        except ValidationError:
            continue
    return out


def _name_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The store whose path is ``url`` or a prefix of it: a data store of the run, else a
    connection of ``POLYAXON_CONNECTIONS_CATALOG`` (the artifacts store, for one)."""
    from .run import ENV_DATA_PATHS, get_data_paths

    # (name, path): a CSI-mounted bucket is both its bucket URL (the catalog's) and its mount
    # path (the data paths'), so neither replaces the other
    candidates: list[tuple[str, str]] = []
    for name, conn in _catalog_connections(environ).items():
        if conn.is_storage:
            candidates.append((name, conn.bucket.url if conn.bucket is not None else conn.store_path))
    if environ.get(ENV_DATA_PATHS):
        candidates.extend(get_data_paths(environ=environ).items())
    best: tuple[int, str] | None = None
    for name, path in candidates:
        base = path.rstrip("/")
        if url.rstrip("/") == base or url.startswith(base + "/"):
            if best is None or len(base) > best[0]:
                best = (len(base), name)
    return best[1] if best else None


def _csi_mounts(environ: Mapping[str, str]) -> dict[str, str]:
    from .contract.read import read_csi_mounts

    return read_csi_mounts(environ)


def _mounted_path(conn: Any, environ: Mapping[str, str]) -> str | None:
    """Where a bucket connection is mounted through its CSI driver: its model's ``mount:``, else
    this container's ``STORES_CSI_MOUNTS`` (Polyaxon's catalog cannot carry the mount)."""
    mount = getattr(conn, "mount", None)
    if mount is not None:
        path: str | None = mount.mount_path
        return path
    return _csi_mounts(environ).get(conn.name)


def _from_url(url: str, name: str | None, environ: Mapping[str, str], connection: Any = None, **cred_kw: Any) -> StoreLocation:
    from .names import parse_bucket

    scheme = url.partition("://")[0] if "://" in url else ""
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise StoresError(f"unsupported store URL {url!r}; use s3://, gs://, wasbs:// or a local path")
    entry = KINDS[kind]
    if not entry.is_bucket:  # file://
        return _local(url.partition("://")[2], name, kind)
    normal = entry.schemes[0] if scheme in entry.scheme_aliases else scheme
    try:
        bucket = parse_bucket(kind, normal + url[len(scheme):])
    except ValueError as exc:
        raise StoresError(str(exc)) from None
    name = name or _name_for(bucket.url, environ)
    if connection is None and name is not None:
        # the catalog says where the connection's secret is mounted: its key file
        connection = _catalog_connections(environ).get(name)
    creds = resolve_credentials(kind, connection=connection, name=name, environ=environ, **cred_kw)
    read_only = bool(getattr(connection, "read_only", False))
    return StoreLocation(kind, bucket.url, bucket.root, name, creds, bucket.account, read_only=read_only)


def open_store(
    target: Any,
    catalog: Any = None,
    *,
    environ: Mapping[str, str] | None = None,
    secrets_root: str | None = None,
    key_file: str | None = None,
    bucket: bool = False,
) -> StoreHandle:
    """Open a store: what :func:`locate_store` finds for ``target`` (a connection model, a
    connection name, a bucket URL or a local path), with its backend filesystem.

    A bucket mounted through its CSI driver (the connection's ``mount:``; inside a run,
    ``STORES_CSI_MOUNTS``) opens as a local handle on its mount; ``bucket=True`` opens the
    bucket itself (through its API, with its credentials).

    Credentials follow :mod:`stores.credentials`; ``secrets_root`` re-roots mounted key files and
    ``key_file`` names one explicitly.
    """
    return _build(locate_store(target, catalog, environ=environ, secrets_root=secrets_root, key_file=key_file,
                               bucket=bucket))


def locate_store(
    target: Any,
    catalog: Any = None,
    *,
    environ: Mapping[str, str] | None = None,
    secrets_root: str | None = None,
    key_file: str | None = None,
    bucket: bool = False,
) -> StoreLocation:
    """Where the store :func:`open_store` would open is, and its credentials (no SDK imported):
    a connection model, a connection name (from ``catalog``, else from the
    container's ``POLYAXON_CONNECTIONS_CATALOG`` with its credentials, else from the run's
    ``POLYAXON_RUN_DATA_PATHS``; ``"outputs"`` is the artifacts store named by
    ``POLYAXON_ARTIFACTS_STORE_NAME``), a bucket URL, or a local path.

    Credentials follow :mod:`stores.credentials`; ``secrets_root`` re-roots mounted key files and
    ``key_file`` names one explicitly.
    """
    env = os.environ if environ is None else environ
    cred_kw = {"secrets_root": secrets_root, "key_file": key_file}
    if not isinstance(target, (str, os.PathLike)):
        conn = target
        if not getattr(conn, "is_storage", True):
            raise StoresError(f"connection {conn.name!r} is a {conn.kind} connection, not a store")
        if conn.is_bucket:
            read_only = bool(getattr(conn, "read_only", False))
            mounted = None if bucket else _mounted_path(conn, env)
            if mounted is not None:
                return _local(mounted, conn.name, read_only=read_only)
            return _from_url(conn.bucket.url, conn.name, env, connection=conn, **cred_kw)
        return _local(conn.mount_path, conn.name, conn.kind, read_only=bool(getattr(conn, "read_only", False)))
    target = os.fspath(target)
    if catalog is not None and not target.startswith("/") and "://" not in target:
        return locate_store(catalog.get(target), environ=env, bucket=bucket, **cred_kw)
    if "://" in target:
        return _from_url(target, None, env, **cred_kw)
    if target.startswith("/") or target.startswith("."):
        return _local(target)
    from .run import ENV_DATA_PATHS, get_data_paths
    from .contract.names import ENV_ARTIFACTS_STORE_NAME, ENV_CONNECTIONS_CATALOG

    in_catalog = _catalog_connections(env)
    if target == "outputs" and "outputs" not in in_catalog and env.get(ENV_ARTIFACTS_STORE_NAME) in in_catalog:
        target = env[ENV_ARTIFACTS_STORE_NAME]  # Polyaxon's name for the run's artifacts store
    if target in in_catalog and in_catalog[target].is_storage:
        return locate_store(in_catalog[target], environ=env, bucket=bucket, **cred_kw)
    if not bucket and target in _csi_mounts(env):
        return _local(_csi_mounts(env)[target], target)
    if not env.get(ENV_DATA_PATHS):
        raise SelectionError(
            f"{target!r} is not a URL or a path, and there is no catalog, no {ENV_CONNECTIONS_CATALOG} "
            f"and no {ENV_DATA_PATHS} to look it up in"
        )
    paths = get_data_paths(environ=env)
    if target not in paths:
        raise ContractError(f"no data store {target!r} in {ENV_DATA_PATHS}; this run has: {', '.join(paths) or '(none)'}")
    path = paths[target]
    if "://" in path:
        return _from_url(path, target, env, **cred_kw)
    return _local(path, target)
