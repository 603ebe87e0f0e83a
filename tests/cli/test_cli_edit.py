"""``stores migrate``, ``add``, ``remove``, ``set``: diffs, --write / --dry-run, refusals without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "data" / "polyaxon" / "docs" / "v0-data-on-s3-4.yaml"


def stores(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STORES_DEBUG" and not k.startswith("POLYAXON_")}
    proc = subprocess.run([sys.executable, "-m", "stores", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def test_migrate_prints_a_diff_then_writes_then_has_nothing_to_do(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    original = LEGACY.read_text()
    values.write_text(original)
    res = stores("migrate", values)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"--- {values}\n+++ {values}\n@@ ")
    assert "-persistence:" in res.stdout and "+connections:" in res.stdout and "+artifactsStore:" in res.stdout
    assert values.read_text() == original  # a diff only
    res = stores("migrate", values, "--write")
    assert res.returncode == 0 and res.stdout == ""
    assert "--mount-artifacts-store" in res.stderr  # the note on plugins
    assert "persistence" not in yaml.safe_load(values.read_text())
    again = stores("migrate", values, "-o", "json")
    assert json.loads(again.stdout) == {"file": str(values), "changed": False, "written": False, "diff": ""}


def test_migrate_refuses_what_has_no_exact_equivalent(tmp_path: Path) -> None:
    seed = ROOT / "examples" / "seed-004-values.yaml"
    res = stores("migrate", seed, "--write")
    assert res.returncode == 1
    assert "examples/seed-004-values.yaml:31: persistence.outputs: 6 outputs stores" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("persistence:\n  data:\n    d:\n      hostPath: /d\n")
    res = stores("migrate", bad)
    assert res.returncode == 1 and f"{bad}:3: persistence.data.d.mountPath: required key missing" in res.stderr


def test_add_set_remove_write_in_place_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("# ours\nconnections:  # all of them\n  - name: a   # first\n    kind: host_path\n"
                      "    schema: {hostPath: /a, mountPath: /a}\n")
    before = values.read_text()
    res = stores("add", values, "--name", "b", "--kind", "s3", "--bucket", "s3://bucket-b", "--secret", "aws",
                 "--key", "secret.mountPath=/plx-secrets/b", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "+  - name: b\n+    kind: s3\n" in res.stdout and values.read_text() == before
    res = stores("add", values, "--name", "b", "--kind", "s3", "--bucket", "s3://bucket-b", "--secret", "aws",
                 "--key", "secret.mountPath=/plx-secrets/b")
    assert res.returncode == 0, res.stderr
    assert values.read_text().startswith(before)
    res = stores("set", values, "a", "schema.readOnly=true", "description=the a store")
    assert res.returncode == 0, res.stderr
    text = values.read_text()
    assert "  - name: a   # first\n    kind: host_path\n    schema: {hostPath: /a, mountPath: /a, readOnly: true}\n" \
        "    description: the a store\n" in text
    res = stores("remove", values, "a", "-o", "yaml")
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(res.stdout)["written"] is True
    doc = yaml.safe_load(values.read_text())
    assert [c["name"] for c in doc["connections"]] == ["b"]
    assert values.read_text().startswith("# ours\nconnections:  # all of them\n")


def test_an_invalid_edit_is_refused_and_the_file_is_untouched(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("connections:\n  - name: a\n    kind: host_path\n    schema: {hostPath: /a, mountPath: /a}\n")
    before = values.read_text()
    for args in (("set", values, "a", "schema.mountPath=relative"),
                 ("set", values, "a", "schema.hostPath=/etc"),
                 ("add", values, "--name", "a", "--kind", "host_path", "--host-path", "/b", "--mount-path", "/b"),
                 ("add", values, "--name", "c", "--kind", "nfs"),
                 ("remove", values, "zzz"),
                 ("set", values, "a", "no-equals-sign")):
        res = stores(*args)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert res.stderr.startswith("error: ") and values.read_text() == before
    ok = stores("set", values, "a", "schema.hostPath=/etc", "--allow-host-path", "/etc")
    assert ok.returncode == 0, ok.stderr


def test_stores_help_does_not_import_the_editors() -> None:
    code = ("import sys\nfrom stores.cli import build_parser\nbuild_parser()\n"
            "print(any(m in sys.modules for m in ('stores.edit', 'stores.migrate', 'stores.yamlspans', 'pydantic')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.stdout.strip() == "False", res.stderr
