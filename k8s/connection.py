"""One connection -> what it brings to the main container of a ``PodPatch`` (tier 1).

Used by ``k8s.render`` (every selected connection) and ``k8s.plugins`` (the artifacts store
``mountArtifactsStore`` puts on the main container), so neither imports the other.
"""

from __future__ import annotations

from .csi import add_csi_mount
from .env import connection_env, resource_env
from .identity import add_identity, identity_env, identity_volumes
from .podpatch import PodPatch
from .protocols import ConnectionLike
from .volumes import connection_volumes

__all__ = ["add_connection"]


def add_connection(patch: PodPatch, conn: ConnectionLike) -> None:
    """Everything one connection brings to the main container, except the credential env (which
    depends on the other connections: see ``k8s.env.credential_env``).  Recorded in
    ``patch.context["main_connections"]`` (name -> connection) for
    ``POLYAXON_CONNECTIONS_CATALOG``."""
    source = f"connection {conn.name!r}"
    given: dict[str, ConnectionLike] = patch.context.setdefault("main_connections", {})
    if conn.name in given:
        return
    given[conn.name] = conn
    # a connection without ``identity`` (most) skips its three helpers, which would find nothing
    with_identity = getattr(conn, "identity", None) is not None
    csi_mount = add_csi_mount(patch, conn, source)
    if csi_mount is not None:
        patch.add_mount(csi_mount, source)
    volumes = connection_volumes(conn, patch.namer)
    if with_identity:
        volumes += identity_volumes(conn)
    for volume, mount in volumes:
        patch.add_volume(volume, source)
        patch.add_mount(mount, source)
    if with_identity:
        add_identity(patch, conn)
    env, env_from = resource_env(conn)
    if conn.env:
        env += connection_env(conn)
    if with_identity:
        env += identity_env(conn)
    for var in env:
        patch.add_env(var.item, var.source)
    for env_source in env_from:
        patch.add_env_from(env_source.item, env_source.source)
    for key, value in conn.annotations.items():
        patch.add_annotation(key, value, source)
