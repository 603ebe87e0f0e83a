"""Seed 004 selection rules: all data by default, exact names, one outputs store (the first)."""

from __future__ import annotations

import pytest

from stores import Catalog, SelectionError, parse_connection
from stores.selection import RunRequest, select

SEED_DATA = ["data1", "data2", "data-foo", "data-gcs3", "data-s3", "data-azure"]
SEED_OUTPUTS = ["outputs1", "outputs2", "outputs-foo", "outputs-gcs3", "outputs-s3", "outputs-azure"]

CURRENT = """
artifactsStore:
  name: store
  kind: s3
  schema: {bucket: "s3://artifacts"}
connections:
  - name: b
    kind: host_path
    schema: {hostPath: /b, mountPath: /mnt/b}
  - name: a
    kind: volume_claim
    schema: {volumeClaim: a-pvc, mountPath: /mnt/a}
"""


@pytest.fixture(scope="module")
def seed(seed_values_path) -> Catalog:
    return Catalog.from_file(seed_values_path)


def names(conns) -> list[str]:
    return [c.name for c in conns]


def test_no_selection_gives_all_data_and_first_outputs(seed):
    sel = select(seed)
    assert names(sel.data) == SEED_DATA
    assert sel.outputs.name == "outputs1"


def test_outputs_default_is_deterministic(seed):
    assert {select(seed).outputs.name for _ in range(20)} == {"outputs1"}


def test_named_data_gives_exactly_those_in_order(seed):
    sel = select(seed, ["data-foo", "data1"])
    assert names(sel.data) == ["data-foo", "data1"]
    assert sel.outputs.name == "outputs1"


def test_duplicate_names_selected_once(seed):
    assert names(select(seed, ["data1", "data1", "data2"]).data) == ["data1", "data2"]


def test_empty_list_means_no_data(seed):
    assert select(seed, []).data == ()


def test_single_string_is_one_name_not_characters(seed):
    assert names(select(seed, "data2").data) == ["data2"]


def test_unknown_data_name_lists_known_names(seed):
    with pytest.raises(SelectionError) as info:
        select(seed, ["data1", "nope"])
    msg = str(info.value)
    assert "'nope'" in msg
    for name in SEED_DATA:
        assert name in msg
    assert "'data1'" not in msg.split(";")[0]  # only the unknown one is blamed


def test_several_unknown_names_are_all_reported(seed):
    with pytest.raises(SelectionError, match=r"unknown data stores 'x', 'y'"):
        select(seed, ["x", "data1", "y"])


def test_named_outputs(seed):
    assert select(seed, outputs="outputs-s3").outputs.name == "outputs-s3"


def test_unknown_outputs_lists_known(seed):
    with pytest.raises(SelectionError) as info:
        select(seed, outputs="data1")  # a data store is not an outputs store
    assert "'data1'" in str(info.value)
    assert all(n in str(info.value) for n in SEED_OUTPUTS)


def test_outputs_must_be_one_name(seed):
    with pytest.raises(SelectionError, match="one store name"):
        select(seed, outputs=["outputs1", "outputs2"])  # type: ignore[arg-type]


def test_selection_connections_data_then_outputs(seed):
    sel = select(seed, ["data2"], "outputs-foo")
    assert names(sel.connections) == ["data2", "outputs-foo"]


def test_polyaxonfile_spelling(seed):
    doc = {"version": 1, "kind": "experiment",
           "environment": {"persistence": {"data": ["data1", "data-foo"], "outputs": "outputs-foo"}}}
    request = RunRequest.from_polyaxonfile(doc)
    assert request == RunRequest(("data1", "data-foo"), "outputs-foo")
    sel = select(seed, request=request)
    assert names(sel.data) == ["data1", "data-foo"]
    assert sel.outputs.name == "outputs-foo"


@pytest.mark.parametrize("doc, expected", [
    (None, RunRequest()),
    ({}, RunRequest()),
    ({"version": 1, "kind": "job", "run": {}}, RunRequest(data=())),  # a 2.x run names its connections: none here
    ({"environment": {"resources": {"cpu": 1}}}, RunRequest()),
    ({"environment": None}, RunRequest()),
    ({"persistence": {"data": "data2"}}, RunRequest(("data2",), None)),
    ({"data": [], "outputs": "o"}, RunRequest((), "o")),
    ({"outputs": "o"}, RunRequest(None, "o")),
])
def test_request_spellings(doc, expected):
    assert RunRequest.from_polyaxonfile(doc) == expected


