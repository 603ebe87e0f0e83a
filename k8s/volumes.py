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

from typing import Any, Callable

from ._client import V1KeyToPath, V1Volume, V1VolumeMount

from stores.kinds import KINDS

from .naming import VolumeNamer
from .protocols import ClaimConnectionLike, ConnectionLike, HostPathConnectionLike, ResourceLike
from .serialize import load, spelling

__all__ = [
    "STORE_VOLUMES",
    "has_store_volume",
    "store_volume",
    "resource_volumes",
    "connection_volumes",
    "connection_volumes_spelled",
    "key_to_paths",
    "store_key",
    "resource_key",
]

VolumeAndMount = tuple[V1Volume, V1VolumeMount]
#: a volume and its mount in manifest spelling (``k8s.serialize.spelling``), built from values
#: our own models validated; ``PodPatch`` keeps them as ``Sourced.spelled`` entries
Spelled = tuple[dict[str, Any], dict[str, Any]]


def store_key(conn: ConnectionLike) -> tuple[object, ...]:
    return ("store", conn.name)


def resource_key(family: str, resource: ResourceLike) -> tuple[object, ...]:
    """What makes two connections' secrets (config maps) one volume: the same resource with the
    same items and mode."""
    items = tuple([(i.key, i.path, i.mode) for i in resource.items])
    return (family, resource.name, items, resource.default_mode)


# the spellings below list keys in the client's field order (alphabetical): V1Volume, then its
# source, then V1VolumeMount


def _host_path(conn: HostPathConnectionLike, namer: VolumeNamer) -> Spelled:
    schema = conn.schema_
    name = namer.name(store_key(conn), conn.name, "")
    volume = {"hostPath": spelling(("path", schema.host_path), ("type", schema.type)), "name": name}
    mount = spelling(("mountPath", schema.mount_path), ("name", name), ("readOnly", schema.read_only))
    return volume, mount


def _claim(conn: ClaimConnectionLike, namer: VolumeNamer) -> Spelled:
    schema = conn.schema_
    name = namer.name(store_key(conn), conn.name, "")
    claim = spelling(("claimName", schema.volume_claim), ("readOnly", schema.read_only))
    volume = {"name": name, "persistentVolumeClaim": claim}
    mount = spelling(("mountPath", schema.mount_path), ("name", name), ("readOnly", schema.read_only),
                     ("subPath", schema.sub_path))
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


def _store_spelled(conn: ConnectionLike, namer: VolumeNamer) -> Spelled | None:
    entry = KINDS.get(conn.kind)  # Polyaxon's other kinds have no store volume
    make = entry.code("volume") if entry is not None else None
    return make(conn, namer) if make is not None else None


def _models(pair: Spelled) -> VolumeAndMount:
    return load(V1Volume, pair[0]), load(V1VolumeMount, pair[1])


def store_volume(conn: ConnectionLike, namer: VolumeNamer | None = None) -> VolumeAndMount | None:
    pair = _store_spelled(conn, namer or VolumeNamer())
    return _models(pair) if pair is not None else None


def _key_to_paths_spelled(resource: ResourceLike) -> list[dict[str, Any]] | None:
    if not resource.items:
        return None
    return [spelling(("key", i.key), ("mode", i.mode), ("path", i.path if i.path is not None else i.key))
            for i in resource.items]


def key_to_paths(resource: ResourceLike) -> list[V1KeyToPath] | None:
    """Items as Kubernetes wants them: ``{key, path[, mode]}`` (never bare strings)."""
    items = _key_to_paths_spelled(resource)
    return [load(V1KeyToPath, i) for i in items] if items is not None else None


def _secret_volume(resource: ResourceLike, namer: VolumeNamer) -> dict[str, Any]:
    name = namer.name(resource_key("secret", resource), resource.name, "secret")
    source = spelling(("defaultMode", resource.default_mode), ("items", _key_to_paths_spelled(resource)),
                      ("secretName", resource.name))
    return {"name": name, "secret": source}


def _config_map_volume(resource: ResourceLike, namer: VolumeNamer) -> dict[str, Any]:
    name = namer.name(resource_key("config_map", resource), resource.name, "config")
    source = spelling(("defaultMode", resource.default_mode), ("items", _key_to_paths_spelled(resource)),
                      ("name", resource.name))
    return {"configMap": source, "name": name}


#: connection attribute -> how a mounted resource of that attribute becomes a volume (spelled)
RESOURCE_VOLUMES: tuple[tuple[str, Callable[[ResourceLike, VolumeNamer], dict[str, Any]]], ...] = (
    ("secret", _secret_volume),
    ("config_map", _config_map_volume),
)


def _resources_spelled(conn: ConnectionLike, namer: VolumeNamer) -> list[Spelled]:
    out: list[Spelled] = []
    for attr, make in RESOURCE_VOLUMES:
        resource = getattr(conn, attr)
        if resource is None or resource.mount_path is None:
            continue
        volume = make(resource, namer)
        out.append((volume, {"mountPath": resource.mount_path, "name": volume["name"], "readOnly": True}))
    return out


def resource_volumes(conn: ConnectionLike, namer: VolumeNamer | None = None) -> list[VolumeAndMount]:
    """The connection's secret / config map that have a ``mountPath``, mounted read-only."""
    return [_models(pair) for pair in _resources_spelled(conn, namer or VolumeNamer())]


def connection_volumes_spelled(conn: ConnectionLike, namer: VolumeNamer) -> list[Spelled]:
    """``connection_volumes`` in manifest spelling: what the renderer adds to a patch."""
    store = _store_spelled(conn, namer)
    return ([store] if store is not None else []) + _resources_spelled(conn, namer)


def connection_volumes(conn: ConnectionLike, namer: VolumeNamer | None = None) -> list[VolumeAndMount]:
    """Every volume (with its main-container mount) a connection brings, store volume first.
    ``namer``: the pod's (``patch_namer``); a fresh one names the connection's volumes alone."""
    return [_models(pair) for pair in connection_volumes_spelled(conn, namer or VolumeNamer())]
