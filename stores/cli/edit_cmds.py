"""``stores migrate``, ``stores add``, ``stores remove``, ``stores set``: edit a values file in place.

Each keeps every comment and every line it does not change, validates the result before writing
(an invalid result is never written) and writes atomically (a temporary file renamed over the
original).  ``migrate`` prints a unified diff unless ``--write``; the others write unless
``--dry-run``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import add_output_flag, print_data

__all__ = ["register"]

_PLUGINS_NOTE = (
    "note: the outputs store is now the artifacts store; `stores render` without plugin options renders "
    "the same pod as before, and with plugins it is mounted on the main container only with "
    "--mount-artifacts-store (or when the run names it), as Polyaxon does"
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "migrate", help="rewrite legacy persistence as artifactsStore and connections (a diff)",
        description="Rewrite `persistence.data` as `connections:` and `persistence.outputs` as `artifactsStore:`, "
        "keeping every comment and every line outside the section as it is. Prints a unified diff; --write "
        "changes the file (atomically). Migrating twice changes nothing. Where the legacy section has no "
        "exact equivalent (logs, repos or upload stores, several outputs stores, storage connections or an "
        "artifactsStore next to it) it stops and says why, changing nothing.",
    )
    p.add_argument("file", metavar="VALUES", help="the values file")
    p.add_argument("--write", action="store_true", help="write the result to VALUES instead of printing a diff")
    add_output_flag(p, "diff")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "add", help="add a connection to a values file",
        description="Append one connection to the `connections:` list (created when missing). --key KEY=VALUE "
        "sets any other key of the connection, e.g. --key schema.subPath=team or --key secret.mountPath=/s "
        "(values read as YAML). The result is validated first, and written atomically.",
    )
    p.add_argument("file", metavar="VALUES", help="the values file")
    p.add_argument("--name", required=True, help="the connection's name")
    p.add_argument("--kind", required=True, help="its kind: host_path, volume_claim, s3, gcs, wasb, or another "
                   "Polyaxon connection kind (git, registry, ...)")
    p.add_argument("--bucket", default=None, help="schema.bucket (s3, gcs, wasb)")
    p.add_argument("--host-path", default=None, help="schema.hostPath (host_path)")
    p.add_argument("--claim", default=None, help="schema.volumeClaim (volume_claim)")
    p.add_argument("--mount-path", default=None, help="schema.mountPath (host_path, volume_claim)")
    p.add_argument("--read-only", action="store_true", default=None, help="schema.readOnly: true")
    p.add_argument("--secret", default=None, metavar="NAME", help="secret.name: the Secret with its credentials")
    p.add_argument("--key", action="append", default=[], dest="pairs", metavar="KEY=VALUE",
                   help="any other key of the connection, dotted: schema.subPath=x, secret.mountPath=/s (repeatable)")
    _edit_flags(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "remove", help="remove a connection from a values file",
        description="Remove the named connection from the `connections:` list; the lines around it stay. "
        "The artifacts store cannot be removed (change it with `stores set`).",
    )
    p.add_argument("file", metavar="VALUES", help="the values file")
    p.add_argument("name", metavar="NAME", help="the connection to remove")
    _edit_flags(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "set", help="set keys of one connection in a values file",
        description="Set keys of the named connection (in `connections:` or the `artifactsStore:`), e.g. "
        "schema.mountPath=/data or schema.readOnly=true (values read as YAML); a missing key is added. "
        "The result is validated first, and written atomically.",
    )
    p.add_argument("file", metavar="VALUES", help="the values file")
    p.add_argument("name", metavar="NAME", help="the connection to change")
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help="a dotted key and its new value")
    _edit_flags(p)
    p.set_defaults(func=cmd_set)


def _edit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print the diff instead of writing the file")
    p.add_argument("--allow-host-path", action="append", default=[], metavar="PATH",
                   help="let this exact hostPath past the deny list when validating the result (repeatable)")
    add_output_flag(p, "diff")


def _load(args: argparse.Namespace) -> Any:
    from ..edit import ValuesDocument

    return ValuesDocument.from_file(args.file, allow_host_paths=getattr(args, "allow_host_path", ()))


def _finish(args: argparse.Namespace, doc: Any, write: bool) -> int:
    written = False
    if write and doc.changed:
        doc.write()
        written = True
    diff = doc.diff()
    if args.output == "diff":
        if not write:
            sys.stdout.write(diff)
        elif written:
            print(f"{args.file}: written", file=sys.stderr)
        if not doc.changed:
            print(f"{args.file}: nothing to change", file=sys.stderr)
    else:
        print_data({"file": args.file, "changed": doc.changed, "written": written, "diff": diff}, args.output)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    doc = _load(args)
    doc.migrate()
    code = _finish(args, doc, args.write)
    if doc.changed and args.write:
        print(_PLUGINS_NOTE, file=sys.stderr)
    return code


def cmd_add(args: argparse.Namespace) -> int:
    from ..edit import parse_assignment, _set_path

    conn: dict[str, Any] = {"name": args.name, "kind": args.kind}
    flags = (("bucket", "schema.bucket"), ("host_path", "schema.hostPath"), ("claim", "schema.volumeClaim"),
             ("mount_path", "schema.mountPath"), ("read_only", "schema.readOnly"), ("secret", "secret.name"))
    for dest, key in flags:
        value = getattr(args, dest)
        if value is not None:
            conn = _set_path(conn, key.split("."), value)
    for pair in args.pairs:
        path, value = parse_assignment(pair)
        conn = _set_path(conn, path, value)
    doc = _load(args)
    doc.add(conn)
    return _finish(args, doc, not args.dry_run)


def cmd_remove(args: argparse.Namespace) -> int:
    doc = _load(args)
    doc.remove(args.name)
    return _finish(args, doc, not args.dry_run)


def cmd_set(args: argparse.Namespace) -> int:
    from ..edit import parse_assignment

    doc = _load(args)
    for pair in args.pairs:
        path, value = parse_assignment(pair)
        doc.set(args.name, path, value)
    return _finish(args, doc, not args.dry_run)
