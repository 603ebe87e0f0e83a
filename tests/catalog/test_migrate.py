"""``stores.migrate``: the legacy ``persistence:`` section rewritten in the current spelling.

The promise, checked on every values file of examples/ and of the Polyaxon corpus
(tests/data/polyaxon, tests/data/regressions): migrating then rendering gives the pod patch that
rendering the original gives, byte for byte (the default selection, each data store on its own,
and with the plugins when the artifacts store is mounted); every comment of the original is still
there; migrating twice changes nothing; a file with no exact current spelling is refused with
the reason (``MIGRATION_REFUSED`` lists them) and nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from k8s import render_patch
from stores.catalog import Catalog
from stores.edit import ValuesDocument
from stores.errors import MigrationError, ValuesError
from stores.migrate import migrate_text
from stores.contract.runinfo import RunInfo
from stores.yamlspans import Spans

ROOT = Path(__file__).resolve().parents[2]
RUN = RunInfo(uuid="0123456789abcdef0123456789abcdef", owner="acme", project="vision")

_MANY_OUTPUTS = "outputs stores"
_NO_LOGS = "the current spelling has no logs store"
_NO_REPOS = "the current spelling has no repos store"
#: file -> what the refusal says: the legacy forms with no exact current spelling
MIGRATION_REFUSED = {
    "examples/seed-004-values.yaml": _MANY_OUTPUTS,
    "stores/examples/default-values.yaml": _MANY_OUTPUTS,
    "tests/data/polyaxon/charts/ci-validate-values3.yaml": _MANY_OUTPUTS,
    "tests/data/polyaxon/docs/polyaxon-helm-reference-23.yaml": _MANY_OUTPUTS,
    "tests/data/polyaxon/docs/v0-polyaxon-helm-reference-15.yaml": _MANY_OUTPUTS,
    "tests/data/polyaxon/charts/ci-v0-test-config1.yaml": _NO_LOGS,
    "tests/data/polyaxon/charts/ci-v0-test-config2.yaml": _NO_LOGS,
    "tests/data/polyaxon/charts/ci-validate-values2.yaml": _NO_LOGS,
    "tests/data/polyaxon/charts/v0-polyaxon-values.yaml": _NO_LOGS,
    "tests/data/polyaxon/fixtures/deployment/wrong_values2.yml": _NO_LOGS,
    "tests/data/polyaxon/docs/v0-configuration-custom-logs-storage-2.yaml": _NO_LOGS,
    "tests/data/polyaxon/docs/v0-configuration-custom-logs-storage-3.yaml": _NO_LOGS,
    "tests/data/polyaxon/docs/v0-configuration-custom-repos-storage-2.yaml": _NO_REPOS,
    "tests/data/polyaxon/docs/v0-configuration-custom-repos-storage-3.yaml": _NO_LOGS,
    **{f"tests/data/polyaxon/docs/v0-logs-on-{s}.yaml": _NO_LOGS
       for s in ("azure-3", "gcs-2", "minio-5", "minio-7", "s3-4")},
}


def _values_files() -> list[Path]:
    files = [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("stores/examples/*.yaml"),
             *(ROOT / "tests" / "data" / "polyaxon").rglob("*.y*ml"), *(ROOT / "tests" / "data" / "regressions").glob("*.yaml")]
    out = []
    for path in sorted(files):
        if "connection-items" in path.parts:
            continue
        try:
            Catalog.from_file(path)
        except ValuesError:
            continue  # not a valid values file (a manifest, a chart file, a refused snippet)
        if "helm-chart" in path.parts or path.name in ("job.yaml", "pod.yaml", "rendered-pod.yaml"):
            continue
        out.append(path)
    return out


FILES = _values_files()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _render(catalog: Catalog, selection=None, plugins=None) -> str:
    return yaml.safe_dump(render_patch(catalog, selection, RUN, plugins=plugins).to_dict(), sort_keys=False)


def comments(text: str) -> list[str]:
    """Every comment of a document (whole-line and end-of-line), as written."""
    spans = Spans(text)
    return [text[a:b].rstrip("\r") for a, b in spans.comments(0, len(text))]


def test_the_corpus_is_there() -> None:
    rels = {_rel(p) for p in FILES}
    assert "examples/legacy-defaults-values.yaml" in rels and "examples/current-values.yaml" in rels
    assert set(MIGRATION_REFUSED) <= rels
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_migrate_then_render_is_render(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    rel = _rel(path)
    if rel in MIGRATION_REFUSED:
        with pytest.raises(MigrationError) as info:
            migrate_text(text, file=rel)
        assert any(MIGRATION_REFUSED[rel] in p.message for p in info.value.problems), str(info.value)
        assert all(p.line is not None for p in info.value.problems)
        return
    new = migrate_text(text, file=rel)
    assert migrate_text(new, file=rel) == new  # idempotent
    if "persistence" not in (yaml.safe_load(text) or {}):
        assert new == text
        return
    assert "persistence" not in yaml.safe_load(new)
    before, after = Catalog.from_yaml(text), Catalog.from_yaml(new)
    assert _render(after) == _render(before)
    # each data store on its own, the outputs store named
    for conn in before.data:
        request = {"persistence": {"data": [conn.name], "outputs": before.outputs[0].name}}
        assert _render(after, request) == _render(before, request), conn.name
    # with the plugins, the artifacts store mounted as the legacy outputs store always was
    plugins = {"mountArtifactsStore": True}
    assert _render(after, None, plugins) == _render(before, None, plugins)
    # every comment is still there, as many times
    old, kept = comments(text), comments(new)
    for comment in set(old):
        assert kept.count(comment) >= old.count(comment), comment


def test_every_legacy_example_that_can_migrate_does() -> None:
    migrated = [p for p in FILES if _rel(p) not in MIGRATION_REFUSED
                and "persistence" in (yaml.safe_load(p.read_text()) or {})]
    assert len(migrated) >= 20


COMMENTED = """\
# top comment
ingress:
  enabled: true   # keep me

