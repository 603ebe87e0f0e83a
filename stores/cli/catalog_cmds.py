"""``stores validate``, ``stores list``, ``stores schema``: the catalog commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import add_output_flag, print_data, print_table
from .values_input import add_values_argument, add_values_flags

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="check values files; report every problem with file and line",
                       description="Validate helm values files (legacy `persistence:` and current "
                       "`artifactsStore:`/`connections:`), with every check `stores render` makes of "
                       "a connection on its own (hostPath deny list, valueFrom, items, templates). "
                       "Each FILE is checked on its own; -f files and --set values are merged into one "
                       "document first, as helm merges them. Exit 1 if any document is invalid.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="a values file to check on its own ('-': standard input)")
    add_values_flags(p)
    p.add_argument("--allow-host-path", action="append", default=[], metavar="PATH",
                   help="let this exact hostPath past the deny list, as `stores render --allow-host-path` does (repeatable)")
    add_output_flag(p, "text")
    p.set_defaults(func=cmd_validate, parser=p)

    p = sub.add_parser("list", help="list the connections a values file declares",
                       description="List connections: name, kind, role, where it mounts or which bucket, which secret.")
    add_values_argument(p, "file", "FILE")
    add_values_flags(p)
    add_output_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", help="print values.schema.json (JSON Schema draft 7) for helm",
                       description="Print a JSON Schema (draft 7) for the persistence, artifactsStore "
                       "and connections sections, usable as a chart's values.schema.json. With --fragment, "
                       "only our sections' properties and their definitions, to merge into a chart's own "
                       "schema. With --check FILE, print nothing and exit 1 if FILE is not what would be "
                       "printed (a pre-commit hook; with --fragment: if FILE does not hold the fragment).")
    p.add_argument("--fragment", action="store_true",
                   help="only `properties` (our sections) and `definitions`, to merge into an existing schema")
    p.add_argument("--check", nargs="+", default=None, metavar="FILE",
                   help="exit 1 if FILE differs from the printed schema (or, with --fragment, lacks the fragment)")
    add_output_flag(p, "json")
    p.set_defaults(func=cmd_schema)


def cmd_validate(args: argparse.Namespace) -> int:
    from ..errors import ValuesError
    from .values_input import catalog_of, source_name, values_sources

    merged = bool(args.values_files or args.set_values)
    if args.files and merged:
        args.parser.error("give values files either as arguments (each checked on its own) or with "
                          "-f/--set (merged into one document), not both")
    if not args.files and not merged:
        args.parser.error("nothing to check: give a values file (FILE, -f FILE or '-' for standard input)")
    # one document per argument, or the one merged document of -f and --set
    jobs = [([f], []) for f in values_sources(args, args.files)] if args.files else \
        [(values_sources(args), list(args.set_values))]
    report: list[dict[str, Any]] = []
    failed = False
    for files, sets in jobs:
        name = source_name(files, sets)
        try:
            catalog = catalog_of(files, sets, allow_host_paths=args.allow_host_path)
        except ValuesError as exc:
            failed = True
            report.append({"file": name, "valid": False, "problems": [p.as_dict() for p in exc.problems]})
            if args.output == "text":
                for problem in exc.problems:
                    print(problem, file=sys.stderr)
            continue
        report.append({"file": name, "valid": True, "connections": len(catalog), "notes": list(catalog.notes)})
        if args.output == "text":
            print(f"{name}: ok ({len(catalog)} connections)")
            for note in catalog.notes:
                print(f"{name}: note: {note}", file=sys.stderr)
    if args.output != "text":
        print_data(report, args.output)
    return 1 if failed else 0


def _where(conn: Any) -> str:
    schema = conn.schema_
    if not conn.is_storage:
        # one of Polyaxon's other kinds: its schema is the other system's; show its address
        url = schema.get("url") if isinstance(schema, dict) else None
        if not url:
            return "-"
        from ..redact import redact_url  # a git URL may carry a token: https://TOKEN@host/...

        return redact_url(str(url))
    if conn.is_bucket:
        mount = getattr(conn, "mount", None)
        if mount is None:
            store_url: str = conn.store_path
            return store_url
        # mounted through the kind's CSI driver: the bucket, where it appears, how
        return f"{conn.bucket.url} -> {mount.mount_path} (csi{', ro' if mount.read_only else ''})"
    source = getattr(schema, "host_path", None) or f"pvc/{schema.volume_claim}"
    if getattr(schema, "sub_path", None):
        source += f"/{schema.sub_path}"
    mode = " (ro)" if schema.read_only else ""
    return f"{source} -> {conn.mount_path}{mode}"


def cmd_list(args: argparse.Namespace) -> int:
    from .values_input import load_catalog

    catalog = load_catalog(args, [args.file] if args.file else [])
    rows = []
    for role, conn in catalog.entries():
        secret = conn.secret.name if conn.secret else None
        rows.append({"name": conn.name, "kind": conn.kind, "role": role, "where": _where(conn),
                     "secret": secret, "configMap": conn.config_map.name if conn.config_map else None})
    if args.output != "table":
        print_data(rows, args.output)
    else:
        print_table(["name", "kind", "role", "where", "secret"],
                    [[r["name"], r["kind"], r["role"], r["where"], r["secret"] or "-"] for r in rows])
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ..schema import values_schema, values_schema_fragment

    schema = values_schema_fragment() if args.fragment else values_schema()
    if args.check is None:
        print_data(schema, args.output)
        return 0
    failed = False
    for path in args.check:
        problem = _schema_problem(path, schema, fragment=args.fragment)
        if problem:
            failed = True
            fix = "merge `stores schema --fragment` into it" if args.fragment else f"stores schema > {path}"
            print(f"{path}: {problem}; regenerate: {fix}", file=sys.stderr)
    return 1 if failed else 0


def _schema_problem(path: str, schema: dict[str, Any], *, fragment: bool) -> str | None:
    """Why the file at ``path`` is not (or, ``fragment``, does not hold) ``schema``; ``None``
    when it is.  Formatting is free: the JSON documents are compared, not their text."""
    import json

    from ..errors import StoresError
    from ..reader import read_file

    try:
        data = json.loads(read_file(path, what="schema file", error=StoresError))
    except StoresError as exc:
        return str(exc)
    except ValueError as exc:
        return f"not JSON ({exc})"
    if not isinstance(data, dict):
        return "not a JSON object"
    if not fragment:
        return None if data == schema else "differs from `stores schema`"
    for section in ("properties", "definitions"):
        have = data.get(section)
        have = have if isinstance(have, dict) else {}
        missing = [k for k in schema[section] if k not in have]
        stale = [k for k in schema[section] if k in have and have[k] != schema[section][k]]
        if missing or stale:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"outdated {', '.join(stale)}"] if stale else [])
            return f"{section}: {'; '.join(parts)}"
    return None
