"""A bucket mounted as a filesystem through its vendor's CSI driver: the ``mount:`` of a bucket
connection, one model per driver (tier 1: pydantic).

The drivers and what they document (each driver's name, provisioning model and docs page are
the kinds table's ``csi`` entry, ``stores.kinds``):

- Mountpoint for Amazon S3 (``s3.csi.aws.com``), static provisioning only
  (https://github.com/awslabs/mountpoint-s3-csi-driver/blob/main/docs/CONFIGURATION.md): options
  are Mountpoint's flags as the PV's ``mountOptions`` (``region``, ``prefix``, ``uid``/``gid``,
  ``allow-delete``, ``allow-overwrite``, ``allow-other``, ``read-only``), the local cache and the
  credential source as ``volumeAttributes`` (``cache``, ``cacheEmptyDirSizeLimit``, ...,
  ``authenticationSource``);
- Cloud Storage FUSE (``gcsfuse.csi.storage.gke.io``), CSI ephemeral volumes
  (https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/cloud-storage-fuse-csi-driver-ephemeral):
  ``volumeAttributes`` ``bucketName``, ``mountOptions`` (one comma-separated string:
  ``only-dir``, ``implicit-dirs``, ``uid``, ``gid``), the cache attributes, and the pod
  annotations ``gke-gcsfuse/volumes: "true"`` and ``gke-gcsfuse/<resource>-<limit|request>``
  for the injected sidecar;
- Azure Blob Storage (``blob.csi.azure.com``), inline volumes
  (https://github.com/kubernetes-sigs/blob-csi-driver/blob/master/deploy/example/nginx-blobfuse-inline-volume.yaml):
  ``volumeAttributes`` ``containerName``, ``secretName`` (a secret in the pod's namespace with
  ``azurestorageaccountname`` and ``azurestorageaccountkey``), ``protocol``, ``mountOptions``
  (one space-separated string of blobfuse flags).

The bucket and its prefix come from the connection's ``schema.bucket``: a mount shows the same
tree a store handle does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from . import names
from .modelbase import Flag, MountPath, ResourceName, _Model

__all__ = [
    "MountOption",
    "Quantity",
    "S3Mount",
    "GcsMount",
    "GcsSidecarResources",
    "WasbMount",
    "option_name",
]

#: a Kubernetes resource quantity (the common spellings: ``500Mi``, ``1Gi``, ``0.5``, ``250m``)
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
Quantity = Annotated[str, Field(pattern=QUANTITY, max_length=64)]
#: a cache capacity of Cloud Storage FUSE: a quantity, or ``-1`` for no limit
CacheCapacity = Annotated[str, Field(pattern=r"^(-1|[0-9]+(\.[0-9]+)?(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$", max_length=64)]
Id = Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)]


def _check_option(value: str) -> str:
    if not value.strip() or not value.isprintable() or value != value.strip():
        raise ValueError(f"a mount option must be printable text without leading or trailing blanks, got {value!r}")
    return value


_OPTION_PATTERN = r"^[^\s\x00-\x1f\x7f](.*[^\s\x00-\x1f\x7f])?$"
_CONTROL = {"pattern": r"[\x00-\x1f\x7f]"}

#: one extra mount option, passed to the driver as given (after the options the fields make)
MountOption = Annotated[str, Field(min_length=1, max_length=1024, pattern=_OPTION_PATTERN,
                                   json_schema_extra={"not": _CONTROL})]


def _options(derived: tuple[str, ...], separator: str | None = None) -> Any:
    """The extra options of one driver: what the schema can say of :func:`option_name`'s rule
    (no option sets a flag a field decides) and of the driver's separator, besides
    ``MountOption``'s."""
    flags = "|".join(re.escape(f) for f in derived)
    refuse = [_CONTROL, {"pattern": rf"^(-o +)?-*({flags})([= ]|$)"}]
    if separator is not None:
        refuse.append({"pattern": re.escape(separator)})
    item = Annotated[str, Field(min_length=1, max_length=1024, pattern=_OPTION_PATTERN,
                                json_schema_extra={"not": {"anyOf": refuse}})]
    return tuple[item, ...]


