"""``stores paths`` and ``stores env``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from stores.cli import main

from support.paths import ROOT
BASE = ["--run-uuid", "u1", "--owner", "acme", "--project", "vision"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("POLYAXON_", "STORES_")):
            monkeypatch.delenv(name)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- stores env ---------------------------------------------------------------------------------


def test_env_default_selection_json(capsys, seed_values_path):
    code, out, err = run_cli(capsys, "env", str(seed_values_path), *BASE, "--output", "json")
    assert (code, err) == (0, "")
    env = json.loads(out)
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {
        "data1": "/data/1", "data2": "/data/2", "data-foo": "/data/foo", "data-gcs3": "gs://data-bucket",
        "data-s3": "s3://data-bucket", "data-azure": "wasbs://data-container@plxstorage.blob.core.windows.net/",
    }
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/1/u1/outputs"
    assert env["POLYAXON_RUN_INSTANCE"] == "acme.vision.runs.u1"


def test_env_output_is_sourceable(capsys, seed_values_path):
    code, out, _ = run_cli(capsys, "env", str(seed_values_path), *BASE, "--data", "data1,data-foo",
                           "--outputs", "outputs-s3", "--name", "my run", "--inputs", '{"msg": "it\'s"}')
    assert code == 0
    parsed = dict(line.split("=", 1) for line in out.splitlines())
    values = {k: shlex.split(v)[0] for k, v in parsed.items()}
    assert values["POLYAXON_RUN_DATA_PATHS"] == '{"data-foo":"/data/foo","data1":"/data/1"}'
    assert values["POLYAXON_RUN_OUTPUTS_PATH"] == "s3://outputs-bucket/u1/outputs"
    assert values["POLYAXON_RUN_NAME"] == "my run"
    assert json.loads(values["POLYAXON_RUN_INPUTS"]) == {"msg": "it's"}


def test_env_round_trips_into_stores_paths(capsys, seed_values_path, monkeypatch):
    code, out, _ = run_cli(capsys, "env", str(seed_values_path), *BASE, "--data", "data2", "--output", "json")
    for key, value in json.loads(out).items():
        monkeypatch.setenv(key, value)
    code, out, _ = run_cli(capsys, "paths", "--output", "json")
    assert code == 0
    assert json.loads(out) == {"data": {"data2": "/data/2"}, "outputs": "/outputs/1/u1/outputs"}


def test_env_empty_data_and_template(capsys, seed_values_path):
    code, out, _ = run_cli(capsys, "env", str(seed_values_path), *BASE, "--data", "", "--template", "runs/{uuid}",
                           "--output", "json")
    env = json.loads(out)
    assert env["POLYAXON_RUN_DATA_PATHS"] == "{}"
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/1/runs/u1"


@pytest.mark.parametrize("extra, fragments", [
    (["--data", "data1,nope"], ["unknown data store 'nope'", "known: data1, data2"]),
    (["--outputs", "nope"], ["unknown outputs store 'nope'", "outputs1"]),
    (["--inputs", "{bad"], ["--inputs: not valid JSON"]),
    (["--inputs", "[1]"], ["--inputs: must be a JSON object"]),
    (["--template", "{user}"], ["bad outputs path template"]),
])
def test_env_errors_exit_1_without_traceback(capsys, seed_values_path, extra, fragments):
    code, out, err = run_cli(capsys, "env", str(seed_values_path), *BASE, *extra)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_env_bad_identity_and_missing_file(capsys, tmp_path, seed_values_path):
    code, _, err = run_cli(capsys, "env", str(seed_values_path), "--run-uuid", "a/b", "--owner", "o", "--project", "p")
    assert code == 1 and "run uuid must be a non-empty string without '/'" in err
    code, _, err = run_cli(capsys, "env", str(tmp_path / "none.yaml"), *BASE)
    assert code == 1 and "none.yaml" in err


def test_env_defaults_the_run_as_render_does(capsys, seed_values_path):
    """No --run-uuid/--owner/--project: the run `stores render` would render, same uuid."""
    assert main(["env", str(seed_values_path), "-o", "json"]) == 0
    env = json.loads(capsys.readouterr().out)
    assert main(["render", str(seed_values_path), "-o", "json"]) == 0
    patch = json.loads(capsys.readouterr().out)
    rendered = {e["name"]: e.get("value") for e in patch["spec"]["containers"][0]["env"]}
    assert env["POLYAXON_RUN_OWNER"] == env["POLYAXON_RUN_PROJECT"] == "default"
    for key in ("POLYAXON_RUN_UUID", "POLYAXON_RUN_OUTPUTS_PATH", "POLYAXON_RUN_DATA_PATHS"):
        assert env[key] == rendered[key], key
    assert len(env["POLYAXON_RUN_UUID"]) == 32


# -- stores paths -------------------------------------------------------------------------------


def test_paths_table(capsys, monkeypatch):
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", '{"data1": "/data/1", "data-s3": "s3://data-bucket"}')
    monkeypatch.setenv("POLYAXON_RUN_OUTPUTS_PATH", "/outputs/1/a/b/u")
    code, out, _ = run_cli(capsys, "paths")
    assert code == 0
    assert out.splitlines() == [
        "ROLE     NAME     PATH",
        "data     data1    /data/1",
        "data     data-s3  s3://data-bucket",
        "outputs           /outputs/1/a/b/u",
    ]


def test_paths_without_outputs_store(capsys, monkeypatch):
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", "{}")
    code, out, _ = run_cli(capsys, "paths", "--output", "json")
    assert code == 0 and json.loads(out) == {"data": {}, "outputs": None}


def test_paths_outside_a_run_is_a_clear_error(capsys):
    code, out, err = run_cli(capsys, "paths")
    assert code == 1 and out == ""
    assert "POLYAXON_RUN_DATA_PATHS is not set" in err and "Traceback" not in err


def test_paths_malformed(capsys, monkeypatch):
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", "[oops")
    code, _, err = run_cli(capsys, "paths")
    assert code == 1 and "POLYAXON_RUN_DATA_PATHS is not valid JSON" in err


def test_paths_no_op_and_local_dev(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("POLYAXON_NO_OP", "true")
    code, out, _ = run_cli(capsys, "paths", "-o", "json")
    assert code == 0 and json.loads(out) == {"data": {}, "outputs": None}
    monkeypatch.delenv("POLYAXON_NO_OP")
    monkeypatch.setenv("STORES_LOCAL_DEV", "1")
    monkeypatch.setenv("STORES_LOCAL_DEV_ROOT", str(tmp_path))
    code, out, _ = run_cli(capsys, "paths", "-o", "json")
    assert json.loads(out) == {"data": {}, "outputs": str(tmp_path / "outputs")}


def test_paths_as_a_process():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "STORES_"))}
    env["POLYAXON_RUN_DATA_PATHS"] = '{"d": "/d"}'
    proc = subprocess.run([sys.executable, "-m", "stores", "paths", "-o", "json"], capture_output=True, text=True,
                          cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"data": {"d": "/d"}, "outputs": None}
