"""In-run lookup (stores.run): the contract, its errors, no-op and local-dev modes, inputs/outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import stores.run as run
from stores import ContractError

from support.paths import ROOT
HEAVY = ("pydantic", "yaml", "fsspec", "kubernetes", "boto3", "botocore", "s3fs", "gcsfs", "adlfs",
         "google", "azure", "jsonschema")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("POLYAXON_", "STORES_")):
            monkeypatch.delenv(name)
    run.disable_local_dev()
    yield
    run.disable_local_dev()


def contract(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "POLYAXON_RUN_DATA_PATHS": json.dumps({"data1": "/data/1", "data-s3": "s3://data-bucket"}),
        "POLYAXON_RUN_OUTPUTS_PATH": "/outputs/1/acme/vision/u1",
        "POLYAXON_RUN_UUID": "u1",
        "POLYAXON_RUN_INSTANCE": "acme.vision.runs.u1",
        "POLYAXON_CONTEXT_PATH": str(tmp_path),
    }
    env.update(extra)
    return env


# -- imports ------------------------------------------------------------------------------------


def _importtime(code: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return {m.group(1).strip() for m in re.finditer(r"^import time:\s*\d+ \|\s*\d+ \|(.*)$", proc.stderr, re.M)}


def _loaded(code: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return set(proc.stdout.split())


def test_importtime_shows_no_heavy_module():
    shown = _importtime("import stores.run")
    assert "stores.run" in shown and "stores.contract.read" in shown
    assert not {m for m in shown if m.split(".")[0] in HEAVY}


def test_import_loads_only_stdlib():
    added = _loaded("import stores.run") - _loaded("pass")
    assert "stores.run" in added
    outside = {m for m in added if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "stores"}
    assert outside == set()
    ours = {m for m in added if m.startswith("stores")}
    assert ours <= {"stores", "stores.errors", "stores.reader", "stores.redact", "stores.run", "stores.contract",
                    "stores.contract.names", "stores.contract.read", "stores.contract.checks",
                    "stores.contract.io"}


def test_import_skips_slow_stdlib_modules():
    # dataclasses pulls in inspect (~10 ms) and typing costs ~2 ms: the in-run path avoids both
    added = _loaded("import stores.run") - _loaded("pass")
    assert not added & {"dataclasses", "inspect", "typing"}


def test_problem_is_an_immutable_value():
    import pickle

    from stores.errors import Problem

    p = Problem(("persistence", "data", 0), "bad", "v.yaml", 3)
    assert p == Problem(("persistence", "data", 0), "bad", "v.yaml", 3) != Problem((), "bad")
    assert len({p, Problem(("persistence", "data", 0), "bad", "v.yaml", 3)}) == 1
    assert pickle.loads(pickle.dumps(p)) == p
    assert str(p) == "v.yaml:3: persistence.data[0]: bad"
    with pytest.raises(AttributeError):
        p.line = 4  # type: ignore[misc]


def test_run_context_is_immutable(tmp_path):
    ctx = run.get_run_context(environ=contract(tmp_path))
    with pytest.raises(AttributeError):
        ctx.uuid = "x"  # type: ignore[misc]
    assert ctx == run.get_run_context(environ=contract(tmp_path)) and "uuid='u1'" in repr(ctx)


def test_lookup_call_loads_only_stdlib():
    env = {**os.environ, "POLYAXON_RUN_DATA_PATHS": '{"a":"/a"}'}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, stores.run as r; print(r.get_data_paths());"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY,)],
        capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert proc.stdout.splitlines() == ["{'a': '/a'}", "[]"]


# -- the contract -------------------------------------------------------------------------------


def test_reads_the_contract(tmp_path):
    env = contract(tmp_path)
    assert run.get_data_paths(environ=env) == {"data1": "/data/1", "data-s3": "s3://data-bucket"}
    assert run.get_data_path("data-s3", environ=env) == "s3://data-bucket"
    assert run.get_outputs_path(environ=env) == "/outputs/1/acme/vision/u1"


def test_reads_os_environ_by_default(monkeypatch, tmp_path):
    for k, v in contract(tmp_path).items():
        monkeypatch.setenv(k, v)
    assert run.get_data_path("data1") == "/data/1"
    assert run.get_outputs_path() == "/outputs/1/acme/vision/u1"


def test_run_context(tmp_path):
    ctx = run.get_run_context(environ=contract(tmp_path, POLYAXON_RUN_NAME="train"))
    assert ctx.uuid == "u1" and ctx.owner == "acme" and ctx.project == "vision" and ctx.name == "train"
    assert ctx.project_unique_name == "acme.vision"
    assert ctx.context_path == str(tmp_path)
    assert ctx.artifacts_path == f"{tmp_path}/artifacts"
    assert ctx.run_artifacts_path == f"{tmp_path}/artifacts/u1"
    assert ctx.run_outputs_path == f"{tmp_path}/artifacts/u1/outputs"
    assert ctx.outputs_path == "/outputs/1/acme/vision/u1"
    assert ctx.mode == "run"


def test_run_context_defaults_to_plx_context():
    ctx = run.get_run_context(environ={"POLYAXON_RUN_UUID": "abc", "POLYAXON_RUN_DATA_PATHS": "{}"})
    assert ctx.run_outputs_path == "/plx-context/artifacts/abc/outputs"
    assert (ctx.owner, ctx.project, ctx.outputs_path) == (None, None, None)


def test_explicit_owner_project_allow_dots_in_instance():
    ctx = run.get_run_context(environ={"POLYAXON_RUN_INSTANCE": "my.org.proj.runs.u9", "POLYAXON_RUN_OWNER": "my.org",
                               "POLYAXON_RUN_PROJECT": "proj"})
    assert (ctx.owner, ctx.project, ctx.uuid) == ("my.org", "proj", "u9")


def test_run_artifacts_path_variable_wins():
    ctx = run.get_run_context(environ={"POLYAXON_RUN_UUID": "u", "POLYAXON_RUN_ARTIFACTS_PATH": "/elsewhere/u"})
    assert ctx.run_outputs_path == "/elsewhere/u/outputs"


@pytest.mark.parametrize("env, fragments", [
    ({"POLYAXON_RUN_DATA_PATHS": "{not json"}, ["POLYAXON_RUN_DATA_PATHS is not valid JSON", "line 1 column 2"]),
    ({"POLYAXON_RUN_DATA_PATHS": '["a"]'}, ["POLYAXON_RUN_DATA_PATHS must be a JSON object", "list"]),
    ({"POLYAXON_RUN_DATA_PATHS": '{"a": 1}'}, ["POLYAXON_RUN_DATA_PATHS must map names", "'a'"]),
    ({"POLYAXON_RUN_DATA_PATHS": '{"a": ""}'}, ["non-empty"]),
    ({"POLYAXON_RUN_UUID": "u"}, ["POLYAXON_RUN_DATA_PATHS is not set", "found POLYAXON_RUN_UUID"]),
    ({}, ["POLYAXON_RUN_DATA_PATHS is not set", "STORES_LOCAL_DEV=1", "local_dev()", "POLYAXON_NO_OP=true"]),
])
def test_data_paths_errors(env, fragments):
    with pytest.raises(ContractError) as info:
        run.get_data_paths(environ=env)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_long_malformed_value_is_shortened():
    with pytest.raises(ContractError) as info:
        run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": "x" * 500})
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("raw", ["{not json s3://AKIAEXAMPLE:wJalrXUtn@bucket", '["s3://AKIAEXAMPLE:wJalrXUtn@bucket"]'])
def test_malformed_data_paths_are_not_echoed(raw):
    # the variable may hold bucket URLs (and, wrongly, credentials): name it, never quote it
    with pytest.raises(ContractError, match="POLYAXON_RUN_DATA_PATHS") as info:
        run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": raw})
    assert "wJalrXUtn" not in str(info.value) and "AKIAEXAMPLE" not in str(info.value)


def test_unknown_data_name_lists_what_the_run_has(tmp_path):
    with pytest.raises(ContractError, match=r"no data store 'data9' .* this run has: data1, data-s3"):
        run.get_data_path("data9", environ=contract(tmp_path))


def test_missing_outputs(tmp_path):
    env = contract(tmp_path)
    del env["POLYAXON_RUN_OUTPUTS_PATH"]
    with pytest.raises(ContractError, match="POLYAXON_RUN_OUTPUTS_PATH is not set: this run has no outputs store"):
        run.get_outputs_path(environ=env)
    with pytest.raises(ContractError, match="POLYAXON_RUN_OUTPUTS_PATH is empty"):
        run.get_outputs_path(environ={**env, "POLYAXON_RUN_OUTPUTS_PATH": " "})


@pytest.mark.parametrize("env, match", [
    ({"POLYAXON_RUN_INSTANCE": "acme.vision.u1"}, "must look like owner.project.runs.uuid"),
    ({"POLYAXON_RUN_INSTANCE": "a.b.c.runs.u1"}, "must look like owner.project.runs.uuid"),
    ({"POLYAXON_RUN_INSTANCE": "a.b.runs.u1", "POLYAXON_RUN_UUID": "u2"}, "disagrees"),
    ({"POLYAXON_RUN_DATA_PATHS": "{}"}, "neither POLYAXON_RUN_UUID nor POLYAXON_RUN_INSTANCE"),
    ({"POLYAXON_RUN_UUID": "u", "POLYAXON_CONTEXT_PATH": "rel"}, "POLYAXON_CONTEXT_PATH must be an absolute path"),
    ({"POLYAXON_RUN_UUID": "../x"}, "not a run uuid"),
])
def test_context_errors(env, match):
    with pytest.raises(ContractError, match=match):
        run.get_run_context(environ=env)


# -- no-op ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["true", "1", "YES"])
def test_no_op_returns_empty_and_writes_nothing(tmp_path, flag):
    env = {"POLYAXON_NO_OP": flag}
    assert run.is_no_op(environ=env)
    assert run.get_data_paths(environ=env) == {}
    assert run.get_data_path("x", environ=env) is None
    assert run.get_outputs_path(environ=env) is None
    assert run.get_run_context(environ=env) is None
    assert run.get_inputs(environ=env) == {}
    assert run.get_outputs(environ=env) == {}
    assert run.log_outputs(env, loss=1) is None
    assert run.reset_outputs(environ=env) is None
    # a kill switch: even a present contract is ignored, and nothing is written
    full = contract(tmp_path, POLYAXON_NO_OP=flag)
    assert run.get_data_paths(environ=full) == {}
    run.log_outputs(full, loss=1)
    assert not (tmp_path / "artifacts").exists()


def test_no_op_false_is_off_and_garbage_is_an_error(tmp_path):
    assert run.get_data_paths(environ=contract(tmp_path, POLYAXON_NO_OP="false"))
    with pytest.raises(ContractError, match="POLYAXON_NO_OP must be true or false.*'maybe'"):
        run.get_data_paths(environ={"POLYAXON_NO_OP": "maybe"})


# -- local development ---------------------------------------------------------------------------


def test_local_dev_env(tmp_path):
    env = {"STORES_LOCAL_DEV": "1", "STORES_LOCAL_DEV_ROOT": str(tmp_path)}
    assert run.get_data_paths(environ=env) == {}
    path = run.get_data_path("data1", environ=env)
    assert path == str(tmp_path / "data" / "data1") and os.path.isdir(path)
    assert run.get_data_paths(environ=env) == {"data1": path}
    assert run.get_outputs_path(environ=env) == str(tmp_path / "outputs")
    ctx = run.get_run_context(environ=env)
    assert (ctx.mode, ctx.uuid) == ("local", "local")
    assert ctx.run_outputs_path == str(tmp_path / "artifacts" / "local" / "outputs")


def test_local_dev_call_with_data_and_inputs(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    root = run.local_dev(tmp_path / "root", data={"imagenet": str(real)}, inputs={"lr": 0.1})
    assert root == str(tmp_path / "root")
    assert run.get_data_path("imagenet") == str(real)
    assert run.get_inputs() == {"lr": 0.1}
    run.log_outputs(acc=0.9)
    assert run.get_outputs() == {"acc": 0.9}
    assert (tmp_path / "root" / "artifacts" / "local" / "outputs" / "outputs.json").is_file()


def test_local_dev_data_env_mapping(tmp_path):
    env = {"STORES_LOCAL_DEV": "on", "STORES_LOCAL_DEV_ROOT": str(tmp_path),
           "STORES_LOCAL_DEV_DATA": json.dumps({"d": "/some/where"})}
    assert run.get_data_paths(environ=env) == {"d": "/some/where"}
    with pytest.raises(ContractError, match="STORES_LOCAL_DEV_DATA is not valid JSON"):
        run.get_data_paths(environ={**env, "STORES_LOCAL_DEV_DATA": "{"})


def test_local_dev_temporary_root_is_stable(monkeypatch):
    monkeypatch.setenv("STORES_LOCAL_DEV", "1")
    first = run.get_outputs_path()
    assert first == run.get_outputs_path() and os.path.isdir(first)
    assert "stores-local-dev-" in first


def test_local_dev_rejects_path_like_names(tmp_path):
    run.local_dev(tmp_path)
    with pytest.raises(ContractError, match="not a data store name"):
        run.get_data_path("../etc")


def test_contract_wins_over_local_dev(tmp_path):
    run.local_dev(tmp_path / "local")
    assert run.get_data_paths(environ=contract(tmp_path)) == {"data1": "/data/1", "data-s3": "s3://data-bucket"}
    assert run.get_run_context(environ=contract(tmp_path)).mode == "run"


# -- inputs --------------------------------------------------------------------------------------


def test_inputs_from_env_and_file(tmp_path):
    file = tmp_path / "inputs.json"
    file.write_text('{"message": "from file"}')
    env = contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(file))
    assert run.get_inputs(environ=env) == {"message": "from file"}
    env["POLYAXON_RUN_INPUTS"] = '{"message": "from env"}'
    assert run.get_inputs(environ=env) == {"message": "from env"}  # the variable wins over the file
    assert run.get_inputs(environ=contract(tmp_path)) == {}


def test_inputs_errors(tmp_path):
    with pytest.raises(ContractError, match="POLYAXON_RUN_INPUTS must be a JSON object"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS="[1]"))
    missing = tmp_path / "nope.json"
    with pytest.raises(ContractError, match=r"POLYAXON_RUN_INPUTS_FILE=.*nope\.json.* cannot be read"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(missing)))
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ContractError, match=r"POLYAXON_RUN_INPUTS_FILE \(.*bad\.json\) is not valid JSON"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(bad)))


# -- outputs -------------------------------------------------------------------------------------


def test_log_get_reset_outputs(tmp_path):
    env = contract(tmp_path)
    assert run.get_outputs(environ=env) == {}
    assert run.log_outputs(env, loss=0.5, tags=["a"]) == {"loss": 0.5, "tags": ["a"]}
    assert run.log_outputs(env, loss=0.25, environ="x") == {"loss": 0.25, "tags": ["a"], "environ": "x"}
    path = tmp_path / "artifacts" / "u1" / "outputs" / "outputs.json"
    assert json.loads(path.read_text()) == {"environ": "x", "loss": 0.25, "tags": ["a"]}
    assert run.get_outputs(environ=env) == {"environ": "x", "loss": 0.25, "tags": ["a"]}
    assert [p.name for p in path.parent.iterdir()] == ["outputs.json"]  # no temporary file left
    run.reset_outputs(environ=env)
    assert run.get_outputs(environ=env) == {}


def test_outputs_must_be_json(tmp_path):
    env = contract(tmp_path)
    run.log_outputs(env, ok=1)
    with pytest.raises(ContractError, match="outputs must be JSON values"):
        run.log_outputs(env, bad=object())
    with pytest.raises(ContractError, match="outputs must be JSON values"):
        run.log_outputs(env, bad=float("inf"))
    assert run.get_outputs(environ=env) == {"ok": 1}  # a failed write leaves the file as it was


def test_malformed_outputs_file(tmp_path):
    env = contract(tmp_path)
    path = tmp_path / "artifacts" / "u1" / "outputs" / "outputs.json"
    path.parent.mkdir(parents=True)
    path.write_text("[]")
    with pytest.raises(ContractError, match=r"outputs file .*outputs\.json must be a JSON object"):
        run.get_outputs(environ=env)


def test_unwritable_outputs_dir(tmp_path):
    blocker = tmp_path / "artifacts"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(ContractError, match="cannot write the run's outputs"):
        run.reset_outputs(environ=contract(tmp_path))


def test_local_dev_inside_a_run_creates_nothing(monkeypatch, tmp_path):
    # the contract wins in a rendered run, so local_dev() must not leave a folder in the pod
    for name, value in contract(tmp_path).items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "dev-root"
    run.local_dev(root)
    assert not root.exists()
    assert run.get_data_paths() == {"data1": "/data/1", "data-s3": "s3://data-bucket"}


def test_local_dev_relative_data_paths_become_absolute(monkeypatch, tmp_path):
    # a relative path would later be taken for a store name by open_store()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    run.local_dev(tmp_path / "root", data={"mine": "rel"})
    assert run.get_data_path("mine") == str(tmp_path / "rel")
    monkeypatch.setenv("STORES_LOCAL_DEV_DATA", json.dumps({"other": "rel"}))
    assert run.get_data_path("other") == str(tmp_path / "rel")


# -- a strict contract: what the lookup refuses (hardening issue: bounded inputs) -----------------


@pytest.mark.parametrize("paths, fragment", [
    ({"d": "data/1"}, "entry 'd' is not an absolute path (it is relative)"),
    ({"d": "/data/../etc"}, "entry 'd' contains '..'"),
    ({"d": "/"}, "entry 'd' is the root '/'"),
    ({"d": " "}, "entry 'd' is empty"),
    ({"d": "/data/\x1b[31m"}, "entry 'd' contains a control character"),
    ({"d": "/" + "a" * 5000}, "entry 'd' is longer than PATH_MAX (4096 characters)"),
    ({"d": "file:///data/1"}, "entry 'd' is a file:// URL (give the path itself)"),
    ({"d": "ftp://host/x"}, "entry 'd' is a ftp:// URL; expected an absolute path or an s3://"),
    ({"d": "s3://AKIAEXAMPLE:wJalrXUtnSECRET@bucket/x"}, "entry 'd' holds credentials"),
    ({"d": "gs://user@bucket"}, "entry 'd' holds credentials"),
    ({"d": "wasbs://c:SECRETKEY@acct.blob.core.windows.net/p"}, "entry 'd' holds credentials"),
    ({"d": "wasbs://c@acct.blob.core.windows.net/p?sv=1&sig=SECRETSIG"}, "entry 'd' holds the query of a signed URL or SAS token"),
    ({"d": "s3://"}, "entry 'd' has no bucket"),
    ({"d": "s3://bucket/a/../../other"}, "entry 'd' contains '.' or '..' segments"),
    ({"": "/data/1"}, "has an empty or blank name"),
    ({"  ": "/data/1"}, "has an empty or blank name"),
    ({"a\nb": "/data/1"}, "has a name with a control or non-printable character"),
    ({" d": "/data/1"}, "has a name with leading or trailing blanks"),
])
def test_data_paths_garbage_is_refused_without_echo(paths, fragment):
    with pytest.raises(ContractError) as info:
        run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": json.dumps(paths)})
    message = str(info.value)
    assert message.startswith("POLYAXON_RUN_DATA_PATHS") and fragment in message, message
    for value in paths.values():
        if len(value) > 3:
            assert value not in message
    assert "SECRET" not in message


@pytest.mark.parametrize("raw, fragment", [
    ('{"d": "/data/1", "d": "/etc"}', "has the key 'd' more than once"),
    ("[" * 100_000, "nests deeper than 100 levels"),
    ('{"d": ' * 101 + '"/x"' + "}" * 101, "nests deeper than 100 levels"),
    ('{"d": "\\ud800"}', "lone surrogate"),
    ('{"d": "/data/\udcff"}', "is not UTF-8 text"),  # a byte that is not UTF-8, as os.environ gives it
])
def test_data_paths_hostile_json_is_a_contract_error(raw, fragment):
    with pytest.raises(ContractError, match="POLYAXON_RUN_DATA_PATHS") as info:
        run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": raw})
    assert fragment in str(info.value)


def test_data_paths_nesting_up_to_the_limit_is_read_as_json():
    # depth is counted outside strings: brackets inside a path do not count
    raw = json.dumps({"d": "/data/" + "[" * 300})
    assert run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": raw}) == {"d": "/data/" + "[" * 300}
    # the limit applies to run inputs too, which are arbitrary JSON: 100 levels are fine
    inputs = json.dumps({"x": json.loads("[" * 99 + "]" * 99)})
    assert run.get_inputs(environ={"POLYAXON_RUN_UUID": "u", "POLYAXON_RUN_DATA_PATHS": "{}",
                                   "POLYAXON_RUN_INPUTS": inputs})["x"] == json.loads("[" * 99 + "]" * 99)


def test_good_locations_are_kept_or_normalised():
    paths = {"a": "/data/1/", "b": "/data//2/./x", "s3": "s3://bucket/pre/fix", "gs": "gs://bucket",
             "az": "wasbs://container@account.blob.core.windows.net/p"}
    assert run.get_data_paths(environ={"POLYAXON_RUN_DATA_PATHS": json.dumps(paths)}) == {
        **paths, "a": "/data/1", "b": "/data/2/x"}


@pytest.mark.parametrize("value, fragment", [
    ("outputs/rel", "POLYAXON_RUN_OUTPUTS_PATH is not an absolute path"),
    ("/outputs/../../etc", "POLYAXON_RUN_OUTPUTS_PATH contains '..'"),
    ("file:///outputs", "POLYAXON_RUN_OUTPUTS_PATH is a file:// URL"),
    ("s3://KEY:SECRETVALUE@bucket/out", "POLYAXON_RUN_OUTPUTS_PATH holds credentials"),
    ("/out\x00puts", "POLYAXON_RUN_OUTPUTS_PATH contains a control character"),
])
def test_outputs_path_garbage_is_refused(tmp_path, value, fragment):
    env = contract(tmp_path, POLYAXON_RUN_OUTPUTS_PATH=value)
    for lookup in (run.get_outputs_path, run.get_run_context):
        with pytest.raises(ContractError) as info:
            lookup(environ=env)
        assert fragment in str(info.value) and "SECRETVALUE" not in str(info.value)


@pytest.mark.parametrize("extra, fragment", [
    ({"POLYAXON_CONTEXT_PATH": "/plx/../etc"}, "POLYAXON_CONTEXT_PATH contains '..'"),
    ({"POLYAXON_RUN_ARTIFACTS_PATH": "rel/u1"}, "POLYAXON_RUN_ARTIFACTS_PATH must be an absolute path"),
    ({"POLYAXON_RUN_ARTIFACTS_PATH": "/a/\x07"}, "POLYAXON_RUN_ARTIFACTS_PATH contains a control character"),
    ({"POLYAXON_RUN_UUID": "u\n1", "POLYAXON_RUN_INSTANCE": "a.b.runs.u\n1"}, "not a run uuid"),
])
def test_context_paths_garbage_is_refused(tmp_path, extra, fragment):
    with pytest.raises(ContractError, match=re.escape(fragment)):
        run.get_run_context(environ=contract(tmp_path, **extra))


def test_connections_catalog_and_store_name_are_checked():
    from stores.contract.read import read_artifacts_store_name, read_connections_catalog

    for raw, fragment in [
        ('{"connections": [{"name": ""}]}', "empty or blank name"),
        ('{"connections": [{"name": "a\\u0000"}]}', "control or non-printable"),
        ('{"connections": [], "connections": [{"name": "a"}]}', "has the key 'connections' more than once"),
        ('{"connections": ' + "[" * 500 + "]" * 500 + "}", "nests deeper than 100 levels"),
    ]:
        with pytest.raises(ContractError, match="POLYAXON_CONNECTIONS_CATALOG") as info:
            read_connections_catalog({"POLYAXON_CONNECTIONS_CATALOG": raw})
        assert fragment in str(info.value)
    assert read_artifacts_store_name({"POLYAXON_ARTIFACTS_STORE_NAME": "team-store"}) == "team-store"
    with pytest.raises(ContractError, match="POLYAXON_ARTIFACTS_STORE_NAME has a name with a control"):
        read_artifacts_store_name({"POLYAXON_ARTIFACTS_STORE_NAME": "a\tb"})


def test_inputs_file_must_be_a_regular_file_of_bounded_size(tmp_path):
    fifo = tmp_path / "inputs.fifo"
    os.mkfifo(fifo)
    # in a child with a timeout: opening a FIFO for reading blocks until a writer comes
    env = {**os.environ, **contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(fifo))}
    proc = subprocess.run([sys.executable, "-c", "import stores.run as r\nfrom stores.errors import ContractError\n"
                           "try:\n r.get_inputs()\nexcept ContractError as e:\n print(e)"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=30)
    assert re.match(r"POLYAXON_RUN_INPUTS_FILE=.* cannot be read: is a FIFO \(named pipe\)", proc.stdout), proc.stdout + proc.stderr
    with pytest.raises(ContractError, match="cannot be read: is a character device"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS_FILE="/dev/zero"))
    big = tmp_path / "big.json"
    big.write_bytes(b'{"x": "' + b"a" * (4 * 1024 * 1024) + b'"}')
    with pytest.raises(ContractError, match=r"larger than 4 MiB \(4194304 bytes\)"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(big)))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(ContractError, match="nests deeper than 100 levels"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS_FILE=str(deep)))
    with pytest.raises(ContractError, match="POLYAXON_RUN_INPUTS has the key 'lr' more than once"):
        run.get_inputs(environ=contract(tmp_path, POLYAXON_RUN_INPUTS='{"lr": 1, "lr": 2}'))


def test_get_data_paths_deep_nesting_in_a_fresh_process():
    # the reported crash: a raw RecursionError out of get_data_paths()
    env = {**os.environ, "POLYAXON_RUN_DATA_PATHS": "[" * 100_000}
    proc = subprocess.run(
        [sys.executable, "-c", "import stores.run as r\nfrom stores.errors import ContractError\n"
         "try:\n r.get_data_paths()\nexcept ContractError as e:\n print(type(e).__name__, e)"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.stdout.startswith("ContractError POLYAXON_RUN_DATA_PATHS nests deeper than 100 levels"), proc.stdout + proc.stderr
