"""Read-only stores: an fsspec filesystem wrapper that refuses every write (tier 0).

What a handle of a ``readOnly`` connection holds (``stores.handles``), so that code reaching for
``handle.fs`` directly cannot write either; the transfer engine refuses earlier, before sending
anything (``StoreHandle.check_writable``)."""

from __future__ import annotations

from typing import Any

from .errors import ReadOnlyStoreError

__all__ = ["ReadOnlyFileSystem", "read_only_error"]

#: fsspec methods that change a store (sync and async spellings)
_WRITES = frozenset(
    name for base in ("pipe", "pipe_file", "put", "put_file", "rm", "rm_file", "mv", "cp_file", "copy", "mkdir",
                      "makedirs", "touch", "rmdir", "setxattrs", "rename", "move", "upload", "write_bytes",
                      "write_text", "merge", "transaction", "start_transaction", "open_async")
    for name in (base, "_" + base)
)
#: S3 API calls that change a bucket (what ``call_s3`` may be asked for directly)
_S3_WRITES = ("put_object", "delete_object", "delete_objects", "copy_object", "create_multipart_upload",
              "upload_part", "upload_part_copy", "complete_multipart_upload", "create_bucket", "delete_bucket",
              "put_object_acl", "put_object_tagging", "restore_object")


def read_only_error(name: str | None, url: str, what: str) -> ReadOnlyStoreError:
    return ReadOnlyStoreError(
        f"store {name or url} is read-only (its connection says readOnly: true): cannot {what}; "
        "write to another store, or drop readOnly from the connection (and give it write credentials)"
    )


class ReadOnlyFileSystem:
    """An fsspec filesystem that refuses every write: what a handle of a ``readOnly`` connection
    holds, so that code reaching for ``handle.fs`` directly cannot write either.  Reads are
    the wrapped filesystem's."""

    _where: tuple[str | None, str]

    def __init__(self, fs: Any, name: str | None, url: str) -> None:
        object.__setattr__(self, "_fs", fs)
        object.__setattr__(self, "_where", (name, url))

    def _refuse(self, what: str) -> ReadOnlyStoreError:
        return read_only_error(*self._where, what)

    def open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            raise self._refuse(f"open {path!r} for writing (mode {mode!r})")
        return self._fs.open(path, mode, *args, **kwargs)

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            raise self._refuse(f"open {path!r} for writing (mode {mode!r})")
        return self._fs._open(path, mode, *args, **kwargs)

    def _guard_call(self, target: Any) -> Any:
        def call(method: Any, *args: Any, **kwargs: Any) -> Any:
            op = getattr(method, "__name__", method)
            if isinstance(op, str) and op in _S3_WRITES:
                raise self._refuse(f"call {op}")
            return target(method, *args, **kwargs)
        return call

    def __getattr__(self, name: str) -> Any:
        if name in _WRITES:
            def refuse(*args: Any, **kwargs: Any) -> Any:
                raise self._refuse(f"{name.lstrip('_')} {args[0]!r}" if args else name.lstrip("_"))
            return refuse
        value = getattr(self._fs, name)
        if name in ("call_s3", "_call_s3"):
            return self._guard_call(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._fs, name, value)

    def __repr__(self) -> str:
        return f"ReadOnlyFileSystem({self._fs!r})"
