"""The examples run end to end: their scripts do what their READMEs say, and every command in
the READMEs prints what is shown (the convention of tests/docs/test_docs.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from support.docs import BIN, EXAMPLES, NO_RUN_EXPECTED, ROOT, check_page, clean_env, count_no_run

from stores import Catalog, values_schema

READMES = sorted(EXAMPLES.rglob("README.md"))
SCRIPTS = sorted(EXAMPLES.rglob("*.py"))


def _workdir(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env={**clean_env(cwd), **env}, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_readme_snippets(readme: Path, tmp_path: Path) -> None:
    report = check_page(readme, tmp_path)
    assert not report.failures, "\n\n".join(report.failures)
    assert report.commands + report.python_blocks > 0


def test_every_example_folder_has_a_readme() -> None:
    folders = [p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders
    assert [f.name for f in folders if not (f / "README.md").is_file()] == []


def test_readme_no_run_blocks_are_counted() -> None:
    assert count_no_run(READMES) == NO_RUN_EXPECTED["examples"]


def test_scripts_have_type_hints() -> None:
    """Every function of an example script is annotated (the scripts are read as documentation)."""
    import ast

    missing = []
    for script in SCRIPTS:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.FunctionDef) and (node.returns is None or any(
                a.annotation is None for a in node.args.args + node.args.kwonlyargs
            )):
                missing.append(f"{script.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert SCRIPTS and not missing, missing


# -- the values files -----------------------------------------------------------------------------


#: every connection each example declares (legacy names are derived from the persistence keys)
EXAMPLE_CONNECTIONS = {
    "seed-004-values.yaml": {"data-azure", "data-foo", "data-gcs3", "data-s3", "data1", "data2", "outputs-azure",
                             "outputs-foo", "outputs-gcs3", "outputs-s3", "outputs1", "outputs2"},
    "current-values.yaml": {"artifacts", "azure-outputs", "datasets", "gcs-models", "s3-data", "shared-claim"},
    "legacy-defaults-values.yaml": {"default-data", "default-outputs"},
    "helm-chart/values.yaml": {"artifacts", "datasets"},
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_CONNECTIONS))
def test_values_files_pass_validate_and_the_schema(name: str) -> None:
    path = EXAMPLES / name
    catalog = Catalog.from_file(path)
    assert {c.name for c in catalog} == EXAMPLE_CONNECTIONS[name]
    jsonschema.Draft7Validator(values_schema()).validate(yaml.safe_load(path.read_text()))


def test_current_values_cover_every_kind() -> None:
    kinds = {c.kind for c in Catalog.from_file(EXAMPLES / "current-values.yaml")}
    assert kinds == {"host_path", "volume_claim", "s3", "gcs", "wasb"}


# -- python-mounts --------------------------------------------------------------------------------


def test_render_job_patches_the_users_job(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/python-mounts/render_job.py"], work)
    assert res.returncode == 0, res.stderr
    job = yaml.safe_load(res.stdout)
    from support.k8s import assert_valid

    assert_valid(job)
    spec = job["spec"]["template"]["spec"]
    trainer = next(c for c in spec["containers"] if c["name"] == "trainer")
    env = {v["name"]: v.get("value") for v in trainer["env"]}
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {"data1": "/data/1", "data-s3": "s3://data-bucket"}
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/foo/8a4c5f3e0b2d4e6f9a1b2c3d4e5f6a7b/outputs"
    assert env["POLYAXON_CONNECTION_DATA_S3_KEY_FILE"] == "/plx-secrets/data-s3/key.json"
    assert env["OMP_NUM_THREADS"] == "8"  # the user's env survives
    assert {v["name"] for v in spec["volumes"]} == {"cache", "data1", "outputs-foo", "secret-name"}
    assert "{{" not in res.stdout  # every template resolved


# -- in-run ---------------------------------------------------------------------------------------


def test_in_run_script_local_then_in_a_rendered_run(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/in-run/train.py"], work)
    assert res.returncode == 0, res.stderr
    assert "mode: local" in res.stdout
    assert json.loads((work / ".stores-dev/artifacts/local/outputs/outputs.json").read_text()) == {"rows": 3, "loss": 0.125}

    # the contract as `stores env` computes it for a values file whose store is this folder
    values = work / "values.yaml"
    data = work / "examples/in-run/sample-data"
    values.write_text(
        "persistence:\n"
        f"  data:\n    datasets:\n      hostPath: /mnt/x\n      mountPath: {data}\n"
        f"  outputs:\n    out:\n      hostPath: /mnt/y\n      mountPath: {work / 'store'}\n"
    )
    env_res = _run([str(BIN / "stores"), "env", str(values), "--run-uuid", "r1", "--owner", "o", "--project", "p",
                    "-o", "json"], work)
    assert env_res.returncode == 0, env_res.stderr
    contract = json.loads(env_res.stdout)
    res = _run([sys.executable, "examples/in-run/train.py"], work, **{**contract, "POLYAXON_CONTEXT_PATH": str(work / "ctx"),
               "POLYAXON_RUN_ARTIFACTS_PATH": str(work / "ctx/artifacts/r1")})
    assert res.returncode == 0, res.stderr
    assert "mode: run, run: r1" in res.stdout
    assert (work / "store/r1/outputs/model.txt").read_text() == "rows=3\n"
    assert json.loads((work / "ctx/artifacts/r1/outputs/outputs.json").read_text())["rows"] == 3


def test_in_run_script_fails_loudly_without_its_store(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/in-run/train.py"], work, POLYAXON_RUN_UUID="r1",
               POLYAXON_RUN_DATA_PATHS='{"other": "/data/other"}', POLYAXON_RUN_OUTPUTS_PATH=str(work / "o"))
    assert res.returncode == 1
    assert "ContractError: no data store 'datasets'" in res.stderr
    # the contract won over local_dev(): nothing was written locally (local_dev() does create
    # its empty root folder, even in a run)
    assert not [p for p in work.glob(".stores-dev/**/*")]


# -- sync-sidecar ---------------------------------------------------------------------------------


def test_sidecar_runs_locally_and_syncs_on_sigterm(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/sync-sidecar/run_locally.py", str(work / "w")], work)
    assert res.returncode == 0, res.stdout + res.stderr
    store = work / "w/artifacts-store/5f2a9c0e7b6d4c1a8e3f2b1a0c9d8e7f/outputs"
    assert (store / "final.txt").read_text() == "done\n"


def test_sidecar_rendered_pod_is_valid_and_has_the_sidecar() -> None:
    from support.k8s import assert_valid

    pod = yaml.safe_load((EXAMPLES / "sync-sidecar/rendered-pod.yaml").read_text())
    assert_valid(pod)
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "polyaxon-sidecar")
    assert sidecar["command"][:2] == ["stores", "sync"] and "--watch" in sidecar["command"]


# -- helm-chart -----------------------------------------------------------------------------------


def test_chart_schema_is_current(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/helm-chart/check_schema.py"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "values.schema.json is current" in res.stdout
    assert "values.yaml passes the schema" in res.stdout


def test_chart_schema_check_fails_when_stale_or_invalid(tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    schema = work / "examples/helm-chart/values.schema.json"
    schema.write_text(schema.read_text().replace('"maxLength": 253', '"maxLength": 252', 1))
    res = _run([sys.executable, "examples/helm-chart/check_schema.py"], work)
    assert res.returncode == 1 and "stale" in res.stdout

    res = _run([sys.executable, "examples/helm-chart/check_schema.py", "--write"], work)
    assert res.returncode == 0
    values = work / "examples/helm-chart/values.yaml"
    values.write_text(values.read_text().replace("s3://ml-artifacts/runs", "gs://ml-artifacts"))
    res = _run([sys.executable, "examples/helm-chart/check_schema.py"], work)
    assert res.returncode == 1
    assert "fails the schema" in res.stdout and "expected an s3:// URL" in res.stdout


# -- pandas-plx -----------------------------------------------------------------------------------


def test_pandas_example_reads_and_writes_a_bucket_through_plx(tmp_path: Path, s3_server) -> None:
    """The example's own values file and script, against moto's S3 server: a CSV through
    ``plx://data-s3/...``, a parquet file through ``url`` + ``storage_options``."""

    from support.servers import s3_client, s3_env

    client = s3_client(s3_server)
    if "pandas-example" not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket="pandas-example")
    work = _workdir(tmp_path)
    res = _run([sys.executable, "examples/pandas-plx/roundtrip.py", "data-s3"], work,
               STORES_VALUES="examples/pandas-plx/values.yaml", **s3_env(s3_server))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == ["plx://data-s3/metrics.csv: 3 rows, last loss 0.125",
                                       "s3://pandas-example/datasets/metrics.parquet: 3 rows"]
    body = client.get_object(Bucket="pandas-example", Key="datasets/metrics.csv")["Body"].read()
    assert body == b"epoch,loss\n1,0.5\n2,0.25\n3,0.125\n"
    assert client.head_object(Bucket="pandas-example", Key="datasets/metrics.parquet")["ContentLength"] > 0
