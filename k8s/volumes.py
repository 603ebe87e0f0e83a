"""Connection -> volumes and volume mounts (tier 1).

- ``host_path``: a ``hostPath`` volume (with the schema's ``type`` when given) and a mount;
- ``volume_claim``: a ``persistentVolumeClaim`` volume (``readOnly``) and a mount (``readOnly``,
  ``subPath``);
- buckets: no store volume, unless mounted through their CSI driver (``mount:``: ``k8s.csi``,
  added by ``k8s.csi.add_csi_mount``, which needs the patch: the run's namespace, the pod's
  annotations and the objects beside the pod);
- a secret or config map with a ``mountPath``: a volume of it (items as ``{key, path, mode}``,
  ``defaultMode``) mounted read-only there.

Volume names are Polyaxon's: a store volume is named after its connection, a secret or config
map volume after the resource; ``k8s.naming.VolumeNamer`` keeps them unique in the pod (see there
for how a clash is resolved) and makes one resource mounted by several connections one volume.
"""

from __future__ import annotations

from typing import Callable

from ._client import (
    V1ConfigMapVolumeSource,
    V1HostPathVolumeSource,
    V1KeyToPath,
    V1PersistentVolumeClaimVolumeSource,
    V1SecretVolumeSource,
    V1Volume,
    V1VolumeMount,
)

from stores.kinds import KINDS

from .naming import VolumeNamer
from .protocols import ClaimConnectionLike, ConnectionLike, HostPathConnectionLike, ResourceLike

__all__ = [
    "STORE_VOLUMES",
    "has_store_volume",
    "store_volume",
    "resource_volumes",
    "connection_volumes",
    "key_to_paths",
    "store_key",
    "resource_key",
]

VolumeAndMount = tuple[V1Volume, V1VolumeMount]


def store_key(conn: ConnectionLike) -> tuple[object, ...]:
    return ("store", conn.name)


def resource_key(family: str, resource: ResourceLike) -> tuple[object, ...]:
    """What makes two connections' secrets (config maps) one volume: the same resource with the
    same items and mode."""
    items = tuple((i.key, i.path, i.mode) for i in resource.items)
    return (family, resource.name, items, resource.default_mode)


def _host_path(conn: HostPathConnectionLike, namer: VolumeNamer) -> VolumeAndMount:
    schema = conn.schema_
    name = namer.name(store_key(conn), conn.name, "")
    volume = V1Volume(name=name, host_path=V1HostPathVolumeSource(path=schema.host_path, type=schema.type))
    mount = V1VolumeMount(name=name, mount_path=schema.mount_path, read_only=schema.read_only)
    return volume, mount


def _claim(conn: ClaimConnectionLike, namer: VolumeNamer) -> VolumeAndMount:
    schema = conn.schema_
    name = namer.name(store_key(conn), conn.name, "")
    volume = V1Volume(
        name=name,
        persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
            claim_name=schema.volume_claim, read_only=schema.read_only
        ),
    )
    mount = V1VolumeMount(
        name=name, mount_path=schema.mount_path, read_only=schema.read_only, sub_path=schema.sub_path
    )
    return volume, mount


#: kind -> how its store volume is made (``"module:function"``, the kinds table's ``volume``);
#: ``None``: the kind has no volume (buckets).
STORE_VOLUMES: dict[str, str | None] = {kind: entry.volume for kind, entry in KINDS.items()}


def has_store_volume(conn: ConnectionLike) -> bool:
    """Whether the connection brings a store volume: a host path, a claim, a bucket mounted
    through its CSI driver (``mount:``; built by ``k8s.csi``); Polyaxon's other kinds have none."""
    entry = KINDS.get(conn.kind)
    if entry is None:
        return False
    return entry.volume is not None or (entry.csi is not None and getattr(conn, "mount", None) is not None)


def store_volume(conn: ConnectionLike, namer: VolumeNamer | None = None) -> VolumeAndMount | None:
    entry = KINDS.get(conn.kind)  # Polyaxon's other kinds have no store volume
    make = entry.code("volume") if entry is not None else None
    return make(conn, namer or VolumeNamer()) if make is not None else None


def key_to_paths(resource: ResourceLike) -> list[V1KeyToPath] | None:
    """Items as Kubernetes wants them: ``{key, path[, mode]}`` (never bare strings)."""
    if not resource.items:
        return None
    return [V1KeyToPath(key=i.key, path=i.path if i.path is not None else i.key, mode=i.mode) for i in resource.items]


def _secret_volume(resource: ResourceLike, namer: VolumeNamer) -> V1Volume:
    return V1Volume(
        name=namer.name(resource_key("secret", resource), resource.name, "secret"),
        secret=V1SecretVolumeSource(
            secret_name=resource.name, items=key_to_paths(resource), default_mode=resource.default_mode
        ),
    )


def _config_map_volume(resource: ResourceLike, namer: VolumeNamer) -> V1Volume:
    return V1Volume(
        name=namer.name(resource_key("config_map", resource), resource.name, "config"),
        config_map=V1ConfigMapVolumeSource(
            name=resource.name, items=key_to_paths(resource), default_mode=resource.default_mode
        ),
    )


#: connection attribute -> how a mounted resource of that attribute becomes a volume
RESOURCE_VOLUMES: tuple[tuple[str, Callable[[ResourceLike, VolumeNamer], V1Volume]], ...] = (
    ("secret", _secret_volume),
    ("config_map", _config_map_volume),
)


def resource_volumes(conn: ConnectionLike, namer: VolumeNamer | None = None) -> list[VolumeAndMount]:
    """The connection's secret / config map that have a ``mountPath``, mounted read-only."""
    namer = namer or VolumeNamer()
    out: list[VolumeAndMount] = []
    for attr, make in RESOURCE_VOLUMES:
        resource = getattr(conn, attr)
        if resource is None or resource.mount_path is None:
            continue
        volume = make(resource, namer)
        out.append((volume, V1VolumeMount(name=volume.name, mount_path=resource.mount_path, read_only=True)))
    return out


def connection_volumes(conn: ConnectionLike, namer: VolumeNamer | None = None) -> list[VolumeAndMount]:
    """Every volume (with its main-container mount) a connection brings, store volume first.
    ``namer``: the pod's (``patch_namer``); a fresh one names the connection's volumes alone."""
    namer = namer or VolumeNamer()
    store = store_volume(conn, namer)
    return ([store] if store is not None else []) + resource_volumes(conn, namer)
