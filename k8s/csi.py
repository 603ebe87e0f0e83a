"""A bucket connection's ``mount:`` -> what its CSI driver needs, per the driver's documented
model (tier 1).

The kinds table (``stores.kinds``, each bucket kind's ``csi``) names the driver, its
provisioning model and the builder here; each builder follows its driver's own examples, field
for field:

- ``mountpoint_s3``: Mountpoint for Amazon S3 supports static provisioning only
  (https://github.com/awslabs/mountpoint-s3-csi-driver/blob/main/docs/CONFIGURATION.md,
  examples/kubernetes/static_provisioning/static_provisioning.yaml): a PersistentVolume
  (``storageClassName: ""``, ``claimRef`` to its claim, Mountpoint's flags as ``mountOptions``,
  ``csi.volumeAttributes.bucketName``) and a PersistentVolumeClaim (``volumeName``) emitted next
  to the patch; the pod mounts the claim.
- ``gcs_fuse``: Cloud Storage FUSE, a CSI ephemeral volume
  (https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/cloud-storage-fuse-csi-driver-ephemeral,
  examples/ephemeral/deployment.yaml): ``csi.volumeAttributes`` ``bucketName`` and
  ``mountOptions`` (comma-separated), and the pod annotation ``gke-gcsfuse/volumes: "true"``
  that makes GKE inject the sidecar (its resources as ``gke-gcsfuse/*-limit|request``).
- ``azure_blob``: Azure Blob Storage, an inline volume
  (https://github.com/kubernetes-sigs/blob-csi-driver/blob/master/deploy/example/nginx-blobfuse-inline-volume.yaml):
  ``csi.volumeAttributes`` ``containerName``, ``secretName``, ``mountOptions`` (space-separated
  blobfuse flags), ``protocol``.

Names are deterministic: the pod's volume is named after the connection (as a host path's or a
claim's is); the PV and its claim after the connection, with 8 hex digits of a SHA-256 of the
namespace, the connection's name, bucket and mount, so two namespaces (or a changed mount) never
share a PV, and the same catalog renders the same names on every run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from stores.errors import RenderError
from stores.kinds import KINDS, CsiDriver

from ._client import V1CSIVolumeSource, V1PersistentVolumeClaimVolumeSource, V1Volume, V1VolumeMount
from .naming import label_for

__all__ = [
    "CsiParts",
    "csi_driver",
    "csi_parts",
    "static_names",
    "mountpoint_s3",
    "gcs_fuse",
    "azure_blob",
    "add_csi_mount",
]

#: GKE injects the Cloud Storage FUSE sidecar into pods with this annotation
GCSFUSE_ANNOTATION = "gke-gcsfuse/volumes"
#: the capacity of a Mountpoint PV and claim: "ignored, required" (the driver's examples' value)
DEFAULT_CAPACITY = "1200Gi"


@dataclass
class CsiParts:
    """What one CSI mount brings: the pod volume and the main container's mount, pod
    annotations, and objects to create beside the pod (PV and PVC for static provisioning)."""

    volume: V1Volume
    mount: V1VolumeMount
    annotations: dict[str, str] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)


def csi_driver(conn: Any) -> CsiDriver | None:
    """The CSI driver of a connection that declares ``mount:`` (``None`` otherwise)."""
    if getattr(conn, "mount", None) is None:
        return None
    entry = KINDS.get(conn.kind)
    return entry.csi if entry is not None else None


def csi_parts(conn: Any, volume_name: str, namespace: str | None) -> CsiParts:
    """The parts of ``conn``'s CSI mount (``conn.mount`` must be set)."""
    driver = csi_driver(conn)
    if driver is None:
        raise RenderError(f"connection {conn.name!r} ({conn.kind}) cannot be mounted through a CSI driver")
    from stores.kinds import resolve

    parts: CsiParts = resolve(driver.build)(conn, volume_name, namespace)
    return parts


