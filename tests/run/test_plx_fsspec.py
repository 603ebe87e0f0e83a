"""``plx://NAME/key`` through fsspec (the ``fsspec.specs`` entry point), and ``url(name)`` /
``storage_options(name)`` for libraries that take a URL and options: resolved from a values file
(``values=`` or ``$STORES_VALUES``) or, in a pod, from the rendered catalog and its key files;
against the emulators (moto's S3, the GCS emulator, Azurite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pandas as pd
import pytest
import yaml

from support.servers import (s3_client, AZURITE_ACCOUNT, azure_env, create_container, create_gcs_bucket, create_s3_bucket, gcs_env,
                     s3_env, unique_bucket)
from stores.errors import SelectionError, StoresError
from stores.plxfs import PlxFileSystem, storage_options, url

_CLEARED = ("POLYAXON_", "STORES_", "AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR_HOST")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of the machine, and no filesystem cached by an earlier test."""
    for var in list(os.environ):
        if var.startswith(_CLEARED):
            monkeypatch.delenv(var)
    PlxFileSystem.clear_instance_cache()
    yield
    PlxFileSystem.clear_instance_cache()


def _bucket(request: pytest.FixtureRequest, kind: str) -> tuple[dict, dict[str, str]]:
    """A new bucket of ``kind`` on its emulator: (the connection, the env that reaches it)."""
    bucket = unique_bucket("plx")
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        create_s3_bucket(server, bucket)
        return {"kind": "s3", "schema": {"bucket": f"s3://{bucket}/datasets"}}, s3_env(server)
    if kind == "gcs":
        server = request.getfixturevalue("gcs_server")
        create_gcs_bucket(server, bucket)
        return {"kind": "gcs", "schema": {"bucket": f"gs://{bucket}/datasets"}}, gcs_env(server)
    server = request.getfixturevalue("azurite_server")
    create_container(server, bucket)
    return ({"kind": "wasb", "schema": {"bucket": f"wasbs://{bucket}@{AZURITE_ACCOUNT}.blob.core.windows.net/datasets"}},
            azure_env(server))


def _values(tmp_path: Path, **connections: dict) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"connections": [{"name": n, **c} for n, c in connections.items()]}))
    return path


# -- registration and import weight ------------------------------------------------------------------


def test_the_entry_point_registers_plx() -> None:
    assert fsspec.get_filesystem_class("plx") is PlxFileSystem


