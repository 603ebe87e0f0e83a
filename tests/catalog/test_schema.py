"""``stores schema`` (values.schema.json): a valid draft-7 schema that agrees with ``stores
validate`` on every good document and on every bad one JSON Schema can express."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
import yaml

from stores import Catalog, values_schema
from support.corpus import CORPUS, BadDoc

from support.paths import ROOT
GOOD = [
    ROOT / "examples" / "seed-004-values.yaml",
    ROOT / "examples" / "legacy-defaults-values.yaml",
    ROOT / "examples" / "current-values.yaml",
    ROOT / "stores" / "examples" / "default-values.yaml",
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = values_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_is_a_valid_draft7_schema() -> None:
    schema = values_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    # draft 7 resolves only #/definitions; a leftover $defs ref would dangle in helm
    refs = [v for k, v in _walk(schema) if k == "$ref"]
    assert refs and all(r.startswith("#/definitions/") for r in refs)
    assert {r.split("/")[-1] for r in refs} <= set(schema["definitions"])
    assert "discriminator" not in {k for k, _ in _walk(schema)}
    json.dumps(schema)  # plain JSON, nothing Python-only


def test_patterns_are_re2_compatible() -> None:
    # helm compiles patterns with Go's regexp (RE2): no look-arounds, no back-references
    patterns = [v for k, v in _walk(values_schema()) if k == "pattern"]
    patterns += [k for k, v in _walk(values_schema()) if isinstance(v, dict) and k.startswith("^")]
    assert len(patterns) > 10
    for pattern in patterns:
        assert not re.search(r"\(\?[=!<]|\\[1-9]|\(\?P=", pattern), pattern
        re.compile(pattern)


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_accepts_every_good_document(validator: jsonschema.Draft7Validator, path: Path) -> None:
    Catalog.from_file(path)  # good by our own rules too
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_other_helm_values_are_left_alone(validator: jsonschema.Draft7Validator) -> None:
    doc = yaml.safe_load((ROOT / "examples" / "seed-004-values.yaml").read_text())
    doc.update({"image": {"tag": "v2"}, "replicas": 3})
    assert list(validator.iter_errors(doc)) == []


SCHEMA_CASES = [d for d in CORPUS if d.schema != "not-yaml"]


@pytest.mark.parametrize("doc", SCHEMA_CASES, ids=[d.path.stem for d in SCHEMA_CASES])
def test_bad_documents_against_the_schema(validator: jsonschema.Draft7Validator, doc: BadDoc) -> None:
    # helm hands the schema JSON, whose keys are always strings
    data = json.loads(json.dumps(yaml.safe_load(doc.path.read_text())))
    errors = list(validator.iter_errors(data))
    if doc.schema == "accepts":
        # marked as beyond JSON Schema: if the schema learns to reject it, drop the mark
        assert errors == [], [e.message for e in errors]
    else:
        assert errors, f"the schema accepts {doc.path.name}, which `stores validate` rejects"


def test_every_schema_mark_is_justified() -> None:
    accepts = sorted(d.path.stem for d in CORPUS if d.schema == "accepts")
    assert accepts == [
        "connection-mounts-clash",  # equality of two values
        "csi-mount-clashes-with-secret",  # equality of two values
        "csi-mount-on-context",  # a parent of a path after normalisation
        "csi-prefix-with-space",  # a rule across two fields (the bucket's prefix, the mount)
        "csi-s3-ephemeral-cache-incomplete",  # which keys one value requires
        "duplicate-key-json-style",  # gone once parsed: the last one wins
        "duplicate-name-connections-artifacts",  # uniqueness across sections
        "duplicate-name-data-outputs",
        "duplicate-yaml-key",  # gone once parsed: the last one wins
        "env-duplicate-name",  # uniqueness of one property across list items
        "env-unknown-global",  # templates inside strings
        "host-path-ancestor",  # the deny list has an allow list (--allow-host-path)
        "host-path-docker-socket-legacy",
        "host-path-etc",
        "misspelt-persistence",  # a values file may hold any other key
        "mount-on-run-context",  # a parent of a path after normalisation
        "name-trailing-newline",  # Python's `$` matches before a final newline (Go's does not)
        "secret-item-not-env-name",  # depends on mountPath being absent
        "secret-items-same-path",  # an item's path defaults to its key
        "surrogate-escape-value",  # a lone surrogate is a one-character string to JSON Schema
        "volume-name-not-a-string",  # JSON has no integer keys
    ]
    not_yaml = sorted(d.path.stem for d in CORPUS if d.schema == "not-yaml")
    assert not_yaml == ["billion-laughs", "invalid-yaml-syntax", "unclosed-flow-mapping", "unsafe-python-tag"]


def _python_accepts(doc: dict) -> bool:
    try:
        Catalog.from_values(doc)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("bucket,ok", [
    ("s3://data-bucket", True),
    ("s3://data-bucket/a/b.c/", True),
    ("s3://data-bucket/team/../other", False),
    ("s3://data-bucket/./x", False),
    ("s3://data-bucket/a//b", False),
    ("s3://Data-Bucket", False),
    ("gs://data-bucket", False),
])
def test_s3_bucket_url_agrees_with_python(validator: jsonschema.Draft7Validator, bucket: str, ok: bool) -> None:
    doc = {"connections": [{"name": "c", "kind": "s3", "schema": {"bucket": bucket}}]}
    assert validator.is_valid(doc) is ok
    assert _python_accepts(doc) is ok


@pytest.mark.parametrize("container,ok", [
    ("abc", True), ("a-b-c", True), ("$root", True), ("a" * 63, True),
    ("ab", False), ("a" * 64, False), ("a--b", False), ("-ab", False), ("ab-", False), ("Abc", False),
])
def test_azure_container_agrees_with_python(validator: jsonschema.Draft7Validator, container: str, ok: bool) -> None:
    doc = {"persistence": {"data": {"az": {"store": "azure",
                                           "bucket": f"wasbs://{container}@plxstorage.blob.core.windows.net/"}}}}
    assert validator.is_valid(doc) is ok
    assert _python_accepts(doc) is ok


def test_env_value_and_value_from_are_exclusive(validator: jsonschema.Draft7Validator) -> None:
    def doc(**env: Any) -> dict:
        return {"connections": [{"name": "c", "kind": "s3", "schema": {"bucket": "s3://bkt"},
                                 "env": [{"name": "A", **env}]}]}

    assert validator.is_valid(doc(value="x"))
    assert validator.is_valid(doc(valueFrom={"secretKeyRef": {"name": "s", "key": "k"}}))
    assert not validator.is_valid(doc())
    assert not validator.is_valid(doc(value="x", valueFrom={"secretKeyRef": {"name": "s", "key": "k"}}))


@pytest.mark.parametrize("name,ok", [
    ("AWS_REGION", True), ("GOOGLE_APPLICATION_CREDENTIALS", True), ("AWS_ACCESS_KEY_ID", True),
    ("AWS_SECRET_ACCESS_KEY", False), ("AZURE_CLIENT_SECRET", False), ("AZURE_STORAGE_KEY", False),
    ("GIT_TOKEN", False), ("db.password", False), ("aws_secret_access_key", False),
])
def test_literal_secret_env_values_agree_with_python(validator: jsonschema.Draft7Validator, name: str, ok: bool) -> None:
    # stores.redact's name rule, as the JSON Schema spells it (helm refuses what validate refuses)
    doc = {"connections": [{"name": "c", "kind": "s3", "schema": {"bucket": "s3://bkt"},
                            "env": [{"name": name, "value": "v"}]}]}
    assert validator.is_valid(doc) is ok
    assert _python_accepts(doc) is ok
    by_ref = {"connections": [{"name": "c", "kind": "s3", "schema": {"bucket": "s3://bkt"},
                               "env": [{"name": name, "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}
    assert validator.is_valid(by_ref) and _python_accepts(by_ref)


@pytest.mark.parametrize("bucket,ok", [
    ("wasbs://data@plxstorage.blob.core.windows.net/runs", True),
    ("wasbs://data@plxstorage.blob.core.windows.net/runs?sv=2022-11-02&sig=abc", False),
    ("wasbs://data@plxstorage.blob.core.windows.net/?SIG=abc", False),
    ("wasbs://data@plxstorage.blob.core.windows.net/a?b", True),
])
def test_sas_queries_agree_with_python(validator: jsonschema.Draft7Validator, bucket: str, ok: bool) -> None:
    doc = {"connections": [{"name": "c", "kind": "wasb", "schema": {"bucket": bucket}}]}
    assert validator.is_valid(doc) is ok
    assert _python_accepts(doc) is ok


@pytest.mark.parametrize("empty", [None, {}, []])
def test_an_empty_artifacts_store_is_not_set(validator: jsonschema.Draft7Validator, empty: Any) -> None:
    # charts write `artifactsStore: {}` (Polyaxon's agent reference does); stores.values reads
    # an empty one as not set, and so must the schema
    for key in ("artifactsStore", "defaultArtifactsStore"):
        doc = {key: empty, "connections": []}
        assert validator.is_valid(doc)
        assert _python_accepts(doc)
    assert not validator.is_valid({"artifactsStore": {"name": "x"}})