def static_names(conn: Any, namespace: str) -> str:
    """The one name of the PV and of its claim for ``conn`` in ``namespace``."""
    identity = json.dumps([namespace, conn.name, conn.bucket.url, conn.mount.to_dict()], sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    head = label_for(conn.name)[:50].rstrip("-")
    return f"{head}-csi-{digest}"


def _kind_driver(conn: Any) -> CsiDriver:
    """The CSI driver of ``conn``'s kind (a builder of that kind's driver asks for it)."""
    entry = KINDS.get(conn.kind)
    driver = entry.csi if entry is not None else None
    if driver is None:
        raise RenderError(f"connection {conn.name!r} ({conn.kind}) cannot be mounted through a CSI driver")
    return driver


def _prefix_option(driver: CsiDriver, conn: Any, trailing_slash: bool = False) -> list[str]:
    path = conn.bucket.path.strip("/")
    if not path:
        return []
    if re.search(driver.prefix_refuses, path):
        # stores.policy refuses it at load time; a catalog built in Python may still hold it
        raise RenderError(f"connection {conn.name!r}: bucket prefix {path!r} cannot be mounted through "
                          f"{driver.driver}: its mount options cannot carry a prefix holding {driver.prefix_refuses_text}")
    return [driver.prefix_option.format(path + ("/" if trailing_slash else ""))]


def _mount(conn: Any, volume_name: str) -> V1VolumeMount:
    mount = conn.mount
    return V1VolumeMount(name=volume_name, mount_path=mount.mount_path, read_only=True if mount.read_only else None)


def _mountpoint_options(driver: CsiDriver, conn: Any) -> list[str]:
    """Mountpoint's flags (https://github.com/awslabs/mountpoint-s3/blob/main/doc/CONFIGURATION.md),
    spelt as the driver's examples spell them: "region us-west-2", "prefix some-prefix/", "uid=1000"."""
    mount = conn.mount
    options: list[str] = []
    if mount.read_only:
        options.append("read-only")
    for flag, on in (("allow-delete", mount.allow_delete), ("allow-overwrite", mount.allow_overwrite),
                     ("allow-other", mount.allow_other)):
        if on:
            options.append(flag)
    if mount.region is not None:
        options.append(f"region {mount.region}")
    options += _prefix_option(driver, conn, trailing_slash=True)  # Mountpoint's prefix ends with '/'
    for flag, value in (("uid", mount.uid), ("gid", mount.gid)):
        if value is not None:
            options.append(f"{flag}={value}")
    return options + list(mount.mount_options)


def _mountpoint_attributes(conn: Any) -> dict[str, Any]:
    """The PersistentVolume's ``csi.volumeAttributes``: the bucket, the credentials' source, the cache."""
    mount = conn.mount
    attributes: dict[str, Any] = {"bucketName": conn.bucket.bucket}
    for key, value in (
        ("authenticationSource", mount.authentication_source),
        ("cache", mount.cache),
        ("cacheEmptyDirSizeLimit", mount.cache_empty_dir_size_limit),
        ("cacheEmptyDirMedium", mount.cache_empty_dir_medium),
        ("cacheEphemeralStorageClassName", mount.cache_ephemeral_storage_class_name),
        ("cacheEphemeralStorageResourceRequest", mount.cache_ephemeral_storage_resource_request),
    ):
        if value is not None:
            attributes[key] = value
    return attributes


def mountpoint_s3(conn: Any, volume_name: str, namespace: str | None) -> CsiParts:
    """Mountpoint for Amazon S3: a static PV + PVC, the pod mounting the claim."""
    driver = _kind_driver(conn)
    mount = conn.mount
    if not namespace:
        raise RenderError(
            f"connection {conn.name!r} mounts its bucket through {driver.driver}, which takes only a static "
            "PersistentVolume whose claimRef names the claim's namespace: give the run's namespace "
            "(--namespace, RunInfo.namespace)"
        )
    name = static_names(conn, namespace)
    options = _mountpoint_options(driver, conn)
    attributes = _mountpoint_attributes(conn)
    capacity = mount.capacity or DEFAULT_CAPACITY

    def access() -> list[str]:  # a fresh list per object: no YAML anchors in the output
        return ["ReadOnlyMany" if mount.read_only else "ReadWriteMany"]

    def labels() -> dict[str, str]:
        return {"app.kubernetes.io/managed-by": "stores"}

    pv: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": labels()},
        "spec": {
            "capacity": {"storage": capacity},
            "accessModes": access(),
            "storageClassName": "",
            "claimRef": {"namespace": namespace, "name": name},
            **({"mountOptions": options} if options else {}),
            "csi": {"driver": driver.driver, "volumeHandle": name, "volumeAttributes": attributes},
        },
    }
    pvc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": labels()},
        "spec": {
            "accessModes": access(),
            "storageClassName": "",
            "resources": {"requests": {"storage": capacity}},
            "volumeName": name,
        },
    }
    volume = V1Volume(
        name=volume_name,
        persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
            claim_name=name, read_only=True if mount.read_only else None
        ),
    )
    return CsiParts(volume, _mount(conn, volume_name), objects=[pv, pvc])


