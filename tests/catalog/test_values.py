"""Bad values documents: every one is refused with the right path and line, and never with a
traceback.

The corpus lives in tests/data/bad/*.yaml; its header format is in tests/support/corpus.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from stores import Catalog, ValuesError
from support.corpus import CORPUS, BadDoc, Expected



def test_corpus_is_large_and_every_file_expects_something() -> None:
    assert len(CORPUS) >= 40
    assert [d.path.name for d in CORPUS if not d.expected] == []


@pytest.mark.parametrize("doc", CORPUS, ids=[d.path.stem for d in CORPUS])
def test_bad_document_is_rejected_with_path_and_line(doc: BadDoc) -> None:
    started = time.monotonic()
    with pytest.raises(ValuesError) as info:
        Catalog.from_file(doc.path)
    # hostile documents (alias bombs, deep nesting) are refused, not worked through
    assert time.monotonic() - started < 2.0
    file = str(doc.path)
    reported = [str(p) for p in info.value.problems]
    for want in doc.expected:
        assert any(want.matches(text, file) for text in reported), (
            f"missing {want.line}: {want.path}: {want.message}\nreported:\n  " + "\n  ".join(reported)
        )
    # nothing reported that the file does not announce: the corpus documents every message
    assert len(reported) == len(doc.expected), "\n".join(reported)
    for problem in info.value.problems:
        assert problem.line is not None and problem.file == file
        assert "Traceback" not in str(problem)
    shown = f"{info.value} {info.value!r} {info.value.problems!r} {[p.as_dict() for p in info.value.problems]!r}"
    for secret in doc.secrets:
        assert secret in doc.path.read_text(encoding="utf-8")  # the mark names what the file holds
        assert secret not in shown


SECRET_DOCS = [d for d in CORPUS if d.secrets]


def test_the_corpus_covers_every_class_of_secret_material() -> None:
    # credentials in a bucket URL (s3, gs, wasbs; current and legacy spellings), signed-URL and
    # SAS queries, literal values of secret-ish env vars (a string, a list, a number)
    assert len(SECRET_DOCS) >= 8


@pytest.mark.parametrize("doc", SECRET_DOCS, ids=[d.path.stem for d in SECRET_DOCS])
def test_secret_material_is_not_echoed_by_the_cli(doc: BadDoc, capsys: pytest.CaptureFixture[str]) -> None:
    from stores.cli import main

    for argv in (["validate", str(doc.path)], ["validate", "-o", "json", str(doc.path)], ["list", str(doc.path)]):
        assert main(argv) == 1
        captured = capsys.readouterr()
        for secret in doc.secrets:
            assert secret not in captured.out + captured.err, argv


def test_expect_matching_is_strict() -> None:
    want = Expected(5, "persistence.data.d.bucket", "expected an s3:// URL ... got 'gs://x'")
    assert want.matches("f.yaml:5: persistence.data.d.bucket: expected an s3:// URL for s3, got 'gs://x'", "f.yaml")
    assert not want.matches("f.yaml:6: persistence.data.d.bucket: expected an s3:// URL for s3, got 'gs://x'", "f.yaml")
    assert not want.matches("f.yaml:5: persistence.data.d: expected an s3:// URL for s3, got 'gs://x'", "f.yaml")
    assert not want.matches("f.yaml:5: persistence.data.d.bucket: got 'gs://x' expected an s3:// URL", "f.yaml")


def test_several_problems_are_reported_at_once() -> None:
    text = """\
persistence:
  data:
    data@1:
      hostPath: /mnt/a
      mountPath: /data/1
    data2:
      existingClaim: data-2-pvc
  outputs:
    out-s3:
      store: s3
      bucket: gs://wrong
connections:
  - name: local
    kind: host_path
    readOnly: maybe
    schema:
      hostPath: relative/path
      mountPath: /data/local
  - kind: gcs
    schema:
      bucket: gs://models
