"""The catalog commands as a user runs them: ``stores validate | list | schema`` in a subprocess.

Exit codes: 0 ok, 1 invalid input, 2 usage error; nothing ever prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from stores.cli import build_parser

from support.paths import ROOT
SEED = ROOT / "examples" / "seed-004-values.yaml"
CURRENT = ROOT / "examples" / "current-values.yaml"
DEFAULTS = ROOT / "examples" / "legacy-defaults-values.yaml"
BAD = ROOT / "tests" / "data" / "bad"


def stores(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STORES_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "stores", *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def _commands() -> list[str]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


def test_validate_ok() -> None:
    proc = stores("validate", SEED, CURRENT, DEFAULTS)
    assert proc.returncode == 0, proc.stderr
    assert f"{SEED}: ok (12 connections)" in proc.stdout
    assert f"{CURRENT}: ok (6 connections)" in proc.stdout
    assert f"{DEFAULTS}: ok (2 connections)" in proc.stdout
    # both connections of DEFAULTS are the old chart's defaults: said on stderr, nothing else is
    assert proc.stderr.splitlines() == [
        f"{DEFAULTS}: note: persistence.data is not set: the old chart's default data store is added "
        "('default-data', host path /data on /data)",
        f"{DEFAULTS}: note: persistence.outputs is not set: the old chart's default outputs store is added "
        "('default-outputs', host path /outputs on /outputs)",
    ]


def test_validate_invalid_reports_file_and_line_on_stderr() -> None:
    bad = BAD / "several-problems.yaml"
    proc = stores("validate", SEED, bad)
    assert proc.returncode == 1
    assert f"{SEED}: ok" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 5
    assert f"{bad}:16: persistence.data.data-s3.bucket: expected an s3:// URL for store s3, got 'gs://wrong'" in lines
    assert all(line.startswith(f"{bad}:") for line in lines)


@pytest.mark.parametrize("name", ["billion-laughs", "invalid-yaml-syntax", "unsafe-python-tag", "empty-document"])
def test_validate_hostile_or_broken_input_is_exit_1(name: str) -> None:
    proc = stores("validate", BAD / f"{name}.yaml")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{BAD / name}.yaml:")


def test_validate_missing_file() -> None:
    proc = stores("validate", ROOT / "no-such-values.yaml")
    assert proc.returncode == 1
    assert "no-such-values.yaml: the document: no such file" in proc.stderr


def test_validate_json() -> None:
    bad = BAD / "mountpath-root.yaml"
    proc = stores("validate", "--output", "json", SEED, bad)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report[0] == {"file": str(SEED), "valid": True, "connections": 12, "notes": []}
    assert report[1]["valid"] is False
    assert report[1]["problems"] == [{
        "file": str(bad), "line": 7, "path": "persistence.outputs.everything.mountPath",
        "message": "mountPath may not be the root '/', got '/'",
    }]


def test_list_table() -> None:
    proc = stores("list", CURRENT)
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.strip().splitlines()
    assert header.split() == ["NAME", "KIND", "ROLE", "WHERE", "SECRET"]
    assert [r.split()[0] for r in rows] == [
        "artifacts", "datasets", "shared-claim", "s3-data", "gcs-models", "azure-outputs"]
    assert any("s3://ml-data/datasets" in r and "s3-credentials" in r for r in rows)
    assert any("/mnt/datasets -> /data/datasets (ro)" in r for r in rows)


def test_list_json() -> None:
    proc = stores("list", "-o", "json", DEFAULTS)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {"name": "default-data", "kind": "host_path", "role": "data", "where": "/data -> /data",
         "secret": None, "configMap": None},
        {"name": "default-outputs", "kind": "host_path", "role": "outputs", "where": "/outputs -> /outputs",
         "secret": None, "configMap": None},
    ]


def test_list_defaults_to_the_bundled_example() -> None:
    proc = stores("list", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in json.loads(proc.stdout)] == ["datasets", "scratch", "team-outputs", "local-outputs"]


def test_list_of_an_invalid_file_is_exit_1() -> None:
    proc = stores("list", BAD / "unknown-kind.yaml")
    assert proc.returncode == 1
    assert "unknown-kind.yaml:5: connections[0].kind: unknown kind 'nfs'" in proc.stderr
    assert proc.stdout == ""


def test_schema_prints_a_draft7_schema() -> None:
    proc = stores("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["properties"]) == {"persistence", "artifactsStore", "defaultArtifactsStore", "connections"}


def test_every_command_is_listed() -> None:
    assert {"validate", "list", "schema"} <= set(_commands())


@pytest.mark.parametrize("command", [[]] + [[c] for c in _commands()], ids=lambda c: " ".join(c) or "stores")
def test_help_exits_0(command: list[str]) -> None:
    proc = stores(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: stores")


@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["validate"],
    ["validate", "--output", "xml", str(SEED)],
    ["validate", str(SEED), "-f", str(CURRENT)],
    ["list", "--output", "xml"],
    ["schema", "extra-argument"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    proc = stores(*args)
    assert proc.returncode == 2
    assert "usage: stores" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    from stores import __version__

    res = stores(flag)
    assert res.returncode == 0 and res.stdout.strip() == f"stores {__version__}", res.stderr