def gcs_fuse(conn: Any, volume_name: str, namespace: str | None) -> CsiParts:
    """Cloud Storage FUSE: a CSI ephemeral volume and the sidecar-injection annotation."""
    driver = _kind_driver(conn)
    mount = conn.mount
    options = _prefix_option(driver, conn)
    if mount.implicit_dirs:
        options.append("implicit-dirs")
    for flag, value in (("uid", mount.uid), ("gid", mount.gid)):
        if value is not None:
            options.append(f"{flag}={value}")
    options += list(mount.mount_options)
    attributes = {"bucketName": conn.bucket.bucket}
    if options:
        attributes["mountOptions"] = ",".join(options)
    for key, value in (
        ("fileCacheCapacity", mount.file_cache_capacity),
        ("fileCacheForRangeRead", mount.file_cache_for_range_read),
        ("metadataStatCacheCapacity", mount.metadata_stat_cache_capacity),
        ("metadataTypeCacheCapacity", mount.metadata_type_cache_capacity),
        ("metadataCacheTTLSeconds", mount.metadata_cache_ttl_seconds),
        ("gcsfuseLoggingSeverity", mount.gcsfuse_logging_severity),
        ("skipCSIBucketAccessCheck", mount.skip_csi_bucket_access_check),
    ):
        if value is not None:
            # volumeAttributes are strings: "true" / "false", "60"
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    volume = V1Volume(
        name=volume_name,
        csi=V1CSIVolumeSource(driver=driver.driver, read_only=True if mount.read_only else None,
                              volume_attributes=attributes),
    )
    annotations = {GCSFUSE_ANNOTATION: "true"}
    if mount.sidecar_resources is not None:
        annotations.update(mount.sidecar_resources.annotations())
    return CsiParts(volume, _mount(conn, volume_name), annotations=annotations)


def azure_blob(conn: Any, volume_name: str, namespace: str | None) -> CsiParts:
    """Azure Blob Storage: an inline volume reading the account from ``secretName``."""
    driver = _kind_driver(conn)
    mount = conn.mount
    options = _prefix_option(driver, conn)  # blobfuse2's --subdirectory
    for flag, value in (("uid", mount.uid), ("gid", mount.gid)):
        if value is not None:
            options.append(f"-o {flag}={value}")
    options += list(mount.mount_options)
    attributes = {"containerName": conn.bucket.bucket, "secretName": mount.secret_name}
    if mount.protocol is not None:
        attributes["protocol"] = mount.protocol
    if options:
        attributes["mountOptions"] = " ".join(options)
    volume = V1Volume(
        name=volume_name,
        csi=V1CSIVolumeSource(driver=driver.driver, read_only=True if mount.read_only else None,
                              volume_attributes=attributes),
    )
    return CsiParts(volume, _mount(conn, volume_name))


def add_csi_mount(patch: Any, conn: Any, source: str) -> V1VolumeMount | None:
    """Add ``conn``'s CSI volume, pod annotations and objects to ``patch`` (a ``PodPatch``) and
    return the volume's mount (the caller puts it on its container); ``None`` when ``conn`` has
    no ``mount:``."""
    if csi_driver(conn) is None:
        return None
    from .volumes import store_key

    run = patch.context.get("run")
    namespace = getattr(run, "namespace", None)
    parts = csi_parts(conn, patch.namer.name(store_key(conn), conn.name, ""), namespace)
    patch.add_volume(parts.volume, source)
    for key, value in parts.annotations.items():
        patch.add_annotation(key, value, source)
    for obj in parts.objects:
        patch.add_object(obj, source)
    return parts.mount
