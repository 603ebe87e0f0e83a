"""The env contract (seed 004): POLYAXON_RUN_DATA_PATHS, POLYAXON_RUN_OUTPUTS_PATH and the rest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stores import Catalog, ContractError, SelectionError
from stores.contract import CONTRACT_VARS, contract_env, data_paths, inputs_env, join_store_path, outputs_path
from stores.contract.runinfo import RunInfo
from stores.selection import RunRequest, select
from stores import run as inrun

RUN = RunInfo(uuid="f0e1d2c3", owner="acme", project="vision", name="train-1")

# What seed 004 implies for its helm example: mountPath for volumes, bucket URL for buckets.
SEED_ALL_JSON = (
    '{"data-azure":"wasbs://data-container@plxstorage.blob.core.windows.net/",'
    '"data-foo":"/data/foo","data-gcs3":"gs://data-bucket","data-s3":"s3://data-bucket",'
    '"data1":"/data/1","data2":"/data/2"}'
)


@pytest.fixture(scope="module")
def seed(seed_values_path) -> Catalog:
    return Catalog.from_file(seed_values_path)


def test_seed_no_selection_all_six_and_outputs1(seed):
    env = contract_env(select(seed), RUN)
    assert env["POLYAXON_RUN_DATA_PATHS"] == SEED_ALL_JSON
    assert len(json.loads(env["POLYAXON_RUN_DATA_PATHS"])) == 6
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/1/f0e1d2c3/outputs"


def test_seed_polyaxonfile_selection(seed):
    request = RunRequest.from_polyaxonfile({"environment": {"persistence": {"data": ["data1", "data-foo"]}}})
    env = contract_env(select(seed, request=request), RUN)
    assert env["POLYAXON_RUN_DATA_PATHS"] == '{"data-foo":"/data/foo","data1":"/data/1"}'
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/1/f0e1d2c3/outputs"


def test_seed_unknown_name(seed):
    with pytest.raises(SelectionError) as info:
        contract_env(select(seed, ["nope"]), RUN)
    assert "'nope'" in str(info.value)
    assert "data1, data2, data-foo, data-gcs3, data-s3, data-azure" in str(info.value)


@pytest.mark.parametrize("outputs, expected", [
    ("outputs-s3", "s3://outputs-bucket/f0e1d2c3/outputs"),
    ("outputs-gcs3", "gs://outputs-bucket/f0e1d2c3/outputs"),
    ("outputs-azure", "wasbs://outputs-container@plxstorage.blob.core.windows.net/f0e1d2c3/outputs"),
    ("outputs2", "/outputs/2/f0e1d2c3/outputs"),
])
def test_outputs_path_per_kind(seed, outputs, expected):
    assert contract_env(select(seed, outputs=outputs), RUN)["POLYAXON_RUN_OUTPUTS_PATH"] == expected


def test_custom_subpath_template(seed):
    sel = select(seed, outputs="outputs-s3")
    assert outputs_path(sel, RUN, "runs/{name}") == "s3://outputs-bucket/runs/train-1"
    assert contract_env(sel, RUN, "{project}/{uuid}")["POLYAXON_RUN_OUTPUTS_PATH"] == (
        "s3://outputs-bucket/vision/f0e1d2c3"
    )
    with pytest.raises(ValueError, match="fields are owner, project, uuid, name"):
        outputs_path(sel, RUN, "{user}")


def test_identity_and_context_vars(seed):
    env = contract_env(select(seed, []), RUN)
    assert list(env) == [v for v in CONTRACT_VARS if v in env]
    assert env["POLYAXON_RUN_DATA_PATHS"] == "{}"
    assert env["POLYAXON_RUN_UUID"] == "f0e1d2c3"
    assert env["POLYAXON_RUN_NAME"] == "train-1"
    assert env["POLYAXON_RUN_INSTANCE"] == "acme.vision.runs.f0e1d2c3"
    assert env["POLYAXON_RUN_OWNER"] == "acme"
    assert env["POLYAXON_RUN_PROJECT"] == "vision"
    assert env["POLYAXON_CONTEXT_PATH"] == "/plx-context"
    assert env["POLYAXON_RUN_ARTIFACTS_PATH"] == "/plx-context/artifacts/f0e1d2c3"
    assert "POLYAXON_RUN_INPUTS" not in env


def test_unnamed_run_has_no_name_var(seed):
    env = contract_env(select(seed), RunInfo(uuid="u1"))
    assert "POLYAXON_RUN_NAME" not in env
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/1/u1/outputs"


def test_inputs_are_compact_sorted_json(seed):
    env = contract_env(select(seed), RUN, inputs={"lr": 0.1, "message": "héllo", "layers": [1, 2]})
    assert env["POLYAXON_RUN_INPUTS"] == '{"layers":[1,2],"lr":0.1,"message":"h\\u00e9llo"}'
    assert inputs_env({"b": 1, "a": None}) == {"POLYAXON_RUN_INPUTS": '{"a":null,"b":1}'}


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": float("nan")}, ["a"], {1: "a"}])
def test_inputs_that_json_cannot_carry(bad):
    with pytest.raises(ContractError):
        inputs_env(bad)


def test_same_inputs_byte_identical(seed, seed_values_path):
    again = Catalog.from_file(seed_values_path)
    a = contract_env(select(seed, ["data-s3", "data1"]), RUN, inputs={"b": 2, "a": 1})
    b = contract_env(select(again, ["data1", "data-s3"]), RunInfo(uuid="f0e1d2c3", owner="acme",
                                                                  project="vision", name="train-1"),
                     inputs={"a": 1, "b": 2})
    assert a == b and list(a) == list(b)


def test_byte_identical_across_processes(seed_values_path):
    code = (
        "import sys, json\n"
        "from stores import Catalog\nfrom stores.selection import select\n"
        "from stores.contract import contract_env\nfrom stores.contract.runinfo import RunInfo\n"
        f"env = contract_env(select(Catalog.from_file({str(seed_values_path)!r})), RunInfo('u', 'o', 'p'))\n"
        "sys.stdout.write(json.dumps(list(env.items())))\n"
    )
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def test_join_store_path():
    assert join_store_path("/outputs/1", "a/b") == "/outputs/1/a/b"
    assert join_store_path("s3://b", "a") == "s3://b/a"
    assert join_store_path("wasbs://c@a.blob.core.windows.net/", "a") == "wasbs://c@a.blob.core.windows.net/a"
    assert join_store_path("gs://b/prefix", "") == "gs://b/prefix"


def test_data_paths_dict(seed):
    assert data_paths(select(seed, ["data-gcs3", "data2"])) == {"data-gcs3": "gs://data-bucket", "data2": "/data/2"}


def test_round_trip_through_in_run_lookup(seed, tmp_path):
    env = contract_env(select(seed, ["data1", "data-s3"], "outputs-s3"), RUN, inputs={"lr": 0.5},
                       context_path=str(tmp_path))
    assert inrun.get_data_paths(environ=env) == {"data1": "/data/1", "data-s3": "s3://data-bucket"}
    assert inrun.get_data_path("data-s3", environ=env) == "s3://data-bucket"
    assert inrun.get_outputs_path(environ=env) == "s3://outputs-bucket/f0e1d2c3/outputs"
    assert inrun.get_inputs(environ=env) == {"lr": 0.5}
    ctx = inrun.get_run_context(environ=env)
    assert (ctx.uuid, ctx.owner, ctx.project, ctx.name) == ("f0e1d2c3", "acme", "vision", "train-1")
    assert ctx.run_outputs_path == f"{tmp_path}/artifacts/f0e1d2c3/outputs"


def test_the_contract_package_exports_exactly_what_write_defines() -> None:
    """stores.contract lists write's names by hand (reading write.__all__ would import pydantic
    into the in-run tier): the two lists must not drift."""
    import stores.contract
    import stores.contract.write

    assert sorted(stores.contract.__all__) == sorted(stores.contract.write.__all__)
