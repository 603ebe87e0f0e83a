"""Differential test against Polyaxon 2.18: the same connections give the same pod.

Polyaxon 2.18 lives in its own virtualenv (``scripts/test.sh`` makes ``.bench/polyaxon-venv``;
``STORES_POLYAXON_PYTHON`` points at another).  Its converter renders every case of
``tests/parity/cases.py`` and every storage file of the Polyaxon corpus (``tests/data/polyaxon``)
once per session (``tests/parity/polyaxon_oracle.py``); ours renders the same input; the two pods
are compared field by field (``tests/parity/compare.py``).  Every difference must be a row of the
intended-differences table, which is also ``docs/reference/polyaxon-differences.md``.
Without the Polyaxon virtualenv the tests skip, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "parity"))

import cases as parity_cases  # noqa: E402
import compare  # noqa: E402

POLYAXON_PY = Path(os.environ.get("STORES_POLYAXON_PYTHON", ROOT / ".bench" / "polyaxon-venv" / "bin" / "python"))
CORPUS = ROOT / "tests" / "data" / "polyaxon"
DOCS_TABLE = ROOT / "docs" / "reference" / "polyaxon-differences.md"


def _corpus_cases() -> list[dict[str, Any]]:
    """Each valid corpus file with a storage connection, every connection selected by the run."""
    from stores.catalog import Catalog
    from stores.errors import ValuesError

    out = []
    for path in sorted(CORPUS.rglob("*.yaml")):
        if ".invalid" in path.name:
            continue
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict):
            continue
        try:
            catalog = Catalog.from_values(doc)
        except ValuesError:
            continue  # the corpus test says which files are refused, and why
        if catalog.artifacts_store is None or catalog.data or catalog.outputs:
            continue  # Polyaxon's agent needs an artifacts store; the legacy spelling it never read
        values = {"artifactsStore": doc.get("artifactsStore") or doc.get("defaultArtifactsStore"),
                  "connections": doc.get("connections") or []}
        if not values["artifactsStore"]:
            continue
        names = [c.name for c in catalog.connections]
        out.append({"id": f"corpus:{path.relative_to(CORPUS)}", "uuid": parity_cases.UUID, "values": values,
                    "run": {"connections": names, "init": []}, "plugins": {}})
    return out


ALL_CASES = parity_cases.CASES + _corpus_cases()


@pytest.fixture(scope="session")
def polyaxon_pods() -> dict[str, Any]:
    if not POLYAXON_PY.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Polyaxon 2.18's virtualenv is missing ({POLYAXON_PY}); scripts/test.sh makes it")
        pytest.skip(f"no Polyaxon 2.18 virtualenv at {POLYAXON_PY} (bash scripts/test.sh makes it)")
    proc = subprocess.run(
        [str(POLYAXON_PY), str(ROOT / "tests" / "parity" / "polyaxon_oracle.py")],
        input=json.dumps(ALL_CASES), capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("POLYAXON_")},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_enough_cases() -> None:
    assert len(parity_cases.CASES) >= 60
    assert len({c["id"] for c in ALL_CASES}) == len(ALL_CASES)


def test_polyaxon_is_2_18(polyaxon_pods: dict[str, Any]) -> None:
    out = subprocess.run([str(POLYAXON_PY), "-c", "import polyaxon.pkg; print(polyaxon.pkg.VERSION)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("2.18.")


@pytest.mark.parametrize("case", ALL_CASES, ids=[c["id"] for c in ALL_CASES])
def test_same_pod_as_polyaxon(case: dict[str, Any], polyaxon_pods: dict[str, Any]) -> None:
    poly = polyaxon_pods[case["id"]]
    if case["id"].startswith("corpus:") and "error" in poly:
        pytest.skip(f"Polyaxon 2.18 refuses this file: {poly['error'][:200]}")
    assert "error" not in poly, f"Polyaxon refused a case of ours: {poly['error']}"
    mine = compare.ours(case)
    unexplained = [str(d) for d in compare.differences(case, poly, mine) if d.code is None]
    assert not unexplained, "\n".join(unexplained)


def test_store_volumes_keep_polyaxons_names(polyaxon_pods: dict[str, Any]) -> None:
    """Zero volume-name or mount-path differences where Polyaxon's pod is valid: for every case,
    each volume Polyaxon names validly is in ours under that name, mounted at the same paths."""
    label = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
    checked = 0
    for case in ALL_CASES:
        poly = polyaxon_pods[case["id"]]
        if "error" in poly:
            continue
        mine = compare.normalise(compare.ours(case))
        theirs = compare.normalise(poly)
        for name in theirs["volumes"]:
            if name == "configs-context" or not label.fullmatch(name):
                continue
            assert name in mine["volumes"], (case["id"], name)
            checked += 1
        for path, (name, _) in theirs["main"]["mounts"].items():
            if name == "configs-context" or not label.fullmatch(name):
                continue
            assert mine["main"]["mounts"].get(path, (None,))[0] == name, (case["id"], path)
    assert checked > 100


def test_a_real_difference_is_caught(polyaxon_pods: dict[str, Any]) -> None:
    """The comparison can fail: a renamed volume or a lost env var is unexplained."""
    case = next(c for c in parity_cases.CASES if c["id"] == "mixed-4")
    mine = compare.ours(case)
    renamed = json.loads(json.dumps(mine))
    renamed["volumes"][0]["name"] += "-x"
    lost = json.loads(json.dumps(mine))
    lost["main"]["envFrom"] = []
    for broken in (renamed, lost):
        diffs = compare.differences(case, polyaxon_pods[case["id"]], broken)
        assert any(d.code is None for d in diffs)


def test_docs_table_is_the_intended_table() -> None:
    text = DOCS_TABLE.read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.M)
    assert rows == list(compare.INTENDED), "docs/reference/polyaxon-differences.md and compare.INTENDED differ"
