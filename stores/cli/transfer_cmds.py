"""``stores ls``, ``stores cp``, ``stores sync``: move data between stores and local paths.

A STORE argument is, in this order: ``NAME[:PATH]`` where NAME is a connection of ``-f/--values``
or a data store of the run (``POLYAXON_RUN_DATA_PATHS``; ``outputs`` is the run's
``POLYAXON_RUN_OUTPUTS_PATH``), a bucket URL (``s3://``, ``gs://``, ``wasbs://``), or a local
path.  A trailing ``/`` on the destination means "into this folder".
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from typing import Any

from .output import add_output_flag, print_data, print_table
from .values_input import add_values_flags

__all__ = ["register", "resolve_spec"]

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _common(p: argparse.ArgumentParser) -> None:
    add_values_flags(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary and no notes")


def _transfer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=8, metavar="N", help="files in flight at once (default 8)")
    p.add_argument("--retries", type=int, default=4, metavar="N", help="retries per file on transient errors (default 4)")
    p.add_argument("--report", metavar="FILE",
                   help="write the account of every source entry as JSON (key, fate, size, reason), also on failure")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be sent, skipped, failed and deleted; change nothing")
    p.add_argument("--stall-timeout", type=float, default=60.0, metavar="S",
                   help="fail when nothing moves for S seconds (default 60): the bound on a dead store")


def _src_dst(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", metavar="SRC", help="what to copy: STORE[:PATH] (as for `stores ls`), a bucket URL or a local path")
    p.add_argument("dst", metavar="DST", help="where to copy it; a trailing '/' means into this folder")


def register(sub: Any) -> None:
    p = sub.add_parser("ls", help="list a store or a folder in it",
                       description="List STORE[:PATH]: size, modification time and key of each entry.")
    p.add_argument("target", metavar="STORE[:PATH]",
                   help="a connection of -f/--values or a data store of the run (NAME[:PATH]), a bucket URL or a local path")
    p.add_argument("-r", "--recursive", action="store_true", help="every file under the path")
    _common(p)
    add_output_flag(p)
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("cp", help="copy a file or a folder between stores and local paths",
                       description="Copy SRC to DST (a folder is copied with everything in it). Always sends.")
    _src_dst(p)
    _common(p)
    _transfer_flags(p)
    add_output_flag(p, "text")
    p.set_defaults(func=cmd_cp)

    p = sub.add_parser("sync", help="make DST hold every file of SRC, sending only what changed",
                       description="Incremental copy: a file is skipped when DST has it with the same size "
                       "and a matching modification time (or MD5 with --checksum). With --watch, syncs every "
                       "--interval seconds until SIGTERM/SIGINT, then syncs once more and exits 0.")
    _src_dst(p)
    p.add_argument("--watch", action="store_true", help="keep syncing until SIGTERM/SIGINT (sidecar mode)")
    p.add_argument("--interval", type=float, default=10.0, metavar="N", help="seconds between syncs (default 10)")
    p.add_argument("--delete", action="store_true", help="remove files from DST that SRC does not have")
    p.add_argument("--checksum", action="store_true", help="compare MD5s instead of times when both sides have one")
    p.add_argument("--missing-ok", action="store_true",
                   help="a SRC folder that does not exist (yet) is nothing to sync; a missing store still fails")
    _common(p)
    _transfer_flags(p)
    add_output_flag(p, "text")
    p.set_defaults(func=cmd_sync)


def resolve_spec(spec: str, values: Any = None, environ: Any = None) -> tuple[Any, str]:
    """``STORE[:PATH]`` -> ``(StoreHandle, key)``; ``values``: the catalog whose connections
    can be named (a ``Catalog`` or the path of a values file), or ``None``."""
    from ..handles import local_store, open_store
    from ..run import ENV_DATA_PATHS, get_data_paths, get_outputs_path

    env = os.environ if environ is None else environ
    slash = spec.endswith("/")
    name, sep, key = spec.partition(":")
    handle = None
    if "://" not in spec and _NAME.fullmatch(name):
        catalog = values
        if isinstance(values, (str, os.PathLike)):
            from ..catalog import Catalog

            catalog = Catalog.from_file(os.fspath(values))
        if catalog is not None:
            if name in catalog.names():
                handle = open_store(catalog.get(name), environ=env)
        if handle is None and env.get(ENV_DATA_PATHS) and name in get_data_paths(environ=env):
            handle = open_store(name, environ=env)
        if handle is None and name == "outputs" and (env.get("POLYAXON_RUN_OUTPUTS_PATH") or not sep):
            handle = open_store(get_outputs_path(environ=env), environ=env)
        if handle is None and sep and not os.path.exists(spec):
            from ..errors import SelectionError

            places = ["the connections of the values files"] if catalog is not None else []
            places += [f"the run's data stores ({ENV_DATA_PATHS})", "outputs"]
            if catalog is None:
                hint = "; to name a connection of a values file, pass the file with -f/--values FILE"
            else:
                import difflib

                close = difflib.get_close_matches(name, catalog.names(), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; the values files name {', '.join(catalog.names()) or 'none'}"
            raise SelectionError(f"no store named {name!r} (looked in {', '.join(places)}){hint}")
    if handle is None:
        key = ""
        handle = open_store(spec, environ=env) if "://" in spec else local_store(spec)
    if slash and not key and not handle.url.endswith("/"):
        handle.url += "/"  # "into this folder"
    return handle, key + ("/" if slash and key and not key.endswith("/") else "")


def _catalog(args: argparse.Namespace) -> Any:
    """The catalog of -f/--values and --set, or ``None`` when none is given (no bundled example
    here: its names would not be the user's stores)."""
    from .values_input import load_catalog

    return load_catalog(args, default_example=False, notes=not args.quiet)


def _options(args: argparse.Namespace, **extra: Any) -> Any:
    from ..errors import StoresError
    from ..transfer import TransferOptions

    if args.workers < 1 or args.retries < 0 or args.stall_timeout <= 0:
        raise StoresError("--workers must be at least 1, --retries at least 0 and --stall-timeout positive")
    return TransferOptions(workers=args.workers, retries=args.retries, dry_run=args.dry_run,
                           stall_timeout=args.stall_timeout, **extra)


def _progress(args: argparse.Namespace) -> Any:
    return False if args.quiet else None


def _report(args: argparse.Namespace, result: Any) -> None:
    from ..transfer import escape_key

    fmt = getattr(args, "output", "text")
    if fmt != "text":  # the account, as --report writes it, on stdout
        print_data({"ok": not result.failed, "dry_run": bool(getattr(args, "dry_run", False)),
                    "entries": result.account()}, fmt)
    elif getattr(args, "dry_run", False):
        for row in result.account():  # the plan, on stdout: one line per entry, deletions included
            reason = f" ({escape_key(row['reason'])})" if row["reason"] else ""
            print(f"{row['fate']:<13} {escape_key(row['key'])}{reason}")
    elif not args.quiet:
        for key, why in sorted(result.excluded.items()):
            if key not in result.vanished:
                print(f"skipped {escape_key(key)}: {escape_key(why)}", file=sys.stderr)
    if not args.quiet:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        print(("dry run: " if getattr(args, "dry_run", False) else "") + result.summary(), file=sys.stderr)


def _transfer(args: argparse.Namespace, run: Any) -> Any:
    """``run()`` (a transfer), its account written to ``--report`` whatever the outcome; a
    stalled transfer ends the process (its threads may still be blocked in an SDK call)."""
    from ..errors import TransferError

    result = None
    try:
        result = run()
        return result
    except TransferError as exc:
        result = getattr(exc, "result", None)
        if getattr(exc, "stalled", False):
            _write_report(args, result)
            print(f"error: {exc}", file=sys.stderr)
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(1)
        raise
    finally:
        _write_report(args, result)


def _write_report(args: argparse.Namespace, result: Any) -> None:
    if not getattr(args, "report", None):
        return
    import json

    rows = result.account() if result is not None else []
    with open(args.report, "w", encoding="utf-8") as fh:
        json.dump({"ok": result is not None and not result.failed, "entries": rows}, fh, indent=1)
        fh.write("\n")


def cmd_ls(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from ..errors import StoresError, TransferError
    from ..transfer import escape_key

    handle, key = resolve_spec(args.target, _catalog(args))
    try:
        entries = _entries(handle, key, args.recursive)
    except StoresError:
        raise
    except FileNotFoundError:
        raise TransferError(f"nothing at {args.target}: no such file, folder or bucket") from None
    except Exception as exc:
        # the store's own failure (authentication, network): an error of ours, not an internal
        # error, and scrubbed of secrets like every transfer error
        detail = handle.credentials.redact(f"{type(exc).__name__}: {exc}")
        raise TransferError(f"cannot list {args.target}: {detail}") from None
    if args.output != "table":
        print_data(entries, args.output)
        return 0
    rows = []
    for e in entries:
        when = datetime.fromtimestamp(e["mtime"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if e["mtime"] else ""
        rows.append([e["size"] if e["type"] == "file" else "", when,
                     escape_key(e["key"]) + ("/" if e["type"] == "directory" else "")])
    print_table(["size", "modified (utc)", "key"], rows)
    return 0


def _entries(handle: Any, key: str, recursive: bool) -> list[dict[str, Any]]:
    if recursive:
        # the engine's listing: every key exactly as stored (``t/`` is not ``t``)
        from ..transfer.listing import _list

        base = key.rstrip("/")
        listing = _list(handle.child(key) if base else handle, strict=False)
        rows = {k: {"size": e.size, "mtime": e.mtime} for k, e in listing.files.items()}
        rows.update({k: {"size": 0, "mtime": None} for k in listing.skipped})
        def full(k: str) -> str:
            return (f"{base}/{k}" if k else base) if base else k
        return [{"key": full(k), "type": "file", **v} for k, v in sorted(rows.items())]
    if handle.exists(key) and handle.info(key).get("type") == "file":
        return [{"key": key or handle.root.rsplit("/", 1)[-1], "type": "file", **_fields(handle.info(key))}]
    entries = [{"key": e["key"], "type": e.get("type", "file"), **_fields(e)} for e in handle.ls(key, detail=True)]
    return sorted(entries, key=lambda e: e["key"])


def _fields(info: dict[str, Any]) -> dict[str, Any]:
    from ..transfer.listing import _entry

    entry = _entry(info)
    return {"size": entry.size, "mtime": entry.mtime}


def cmd_cp(args: argparse.Namespace) -> int:
    from ..transfer import copy

    catalog = _catalog(args)
    src, skey = resolve_spec(args.src, catalog)
    dst, dkey = resolve_spec(args.dst, catalog)
    options = _options(args)
    result = _transfer(args, lambda: copy(src, dst, src_key=skey, dst_key=dkey, options=options, progress=_progress(args)))
    _report(args, result)
    return 1 if args.dry_run and result.failed else 0


def cmd_sync(args: argparse.Namespace) -> int:
    from . import EARLY_STOP

    stop = EARLY_STOP if EARLY_STOP is not None else threading.Event()
    previous: dict[int, Any] = {}
    if args.watch:
        # normally installed by stores.cli.main before anything else (a sidecar told to stop
        # while it starts must still flush); here for callers that come in another way
        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _sync(args, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sync(args: argparse.Namespace, stop: threading.Event) -> int:
    from ..errors import StoresError
    from ..transfer import sync

    catalog = _catalog(args)
    src, skey = resolve_spec(args.src, catalog)
    dst, dkey = resolve_spec(args.dst, catalog)
    # a sidecar may start before the run has written anything: --watch implies --missing-ok
    options = _options(args, delete=args.delete, checksum=args.checksum, missing_ok=args.missing_ok or args.watch)
    if args.missing_ok and skey and src.exists("") and not src.exists(skey):
        # autoResume on a run's first start: nothing to restore is not an error
        print(f"nothing to sync: {args.src} does not exist", file=sys.stderr)
        return 0

    def once() -> Any:
        result = _transfer(args, lambda: sync(src, dst, src_key=skey, dst_key=dkey, options=options,
                                              progress=_progress(args)))
        _report(args, result)
        return result

    if not args.watch:
        result = once()
        return 1 if args.dry_run and result.failed else 0
    if args.interval <= 0:
        raise StoresError("--interval must be positive")
    while not stop.is_set():
        try:
            once()
        except StoresError as exc:
            # a sidecar outlives a bad minute; the final sync below still raises
            print(f"sync failed, will retry in {args.interval:g}s: {exc}", file=sys.stderr)
        stop.wait(args.interval)
    once()  # whatever was written since the last pass
    return 0
