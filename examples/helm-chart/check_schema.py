"""Check that values.schema.json is what `stores schema` prints today, and that values.yaml
passes both the schema and `stores validate`.

    python3 examples/helm-chart/check_schema.py           # exit 1 when stale or invalid
    python3 examples/helm-chart/check_schema.py --write   # regenerate the schema

Run it in CI after upgrading plx-stores: a new version may accept (or refuse) more.  The JSON
Schema check needs ``jsonschema`` (pip install jsonschema); without it only the other two run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from stores import Catalog, ValuesError, values_schema

CHART = Path(__file__).resolve().parent
SCHEMA = CHART / "values.schema.json"
VALUES = CHART / "values.yaml"


def rendered() -> str:
    # the same bytes as `stores schema > values.schema.json`
    return json.dumps(values_schema(), indent=2) + "\n"


def schema_errors(values: Any, schema: dict[str, Any]) -> list[str] | None:
    try:
        import jsonschema
    except ImportError:
        return None
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(values)]


def main(argv: list[str]) -> int:
    if "--write" in argv:
        SCHEMA.write_text(rendered())
        print(f"wrote {SCHEMA.name}")
        return 0
    failed = False
    if not SCHEMA.is_file() or SCHEMA.read_text() != rendered():
        print(f"{SCHEMA.name} is stale: regenerate it with `stores schema > values.schema.json`")
        failed = True
    else:
        print(f"{SCHEMA.name} is current")
    values = yaml.safe_load(VALUES.read_text())
    errors = schema_errors(values, json.loads(SCHEMA.read_text())) if SCHEMA.is_file() else None
    if errors is None:
        print("jsonschema is not installed: schema check skipped")
    elif errors:
        print(f"{VALUES.name} fails the schema:", *errors, sep="\n  ")
        failed = True
    else:
        print(f"{VALUES.name} passes the schema")
    try:
        catalog = Catalog.from_file(VALUES)
    except ValuesError as exc:
        print(exc)
        failed = True
    else:
        print(f"{VALUES.name} passes stores validate ({len(catalog)} connections)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
