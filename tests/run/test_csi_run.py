"""Inside a run: a bucket mounted through its CSI driver is a local path in the contract
(``POLYAXON_RUN_DATA_PATHS``), the in-run lookup and ``open_store(name)`` give a local handle on
the mount, and ``open_store(name, bucket=True)`` the bucket itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from k8s import render_patch
from support.k8s import catalog_of
from stores import run
from stores.contract.read import ENV_CSI_MOUNTS, read_csi_mounts
from stores.errors import ContractError
from stores.handles import open_store
from stores.contract.runinfo import RunInfo

RUN = RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0", owner="acme", project="vision", name="train", namespace="ml")


def _pod_env(catalog: Any, **kw: Any) -> dict[str, str]:
    """The main container's env of a rendered run, as the process sees it."""
    out = render_patch(catalog, None, RUN, **kw).to_dict()
    return {e["name"]: e["value"] for e in out["spec"]["containers"][0]["env"] if "value" in e}


@pytest.fixture()
def mounted(tmp_path: Path) -> tuple[Any, dict[str, str], Path]:
    """A catalog with an S3 bucket mounted at ``tmp_path/s3`` and a GCS bucket reached as a
    bucket, the env a run of it gets, and the mount (a local folder standing in for the driver)."""
    mount = tmp_path / "s3"
    mount.mkdir()
    (mount / "train.csv").write_bytes(b"a,b\n1,2\n")
    catalog = catalog_of(
        {"name": "s3-data", "kind": "s3", "schema": {"bucket": "s3://acme-data/team"},
         "mount": {"mountPath": str(mount), "readOnly": True}},
        {"name": "gcs-raw", "kind": "gcs", "schema": {"bucket": "gs://acme-raw/images"}},
    )
    return catalog, _pod_env(catalog), mount


def test_the_contract_gives_the_mount_path(mounted: tuple[Any, dict[str, str], Path]) -> None:
    _, env, mount = mounted
    assert run.get_data_paths(environ=env) == {"s3-data": str(mount), "gcs-raw": "gs://acme-raw/images"}
    assert run.get_data_path("s3-data", environ=env) == str(mount)
    assert read_csi_mounts(env) == {"s3-data": str(mount)}
    # Polyaxon's own catalog keeps its V1Connection spelling: the bucket, no mount
    catalog = json.loads(env["POLYAXON_CONNECTIONS_CATALOG"])
    entry = next(c for c in catalog["connections"] if c["name"] == "s3-data")
    assert entry == {"name": "s3-data", "kind": "s3", "schema": {"bucket": "s3://acme-data/team"}}


def test_open_store_by_name_is_a_local_handle_on_the_mount(mounted: tuple[Any, dict[str, str], Path]) -> None:
    _, env, mount = mounted
    handle = open_store("s3-data", environ=env)
    assert handle.is_local and handle.root == str(mount) and handle.name == "s3-data"
    assert handle.read_bytes("train.csv") == b"a,b\n1,2\n"
    # the other bucket stays a bucket
    other = open_store("gcs-raw", environ=env)
    assert other.kind == "gcs" and other.url == "gs://acme-raw/images"


def test_open_store_bucket_true_is_the_bucket(mounted: tuple[Any, dict[str, str], Path]) -> None:
    pytest.importorskip("s3fs")
    catalog, env, _ = mounted
    handle = open_store("s3-data", environ=env, bucket=True)
    assert handle.kind == "s3" and handle.url == "s3://acme-data/team" and handle.root == "acme-data/team"
    # a connection model (the admin side) and a catalog lookup behave alike
    conn = catalog.get("s3-data")
    assert open_store(conn).is_local and open_store(conn).root == conn.mount.mount_path
    assert open_store(conn, bucket=True).url == "s3://acme-data/team"
    assert open_store("s3-data", catalog).is_local
    assert open_store("s3-data", catalog, bucket=True).kind == "s3"


def test_the_bucket_url_still_finds_its_connection(mounted: tuple[Any, dict[str, str], Path]) -> None:
    pytest.importorskip("s3fs")
    _, env, _ = mounted
    handle = open_store("s3://acme-data/team/sub", environ=env)
    assert handle.kind == "s3" and handle.name == "s3-data"


def test_an_outputs_store_mounted_by_csi(tmp_path: Path) -> None:
    mount = tmp_path / "artifacts"
    mount.mkdir()
    catalog = catalog_of(artifactsStore={"name": "store", "kind": "gcs", "schema": {"bucket": "gs://acme-art"},
                                         "mount": {"mountPath": str(mount)}})
    env = _pod_env(catalog)
    assert env["POLYAXON_RUN_OUTPUTS_PATH"].startswith(str(mount) + "/")
    assert json.loads(env[ENV_CSI_MOUNTS]) == {"store": str(mount)}
    handle = open_store("outputs", environ=env)
    assert handle.is_local and handle.root == str(mount)


@pytest.mark.parametrize("value", ['{"s3-data": "relative"}', '["x"]', '{"s3-data": "s3://b"}', "{not json"])
def test_a_malformed_mounts_variable_is_a_contract_error(value: str) -> None:
    with pytest.raises(ContractError, match=ENV_CSI_MOUNTS):
        read_csi_mounts({ENV_CSI_MOUNTS: value})
