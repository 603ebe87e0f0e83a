"""Differential test against Polyaxon 2.18: the same connections give the same pod.

Polyaxon 2.18 lives in its own virtualenv (``scripts/test.sh`` makes ``.bench/polyaxon-venv``;
``STORES_POLYAXON_PYTHON`` points at another).  Its converter renders every case of
``tests/support/parity/cases.py`` and every storage file of the Polyaxon corpus (``tests/data/polyaxon``)
once per session (``tests/support/parity/polyaxon_oracle.py``); ours renders the same input; the two pods
are compared field by field (``tests/support/parity/compare.py``).  Every difference must be a row of the
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

from support.parity import cases as parity_cases
from support.parity import compare
from support.paths import ROOT

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
        [str(POLYAXON_PY), str(ROOT / "tests" / "support" / "parity" / "polyaxon_oracle.py")],
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
        rendered = compare.ours(case)
        if "error" in rendered:
            # refused on purpose (a mount clash, an env clash, a denied hostPath): the main test
            # holds each refusal to a row of the table
            assert all(d.code for d in compare.differences(case, poly, rendered)), rendered["error"]
            continue
        names = [v["name"] for v in poly["volumes"]]
        if len(names) != len(set(names)):
            continue  # Polyaxon's pod holds two volumes of one name: not valid, renamed on purpose
        mine = compare.normalise(rendered)
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


# -- Polyaxon's own per-connection output, recorded from its test modules ---------------------------

ASSERTIONS = CORPUS / "fixtures" / "ASSERTIONS.md"


def _recorded_rows() -> list[dict[str, Any]]:
    """Section 2 of ASSERTIONS.md: for each connection Polyaxon's tests build, the volume, mount,
    secret / config-map volume and mount Polyaxon's converter makes of it."""
    text = ASSERTIONS.read_text()
    section = text.split("## 2.", 1)[1].split("## 3.", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not cells[1].startswith("`{"):
            continue
        parsed = [json.loads(c.strip("`")) if c.startswith("`") else None for c in cells[1:]]
        rows.append(dict(zip(("connection", "volume", "mount", "resource_volume", "resource_mount"), parsed)))
    return rows


RECORDED = _recorded_rows()


def test_polyaxons_recorded_outputs_are_ours() -> None:
    """Each recorded connection we accept, selected alone, gives the volume and mounts Polyaxon's
    converter gave it (bare-string items read as {key, path}); connections we refuse are the
    fixtures' dummy values (see test_polyaxon_corpus.REFUSED)."""
    from k8s import render_patch
    from stores.catalog import Catalog
    from stores.errors import StoresError
    from stores.contract.runinfo import RunInfo

    assert len(RECORDED) > 90
    checked = refused = 0
    label = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
    for row in RECORDED:
        conn = row["connection"]
        try:
            catalog = Catalog.from_values({"connections": [conn]})
            patch = render_patch(catalog, {"run": {"connections": [conn["name"]]}}, RunInfo(uuid="u1"))
            doc = patch.to_dict()
        except StoresError:
            refused += 1
            continue
        volumes = {v["name"]: compare._volume_source(v) for v in doc["spec"].get("volumes", [])}
        mounts = {compare._path(m["mountPath"]): m for m in doc["spec"]["containers"][0].get("volumeMounts", [])}
        for vol_key, mount_key in (("volume", "mount"), ("resource_volume", "resource_mount")):
            want_volume, want_mount = row[vol_key], row[mount_key]
            if want_volume is None or not label.fullmatch(want_volume["name"]):
                continue  # nothing, or a name the API server refuses (renamed: derived-volume-name)
            assert volumes.get(want_volume["name"]) == compare._volume_source(want_volume), (conn, want_volume)
            got = mounts[compare._path(want_mount["mountPath"])]
            assert (got["name"], bool(got.get("readOnly"))) == (want_mount["name"], bool(want_mount.get("readOnly"))), conn
            checked += 1
    assert checked > 30 and refused < len(RECORDED) / 4, (checked, refused)
