"""Printing helpers shared by the commands: tables for people, JSON/YAML for machines."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

__all__ = ["print_table", "print_json", "print_yaml", "print_data", "add_output_flag", "json_object_arg"]

#: what a person reads first, by command: the machine formats (json, yaml) are always there too
_HUMAN = {"diff": "a unified diff", "table": "a table", "text": "one line per file", "env": "shell assignments", "yaml": "YAML",
          "json": "JSON"}


def add_output_flag(parser: Any, first: str = "table", *, default: str | None = None) -> None:
    """``-o/--output``: ``first`` (the command's own format) plus json and yaml, on every
    command that prints data."""
    choices = list(dict.fromkeys([first, "json", "yaml"]))
    default = default or first
    parser.add_argument(
        "-o", "--output", choices=choices, default=default, metavar="|".join(choices),
        help=f"output format: {', '.join(f'{c} ({_HUMAN[c]})' for c in choices)}; default {default}",
    )


def print_data(data: Any, fmt: str, file: Any = None) -> None:
    """``data`` as JSON or YAML (``fmt``: ``json`` or ``yaml``)."""
    (print_json if fmt == "json" else print_yaml)(data, file)


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
