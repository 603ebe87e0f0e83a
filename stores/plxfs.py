"""The ``plx://`` fsspec protocol: ``plx://NAME/key`` is ``key`` in the store of connection NAME.

Registered through the ``fsspec.specs`` entry point, so once the package is installed any
library that opens paths with fsspec (pandas, pyarrow, Dask, HF datasets, ``fsspec.open``) can::

    import pandas as pd
    df = pd.read_csv("plx://data1/train.csv")
    df.to_parquet("plx://outputs/train.parquet")

NAME is resolved in this order (explicit > environment > the pod):

1. the connections of a values file: the ``values=`` option (a path or a :class:`~stores.Catalog`;
   ``storage_options={"values": "values.yaml"}`` in pandas), else ``$STORES_VALUES``;
2. inside a pod: the rendered connections catalog (``POLYAXON_CONNECTIONS_CATALOG``, with the
   connection's mounted key file), else the run's ``POLYAXON_RUN_DATA_PATHS``; ``outputs`` is the
   run's artifacts store.

Credentials are those of :mod:`stores.credentials` (key files first, then the SDK variables);
host paths and claims are their mount paths on the local filesystem, buckets go through s3fs,
gcsfs or adlfs, always under the connection's prefix: a key may not leave its store (``..`` and
absolute keys are refused).

For libraries that take a URL plus options instead of a filesystem, :func:`url` and
:func:`storage_options` give the backend's own::

    pd.read_csv(url("data1", "train.csv"), storage_options=storage_options("data1"))

``storage_options`` holds the resolved credentials (secret values): pass it on, do not log it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from fsspec.spec import AbstractFileSystem

from .errors import ContractError, SelectionError, StoresError
from .handles import StoreHandle, StoreLocation, clean_key, locate_store

__all__ = ["PlxFileSystem", "ENV_VALUES", "locate", "storage_options", "url"]

#: the values file whose connections ``plx://NAME`` names when no ``values=`` option is given
ENV_VALUES = "STORES_VALUES"

_CATALOGS: dict[tuple[str, float], Any] = {}


def _catalog(values: Any) -> Any:
    """A Catalog from a Catalog or the path of a values file (parsed once per file version)."""
    if not isinstance(values, (str, os.PathLike)):
        return values
    path = os.path.abspath(os.fspath(values))
    try:
        stamp = (path, os.stat(path).st_mtime)
    except OSError as exc:
        raise StoresError(f"cannot read the values file {path}: {exc.strerror or exc}") from None
    if stamp not in _CATALOGS:
        from .catalog import Catalog

        _CATALOGS[stamp] = Catalog.from_file(path)
    return _CATALOGS[stamp]


def locate(name: str, *, values: Any = None, environ: Mapping[str, str] | None = None,
           secrets_root: str | None = None, key_file: str | None = None) -> StoreLocation:
    """Where connection ``name`` is and its credentials, in the order of the module docstring."""
    env = os.environ if environ is None else environ
    if not isinstance(name, str) or not name or "/" in name or "://" in name:
        raise StoresError(f"plx:// names a connection (plx://NAME/key), got {name!r}")
    source = values if values is not None else (env.get(ENV_VALUES) or None)
    looked: list[str] = []
    if source is not None:
        catalog = _catalog(source)
        if name in catalog.names():
            return locate_store(catalog.get(name), environ=env, secrets_root=secrets_root, key_file=key_file)
        where = source if isinstance(source, (str, os.PathLike)) else "the catalog given"
        looked.append(f"{where} (names {', '.join(catalog.names()) or 'none'})")
    try:
        return locate_store(name, environ=env, secrets_root=secrets_root, key_file=key_file)
    except (SelectionError, ContractError) as exc:
        if not looked:
            hint = f"; outside a pod, name a values file: storage_options={{'values': FILE}} or ${ENV_VALUES}"
            raise SelectionError(f"no connection {name!r} for plx://: {exc}{hint}") from None
        raise SelectionError(f"no connection {name!r} for plx://: not in {looked[0]}, and {exc}") from None


def url(name: str, key: str = "", **options: Any) -> str:
    """The backend URL of ``key`` in connection ``name`` (``s3://bucket/prefix/key``,
    ``gs://...``, ``abfs://container/prefix/key``, or a local path for host paths and claims),
    to pass with :func:`storage_options` to a library that takes a URL and options.  ``options``
    are those of :func:`locate` (``values=``, ``environ=``, ...)."""
    loc = locate(name, **options)
    key = clean_key(key)
    if loc.is_local:
        return os.path.join(loc.root, key) if key else loc.root
    scheme = "abfs" if loc.account is not None else loc.url.partition("://")[0]
    base = f"{scheme}://{loc.root}"
    return f"{base}/{key}" if key else base


def storage_options(name: str, **options: Any) -> dict[str, Any]:
    """The keyword arguments of the backend filesystem of connection ``name`` (s3fs, gcsfs,
    adlfs: credentials, endpoint, timeouts), for ``storage_options=`` in pandas, Dask, HF
    datasets or ``fsspec.open``; ``{}`` for host paths and claims.  The values may be secret."""
    loc = locate(name, **options)
    if loc.is_local:
        return {}
    from .backends import fs_options

    return fs_options(loc.credentials, loc.account)


class PlxFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec ships no types: its base is Any
    """fsspec filesystem of ``plx://NAME/key`` paths: each NAME's store is opened once (with
    :func:`stores.handles.open_store`'s backends) and every call is passed to its filesystem
    under the store's root.  Options: ``values`` (a values file or a Catalog), ``secrets_root``,
    ``key_file`` (as for :func:`stores.handles.open_store`)."""

    protocol = "plx"
    root_marker = ""

    def __init__(self, values: Any = None, secrets_root: str | None = None, key_file: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = os.fspath(values) if isinstance(values, os.PathLike) else values
        self.secrets_root = secrets_root
        self.key_file = key_file
        self._handles: dict[str, StoreHandle] = {}

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, (list, tuple)):
            return [cls._strip_protocol(p) for p in path]
        path = os.fspath(path)
        if path.startswith("plx://"):
            path = path[len("plx://"):]
        return path.strip("/")

    # -- NAME/key <-> the backend's path ----------------------------------------------------------

    def handle(self, name: str) -> StoreHandle:
        """The store of connection ``name`` (opened on first use)."""
        if name not in self._handles:
            from .handles import _build

            self._handles[name] = _build(locate(name, values=self.values, secrets_root=self.secrets_root,
                                                key_file=self.key_file))
        return self._handles[name]

    def _target(self, path: str) -> tuple[str, StoreHandle, str]:
        path = self._strip_protocol(path)
        name, _, key = path.partition("/")
        if not name:
            raise StoresError("a plx:// path names a connection first: plx://NAME/key")
        handle = self.handle(name)
        return name, handle, handle.path(key)

    @staticmethod
    def _ours(name: str, handle: StoreHandle, full: str) -> str:
        key = handle.key_of(full)
        return f"{name}/{key}" if key else name

    def _info(self, name: str, handle: StoreHandle, info: dict[str, Any]) -> dict[str, Any]:
        return {**info, "name": self._ours(name, handle, info["name"])}

    # -- the filesystem ---------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        name, handle, full = self._target(path)
        out = [self._info(name, handle, e) for e in handle.fs.ls(full, detail=True, **kwargs)]
        return out if detail else [e["name"] for e in out]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        name, handle, full = self._target(path)
        return self._info(name, handle, handle.fs.info(full, **kwargs))

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False,
             **kwargs: Any) -> Any:
        name, handle, full = self._target(path)
        found = handle.fs.find(full, maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs)
        out = {self._ours(name, handle, p): self._info(name, handle, i) for p, i in found.items()}
        return out if detail else sorted(out)

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> Any:
        _, handle, full = self._target(path)
        if "w" in mode and handle.is_local:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        if block_size is not None:
            kwargs["block_size"] = block_size
        if cache_options is not None:
            kwargs["cache_options"] = cache_options
        if not autocommit:
            kwargs["autocommit"] = autocommit
        return handle.fs.open(full, mode, **kwargs)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        _, handle, full = self._target(path)
        data: bytes = handle.fs.cat_file(full, start=start, end=end, **kwargs)
        return data

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        _, handle, full = self._target(path)
        if handle.is_local:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        handle.fs.pipe_file(full, value, **kwargs)

    def rm_file(self, path: str) -> None:
        _, handle, full = self._target(path)
        handle.fs.rm_file(full)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        for one in [path] if isinstance(path, str) else list(path):
            _, handle, full = self._target(one)
            handle.fs.rm(full, recursive=recursive, maxdepth=maxdepth)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        _, handle, full = self._target(path)
        handle.fs.mkdir(full, create_parents=create_parents, **kwargs)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        _, handle, full = self._target(path)
        handle.fs.makedirs(full, exist_ok=exist_ok)

    def rmdir(self, path: str) -> None:
        _, handle, full = self._target(path)
        handle.fs.rmdir(full)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        name1, h1, full1 = self._target(path1)
        name2, h2, full2 = self._target(path2)
        if h1 is h2:
            h1.fs.cp_file(full1, full2, **kwargs)
            return
        with self.open(path1, "rb") as src, self.open(path2, "wb") as dst:
            while True:
                block = src.read(8 * 1024 * 1024)
                if not block:
                    break
                dst.write(block)

    def get_file(self, rpath: str, lpath: str, **kwargs: Any) -> None:
        _, handle, full = self._target(rpath)
        handle.fs.get_file(full, lpath, **kwargs)

    def put_file(self, lpath: str, rpath: str, **kwargs: Any) -> None:
        _, handle, full = self._target(rpath)
        if handle.is_local:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        handle.fs.put_file(lpath, full, **kwargs)

    def modified(self, path: str) -> Any:
        _, handle, full = self._target(path)
        return handle.fs.modified(full)

    def created(self, path: str) -> Any:
        _, handle, full = self._target(path)
        return handle.fs.created(full)

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        _, handle, full = self._target(path)
        url: str = handle.fs.sign(full, expiration=expiration, **kwargs)
        return url

    def ukey(self, path: str) -> str:
        _, handle, full = self._target(path)
        key: str = handle.fs.ukey(full)
        return key