"""
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(text, file="values.yaml")
    got = {(p.line, ".".join(map(str, p.path))) for p in info.value.problems}
    assert got == {
        (3, "persistence.data.data@1"),
        (6, "persistence.data.data2.mountPath"),
        (11, "persistence.outputs.out-s3.bucket"),
        (15, "connections.0.readOnly"),
        (17, "connections.0.schema.hostPath"),
        (19, "connections.1.name"),
    }
    assert str(info.value).startswith("6 problems found:")


def test_problem_format_and_json_form() -> None:
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml("connections:\n  - name: Bad Name\n    kind: s3\n    schema: {bucket: s3://ok-bucket}\n",
                          file="v.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("v.yaml:2: connections[0].name: connection name must be letters, digits")
    assert problem.as_dict()["path"] == "connections[0].name"
    assert problem.as_dict()["line"] == 2


def test_problems_from_a_dict_have_paths_but_no_lines() -> None:
    with pytest.raises(ValuesError) as info:
        Catalog.from_values({"persistence": {"data": {"d": {"hostPath": "/a", "mountPath": "rel"}}}})
    (problem,) = info.value.problems
    assert problem.line is None
    assert str(problem) == "persistence.data.d.mountPath: mountPath must be absolute (start with '/'), got 'rel'"


def test_secret_values_never_appear_in_messages() -> None:
    # a key file's content pasted where a secret *name* belongs must not be echoed back in full
    leaked = "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYwJalrXUtnFEMI"
    values = {"connections": [{"name": "s3", "kind": "s3", "schema": {"bucket": "s3://ok-bucket"},
                               "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": leaked,
                                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}
    with pytest.raises(ValuesError) as info:
        Catalog.from_values(values)
    assert leaked not in str(info.value)
    assert "exactly one of 'value' or 'valueFrom'" in str(info.value)


def test_alias_bomb_is_refused_fast_from_text() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    started = time.monotonic()
    with pytest.raises(ValuesError, match="refused"):
        Catalog.from_yaml("\n".join(lines) + "\n")
    assert time.monotonic() - started < 2.0


def test_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ValuesError, match="no such file"):
        Catalog.from_file(tmp_path / "missing.yaml")
    with pytest.raises(ValuesError, match="is a directory"):
        Catalog.from_file(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("persistence:\n  data:\n    caf\xe9: {}\n".encode("latin-1"))
    with pytest.raises(ValuesError, match="not UTF-8"):
        Catalog.from_file(path)


# -- what Polyaxon's files hold, and loads here too (no longer refused) ---------------------------


def test_polyaxon_spellings_load() -> None:
    catalog = Catalog.from_yaml(
        """\
