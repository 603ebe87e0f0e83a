"""Polyaxon's own files load: chart values (v0, v1, v2, agent), documented snippets, test fixtures.

The corpus is ``tests/data/polyaxon`` (its README says where each file comes from).  Every file
validates, except:

- files named ``*.invalid.yaml``: documented snippets with ``...`` / ``<...>`` / ``[NAME]``
  placeholders, broken YAML, or a docs mistake (a connection list under ``persistence:``, one name
  twice); each is refused with ``file:line``;
- ``REFUSED`` below: Polyaxon test fixtures whose dummy values would render a pod the API server
  refuses (a secret named ``mount_test1``) or a store nothing can open (bucket ``s3//:foo``); each
  is refused with the reason named.

Every storage file that validates also renders, and the result is valid for Kubernetes 1.25 and
1.37 (strict).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from k8s import render_patch
from k8s.validate import validate_manifest, wrap_patch
from stores.catalog import Catalog
from stores.settings import Settings
from stores.errors import ValuesError
from stores.contract.runinfo import RunInfo
from support.polyaxon_corpus import CORPUS, ITEM_FILES, REFUSED, VALUES_FILES

RUN = RunInfo(uuid="0123456789abcdef0123456789abcdef", owner="acme", project="vision")


def _rel(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def test_corpus_is_there() -> None:
    names = {_rel(p) for p in VALUES_FILES}
    assert {"charts/v0-polyaxon-values.yaml", "charts/v1-polyaxon-values.yaml", "charts/v2-polyaxon-values.yaml",
            "charts/v2-agent-values.yaml"} <= names
    assert len(VALUES_FILES) > 150
    assert set(REFUSED) <= names


@pytest.mark.parametrize("path", VALUES_FILES, ids=_rel)
def test_polyaxon_file_loads(path: Path) -> None:
    rel = _rel(path)
    if ".invalid" in path.name or rel in REFUSED:
        with pytest.raises(ValuesError) as info:
            Catalog.from_file(path)
        first = info.value.problems[0]
        assert first.file == str(path) and first.line is not None, str(first)
        if rel in REFUSED:
            assert any(REFUSED[rel] in p.message for p in info.value.problems), str(info.value)
        return
    catalog = Catalog.from_file(path)
    assert len(catalog) >= 1


@pytest.mark.parametrize("path", ITEM_FILES, ids=_rel)
def test_documented_connection_loads(path: Path) -> None:
    """The docs' single connections (and lists of them), as a ``connections:`` section."""
    doc = yaml.safe_load(path.read_text()) if ".invalid" not in path.name else None
    if doc is None:
        with pytest.raises(ValuesError):
            Catalog.from_yaml(path.read_text(), file=str(path))
            Catalog.from_values({"connections": [yaml.safe_load(path.read_text())]})
        return
    conns = doc if isinstance(doc, list) else [doc]
    if any("name" not in c for c in conns):
        pytest.skip("the docs leave the name out of this one (a fragment)")
    catalog = Catalog.from_values({"connections": conns})
    assert {c.name for c in catalog.connections} == {c["name"] for c in conns}


@pytest.mark.parametrize("path", [p for p in VALUES_FILES if ".invalid" not in p.name and _rel(p) not in REFUSED], ids=_rel)
def test_polyaxon_file_renders_valid_kubernetes(path: Path) -> None:
    """Each store of the file, selected by a run on its own (several files mount all their data
    stores on one path, which no single pod can hold), renders strict-valid for 1.25 and 1.37
    (rendered for each: a classic sidecar for 1.25, a native one for 1.37)."""
    catalog = Catalog.from_file(path)
    legacy = bool(catalog.data or catalog.outputs)
    for role, conn in catalog.entries():
        if not conn.is_storage or role not in ("data", "connection", "artifacts_store"):
            continue
        if legacy:
            request = {"persistence": {"data": [conn.name] if role == "data" else []}}
        else:
            request = {"run": {"kind": "job", "connections": [conn.name]}}
        # a snippet without an artifacts store is part of a values file that has one
        plugins = {} if catalog.artifacts_store is not None or legacy else None
        for version in ("1.25", "1.37"):
            patch = render_patch(catalog, request, RUN, plugins=plugins, settings=Settings(kube_version=version))
            validate_manifest(wrap_patch(patch, "Pod"), version)


def test_no_storage_section_gets_the_default_store_with_a_note() -> None:
    catalog = Catalog.from_values({"ingress": {"enabled": False}})
    assert catalog.artifacts_store is not None and catalog.artifacts_store.name == "default-artifacts-store"
    assert catalog.notes and "default artifacts store" in catalog.notes[0]


def test_empty_artifacts_store_falls_back_to_default_artifacts_store() -> None:
    doc = yaml.safe_load((CORPUS / "charts" / "v2-polyaxon-values.yaml").read_text())
    catalog = Catalog.from_values(doc)
    assert catalog.artifacts_store.name == doc["defaultArtifactsStore"]["name"]
    doc["artifactsStore"] = {"name": "mine", "kind": "host_path", "schema": {"hostPath": "/a", "mountPath": "/a"}}
    assert Catalog.from_values(doc).artifacts_store.name == "mine"


def test_typos_still_get_a_suggestion() -> None:
    with pytest.raises(ValuesError) as info:
        Catalog.from_values({"connection": [], "artifactsStore": None})
    assert "did you mean 'connections'" in str(info.value)
    with pytest.raises(ValuesError) as info:
        Catalog.from_values({"connections": [{"name": "x", "kind": "gti", "schema": {}}]})
    assert "did you mean 'git'" in str(info.value)