def test_fsspec_does_not_import_us_and_we_import_no_sdk() -> None:
    code = ("import sys, fsspec\n"
            "assert 'stores.plxfs' not in sys.modules\n"
            "cls = fsspec.get_filesystem_class('plx')\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml', 's3fs', 'gcsfs', 'adlfs', 'botocore', 'pandas')]\n"
            "print(cls.__module__, heavy)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "stores.plxfs []"


# -- local stores: a run's data paths ---------------------------------------------------------------


def test_a_run_data_store_reads_and_writes_under_its_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data1"
    root.mkdir()
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", json.dumps({"data1": str(root)}))
    with fsspec.open("plx://data1/sub/b.bin", "wb") as fh:
        fh.write(b"bytes")
    assert (root / "sub/b.bin").read_bytes() == b"bytes"
    fs = fsspec.filesystem("plx")
    assert fs.find("data1") == ["data1/sub/b.bin"]
    assert fs.ls("plx://data1/sub", detail=False) == ["data1/sub/b.bin"]
    assert fs.glob("data1/**/*.bin") == ["data1/sub/b.bin"]
    assert fs.info("data1/sub/b.bin")["size"] == 5
    assert fs.cat("plx://data1/sub/b.bin") == b"bytes"
    fs.rm("data1/sub/b.bin")
    assert not (root / "sub/b.bin").exists()
    assert url("data1", "x.csv") == str(root / "x.csv") and storage_options("data1") == {}


@pytest.mark.parametrize("key", ["../escape", "a/../../escape"])
def test_a_key_never_leaves_its_store(key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", json.dumps({"data1": str(tmp_path / "d")}))
    with pytest.raises(StoresError, match=r"\.\."):
        fsspec.filesystem("plx").cat(f"data1/{key}")


def test_an_unknown_name_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SelectionError, match="STORES_VALUES"):
        fsspec.open("plx://nope/x.csv").open()
    values = _values(tmp_path, scratch={"kind": "host_path", "schema": {"hostPath": "/x", "mountPath": str(tmp_path)}})
    monkeypatch.setenv("STORES_VALUES", str(values))
    with pytest.raises(SelectionError, match=r"not in .*values.yaml \(names scratch\)"):
        url("nope")


# -- buckets from a values file --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["s3", "gcs", "wasb"])
def test_pandas_through_plx_and_through_storage_options(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    conn, env = _bucket(request, kind)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    values = _values(tmp_path, data=conn)
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    # plx:// with the values file as an option, then from $STORES_VALUES
    frame.to_csv("plx://data/train.csv", index=False, storage_options={"values": str(values)})
    monkeypatch.setenv("STORES_VALUES", str(values))
    pd.testing.assert_frame_equal(pd.read_csv("plx://data/train.csv"), frame)
    frame.to_parquet("plx://data/train.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet("plx://data/train.parquet"), frame)
    # the backend's own URL and options: the same objects, under the connection's prefix
    target = url("data", "train.csv")
    assert target.startswith({"s3": "s3://", "gcs": "gs://", "wasb": "abfs://"}[kind]) and "/datasets/train.csv" in target
    pd.testing.assert_frame_equal(pd.read_csv(target, storage_options=storage_options("data")), frame)
    pd.testing.assert_frame_equal(pd.read_parquet(url("data", "train.parquet"), storage_options=storage_options("data")), frame)
    assert sorted(fsspec.filesystem("plx").ls("data", detail=False)) == ["data/train.csv", "data/train.parquet"]


def test_storage_options_carry_the_resolved_credentials(s3_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn, env = _bucket_s3(s3_server)
    values = _values(tmp_path, data=conn)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    opts = storage_options("data", values=str(values))
    assert opts["key"] == "testing" and opts["endpoint_url"] == s3_server.url
    assert url("data", values=str(values)) == conn["schema"]["bucket"]


def _bucket_s3(server) -> tuple[dict, dict[str, str]]:
    bucket = unique_bucket("plx")
    create_s3_bucket(server, bucket)
    return {"kind": "s3", "schema": {"bucket": f"s3://{bucket}/p"}}, s3_env(server)


# -- in a pod: the rendered catalog and the mounted key files ----------------------------------------


def test_in_a_pod_the_catalog_and_its_key_file(s3_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from k8s import render_patch
    from support.k8s import RUN
    from stores.catalog import Catalog

    bucket = unique_bucket("pod")
    create_s3_bucket(s3_server, bucket)
    catalog = Catalog.from_values({"connections": [
        {"name": "train-data", "kind": "s3", "schema": {"bucket": f"s3://{bucket}/sets"},
         "secret": {"name": "data-creds", "mountPath": "/etc/data-creds", "items": ["creds.json"]}}]})
    patch = render_patch(catalog, {"run": {"connections": ["train-data"]}}, RUN).to_dict()
    env = {v["name"]: v["value"] for v in patch["spec"]["containers"][0]["env"] if "value" in v}
    assert "POLYAXON_CONNECTIONS_CATALOG" in env
    key = tmp_path / "secrets/etc/data-creds/creds.json"
    key.parent.mkdir(parents=True)
    key.write_text(json.dumps(s3_env(s3_server)))  # the pod's only credentials: its mounted key file
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("STORES_SECRETS_ROOT", str(tmp_path / "secrets"))
    pd.DataFrame({"a": [1]}).to_csv("plx://train-data/x.csv", index=False)
    assert pd.read_csv(url("train-data", "x.csv"), storage_options=storage_options("train-data"))["a"].tolist() == [1]

    client = s3_client(s3_server)
    assert client.get_object(Bucket=bucket, Key="sets/x.csv")["Body"].read() == b"a\n1\n"
