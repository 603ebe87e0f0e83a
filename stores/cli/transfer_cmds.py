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
import time
from typing import Any

from .output import add_output_flag, print_data, print_table
from .values_input import add_values_flags

__all__ = ["register", "resolve_spec"]

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _common(p: argparse.ArgumentParser) -> None:
    add_values_flags(p)
    p.add_argument("-q", "--quiet", action="count", default=0,
                   help="no progress bar, summary, notes or warnings: only the error that ends the command (log level "
                   "ERROR; -qq: CRITICAL)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log each file sent, unchanged or deleted (level DEBUG); default INFO, or "
                   "$STORES_LOG_LEVEL, else $POLYAXON_LOG_LEVEL")
    p.add_argument("--log-format", choices=("text", "json"), default=None,
                   help="text (default, or $STORES_LOG_FORMAT) or json: one JSON object per line on stderr, "
                   "with a timestamp (for a sidecar's log collector)")
    p.add_argument("--progress-interval", type=float, default=None, metavar="S",
                   help="off a terminal, a timestamped progress line every S seconds while a transfer runs "
                   "(default 15, or $STORES_PROGRESS_INTERVAL; 0: none)")


def _setup_logging(args: argparse.Namespace) -> Any:
    """The log settings of the flags (explicit), the environment, the defaults
    (:func:`stores.settings.load_log_settings`), installed on the ``stores`` logger."""
    from ..logs import configure
    from ..settings import load_log_settings

    settings = load_log_settings(verbosity=(args.verbose - args.quiet) or None, log_format=args.log_format,
                                 progress_interval=args.progress_interval)
    configure(settings)
    args.log_settings = settings
    return settings


def _log() -> Any:
    import logging

    return logging.getLogger("stores.cli")


def _transfer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=8, metavar="N", help="files in flight at once (default 8)")
    p.add_argument("--retries", type=int, default=4, metavar="N", help="retries per file on transient errors (default 4)")
    p.add_argument("--report", metavar="FILE",
                   help="write the account of every source entry as JSON (key, fate, size, reason), also on failure")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be sent, skipped, failed and deleted; change nothing")
    p.add_argument("--stall-timeout", type=float, default=60.0, metavar="S",
                   help="fail when nothing moves for S seconds, or no byte of a file in flight does, naming "
                   "those files (default 60): the bound on a dead store or a hung request")
    p.add_argument("--part-size", type=_size, default=None, metavar="SIZE",
                   help="bytes per ranged GET and per S3 multipart part, e.g. 8MiB (default 8MiB; memory "
                   "is about two parts per file in flight)")
    p.add_argument("--checksum", action="store_true",
                   help="compare by content, not size and time (sync), and check every file against every "
                   "checksum the store gives: MD5, S3 multipart ETags part by part, GCS crc32c, Azure "
                   "Content-MD5; a mismatch fails the file, naming it")


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
    p.add_argument("--until-file", default=None, metavar="FILE",
                   help="with --watch: also stop (final sync, then exit) once FILE exists: the classic "
                   "sidecar's signal that the main container ended")
    p.add_argument("--delete", action="store_true", help="remove files from DST that SRC does not have")
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


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1000 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3}


