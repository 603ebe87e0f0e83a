"""Connection -> volumes and volume mounts (tier 1).

- ``host_path``: a ``hostPath`` volume (with the schema's ``type`` when given) and a mount;
- ``volume_claim``: a ``persistentVolumeClaim`` volume (``readOnly``) and a mount (``readOnly``,
  ``subPath``);
- buckets: no store volume;
- a secret or config map with a ``mountPath``: a volume of it (items as ``{key, path, mode}``,
  ``defaultMode``) mounted read-only there.

Volume names come from ``k8s.naming`` (``store-<name>``, ``secret-<name>``, ``config-<name>``).
"""

from __future__ import annotations

from typing import Any, Callable

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

from .naming import config_map_volume_name, secret_volume_name, store_volume_name

__all__ = ["STORE_VOLUMES", "store_volume", "resource_volumes", "connection_volumes", "key_to_paths"]

VolumeAndMount = tuple[V1Volume, V1VolumeMount]


def _host_path(conn: Any) -> VolumeAndMount:
    schema = conn.schema_
    name = store_volume_name(conn.name)
    volume = V1Volume(name=name, host_path=V1HostPathVolumeSource(path=schema.host_path, type=schema.type))
    mount = V1VolumeMount(name=name, mount_path=schema.mount_path, read_only=schema.read_only)
    return volume, mount


def _claim(conn: Any) -> VolumeAndMount:
    schema = conn.schema_
    name = store_volume_name(conn.name)
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


#: kind -> how its store volume is made; ``None``: the kind has no volume (buckets).
STORE_VOLUMES: dict[str, Callable[[Any], VolumeAndMount] | None] = {
    "host_path": _host_path,
    "volume_claim": _claim,
    "s3": None,
    "gcs": None,
    "wasb": None,
}
assert set(STORE_VOLUMES) == set(KINDS), "store volume table and the kinds table disagree"


def store_volume(conn: Any) -> VolumeAndMount | None:
    make = STORE_VOLUMES[conn.kind]
    return make(conn) if make is not None else None


def key_to_paths(resource: Any) -> list[V1KeyToPath] | None:
    """Items as Kubernetes wants them: ``{key, path[, mode]}`` (never bare strings)."""
    if not resource.items:
        return None
    return [V1KeyToPath(key=i.key, path=i.path, mode=i.mode) for i in resource.items]


def _secret_volume(conn: Any, resource: Any) -> V1Volume:
    return V1Volume(
        name=secret_volume_name(conn.name),
        secret=V1SecretVolumeSource(
            secret_name=resource.name, items=key_to_paths(resource), default_mode=resource.default_mode
        ),
    )


def _config_map_volume(conn: Any, resource: Any) -> V1Volume:
    return V1Volume(
        name=config_map_volume_name(conn.name),
        config_map=V1ConfigMapVolumeSource(
            name=resource.name, items=key_to_paths(resource), default_mode=resource.default_mode
        ),
    )


#: connection attribute -> how a mounted resource of that attribute becomes a volume
RESOURCE_VOLUMES: tuple[tuple[str, Callable[[Any, Any], V1Volume]], ...] = (
    ("secret", _secret_volume),
    ("config_map", _config_map_volume),
)


def resource_volumes(conn: Any) -> list[VolumeAndMount]:
    """The connection's secret / config map that have a ``mountPath``, mounted read-only."""
    out: list[VolumeAndMount] = []
    for attr, make in RESOURCE_VOLUMES:
        resource = getattr(conn, attr)
        if resource is None or resource.mount_path is None:
            continue
        volume = make(conn, resource)
        out.append((volume, V1VolumeMount(name=volume.name, mount_path=resource.mount_path, read_only=True)))
    return out


def connection_volumes(conn: Any) -> list[VolumeAndMount]:
    """Every volume (with its main-container mount) a connection brings, store volume first."""
    store = store_volume(conn)
    return ([store] if store is not None else []) + resource_volumes(conn)