def option_name(option: str) -> str:
    """The flag an option sets: ``--allow-delete`` / ``allow-delete`` / ``region us-east-1`` /
    ``uid=1000`` / ``-o uid=1000`` all name their flag (``allow-delete``, ``region``, ``uid``)."""
    text = option.strip()
    if text.startswith("-o "):
        text = text[3:].strip()
    text = text.lstrip("-")
    for sep in ("=", " "):
        text = text.split(sep, 1)[0]
    return text


class _Mount(_Model):
    """What every driver's mount has: where, whether read-only, and extra options."""

    #: the driver; only the kind's own (it may be left out)
    driver: str | None = None
    mount_path: MountPath
    read_only: Flag | None = None
    mount_options: tuple[MountOption, ...] = ()

    #: the driver's name (the kinds table's ``csi.driver``), set by each subclass
    DRIVER: ClassVar[str] = ""
    #: flags the fields below make: an extra option may not set them again
    DERIVED: ClassVar[tuple[str, ...]] = ()

    #: what joins the options in the driver's one string (``None``: they stay a list)
    SEPARATOR: ClassVar[str | None] = None

    @field_validator("mount_options")
    @classmethod
    def _check_options(cls, options: tuple[str, ...]) -> tuple[str, ...]:
        for option in options:
            _check_option(option)
            flag = option_name(option)
            if flag in cls.DERIVED:
                raise ValueError(f"mount option {option!r} sets {flag!r}, which a field of mount (or the "
                                 "bucket's prefix) decides; use the field")
            if cls.SEPARATOR is not None and cls.SEPARATOR in option:
                raise ValueError(f"mount option {option!r} holds a {cls.SEPARATOR!r}: the driver takes the options "
                                 f"as one {cls.SEPARATOR!r}-separated string; give each option alone")
        return options

    @property
    def is_read_only(self) -> bool:
        return bool(self.read_only)


class S3Mount(_Mount):
    """Mountpoint for Amazon S3 (``s3.csi.aws.com``)."""

    DRIVER = "s3.csi.aws.com"
    DERIVED = ("read-only", "prefix", "region", "uid", "gid", "allow-delete", "allow-overwrite", "allow-other")
    # what JSON Schema can say of _check_s3: readOnly with allowDelete or allowOverwrite
    model_config = ConfigDict(json_schema_extra={"not": {"anyOf": [
        {"required": ["readOnly", flag], "properties": {"readOnly": {"const": True}, flag: {"const": True}}}
        for flag in ("allowDelete", "allowOverwrite")
    ]}})

    driver: Literal["s3.csi.aws.com"] | None = None
    mount_options: _options(DERIVED) = ()  # type: ignore[valid-type]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z0-9]+)+$", max_length=64)] | None = None
    uid: Id | None = None
    gid: Id | None = None
    allow_delete: Flag | None = None
    allow_overwrite: Flag | None = None
    allow_other: Flag | None = None
    #: Mountpoint's local cache (``volumeAttributes.cache``)
    cache: Literal["emptyDir", "ephemeral"] | None = None
    cache_empty_dir_size_limit: Quantity | None = None
    cache_empty_dir_medium: Literal["", "Memory"] | None = None
    cache_ephemeral_storage_class_name: ResourceName | None = None
    cache_ephemeral_storage_resource_request: Quantity | None = None
    #: whose credentials Mountpoint uses: the driver's (default) or the pod's service account
    authentication_source: Literal["driver", "pod"] | None = None
    #: the PV's and PVC's capacity (ignored by the driver, required by Kubernetes)
    capacity: Quantity | None = None

    @model_validator(mode="after")
    def _check_s3(self) -> "S3Mount":
        if self.read_only and (self.allow_delete or self.allow_overwrite):
            raise ValueError("a readOnly mount cannot allowDelete or allowOverwrite")
        empty_dir = (self.cache_empty_dir_size_limit, self.cache_empty_dir_medium)
        ephemeral = (self.cache_ephemeral_storage_class_name, self.cache_ephemeral_storage_resource_request)
        if self.cache != "emptyDir" and any(v is not None for v in empty_dir):
            raise ValueError("cacheEmptyDirSizeLimit and cacheEmptyDirMedium need cache: emptyDir")
        if self.cache != "ephemeral" and any(v is not None for v in ephemeral):
            raise ValueError("cacheEphemeralStorageClassName and cacheEphemeralStorageResourceRequest need "
                             "cache: ephemeral")
        if self.cache == "ephemeral" and any(v is None for v in ephemeral):
            raise ValueError("cache: ephemeral needs both cacheEphemeralStorageClassName and "
                             "cacheEphemeralStorageResourceRequest")
        return self


