"""In-run compatibility with Polyaxon: its call shapes, its catalog variables, against moto's S3.

- ``stores.run`` takes ``polyaxon.tracking``'s positional arguments (``get_outputs_path("model.pt")``);
  the environment to read is the keyword ``environ=``;
- inside a rendered main container, ``open_store(NAME)`` finds any connection of
  ``POLYAXON_CONNECTIONS_CATALOG`` with its mounted key file, and ``open_store("outputs")`` /
  ``stores cp X outputs:KEY`` the artifacts store of ``POLYAXON_ARTIFACTS_STORE_NAME``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from k8s import render_patch
from support.k8s import RUN
from support.servers import s3_client, create_s3_bucket, unique_bucket
from stores import run
from stores.catalog import Catalog
from stores.errors import ContractError

STORES = str(Path(sys.executable).parent / "stores")


def test_outputs_path_takes_polyaxons_call_shape(tmp_path: Path) -> None:
    env = {"POLYAXON_RUN_OUTPUTS_PATH": str(tmp_path / "out"), "POLYAXON_RUN_UUID": "u1",
           "POLYAXON_RUN_DATA_PATHS": "{}"}
    assert run.get_outputs_path(environ=env) == str(tmp_path / "out")
    path = run.get_outputs_path("model/weights.pt", environ=env)
    assert path == str(tmp_path / "out" / "model" / "weights.pt")
    assert (tmp_path / "out" / "model").is_dir()  # Polyaxon's ensure_path
    assert run.get_outputs_path("plots", is_dir=True, environ=env) == str(tmp_path / "out" / "plots")
    assert (tmp_path / "out" / "plots").is_dir()
    assert run.get_artifacts_path("events", environ=env) == "/plx-context/artifacts/u1/events"
    with pytest.raises(ValueError, match="relative"):
        run.get_outputs_path("../escape", environ=env)
    # a bucket outputs path: joined, nothing created
    assert run.get_outputs_path("m.pt", environ={**env, "POLYAXON_RUN_OUTPUTS_PATH": "s3://b/u1/outputs"}) == "s3://b/u1/outputs/m.pt"


def test_environ_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        run.get_data_paths({"POLYAXON_RUN_DATA_PATHS": "{}"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        run.get_run_context({"POLYAXON_RUN_UUID": "u"})  # type: ignore[misc]


def test_a_malformed_catalog_names_the_variable() -> None:
    from stores.contract.read import read_connections_catalog

    for raw in ("{", '{"connections": 3}', '{"connections": [{"name": "a"}, {"name": "a"}]}'):
        with pytest.raises(ContractError, match="POLYAXON_CONNECTIONS_CATALOG"):
            read_connections_catalog({"POLYAXON_CONNECTIONS_CATALOG": raw})
    assert read_connections_catalog({}) == {}


def _main_env(patch: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in patch["spec"]["containers"][0]["env"] if "value" in v}


@pytest.fixture
def pod(s3_server, tmp_path):
    """A rendered main container's env, its mounted key files re-rooted under tmp_path."""
    data_bucket, store_bucket = unique_bucket("data"), unique_bucket("store")
    for b in (data_bucket, store_bucket):
        create_s3_bucket(s3_server, b)
    catalog = Catalog.from_values({
        "artifactsStore": {"name": "team-store", "kind": "s3", "schema": {"bucket": f"s3://{store_bucket}"},
                           "secret": {"name": "store-creds", "mountPath": "/plx-secrets/store"}},
        "connections": [{"name": "train_data", "kind": "s3", "schema": {"bucket": f"s3://{data_bucket}/sets"},
                         "secret": {"name": "data-creds", "mountPath": "/etc/data-creds", "items": ["creds.json"]}}],
    })
    patch = render_patch(catalog, {"run": {"connections": ["train_data"]}}, RUN,
                         plugins={"mountArtifactsStore": True}).to_dict()
    key = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_ENDPOINT_URL": s3_server.url, "AWS_REGION": "us-east-1"}
    root = tmp_path / "secrets"
    for rel in ("plx-secrets/store/key.json", "etc/data-creds/creds.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(key))
    env = _main_env(patch)
    # only what the pod holds: no AWS_* from this machine, key files under STORES_SECRETS_ROOT
    env.update(STORES_SECRETS_ROOT=str(root), HOME=str(tmp_path), PATH=os.environ.get("PATH", ""))
    return env, data_bucket, store_bucket


def test_open_store_finds_catalogued_connections_with_their_key_files(pod, s3_server) -> None:
    from stores.handles import open_store

    env, data_bucket, store_bucket = pod
    catalog = json.loads(env["POLYAXON_CONNECTIONS_CATALOG"])
    assert {c["name"] for c in catalog["connections"]} == {"team-store", "train_data"}
    assert env["POLYAXON_ARTIFACTS_STORE_NAME"] == "team-store"
    data = open_store("train_data", environ=env)
    data.fs.pipe(f"{data_bucket}/sets/x.txt", b"hello")
    client = s3_client(s3_server)
    assert client.get_object(Bucket=data_bucket, Key="sets/x.txt")["Body"].read() == b"hello"
    outputs = open_store("outputs", environ=env)
    assert outputs.url == f"s3://{store_bucket}"


def test_stores_cp_to_outputs_uses_the_artifacts_stores_key_file(pod, s3_server, tmp_path) -> None:
    env, _, store_bucket = pod
    src = tmp_path / "model.pt"
    src.write_bytes(b"weights")
    res = subprocess.run([STORES, "cp", str(src), "outputs:model.pt"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    client = s3_client(s3_server)
    body = client.get_object(Bucket=store_bucket, Key=f"{RUN.uuid}/outputs/model.pt")["Body"].read()
    assert body == b"weights"
