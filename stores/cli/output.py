"""Printing helpers shared by the commands: tables for people, JSON/YAML for machines."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

__all__ = ["print_table", "print_json", "print_yaml", "add_output_flag", "json_object_arg"]


def add_output_flag(parser: Any, choices: Sequence[str] = ("table", "json"), default: str = "table") -> None:
    parser.add_argument(
        "-o", "--output", choices=list(choices), default=default,
        help=f"output format (default: {default})",
    )


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], file: Any = None) -> None:
    file = file or sys.stdout
    cells = [[str(h).upper() for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=file)


def print_json(data: Any, file: Any = None) -> None:
    json.dump(data, file or sys.stdout, indent=2, sort_keys=False)
    (file or sys.stdout).write("\n")


def print_yaml(data: Any, file: Any = None) -> None:
    import yaml

    yaml.safe_dump(data, file or sys.stdout, sort_keys=False, default_flow_style=False)


def json_object_arg(text: str | None, flag: str) -> dict[str, Any] | None:
    """A command-line flag holding a JSON object (``--inputs '{"lr": 0.1}'``); ``None`` if not
    given.  Bad input is a usage-level ``ValuesError`` naming the flag."""
    from ..errors import Problem, ValuesError
    from ..reader import load_json

    if text is None:
        return None
    # stores.reader.load_json: nesting, duplicate keys and lone surrogates are refused too
    value = load_json(text, what="", error=lambda m: ValuesError([Problem((flag,), m.strip().removeprefix("is "))]))
    if not isinstance(value, dict):
        raise ValuesError([Problem((flag,), f"must be a JSON object, got {type(value).__name__}")])
    return value