connections:
  - name: test_s3
    kind: s3
    schema: {bucket: s3://ok-bucket}
    secret: {name: s3-creds, mountPath: /etc/s3, defaultMode: "0400"}
    env: {AWS_REGION: eu-west-1, RETRIES: 3}
  - name: data.v1
    kind: gcs
    schema: {bucket: gs://models}
    secret: {name: gcs-key}
  - name: MyData
    kind: volume_claim
    schema: {volumeClaim: data-pvc, mountPath: /data}
    description:
    tags:
""",
        file="values.yaml",
    )
    s3 = catalog.get("test_s3")
    assert s3.secret.default_mode == 0o400  # octal, as chmod reads it; never decimal 400
    assert [(e.name, e.value) for e in s3.env] == [("AWS_REGION", "eu-west-1"), ("RETRIES", "3")]
    assert catalog.get("MyData").tags == () and catalog.get("MyData").description is None
    # a GCS key as env vars loads (Polyaxon passes it so) but the catalog says it will not work
    assert any("'data.v1'" in note and "mountPath" in note for note in catalog.notes)


@pytest.mark.parametrize("mode", ["0800", "rw", "04000", ""])
def test_a_file_mode_string_must_be_octal(mode: str) -> None:
    with pytest.raises(ValuesError, match="a file mode string must be octal digits"):
        Catalog.from_values({"connections": [{"name": "d", "kind": "s3", "schema": {"bucket": "s3://ok-bucket"},
                                              "secret": {"name": "s", "mountPath": "/s", "defaultMode": mode}}]})


@pytest.mark.parametrize("name", ["my data", "a/b", "-lead", "trail.", "x" * 254, "dätä"])
def test_storage_connection_names_that_cannot_name_anything_are_refused(name: str) -> None:
    with pytest.raises(ValuesError, match="connection name must be letters, digits"):
        Catalog.from_values({"connections": [{"name": name, "kind": "host_path",
                                              "schema": {"hostPath": "/a", "mountPath": "/a"}}]})


def test_other_kinds_load_and_never_block_the_storage_ones() -> None:
    catalog = Catalog.from_values({"connections": [
        {"name": "user/repo", "kind": "git", "schema": {"url": "https://github.com/o/r"}, "secret": {"name": "git-token"}},
        {"name": "hub", "kind": "registry", "schema": {"url": "docker.io"}},
        {"name": "data", "kind": "s3", "schema": {"bucket": "s3://ok-bucket"}},
    ]})
    assert [c.kind for c in catalog.connections] == ["git", "registry", "s3"]
    assert not catalog.get("hub").is_storage and catalog.get("data").is_storage


# ---- message defects (issue: validate is a complete gate) ----------------------------------------------


def test_a_duplicate_name_is_reported_at_the_repeat_with_its_index() -> None:
    # regression: reported as `connections.[0].name`, and at the filtered index when an earlier
    # entry was invalid
    text = (
        "connections:\n"
        "  - {name: bad}\n"
        "  - {name: a, kind: s3, schema: {bucket: 's3://abc'}}\n"
        "  - {name: a, kind: s3, schema: {bucket: 's3://abd'}}\n"
    )
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(text, file="v.yaml")
    dup = [str(p) for p in info.value.problems if "already used" in p.message]
    assert dup == ["v.yaml:4: connections[2].name: connection name 'a' is already used by "
                   "connections[1].name (line 3); names must be unique"]


def test_a_duplicate_is_the_later_one_whatever_the_section_order() -> None:
    text = (
        "connections:\n"
        "  - {name: a, kind: s3, schema: {bucket: 's3://abc'}}\n"
        "artifactsStore: {name: a, kind: s3, schema: {bucket: 's3://abd'}}\n"
    )
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(text, file="v.yaml")
    assert [str(p) for p in info.value.problems] == [
        "v.yaml:3: artifactsStore.name: connection name 'a' is already used by connections[0].name (line 2); "
        "names must be unique"]


@pytest.mark.parametrize("raw, line", [
    (b"\xff\xfeconnections: []\n", 1),
    (b"connections:\n  - name: d\xe9j\xe0\n", 2),
    (b"# ok\n# ok\nconnections: []\nx: \x80\n", 4),
])
def test_non_utf8_text_names_its_line(raw: bytes, line: int) -> None:
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(raw, file="v.yaml")
    (problem,) = info.value.problems
    assert problem.line == line and str(problem).startswith(f"v.yaml:{line}: the document: not UTF-8 text")


@pytest.mark.parametrize("key, meant", [("existingClam", "existingClaim"), ("hostpath", "hostPath"),
                                        ("HostPath", "hostPath"), ("stor", "store")])
def test_a_misspelt_shape_key_gets_a_suggestion_at_the_key(key: str, meant: str) -> None:
    text = f"persistence:\n  data:\n    d1:\n      mountPath: /d\n      {key}: x\n"
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(text, file="v.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"v.yaml:5: persistence.data.d1.{key}: unknown key {key!r}; did you mean {meant!r}? "
        "(an entry needs one of hostPath, existingClaim or store)"]


def test_validate_refuses_what_render_refuses_each_with_file_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 1: each of these loaded, and only `stores render` refused it (without file:line)."""
    from stores.cli import main

    cases = {
        "host.yaml": ("connections:\n  - name: h\n    kind: host_path\n    schema: {hostPath: /etc, mountPath: /h}\n",
                      ":4: connections[0].schema.hostPath: hostPath '/etc' is not allowed"),
        "ref.yaml": ("connections:\n  - name: s\n    kind: s3\n    schema: {bucket: 's3://abc'}\n    env:\n"
                     "      - {name: T, valueFrom: {secretKeyRef: {name: t, key: k, nope: 1}}}\n",
                     ":6: connections[0].env[0].valueFrom.secretKeyRef.nope: unknown key 'nope'"),
        "field.yaml": ("connections:\n  - name: s\n    kind: s3\n    schema: {bucket: 's3://abc'}\n    env:\n"
                       "      - {name: T, valueFrom: {fieldRef: {}}}\n",
                       ":6: connections[0].env[0].valueFrom.fieldRef.fieldPath: required key missing"),
        "divisor.yaml": ("connections:\n  - name: s\n    kind: s3\n    schema: {bucket: 's3://abc'}\n    env:\n"
                         "      - {name: T, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: {a: 1}}}}\n",
                         ":6: connections[0].env[0].valueFrom.resourceFieldRef.divisor: expected a string"),
        "item.yaml": ("connections:\n  - name: s\n    kind: s3\n    schema: {bucket: 's3://abc'}\n"
                      "    secret: {name: c, items: ['0']}\n",
                      ":5: connections[0].secret.items[0]: item '0' cannot be an env var name"),
    }
    for name, (text, want) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert main(["validate", str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(str(path) + want), err
        assert main(["render", str(path)]) == 1
        render_err = capsys.readouterr().err
        assert want in render_err and "Traceback" not in render_err, render_err