@pytest.mark.parametrize("doc, match", [
    ({"environment": {"persistence": {"dataa": ["x"]}}}, r"environment\.persistence: unknown key\(s\) 'dataa'"),
    ({"environment": {"persistence": {"data": [1]}}}, r"environment\.persistence\.data: expected a list"),
    ({"environment": {"persistence": {"outputs": ["a", "b"]}}}, r"outputs: expected one name"),
    ({"environment": {"persistence": []}}, r"expected a mapping"),
    ({"environment": "x"}, r"environment: expected a mapping"),
    ({"foo": 1}, r"persistence: unknown key\(s\) 'foo'"),
    ("data1", r"expected a mapping"),
])
def test_request_errors(doc, match):
    with pytest.raises(SelectionError, match=match):
        RunRequest.from_polyaxonfile(doc)


def test_python_args_override_request(seed):
    request = RunRequest(("data1",), "outputs2")
    sel = select(seed, ["data2"], request=request)
    assert names(sel.data) == ["data2"]
    assert sel.outputs.name == "outputs2"


def test_request_empty_data_is_kept(seed):
    assert select(seed, request=RunRequest((), None)).data == ()


def test_current_spelling_connections_and_artifacts_store():
    catalog = Catalog.from_yaml(CURRENT)
    sel = select(catalog)
    assert names(sel.data) == ["b", "a"]
    assert sel.outputs.name == "store"
    with pytest.raises(SelectionError, match="known: b, a"):
        select(catalog, ["c"])


def test_no_outputs_store_gives_none():
    catalog = Catalog(data=[parse_connection(
        {"name": "d", "kind": "host_path", "schema": {"hostPath": "/h", "mountPath": "/d"}})])
    sel = select(catalog)
    assert sel.outputs is None
    with pytest.raises(SelectionError, match=r"known: \(none\)"):
        select(catalog, outputs="o")


# -- a Polyaxon 2.x polyaxonfile: run.connections and run.init ------------------------------------


def _v2_catalog() -> Catalog:
    return Catalog.from_values({
        "artifactsStore": {"name": "store", "kind": "s3", "schema": {"bucket": "s3://plx-store"}},
        "connections": [
            {"name": "data1", "kind": "host_path", "schema": {"hostPath": "/srv/d", "mountPath": "/data/1"}},
            {"name": "repo", "kind": "git", "schema": {"url": "https://github.com/o/r"}, "secret": {"name": "tok"}},
        ],
    })


def test_run_connections_may_name_other_kinds_and_the_artifacts_store():
    doc = {"version": 1.1, "kind": "component", "run": {"kind": "job", "connections": ["repo", "store", "data1"]}}
    sel = select(_v2_catalog(), request=RunRequest.from_polyaxonfile(doc))
    assert [c.name for c in sel.data] == ["store", "data1"]
    assert [c.name for c in sel.others] == ["repo"]


def test_run_init_copies_resolve_to_connections():
    doc = {"run": {"kind": "job", "init": [
        {"connection": "data1", "paths": ["train", ["a/b.csv", "b.csv"]], "path": "/data/train"},
        {"artifacts": {"dirs": ["prev-run"]}},  # no connection: the artifacts store
        {"git": {"url": "https://x"}},  # Polyaxon's own, not a copy of ours
    ]}}
    sel = select(_v2_catalog(), request=RunRequest.from_polyaxonfile(doc))
    assert [(i.connection, i.paths, i.path, c.name) for i, c in sel.init] == [
        ("data1", (("train", "train"), ("a/b.csv", "b.csv")), "/data/train", "data1"),
        (None, (("prev-run", "prev-run"),), None, "store"),
    ]


@pytest.mark.parametrize("init, message", [
    ({"connection": "nope"}, "run.init copies from 'nope': not in the catalog"),
    ({"connection": "repo"}, "a git connection: only stores can be copied"),
    ({"connection": "data1", "paths": ["../up"]}, r"run.init\[0\].paths\[0\]: expected a relative path"),
    ({"connection": "data1", "path": "relative"}, r"run.init\[0\].path: mountPath must be absolute"),
])
def test_run_init_errors(init, message):
    with pytest.raises(SelectionError, match=message):
        select(_v2_catalog(), request=RunRequest.from_polyaxonfile({"run": {"init": [init]}}))
