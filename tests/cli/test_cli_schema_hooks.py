"""Helm CI hooks: ``stores schema --check``, ``stores schema --fragment`` (merged into a chart's
own schema), clean definition names, and the hooks of ``.pre-commit-hooks.yaml`` run as
pre-commit runs them (the entry, then the matching file names)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from stores.schema import SECTIONS, values_schema, values_schema_fragment

ROOT = Path(__file__).resolve().parents[2]
CHART_SCHEMA = ROOT / "examples" / "helm-chart" / "values.schema.json"
VALUES = ROOT / "examples" / "current-values.yaml"
BAD = ROOT / "tests" / "data" / "bad" / "claim-bad-name.yaml"


def _stores(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stores", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_definition_names_are_clean():
    schema = values_schema()
    names = list(schema["definitions"])
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", n) for n in names), names
    assert "Persistence" in names
    for ref in _refs(schema):
        assert ref.startswith("#/definitions/") and ref.removeprefix("#/definitions/") in names, ref


def test_check_passes_on_the_current_schema_and_fails_on_a_stale_one(tmp_path):
    res = _stores("schema", "--check", str(CHART_SCHEMA))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    current = tmp_path / "values.schema.json"
    current.write_text(json.dumps(values_schema()))  # other formatting, same schema
    assert _stores("schema", "--check", str(current)).returncode == 0
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    res = _stores("schema", "--check", str(current), str(stale), str(broken), str(tmp_path / "missing.json"))
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0] == f"{stale}: differs from `stores schema`; regenerate: stores schema > {stale}"
    assert lines[1].startswith(f"{broken}: not JSON")
    assert lines[2].startswith(f"{tmp_path / 'missing.json'}:")


def test_the_fragment_holds_only_our_sections():
    fragment = json.loads(_stores("schema", "--fragment").stdout)
    assert fragment == values_schema_fragment()
    assert set(fragment) == {"$comment", "properties", "definitions"}
    assert list(fragment["properties"]) == list(SECTIONS)
    assert fragment["definitions"] == values_schema()["definitions"]


CHART_OWN = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["replicaCount"],
    "properties": {"replicaCount": {"type": "integer", "minimum": 1}, "image": {"$ref": "#/definitions/Image"}},
    "definitions": {"Image": {"type": "object", "properties": {"repository": {"type": "string"}}}},
}


def merge(chart: dict, fragment: dict) -> dict:
    """The merge the CLI reference documents: properties into properties, definitions into
    definitions; a definition name the chart already uses is a conflict, not an overwrite."""
    clash = set(chart.get("definitions", {})) & set(fragment["definitions"])
    if clash:
        raise ValueError(f"definition names used by both: {sorted(clash)}")
    return {**chart, "properties": {**chart.get("properties", {}), **fragment["properties"]},
            "definitions": {**chart.get("definitions", {}), **fragment["definitions"]}}


def test_the_fragment_merged_into_a_chart_schema_checks_our_sections(tmp_path):
    merged = merge(CHART_OWN, values_schema_fragment())
    jsonschema.Draft7Validator.check_schema(merged)
    values = {"replicaCount": 2, "image": {"repository": "x"}, **yaml.safe_load(VALUES.read_text())}
    jsonschema.validate(values, merged)
    bad = {**values, "connections": [{"name": "x", "kind": "host_path", "schema": {"hostPath": 3}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, merged)
    with pytest.raises(jsonschema.ValidationError):  # the chart's own rules still hold
        jsonschema.validate({**values, "replicaCount": 0}, merged)
    path = tmp_path / "values.schema.json"
    path.write_text(json.dumps(merged, indent=2))
    assert _stores("schema", "--fragment", "--check", str(path)).returncode == 0
    # a whole-document check of a merged schema fails: it is not `stores schema`
    assert _stores("schema", "--check", str(path)).returncode == 1
    stale = json.loads(path.read_text())
    stale["definitions"]["S3Schema"]["properties"].pop("bucket")
    del stale["properties"]["connections"]
    path.write_text(json.dumps(stale))
    res = _stores("schema", "--fragment", "--check", str(path))
    assert res.returncode == 1
    assert "properties: missing connections" in res.stderr and "merge `stores schema --fragment`" in res.stderr


# -- .pre-commit-hooks.yaml ----------------------------------------------------------------------


def _hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def _run_hook(hook: dict, *files: Path, root: Path = ROOT) -> subprocess.CompletedProcess:
    """As pre-commit runs a hook: the entry, then the names (relative to the repository root
    ``root``) of the files that match ``files``."""
    pattern = re.compile(hook["files"])
    matched = [str(f.relative_to(root)) for f in files if pattern.search(str(f.relative_to(root)))]
    assert matched, f"{hook['id']} matches none of {files}"
    argv = shlex.split(hook["entry"])
    assert argv[0] == "stores"
    return _stores(*argv[1:], *matched, cwd=root)


def test_pre_commit_hooks_are_well_formed():
    hooks = _hooks()
    assert set(hooks) == {"stores-validate", "stores-schema-check", "stores-schema-fragment-check"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit installs this repository's package


def test_validate_hook(tmp_path):
    hook = _hooks()["stores-validate"]
    assert _run_hook(hook, ROOT / "examples" / "helm-chart" / "values.yaml").returncode == 0
    chart = tmp_path / "charts" / "app"
    chart.mkdir(parents=True)
    (chart / "values.yaml").write_text((ROOT / "examples" / "helm-chart" / "values.yaml").read_text())
    (chart / "values-bad.yaml").write_text(BAD.read_text())
    res = _run_hook(hook, chart / "values.yaml", chart / "values-bad.yaml", root=tmp_path)
    assert res.returncode == 1 and "charts/app/values-bad.yaml" in res.stdout + res.stderr
    assert "charts/app/values.yaml: ok" in res.stdout
    assert not re.search(hook["files"], "examples/helm-chart/Chart.yaml")


def test_schema_check_hooks():
    assert _run_hook(_hooks()["stores-schema-check"], CHART_SCHEMA).returncode == 0
    # the whole schema holds the fragment too
    assert _run_hook(_hooks()["stores-schema-fragment-check"], CHART_SCHEMA).returncode == 0
