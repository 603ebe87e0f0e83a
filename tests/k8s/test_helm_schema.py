"""Helm's own validation of values against ``values.schema.json`` (``stores schema``, shipped in
the library chart as ``files/values.schema.json``): real Helm (``helm-python-sdk``) accepts every
good document and rejects every bad one JSON Schema can describe; the rest are the marked ones of
``tests/catalog/test_schema.py`` (``test_every_schema_mark_is_justified`` lists them with the reason)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helm import as_json, helm, load_values
from k8s.chart import chart_dir
from support.paths import ROOT
from support.polyaxon_corpus import EXAMPLE_VALUES, GOOD_CORPUS
from support.corpus import CORPUS as BAD_CORPUS


@pytest.fixture(scope="module")
def schema_chart(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A chart whose values.schema.json is the library's fragment, as the guide tells chart
    authors to keep it."""
    root = tmp_path_factory.mktemp("schema") / "schema-probe"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: schema-probe\nversion: 0.1.0\n")
    (root / "values.schema.json").write_bytes((chart_dir() / "files" / "values.schema.json").read_bytes())
    with helm.Chart.load(root) as chart:
        assert chart.schema is not None
        yield chart


def _load(path: Path) -> Any:
    return load_values(path)


GOOD = EXAMPLE_VALUES + GOOD_CORPUS


def test_helm_marks_are_current() -> None:
    stems = {d.path.stem: d.schema for d in SCHEMA_CASES}
    assert {stems[s] for s in HELM_REJECTS} == {"accepts"}
    assert {stems[s] for s in HELM_ACCEPTS} == {"rejects"}


def test_good_documents_pass_helm(schema_chart: Any) -> None:
    failures = []
    for path in GOOD:
        try:
            schema_chart.validate_schema(as_json(_load(path)))
        except helm.HelmValuesError as exc:
            failures.append(f"{path.relative_to(ROOT)}: {exc}")
    assert len(GOOD) > 100
    assert failures == []


SCHEMA_CASES = [d for d in BAD_CORPUS if d.schema != "not-yaml"]

#: where Helm's validator and Python's jsonschema disagree on the same schema, and why
HELM_REJECTS = {
    # marked "accepts" for jsonschema (Python's `$` matches before a final newline); Go's
    # regexp does not, so Helm refuses it as `stores validate` does
    "name-trailing-newline",
}
HELM_ACCEPTS = {
    # an empty values file is no values at all to helm: the chart's own defaults apply, and
    # there is nothing to validate (`stores validate` refuses the file as empty)
    "empty-document",
}


@pytest.mark.parametrize("doc", SCHEMA_CASES, ids=[d.path.stem for d in SCHEMA_CASES])
def test_bad_documents_against_helm(schema_chart: Any, doc: Any) -> None:
    data = json.loads(json.dumps(yaml.safe_load(doc.path.read_text())))
    if doc.path.stem in HELM_ACCEPTS:
        schema_chart.validate_schema(data)
        return
    if not isinstance(data, dict):
        # helm's values are a mapping before any schema is looked at
        with pytest.raises(helm.HelmError):
            schema_chart.validate_schema(data)
        return
    if doc.schema == "accepts" and doc.path.stem not in HELM_REJECTS:
        # beyond JSON Schema (tests/catalog/test_schema.py says why, file by file): helm accepts it too
        schema_chart.validate_schema(data)
    else:
        with pytest.raises(helm.HelmValuesError):
            schema_chart.validate_schema(data)
