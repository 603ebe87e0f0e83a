"""``mount:`` of bucket connections in the catalog: read from values files per driver, refused
with file:line problems, described by ``values.schema.json`` (which agrees with the loader)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from stores import Catalog, values_schema
from stores.errors import ValuesError
from stores.mounts import GcsMount, S3Mount, WasbMount, option_name
from stores.values import catalog_from_yaml

GOOD = """\
connections:
  - name: s3-data
    kind: s3
    schema: {bucket: s3://acme-data/team}
    mount:
      driver: s3.csi.aws.com
      mountPath: /data/s3
      readOnly: true
      region: us-east-1
      uid: 1000
      gid: 2000
      cache: emptyDir
      cacheEmptyDirSizeLimit: 1Gi
      authenticationSource: pod
      mountOptions: [metadata-ttl 60]
  - name: gcs-data
    kind: gcs
    schema: {bucket: gs://acme-data}
    mount:
      mountPath: /data/gcs
      implicitDirs: true
      fileCacheCapacity: 10Gi
      fileCacheForRangeRead: true
      metadataCacheTTLSeconds: -1
      skipCSIBucketAccessCheck: true
      sidecarResources: {cpuLimit: "0", memoryRequest: 1Gi, ephemeralStorageLimit: 5Gi}
      mountOptions: [max-conns-per-host=100]
  - name: az-data
    kind: wasb
    schema: {bucket: wasbs://data@acmeacct.blob.core.windows.net/}
    mount:
      mountPath: /data/az
      secretName: azure-secret
      protocol: fuse2
      mountOptions: [-o allow_other, --file-cache-timeout-in-seconds=120]
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(values_schema())


def test_every_driver_reads(validator: jsonschema.Draft7Validator) -> None:
    catalog = catalog_from_yaml(GOOD, file="values.yaml")
    s3, gcs, az = (catalog.get(n) for n in ("s3-data", "gcs-data", "az-data"))
    assert isinstance(s3.mount, S3Mount) and isinstance(gcs.mount, GcsMount) and isinstance(az.mount, WasbMount)
    assert s3.mount.read_only and s3.mount.region == "us-east-1" and s3.mount.cache == "emptyDir"
    assert gcs.mount.metadata_cache_ttl_seconds == -1 and gcs.mount.sidecar_resources.annotations() == {
        "gke-gcsfuse/cpu-limit": "0", "gke-gcsfuse/memory-request": "1Gi", "gke-gcsfuse/ephemeral-storage-limit": "5Gi"}
    assert az.mount.secret_name == "azure-secret"
    # the contract's path is the mount's, the bucket stays the bucket
    assert s3.store_path == "/data/s3" and s3.bucket.url == "s3://acme-data/team"
    assert list(validator.iter_errors(yaml.safe_load(GOOD))) == []
    # a round trip through the document spelling keeps the mount (the documented key spellings)
    again = Catalog.from_values({"connections": [c.to_dict() for c in catalog]})
    assert again == catalog
    assert "metadataCacheTTLSeconds" in gcs.to_dict()["mount"]
    assert "skipCSIBucketAccessCheck" in gcs.to_dict()["mount"]


def test_a_bucket_without_mount_is_unchanged() -> None:
    catalog = catalog_from_yaml("connections: [{name: b, kind: s3, schema: {bucket: s3://acme-data/x}}]")
    conn = catalog.get("b")
    assert conn.mount is None and conn.store_path == "s3://acme-data/x" and conn.mount_path is None
    assert "mount" not in conn.to_dict()


def _mount_doc(kind: str, **mount: Any) -> str:
    bucket = {"s3": "s3://acme-data", "gcs": "gs://acme-data",
              "wasb": "wasbs://data@acmeacct.blob.core.windows.net/"}[kind]
    doc = {"connections": [{"name": "d", "kind": kind, "schema": {"bucket": bucket}, "mount": mount}]}
    return yaml.safe_dump(doc, sort_keys=False)


BAD = [
    # (kind, mount, problem path, message part, the schema refuses it too)
    ("s3", {"mountPath": "/d", "readOnly": True, "allowOverwrite": True}, "connections[0].mount", "cannot allowDelete or allowOverwrite", True),
    ("s3", {"mountPath": "/d", "region": "US East"}, "connections[0].mount.region", "pattern", True),
    ("s3", {"mountPath": "/d", "uid": -1}, "connections[0].mount.uid", "", True),
    ("s3", {"mountPath": "/d", "uid": "1000"}, "connections[0].mount.uid", "", True),
    ("s3", {"mountPath": "/d", "cache": "disk"}, "connections[0].mount.cache", "", True),
    ("s3", {"mountPath": "/d", "cacheEmptyDirSizeLimit": "1Gi"}, "connections[0].mount", "need cache: emptyDir", False),
    ("s3", {"mountPath": "/d", "mountOptions": ["--allow-delete"]}, "connections[0].mount.mountOptions", "sets 'allow-delete'", True),
    ("s3", {"mountPath": "/d", "mountOptions": ["read-only"]}, "connections[0].mount.mountOptions", "sets 'read-only'", True),
    ("s3", {"mountPath": "/d", "mountOptions": ["bad\noption"]}, "connections[0].mount.mountOptions", "", True),
    ("s3", {"mountPath": "/d", "mountOptions": [" padded"]}, "connections[0].mount.mountOptions", "", True),
    ("s3", {"mountPath": "/d", "capacity": "lots"}, "connections[0].mount.capacity", "", True),
    ("s3", {"mountPath": "/d", "secretName": "x"}, "connections[0].mount", "unknown key 'secretName'", True),
    ("s3", {"readOnly": True}, "connections[0].mount.mountPath", "required key missing", True),
    ("gcs", {"mountPath": "/d", "mountOptions": ["only-dir=x"]}, "connections[0].mount.mountOptions", "sets 'only-dir'", True),
    ("gcs", {"mountPath": "/d", "mountOptions": ["a,b"]}, "connections[0].mount.mountOptions", "holds a ','", True),
    ("gcs", {"mountPath": "/d", "fileCacheCapacity": "-2"}, "connections[0].mount.fileCacheCapacity", "", True),
    ("gcs", {"mountPath": "/d", "metadataCacheTTLSeconds": -5}, "connections[0].mount.metadataCacheTTLSeconds", "", True),
    ("gcs", {"mountPath": "/d", "sidecarResources": {"gpuLimit": "1"}}, "connections[0].mount.sidecarResources", "unknown key", True),
    ("gcs", {"mountPath": "/d", "region": "us-east-1"}, "connections[0].mount", "unknown key 'region'", True),
    ("gcs", {"mountPath": "/d", "readOnly": "yes"}, "connections[0].mount.readOnly", "", True),
    ("wasb", {"mountPath": "/d", "secretName": "Not_A_Name"}, "connections[0].mount.secretName", "", True),
    ("wasb", {"mountPath": "/d", "secretName": "s", "protocol": "nfs"}, "connections[0].mount.protocol", "", True),
    ("wasb", {"mountPath": "/d", "secretName": "s", "mountOptions": ["--subdirectory=x"]},
     "connections[0].mount.mountOptions", "sets 'subdirectory'", True),
    ("wasb", {"mountPath": "/d", "secretName": "s", "driver": "blob.csi.azure.com.evil"}, "connections[0].mount.driver", "", True),
]


@pytest.mark.parametrize("kind,mount,path,message,schema_refuses", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_mounts_are_refused_with_file_line_and_path(validator: jsonschema.Draft7Validator, kind: str,
                                                        mount: dict[str, Any], path: str, message: str,
                                                        schema_refuses: bool) -> None:
    text = _mount_doc(kind, **mount)
    with pytest.raises(ValuesError) as info:
        catalog_from_yaml(text, file="values.yaml")
    problems = info.value.problems
    assert problems, "no problem reported"
    assert any(p.file == "values.yaml" and p.line is not None and str(p).split(": ", 1)[1].startswith(path)
               and message in p.message for p in problems), [str(p) for p in problems]
    errors = list(validator.iter_errors(yaml.safe_load(text)))
    assert bool(errors) is schema_refuses, [e.message for e in errors]


def test_option_name_reads_every_spelling() -> None:
    assert option_name("--allow-delete") == "allow-delete"
    assert option_name("allow-delete") == "allow-delete"
    assert option_name("region us-east-1") == "region"
    assert option_name("uid=1000") == "uid"
    assert option_name("-o uid=1000") == "uid"
    assert option_name("-o allow_other") == "allow_other"


def test_the_schema_describes_the_mount_of_every_bucket_kind() -> None:
    schema = values_schema()
    names = set(schema["definitions"])
    assert {"S3Mount", "GcsMount", "WasbMount", "GcsSidecarResources"} <= names
    s3 = schema["definitions"]["S3Mount"]
    assert s3["properties"]["driver"]["anyOf"][0]["const"] == "s3.csi.aws.com"
    assert "mountPath" in s3["required"]
    assert "secretName" in schema["definitions"]["WasbMount"]["required"]


def test_the_models_and_the_kinds_table_name_the_same_drivers() -> None:
    from stores.kinds import KINDS
    from stores.models import CONNECTION_MODELS

    for kind, entry in KINDS.items():
        field = CONNECTION_MODELS[kind].model_fields.get("mount")
        if entry.csi is None:
            assert field is None, kind
            continue
        model = next(a for a in field.annotation.__args__ if a is not type(None))
        assert model.DRIVER == entry.csi.driver
        assert entry.csi.provisioning in ("inline", "static") and entry.csi.docs.startswith("https://")