class GcsSidecarResources(_Model):
    """The resources of the Cloud Storage FUSE sidecar, as pod annotations
    ``gke-gcsfuse/<cpu|memory|ephemeral-storage>-<limit|request>`` (``"0"``: no limit)."""

    cpu_limit: Quantity | None = None
    cpu_request: Quantity | None = None
    memory_limit: Quantity | None = None
    memory_request: Quantity | None = None
    ephemeral_storage_limit: Quantity | None = None
    ephemeral_storage_request: Quantity | None = None

    def annotations(self) -> dict[str, str]:
        out = {}
        for field, value in self:
            if value is not None:
                resource, _, which = field.rpartition("_")
                out[f"gke-gcsfuse/{resource.replace('_', '-')}-{which}"] = value
        return out


class GcsMount(_Mount):
    """Cloud Storage FUSE (``gcsfuse.csi.storage.gke.io``)."""

    DRIVER = "gcsfuse.csi.storage.gke.io"
    DERIVED = ("only-dir", "uid", "gid", "implicit-dirs")
    SEPARATOR = ","

    driver: Literal["gcsfuse.csi.storage.gke.io"] | None = None
    mount_options: _options(DERIVED, ",") = ()  # type: ignore[valid-type]
    uid: Id | None = None
    gid: Id | None = None
    implicit_dirs: Flag | None = None
    file_cache_capacity: CacheCapacity | None = None
    file_cache_for_range_read: Flag | None = None
    metadata_stat_cache_capacity: CacheCapacity | None = None
    metadata_type_cache_capacity: CacheCapacity | None = None
    metadata_cache_ttl_seconds: Annotated[int, Field(ge=-1, le=2**31 - 1, strict=True)] | None = Field(
        default=None, alias="metadataCacheTTLSeconds")
    gcsfuse_logging_severity: Literal["trace", "debug", "info", "warning", "error"] | None = None
    skip_csi_bucket_access_check: Flag | None = Field(default=None, alias="skipCSIBucketAccessCheck")
    sidecar_resources: GcsSidecarResources | None = None



class WasbMount(_Mount):
    """Azure Blob Storage (``blob.csi.azure.com``), an inline volume."""

    DRIVER = "blob.csi.azure.com"
    DERIVED = ("subdirectory", "uid", "gid")

    driver: Literal["blob.csi.azure.com"] | None = None
    mount_options: _options(DERIVED) = ()  # type: ignore[valid-type]
    #: the secret (in the pod's namespace) holding ``azurestorageaccountname`` and
    #: ``azurestorageaccountkey``: what the driver reads for an inline volume
    secret_name: ResourceName
    #: blobfuse (``fuse``, the driver's default) or blobfuse2 (``fuse2``); NFS is not mounted inline
    protocol: Literal["fuse", "fuse2"] | None = None
    uid: Id | None = None
    gid: Id | None = None