persistence:   # the old spelling
  # data stores
  data:
    # the training set
    training:
      mountPath: "/data/training"  # where it lands
      hostPath: /mnt/training
      existingClaim:   # left empty by the old chart
      readOnly: true

    # a bucket
    raw:
      store: s3
      bucket: s3://raw-bucket  # raw
      secret: aws-creds
      secretKey: credentials.json
  # outputs
  outputs:
    out:   # the one outputs store
      existingClaim: outputs-pvc
      mountPath: /outputs
# after
other: 1
"""


def test_a_commented_file_migrates_with_every_comment_in_place() -> None:
    new = migrate_text(COMMENTED)
    assert new == """\
# top comment
ingress:
  enabled: true   # keep me

# data stores
connections:   # the old spelling
  # the training set
  - name: training   # left empty by the old chart
    kind: host_path
    schema:
      mountPath: "/data/training"  # where it lands
      hostPath: /mnt/training
      readOnly: true

  # a bucket
  - name: raw
    kind: s3
    schema:
      bucket: s3://raw-bucket  # raw
    secret:
      name: aws-creds
      items:
        - key: credentials.json
          path: key.json
      mountPath: /plx-secrets/raw
# outputs
artifactsStore:
  name: out   # the one outputs store
  kind: volume_claim
  schema:
    volumeClaim: outputs-pvc
    mountPath: /outputs
# after
other: 1
"""
    assert sorted(comments(new)) == sorted(comments(COMMENTED))


def test_defaults_are_written_out() -> None:
    new = migrate_text("persistence:\n")
    catalog = Catalog.from_yaml(new)
    assert [c.name for c in catalog.connections] == ["default-data"]
    assert catalog.artifacts_store.name == "default-outputs"


def test_azure_becomes_wasb_and_indentation_follows_the_file() -> None:
    text = ("persistence:\n    data:\n        az:\n            store: azure\n"
            "            bucket: wasbs://cont@acct.blob.core.windows.net/\n    outputs:\n        o:\n"
            "            hostPath: /o\n            mountPath: /o\n")
    new = migrate_text(text)
    assert "    kind: wasb\n" in new and "        bucket: wasbs://cont@acct.blob.core.windows.net/\n" in new
    assert Catalog.from_yaml(new).connections[0].kind == "wasb"


def test_next_to_other_connections_the_data_stores_are_appended() -> None:
    text = ("connections:\n  - name: repo   # git\n    kind: git\n    schema:\n      url: https://github.com/a/b\n"
            "persistence:\n  data:\n    d:\n      hostPath: /d\n      mountPath: /d\n")
    new = migrate_text(text)
    catalog = Catalog.from_yaml(new)
    assert [c.name for c in catalog.connections] == ["repo", "d"]
    assert new.startswith("connections:\n  - name: repo   # git\n")


@pytest.mark.parametrize("text, says", [
    ("persistence:\n  logs:\n    hostPath: /l\n    mountPath: /l\n", "no logs store"),
    ("persistence:\n  outputs:\n    a: {hostPath: /a, mountPath: /a}\n    b: {hostPath: /b, mountPath: /b}\n",
     "2 outputs stores (a, b)"),
    ("persistence: {}\nartifactsStore:\n  name: s\n  kind: host_path\n  schema: {hostPath: /s, mountPath: /s}\n",
     "artifactsStore is set next to persistence"),
    ("persistence: {}\nconnections:\n  - name: s\n    kind: host_path\n    schema: {hostPath: /s, mountPath: /s}\n",
     "storage connections (s) next to persistence"),
])
def test_no_exact_equivalent_is_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(MigrationError) as info:
        migrate_text(text, file="v.yaml")
    assert says in str(info.value)
    assert re.search(r"v\.yaml:\d+: ", str(info.value))


def test_an_invalid_file_is_refused_with_its_problems() -> None:
    with pytest.raises(ValuesError) as info:
        migrate_text("persistence:\n  data:\n    d:\n      hostPath: /d\n", file="v.yaml")
    assert not isinstance(info.value, MigrationError)
    assert "v.yaml:3: persistence.data.d.mountPath: required key missing" in str(info.value)


def test_the_document_object_migrates_too() -> None:
    doc = ValuesDocument(COMMENTED, file="values.yaml")
    doc.migrate()
    assert doc.changed and "artifactsStore:" in doc.text
    assert doc.diff().startswith("--- values.yaml\n+++ values.yaml\n")
    assert doc.catalog().artifacts_store.name == "out"