def _size(text: str) -> int:
    """``8MiB``, ``5M``, ``1048576``: a byte count."""
    m = re.fullmatch(r"\s*([0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 8MiB, 16M, 1048576)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _options(args: argparse.Namespace, **extra: Any) -> Any:
    from ..errors import StoresError
    from ..transfer import TransferOptions

    if args.workers < 1 or args.retries < 0 or args.stall_timeout <= 0:
        raise StoresError("--workers must be at least 1, --retries at least 0 and --stall-timeout positive")
    if args.part_size is not None and args.part_size < 64 * 1024:
        raise StoresError("--part-size must be at least 64KiB")
    if args.part_size is not None:
        extra["chunk_size"] = args.part_size
    return TransferOptions(workers=args.workers, retries=args.retries, dry_run=args.dry_run,
                           stall_timeout=args.stall_timeout, checksum=args.checksum, **extra)


def _progress(args: argparse.Namespace) -> Any:
    from ..progress import Progress

    if args.quiet:
        return False
    return Progress(enabled=None, interval=args.log_settings.progress_interval)


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
    # files skipped by a rule were logged by the transfer (stores.transfer, INFO)
    log = _log()
    for note in result.notes:
        log.info("note: %s", note)
    log.info("%s%s", "dry run: " if getattr(args, "dry_run", False) else "", result.summary(),
             extra={"fields": {"sent": result.count, "unchanged": len(result.skipped), "deleted": len(result.deleted),
                               "skipped": len(result.excluded), "failed": len(result.failed), "bytes": result.bytes,
                               "seconds": round(result.seconds, 3)}})


def _transfer(args: argparse.Namespace, run: Any, final: bool | None = None) -> Any:
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
            from . import error_line

            _write_report(args, result, final)
            error_line(str(exc))
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(1)
        raise
    finally:
        _write_report(args, result, final)


def _write_report(args: argparse.Namespace, result: Any, final: bool | None = None) -> None:
    """The account as JSON in ``--report`` (``final``: with --watch, whether this was the last
    pass); written under a temporary name and renamed, so a reader never sees half of it."""
    if not getattr(args, "report", None):
        return
    import json

    rows = result.account() if result is not None else []
    doc: dict[str, Any] = {"ok": result is not None and not result.failed}
    if final is not None:
        doc["final"] = final
    doc["entries"] = rows
    tmp = f"{args.report}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, args.report)


def cmd_ls(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    _setup_logging(args)
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

    _setup_logging(args)
    catalog = _catalog(args)
    src, skey = resolve_spec(args.src, catalog)
    dst, dkey = resolve_spec(args.dst, catalog)
    options = _options(args)
    result = _transfer(args, lambda: copy(src, dst, src_key=skey, dst_key=dkey, options=options, progress=_progress(args)))
    _report(args, result)
    return 1 if args.dry_run and result.failed else 0


def cmd_sync(args: argparse.Namespace) -> int:
    from . import EARLY_STOP

    _setup_logging(args)
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
    options = _options(args, delete=args.delete, missing_ok=args.missing_ok or args.watch)
    if args.missing_ok and skey and src.exists("") and not src.exists(skey):
        # autoResume on a run's first start: nothing to restore is not an error
        _log().info("nothing to sync: %s does not exist", args.src)
        return 0

    def once(final: bool | None = None) -> Any:
        nonlocal src, dst
        # a Secret updated while the sidecar runs: the kubelet swapped the key file; open again
        if src.key_file_changed():
            src = resolve_spec(args.src, catalog)[0]
        if dst.key_file_changed():
            dst = resolve_spec(args.dst, catalog)[0]
        result = _transfer(args, lambda: sync(src, dst, src_key=skey, dst_key=dkey, options=options,
                                              progress=_progress(args)), final)
        _report(args, result)
        return result

    if not args.watch:
        if args.until_file:
            raise StoresError("--until-file goes with --watch")
        result = once()
        return 1 if args.dry_run and result.failed else 0
    if args.interval <= 0:
        raise StoresError("--interval must be positive")

    def ended() -> bool:
        return bool(args.until_file) and os.path.exists(args.until_file)

    while not stop.is_set() and not ended():
        try:
            once(False)
        except StoresError as exc:
            # a sidecar outlives a bad minute; the final sync below still raises
            _log().warning("sync failed, will retry in %gs: %s", args.interval, exc)
        # wait for the interval, the signal or the done file, whichever comes first
        deadline = time.monotonic() + args.interval
        while not stop.is_set() and not ended() and time.monotonic() < deadline:
            stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))
    why = "the main container ended" if ended() and not stop.is_set() else "asked to stop"
    # the final pass and its outcome are always shown (-q too): a Job's log must say how it ended
    print(f"stores sync: final pass ({why})", file=sys.stderr)
    try:
        result = once(True)  # whatever was written since the last pass
    except StoresError as exc:
        print(f"stores sync: final pass failed: {exc}", file=sys.stderr)
        raise
    print(f"stores sync: final pass done: {result.summary()}", file=sys.stderr)
    return 0
