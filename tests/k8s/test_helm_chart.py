"""The library chart ``plx-stores`` rendered by real Helm (``helm-python-sdk``: Helm v4 as a shared
library, no binary, no cluster) against ``stores render``'s Python API, for the same values and run.

For every example values file, the good Polyaxon corpus and the regression documents that load,
and for several selections each (the defaults, each connection alone, each outputs store alone),
the two give the same ``volumes``, main-container ``volumeMounts``, ``env`` and ``envFrom``:
names, order and values.  Where the Python renderer refuses a selection (two mounts on one path),
Helm's rendering fails too.  Every difference is reported, not only the first.

Known, explained differences: ``POLYAXON_CONNECTIONS_CATALOG`` is not emitted by the chart
(``helm_support.NOT_IN_CHART``); the documents the chart cannot render the same are
``KNOWN_DIFFERENCES`` below (strict xfails: none of them is an example or a corpus file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helm import differences, helm, helm_patch, load_values, probe_chart, python_patch
from k8s.chart import chart_dir, export_chart
from stores.catalog import Catalog
from stores.errors import StoresError, ValuesError
from stores.selection import _candidates
from support.paths import ROOT
from support.polyaxon_corpus import CORPUS, EXAMPLE_VALUES, GOOD_CORPUS

REGRESSIONS = sorted((ROOT / "tests" / "data" / "regressions").glob("*.yaml"))

RUN = {"uuid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "owner": "acme", "project": "vision", "name": "train"}



def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _load(path: Path) -> Any:
    return load_values(path)


def _selections(catalog: Catalog) -> list[dict[str, Any]]:
    """The defaults; each data store, the artifacts store and each connection alone; each outputs
    store alone.  Several legacy outputs stores: the first is named (helm keeps no mapping order)."""
    data, outputs = _candidates(catalog)
    first = {"outputs": outputs[0].name} if len(catalog.outputs) > 1 else {}
    runs = [dict(RUN, **first)]
    runs += [dict(RUN, data=[c.name], **first) for role, c in catalog.entries()
             if role in ("data", "artifacts_store", "connection")]
    runs += [dict(RUN, data=[], outputs=o.name) for o in outputs]
    runs.append(dict(RUN, data=[], name=None, owner="o", project="p", **first))
    return runs


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with helm.Chart.load(probe_chart(tmp_path_factory.mktemp("helm"))) as chart:
        yield chart


def _compare(probe: Any, doc: Any, run: dict[str, Any], catalog: Catalog | None = None) -> list[str]:
    run = {k: v for k, v in run.items() if v is not None}
    try:
        ours = python_patch(doc, run, catalog)
    except StoresError as exc:  # RenderError, TemplateError, SelectionError: a refusal
        try:
            helm_patch(probe, doc, run)
        except helm.HelmError:
            return []
        return [f"{run}: stores render refuses ({exc}), helm renders"]
    try:
        theirs = helm_patch(probe, doc, run)
    except helm.HelmError as exc:
        return [f"{run}: helm refuses: {exc}"]
    return [f"{run}: {d}" for d in differences(ours, theirs)]


def _check_file(probe: Any, path: Path) -> None:
    doc = _load(path)
    catalog = Catalog.from_values(doc)
    problems = []
    for run in _selections(catalog):
        problems += _compare(probe, doc, run, catalog)
    assert problems == [], f"{_rel(path)}: {len(problems)} difference(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("path", EXAMPLE_VALUES, ids=[_rel(p) for p in EXAMPLE_VALUES])
def test_examples_render_the_same_in_helm(probe: Any, path: Path) -> None:
    _check_file(probe, path)


def test_good_corpus_renders_the_same_in_helm(probe: Any) -> None:
    # one test for the ~120 files (each file's failures are all listed): parametrising them
    # would cost more in pytest than the renders themselves
    failures = []
    for path in GOOD_CORPUS:
        try:
            _check_file(probe, path)
        except AssertionError as exc:
            failures.append(str(exc))
    assert len(GOOD_CORPUS) > 100
    assert failures == [], "\n".join(failures)


def test_regression_documents_render_the_same_in_helm(probe: Any) -> None:
    checked = 0
    for path in REGRESSIONS:
        try:
            _check_file(probe, path)
            checked += 1
        except (ValuesError, ValueError):
            continue  # refused by `stores validate`: not a document either renderer is for
    assert checked >= 3


# ---- the rules, one at a time, on documents made for them ----------------------------------------

def _gcs(name: str, secret: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "gcs", "schema": {"bucket": f"gs://{name}-bucket"},
            "secret": {"name": secret, "items": [{"key": key, "path": "gc-secret.json"}],
                       "mountPath": f"/plx-secrets/{name}"}, **extra}


EDGE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # a secret named like a connection: the store keeps Polyaxon's name, the secret volume yields
    "secret-named-like-a-connection": ({"connections": [
        {"name": "shared", "kind": "host_path", "schema": {"hostPath": "/mnt/a", "mountPath": "/a"}},
        {"name": "b", "kind": "s3", "schema": {"bucket": "s3://bkt"},
         "secret": {"name": "shared", "mountPath": "/plx-secrets/b"}},
        {"name": "c", "kind": "s3", "schema": {"bucket": "s3://bkt2"},
         "secret": {"name": "shared", "items": ["k.json"], "mountPath": "/plx-secrets/c"}},
        {"name": "shared-secret", "kind": "host_path", "schema": {"hostPath": "/mnt/s", "mountPath": "/s"}},
    ]}, {}),
    # names that are not DNS labels: a folded label with a hash
    "names-not-labels": ({"connections": [
        {"name": "My_Data.v2", "kind": "host_path", "schema": {"hostPath": "/mnt/x/", "mountPath": "//data//x/./"}},
        {"name": "claim", "kind": "volume_claim",
         "schema": {"volumeClaim": "pvc", "mountPath": "/c", "subPath": "a//b/", "readOnly": True}},
    ]}, {}),
    # modes as octal strings and integers, items with modes, a config map mounted with items
    "modes-and-items": ({"connections": [
        {"name": "s", "kind": "s3", "schema": {"bucket": "s3://bkt/a/b/"},
         "secret": {"name": "sec", "items": [{"key": "key.json", "mode": "0600"}, "other"],
                    "mountPath": "/plx-secrets/s", "defaultMode": "0440"},
         "configMap": {"name": "cm", "items": ["REGION", "1-not-an-env-name"], "mountPath": "/etc/cm", "defaultMode": 292}},
    ]}, {}),
    # env in Polyaxon's spellings (a mapping, [name, value] pairs), envFrom of whole resources
    "env-spellings": ({"connections": [
        {"name": "a", "kind": "wasb", "schema": {"bucket": "wasb://cont@acct.blob.core.windows.net//p/q/"},
         "secret": {"name": "az"}, "configMap": {"name": "az-settings"},
         "env": {"PORT": 8080, "DEBUG": True, "RATIO": 0.5, "NAME": "x"}},
        {"name": "b", "kind": "git", "schema": {"url": "https://example.com/r.git"},
         "secret": {"name": "git-token", "items": ["GIT_TOKEN"]}, "env": [["GIT_USER", "bot"]]},
    ]}, {"data": ["a", "b"]}),
    # two GCS connections with different keys: refused, unless the SDK's one is named
    "gcs-two-keys": ({"connections": [_gcs("g1", "s1", "k1"), _gcs("g2", "s2", "k2")]}, {}),
    "gcs-two-keys-named": ({"connections": [_gcs("g1", "s1", "k1"), _gcs("g2", "s2", "k2")]}, {"gcsDefault": "g2"}),
    "gcs-one-key-twice": ({"connections": [_gcs("g1", "s1", "k1"), _gcs("g2", "s1", "k1")]}, {}),
    # the legacy single volumes, and the v2 chart's fallback store
    "legacy-logs-repos-upload": ({"persistence": {
        "logs": {"existingClaim": "logs-pvc", "mountPath": "/logs"},
        "repos": {"hostPath": "/repos", "mountPath": "/repos", "readOnly": True},
        "upload": {"store": "gcs", "bucket": "gs://up-bucket", "secret": "up", "secretKey": "key"},
        "data": {"d": {"store": "azure", "bucket": "wasbs://data@acct.blob.core.windows.net/x", "secret": "az", "secretKey": "k"}},
    }}, {}),
    "default-artifacts-store": ({"defaultArtifactsStore": {
        "name": "fallback", "kind": "s3", "schema": {"bucket": "s3://fallback/"}}, "artifactsStore": None}, {}),
    "nothing-of-ours": ({"image": "x"}, {}),
    # the data paths' JSON as Python writes it: ASCII only, <, > and & as they are
    "json-escapes": ({"connections": [{"name": "d", "kind": "host_path",
                                       "schema": {"hostPath": "/mnt/d", "mountPath": '/données/a&b<c>"q"\\x'}}]}, {}),
    # `{{ globals.x }}` in literal env values, resolved for the run; other braces left alone
    "env-globals": ({"connections": [{"name": "a", "kind": "s3", "schema": {"bucket": "s3://bkt"}, "env": [
        {"name": "OUT", "value": "{{ globals.run_outputs_path }}/ckpt"},
        {"name": "WHO", "value": "{{globals.project_unique_name}}/{{ globals.uuid }}:{{ globals.name }}"},
        {"name": "NS", "value": "{{ globals.namespace }}"},
        {"name": "INFO", "value": "{{ globals.run_info }} {{ globals.owner_name }} {{ globals.artifacts_path }}"},
        {"name": "OTHER", "value": "{{ x }} {{ globals.uuid"}]}]}, {"namespace": "ml"}),
    "env-globals-unavailable": ({"connections": [{"name": "a", "kind": "s3", "schema": {"bucket": "s3://bkt"},
                                                  "env": [{"name": "N", "value": "{{ globals.name }}"}]}]},
                                {"name": None}),
    "one-name-as-a-string": ({"connections": [
        {"name": "a", "kind": "host_path", "schema": {"hostPath": "/a", "mountPath": "/a"}},
        {"name": "b", "kind": "host_path", "schema": {"hostPath": "/b", "mountPath": "/b"}}]}, {"data": "b"}),
    "outputs-named": ({"persistence": {"outputs": {
        "o1": {"hostPath": "/o1", "mountPath": "/o1"}, "o2": {"existingClaim": "o2", "mountPath": "/o2"}}}},
        {"outputs": "o2"}),
}


@pytest.mark.parametrize("case", EDGE_CASES, ids=list(EDGE_CASES))
def test_rules_render_the_same_in_helm(probe: Any, case: str) -> None:
    doc, run = EDGE_CASES[case]
    Catalog.from_values(doc)  # a document `stores validate` accepts
    assert _compare(probe, doc, dict(RUN, **run)) == []


#: what Helm cannot render as ``stores render`` does, each with why (strict: a fix shows up)
KNOWN_DIFFERENCES: dict[str, tuple[dict[str, Any], str]] = {
    "legacy-mapping-order": ({"persistence": {"data": {
        "b": {"store": "s3", "bucket": "s3://bkt1", "secret": "shared", "secretKey": "k1"},
        "a": {"store": "s3", "bucket": "s3://bkt2", "secret": "shared", "secretKey": "k2"}}}},
        "helm keeps no order of a mapping (it ranges over keys sorted), so when two legacy entries' "
        "secret volumes clash, the one written first in the file keeps the name in stores render "
        "and the one sorting first in Helm"),
    "non-bmp-character-in-a-path": ({"connections": [
        {"name": "d", "kind": "host_path", "schema": {"hostPath": "/mnt/d", "mountPath": "/data/\U0001F600"}}]},
        "POLYAXON_RUN_DATA_PATHS escapes a character beyond U+FFFF as a JSON surrogate pair "
        "(\\ud83d\\ude00); Go templates can only write it as \\U0001f600"),
}


@pytest.mark.parametrize("case", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=why))
    for name, (_, why) in KNOWN_DIFFERENCES.items()
])
def test_known_differences(probe: Any, case: str) -> None:
    doc, _ = KNOWN_DIFFERENCES[case]
    Catalog.from_values(doc)
    assert _compare(probe, doc, RUN) == []


@pytest.mark.parametrize("run,message", [
    ({"data": ["nope"]}, 'unknown data store "nope"'),
    ({"outputs": "nope"}, 'unknown outputs store "nope"'),
    ({"uuid": None}, "the run's uuid is required"),
])
def test_bad_selections_fail_the_render(probe: Any, run: dict[str, Any], message: str) -> None:
    doc = _load(ROOT / "examples" / "current-values.yaml")
    with pytest.raises(helm.HelmRenderError, match=message):
        helm_patch(probe, doc, {k: v for k, v in dict(RUN, **run).items() if v is not None})


def test_several_legacy_outputs_need_a_name(probe: Any) -> None:
    doc = _load(ROOT / "examples" / "seed-004-values.yaml")
    with pytest.raises(helm.HelmRenderError, match="name the run's outputs store"):
        helm_patch(probe, doc, RUN)


# ---- the charts themselves -------------------------------------------------------------------------

def test_library_chart_lints() -> None:
    report = helm.lint(chart_dir(), strict=True)
    assert report["errors"] == [], report
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_library_chart_is_a_library() -> None:
    with helm.Chart.load(chart_dir()) as chart:
        assert chart.metadata["type"] == "library"
        names = {t["name"] for t in chart.templates}
        assert names == {"templates/_plx-stores.tpl"}
        assert chart.render({}, name="x") == {}  # a library renders nothing of its own


@pytest.fixture(scope="module")
def app_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example application chart, with the library vendored as `stores chart export` does."""
    import shutil

    tmp = tmp_path_factory.mktemp("app") / "helm-app-chart"
    shutil.copytree(ROOT / "examples" / "helm-app-chart", tmp, ignore=shutil.ignore_patterns("charts"))
    export_chart(tmp / "charts")
    return tmp


