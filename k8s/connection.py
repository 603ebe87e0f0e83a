"""One connection -> what it brings to the main container of a ``PodPatch`` (tier 1).

Used by ``k8s.render`` (every selected connection) and ``k8s.plugins`` (the artifacts store
``mountArtifactsStore`` puts on the main container), so neither imports the other.
"""

from __future__ import annotations

from stores.contract import catalog_part

from ._client import V1Volume, V1VolumeMount
from .csi import add_csi_mount
from .env import connection_env, resource_env
from .identity import add_identity, identity_env, identity_volumes
from .podpatch import PodPatch, Sourced
from .protocols import ConnectionLike
from .volumes import connection_volumes_spelled

__all__ = ["add_connection"]


def add_connection(patch: PodPatch, conn: ConnectionLike) -> None:
    """Everything one connection brings to the main container, except the credential env (which
    depends on the other connections: see ``k8s.env.credential_env``).  Recorded in
    ``patch.context["main_connections"]`` (name -> connection) for
    ``POLYAXON_CONNECTIONS_CATALOG``, with its entry there in ``patch.context["catalog_parts"]``
    (name -> JSON, templates resolved by ``patch.resolve``), and when mounted through a CSI
    driver in ``patch.context["csi_connections"]`` (name -> connection, for ``STORES_CSI_MOUNTS``)."""
    source = f"connection {conn.name!r}"
    given: dict[str, ConnectionLike] = patch.context.setdefault("main_connections", {})
    if conn.name in given:
        return
    given[conn.name] = conn
    # written now, while this connection's models are in the CPU cache: a pass of its own over
    # 10,000 connections cost about twice as much per connection as over 1,000
    patch.context.setdefault("catalog_parts", {})[conn.name] = catalog_part(conn, patch.resolve)
    # a connection without ``identity`` (most) skips its three helpers, which would find nothing
    with_identity = getattr(conn, "identity", None) is not None
    csi_mount = add_csi_mount(patch, conn, source)
    if csi_mount is not None:
        patch.add_mount(csi_mount, source)
        patch.context.setdefault("csi_connections", {})[conn.name] = conn
    for volume, mount in connection_volumes_spelled(conn, patch.namer):
        patch.add_volume_entry(Sourced.spelled(V1Volume, volume, source))
        patch.add_mount_entry(Sourced.spelled(V1VolumeMount, mount, source))
    if with_identity:
        for token_volume, token_mount in identity_volumes(conn):
            patch.add_volume(token_volume, source)
            patch.add_mount(token_mount, source)
        add_identity(patch, conn)
    env, env_from = resource_env(conn)
    if conn.env:
        env += connection_env(conn)
    if with_identity:
        env += identity_env(conn)
    patch.add_env_entries(env)
    patch.add_env_from_entries(env_from)
    for key, value in conn.annotations.items():
        patch.add_annotation(key, value, source)
