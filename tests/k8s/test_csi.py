"""Buckets mounted through their CSI drivers (``mount:``): one golden file per driver, access
mode and prefix (the one connection's CSI output: pod volume, mount, pod annotations and the
objects beside the pod), strict-valid on every tested Kubernetes version, with the field names
of the drivers' documented examples; a mixed catalog; the existing checks catching clashes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from k8s import render_patch
from k8s.csi import csi_parts, static_names
from k8s.serialize import dump
from k8s.validate import validate_manifest, wrap_patch
from support.k8s import RUN, assert_golden, assert_patch_valid, catalog_of, python_catalog
from stores.errors import RenderError, ValuesError
from stores.kinds import KINDS
from stores.plugins import Plugins
from stores.settings import Settings
from stores.contract.runinfo import RunInfo

NS_RUN = RunInfo(uuid=RUN.uuid, owner=RUN.owner, project=RUN.project, name=RUN.name, namespace="ml")
#: every version the issue names (k8s_support.TEST_VERSIONS holds them and more)
VERSIONS = ("1.25", "1.37")

BUCKETS = {
    "s3": ("s3://acme-data", "s3://acme-data/team/set1"),
    "gcs": ("gs://acme-data", "gs://acme-data/team/set1"),
    "wasb": ("wasbs://data@acmeacct.blob.core.windows.net/", "wasbs://data@acmeacct.blob.core.windows.net/team/set1"),
}
#: the driver's own options each golden exercises besides the common ones
EXTRA = {
    "s3": {"region": "us-east-1", "uid": 1000, "gid": 2000},
    "gcs": {"implicitDirs": True, "metadataCacheTTLSeconds": 60, "sidecarResources": {"cpuLimit": "2", "memoryLimit": "4Gi"}},
    "wasb": {"secretName": "azure-secret", "protocol": "fuse2"},
}
#: the drivers' documented fields (their examples and configuration pages, cited in
#: stores.mounts / k8s.csi): the golden output may use these and no others
DOCUMENTED_ATTRIBUTES = {
    "s3.csi.aws.com": {"bucketName", "authenticationSource", "stsRegion", "cache", "cacheEmptyDirSizeLimit",
                       "cacheEmptyDirMedium", "cacheEphemeralStorageClassName", "cacheEphemeralStorageResourceRequest"},
    "gcsfuse.csi.storage.gke.io": {"bucketName", "mountOptions", "fileCacheCapacity", "fileCacheForRangeRead",
                                   "metadataStatCacheCapacity", "metadataTypeCacheCapacity",
                                   "metadataCacheTTLSeconds", "gcsfuseLoggingSeverity", "skipCSIBucketAccessCheck"},
    "blob.csi.azure.com": {"containerName", "secretName", "secretNamespace", "mountOptions", "protocol",
                           "storageAccount", "resourceGroup"},
}
DOCUMENTED_ANNOTATIONS = {"gke-gcsfuse/volumes"} | {
    f"gke-gcsfuse/{r}-{w}" for r in ("cpu", "memory", "ephemeral-storage") for w in ("limit", "request")
}


def connection(kind: str, read_only: bool, prefix: bool, name: str | None = None, **mount: Any) -> dict[str, Any]:
    doc = {"mountPath": f"/data/{kind}", **EXTRA[kind], **mount}
    if read_only:
        doc["readOnly"] = True
    elif kind == "s3":
        doc.update(allowDelete=True, allowOverwrite=True)
    return {"name": name or f"{kind}-data", "kind": kind, "schema": {"bucket": BUCKETS[kind][prefix]}, "mount": doc}


def csi_output(patch: Any, conn_name: str) -> dict[str, Any]:
    """One connection's CSI output in a rendered patch: its volume, its mount, the pod
    annotations and the objects beside the pod."""
    out = patch.to_dict()
    volumes = [v for v in out["spec"].get("volumes", []) if v["name"] == conn_name]
    mounts = [m for m in out["spec"]["containers"][0].get("volumeMounts", []) if m["name"] == conn_name]
    return {
        "volume": volumes[0],
        "volumeMount": mounts[0],
        "annotations": out.get("metadata", {}).get("annotations", {}),
        "objects": patch.object_dicts(),
    }


def assert_objects_valid(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        for version in VERSIONS:
            validate_manifest(obj, version)


CASES = [(kind, ro, prefix) for kind in BUCKETS for ro in (True, False) for prefix in (False, True)]


@pytest.mark.parametrize("kind,read_only,prefix", CASES,
                         ids=[f"{k}-{'ro' if r else 'rw'}-{'prefix' if p else 'root'}" for k, r, p in CASES])
def test_golden_per_driver(kind: str, read_only: bool, prefix: bool) -> None:
    doc = connection(kind, read_only, prefix)
    patch = render_patch(catalog_of(doc), None, NS_RUN)
    data = csi_output(patch, doc["name"])
    assert_golden(f"csi-{kind}-{'ro' if read_only else 'rw'}-{'prefix' if prefix else 'root'}", data)
    manifest = patch.to_dict()
    for version in VERSIONS:
        validate_manifest(wrap_patch(manifest, "Pod"), version)
        validate_manifest(wrap_patch(manifest, "Job"), version)
    assert_patch_valid(manifest)
    assert_objects_valid(data["objects"])
    # the run contract: the mount path, not the bucket URL
    env = {e["name"]: e.get("value") for e in manifest["spec"]["containers"][0]["env"]}
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {doc["name"]: f"/data/{kind}"}
    assert json.loads(env["STORES_CSI_MOUNTS"]) == {doc["name"]: f"/data/{kind}"}
    assert data["volumeMount"].get("readOnly", False) is read_only


@pytest.mark.parametrize("kind,read_only,prefix", CASES,
                         ids=[f"{k}-{'ro' if r else 'rw'}-{'prefix' if p else 'root'}" for k, r, p in CASES])
def test_field_names_are_the_drivers_documented_ones(kind: str, read_only: bool, prefix: bool) -> None:
    doc = connection(kind, read_only, prefix)
    patch = render_patch(catalog_of(doc), None, NS_RUN)
    data = csi_output(patch, doc["name"])
    driver = KINDS[kind].csi
    if driver.provisioning == "static":
        pv, pvc = data["objects"]
        assert data["volume"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        csi = pv["spec"]["csi"]
        # static provisioning as the driver's example: storageClassName "", claimRef, volumeName
        assert pv["spec"]["storageClassName"] == "" and pvc["spec"]["storageClassName"] == ""
        assert pv["spec"]["claimRef"] == {"namespace": "ml", "name": pvc["metadata"]["name"]}
        assert pvc["spec"]["volumeName"] == pv["metadata"]["name"] == csi["volumeHandle"]
        assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == [
            "ReadOnlyMany" if read_only else "ReadWriteMany"]
        options = pv["spec"].get("mountOptions", [])
        assert ("read-only" in options) is read_only
        assert ("prefix team/set1/" in options) is prefix  # Mountpoint's prefix ends with '/'
        assert "region us-east-1" in options and "uid=1000" in options
    else:
        assert data["objects"] == []
        csi = data["volume"]["csi"]
        assert csi.get("readOnly", False) is read_only
    assert csi["driver"] == driver.driver
    assert set(csi["volumeAttributes"]) <= DOCUMENTED_ATTRIBUTES[driver.driver]
    assert set(data["annotations"]) <= DOCUMENTED_ANNOTATIONS
    attributes = csi["volumeAttributes"]
    if kind == "gcs":
        assert data["annotations"]["gke-gcsfuse/volumes"] == "true"
        assert attributes["bucketName"] == "acme-data"
        assert ("only-dir=team/set1" in attributes["mountOptions"].split(",")) is prefix
        assert all(isinstance(v, str) for v in attributes.values())
    if kind == "wasb":
        assert attributes["containerName"] == "data" and attributes["secretName"] == "azure-secret"
        assert ("--subdirectory=team/set1" in attributes.get("mountOptions", "").split()) is prefix


def test_static_names_are_deterministic_and_per_namespace() -> None:
    conn = catalog_of(connection("s3", True, True)).get("s3-data")
    assert static_names(conn, "ml") == static_names(conn, "ml")
    assert static_names(conn, "ml") != static_names(conn, "other")
    a = render_patch(catalog_of(connection("s3", True, True)), None, NS_RUN).object_dicts()
    b = render_patch(catalog_of(connection("s3", True, True)), None, NS_RUN).object_dicts()
    assert a == b
    changed = catalog_of(connection("s3", True, True, region="eu-west-1")).get("s3-data")
    assert static_names(changed, "ml") != static_names(conn, "ml")


def test_static_provisioning_needs_the_namespace() -> None:
    with pytest.raises(RenderError, match="namespace"):
        render_patch(catalog_of(connection("s3", True, False)), None, RUN)
    # the inline drivers do not
    render_patch(catalog_of(connection("gcs", True, False), connection("wasb", True, False)), None, RUN).to_dict()


def test_prefix_the_driver_cannot_carry_is_refused_by_the_renderer_too() -> None:
    doc = connection("gcs", True, False)
    doc["schema"]["bucket"] = "gs://acme-data/a,b"
    with pytest.raises(ValuesError, match="cannot be mounted"):
        catalog_of(doc)
    with pytest.raises(RenderError, match="cannot be mounted"):
        render_patch(python_catalog(doc), None, NS_RUN)


MIXED = [
    {"name": "local", "kind": "host_path", "schema": {"hostPath": "/mnt/datasets", "mountPath": "/data/local", "readOnly": True}},
    {"name": "claim", "kind": "volume_claim", "schema": {"volumeClaim": "team-pvc", "mountPath": "/data/claim"}},
    connection("s3", True, True),
    {"name": "gcs-handle", "kind": "gcs", "schema": {"bucket": "gs://acme-raw/images"},
     "secret": {"name": "gcs-key", "mountPath": "/plx-secrets/gcs"}},
]


def test_mixed_catalog_renders_one_valid_pod() -> None:
    patch = render_patch(catalog_of(*MIXED), None, NS_RUN)
    out = patch.to_dict()
    assert_patch_valid(out)
    assert_objects_valid(patch.object_dicts())
    main = out["spec"]["containers"][0]
    assert {m["mountPath"] for m in main["volumeMounts"]} == {"/data/local", "/data/claim", "/data/s3", "/plx-secrets/gcs"}
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {
        "claim": "/data/claim", "gcs-handle": "gs://acme-raw/images", "local": "/data/local", "s3-data": "/data/s3"}
    assert json.loads(env["STORES_CSI_MOUNTS"]) == {"s3-data": "/data/s3"}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"].startswith("/plx-secrets/gcs/")
    assert [o["kind"] for o in patch.object_dicts()] == ["PersistentVolume", "PersistentVolumeClaim"]
    # the catalog Polyaxon's in-run code reads keeps its V1Connection spelling (no `mount`)
    catalog = json.loads(env["POLYAXON_CONNECTIONS_CATALOG"])
    assert all("mount" not in c for c in catalog["connections"])


def test_a_csi_mount_clashing_with_another_mount_is_caught() -> None:
    clash = connection("gcs", False, False)
    clash["mount"]["mountPath"] = "/data/local"
    catalog = python_catalog(MIXED[0], clash)
    with pytest.raises(RenderError, match="two mounts on /data/local"):
        render_patch(catalog, None, NS_RUN)
    # so is the loader's gate, for one connection's own volumes
    one = connection("s3", True, False)
    one["secret"] = {"name": "creds", "mountPath": "/data/s3"}
    with pytest.raises(ValuesError, match="is also where mount.mountPath mounts"):
        catalog_of(one)


def test_a_csi_mount_on_the_context_is_caught() -> None:
    doc = connection("wasb", False, False)
    doc["mount"]["mountPath"] = "/plx-context/artifacts"
    with pytest.raises(ValuesError, match="reserved for the run context"):
        catalog_of(doc)
    with pytest.raises(RenderError, match="/plx-context/artifacts"):
        render_patch(python_catalog(doc), None, NS_RUN).to_dict()


def test_an_annotation_clash_with_the_driver_is_caught() -> None:
    doc = connection("gcs", False, False)
    doc["annotations"] = {"gke-gcsfuse/volumes": "false"}
    with pytest.raises(RenderError, match="gke-gcsfuse/volumes"):
        render_patch(catalog_of(doc), None, NS_RUN).to_dict()


def test_two_connections_on_one_bucket_get_their_own_volumes() -> None:
    a = connection("s3", True, False, name="a")
    b = connection("s3", True, True, name="b")
    b["mount"]["mountPath"] = "/data/b"
    patch = render_patch(catalog_of(a, b), None, NS_RUN)
    out = patch.to_dict()
    objects = patch.object_dicts()
    assert len(objects) == 4
    handles = {o["spec"]["csi"]["volumeHandle"] for o in objects if o["kind"] == "PersistentVolume"}
    assert len(handles) == 2  # Mountpoint processes one volume per volumeHandle
    assert {v["name"] for v in out["spec"]["volumes"]} >= {"a", "b"}


def test_csi_parts_alone() -> None:
    conn = catalog_of(connection("wasb", True, True)).get("wasb-data")
    parts = csi_parts(conn, "vol", None)
    assert dump(parts.volume)["csi"]["volumeAttributes"]["mountOptions"] == "--subdirectory=team/set1"
    assert dump(parts.mount) == {"mountPath": "/data/wasb", "name": "vol", "readOnly": True}


def test_the_artifacts_store_mounted_by_csi_reaches_the_toolkit_containers() -> None:
    store = connection("gcs", False, True, name="artifacts")
    catalog = catalog_of(artifactsStore=store)
    # rendered for 1.25 (the classic sidecar), so the pod is valid on every tested version
    patch = render_patch(catalog, None, NS_RUN, plugins=Plugins(collect_artifacts=True), settings=Settings(kube_version="1.25"))
    out = patch.to_dict()
    assert_patch_valid(out)
    sidecars = [c for c in out["spec"]["containers"][1:]]
    assert sidecars and any(m["name"] == "artifacts" for c in sidecars for m in c.get("volumeMounts", []))
    assert out["metadata"]["annotations"]["gke-gcsfuse/volumes"] == "true"


def test_stores_render_prints_the_objects_as_extra_documents(tmp_path: Any) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"connections": MIXED}))
    res = subprocess.run([sys.executable, "-m", "stores", "render", str(values), "--namespace", "ml",
                          "--validate", "1.37"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    docs = list(yaml.safe_load_all(res.stdout))
    assert [d.get("kind") for d in docs] == [None, "PersistentVolume", "PersistentVolumeClaim"]
    assert docs[0]["spec"]["volumes"]
    res = subprocess.run([sys.executable, "-m", "stores", "render", str(values), "--namespace", "ml", "-o", "json"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout)  # one JSON value: the patch, then the objects
    assert [d.get("kind") for d in found] == [None, "PersistentVolume", "PersistentVolumeClaim"]