def test_example_chart_lints(app_chart: Path) -> None:
    report = helm.lint(app_chart, strict=True, with_subcharts=True)
    assert report["errors"] == [], report
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_example_chart_job_is_strictly_valid_and_matches_stores_render(app_chart: Path) -> None:
    from k8s.validate import validate_manifest

    values = yaml.safe_load((app_chart / "values.yaml").read_text())
    with helm.Chart.load(app_chart) as chart:
        chart.validate_schema(chart.merge_values())
        (text,) = chart.render(name="demo").values()
    job = yaml.safe_load(text)
    for version in ("1.25", "1.37"):
        validate_manifest(job, version)
    pod = job["spec"]["template"]["spec"]
    main = pod["containers"][0]
    ours = python_patch(values, values["plxStores"]["run"])
    theirs = {"volumes": pod["volumes"], "volumeMounts": main["volumeMounts"], "env": main["env"],
              "envFrom": main.get("envFrom") or []}
    assert differences(ours, theirs) == []


def test_example_chart_schema_is_the_library_fragment(app_chart: Path) -> None:
    import json

    from stores import values_schema

    fragment = json.loads((chart_dir() / "files" / "values.schema.json").read_text())
    assert fragment == values_schema(), "regenerate: stores schema > k8s/charts/plx-stores/files/values.schema.json"
    assert json.loads((app_chart / "values.schema.json").read_text()) == fragment


def test_vendored_copy_in_the_example_is_current() -> None:
    """examples/helm-app-chart/charts/plx-stores is what `stores chart export` writes today."""
    vendored = ROOT / "examples" / "helm-app-chart" / "charts" / "plx-stores"
    ours = {p.relative_to(chart_dir()): p.read_bytes() for p in chart_dir().rglob("*") if p.is_file()}
    theirs = {p.relative_to(vendored): p.read_bytes() for p in vendored.rglob("*") if p.is_file()}
    assert theirs == ours, "refresh it: stores chart export --force examples/helm-app-chart/charts"


def test_cli_exports_the_chart(tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stores", "chart", "export", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=60)

    first = run("charts")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "charts/plx-stores\n"
    assert {p.relative_to(tmp_path / "charts" / "plx-stores") for p in (tmp_path / "charts" / "plx-stores").rglob("*.*")} \
        == {p.relative_to(chart_dir()) for p in chart_dir().rglob("*.*")}
    again = run("charts")
    assert again.returncode == 1 and "exists" in again.stderr
    assert run("charts", "--force").returncode == 0
