"""Workload identity -> what a connection's ``identity:`` brings to a pod (tier 1).

A connection with an identity carries no key: the pod runs as a ServiceAccount the cloud trusts.
What each cloud needs is the kinds table's (``stores.kinds.IdentityRow``):

- ``spec.serviceAccountName``: the identity's ``serviceAccount`` (every selected connection with
  an identity must name the same one: a pod has one; two are a ``RenderError`` naming both);
- pod labels (Azure: ``azure.workload.identity/use: "true"``, what its webhook looks for);
- the ServiceAccount itself, annotated for the cloud (``eks.amazonaws.com/role-arn``,
  ``iam.gke.io/gcp-service-account``, ``azure.workload.identity/client-id``), emitted by
  ``stores render --service-accounts`` and ``PodPatch.service_account_manifests()`` unless the
  identity says ``create: false``;
- with ``webhook: false`` (no admission webhook injects them): a projected serviceAccountToken
  volume (audience: the cloud's) mounted read-only where the cloud's SDKs look for it, and the
  variables (``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``; ``AZURE_CLIENT_ID`` +
  ``AZURE_TENANT_ID`` + ``AZURE_FEDERATED_TOKEN_FILE``) on each container using the connection.

The kubelet rewrites the projected token before it expires (at 80% of its lifetime); the SDKs
read the file again at each exchange, so nothing restarts.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ._client import (
    V1EnvVar,
    V1ProjectedVolumeSource,
    V1ServiceAccountTokenProjection,
    V1Volume,
    V1VolumeMount,
    V1VolumeProjection,
)

from stores.kinds import IDENTITY_TOKEN_SECONDS, IDENTITY_TOKEN_VOLUME, KINDS

from .podpatch import PodPatch, Sourced
from .protocols import ConnectionLike

__all__ = ["identity_volumes", "identity_env", "add_identity", "service_account_annotations"]


def _row(conn: ConnectionLike) -> Any:
    identity = getattr(conn, "identity", None)
    entry = KINDS.get(conn.kind)
    if identity is None or entry is None or entry.identity is None:
        return None, None
    return identity, entry.identity


def identity_volumes(conn: ConnectionLike) -> list[tuple[V1Volume, V1VolumeMount]]:
    """The projected token volume and its mount (``webhook: false`` on a kind with a token)."""
    identity, row = _row(conn)
    if identity is None or identity.webhook or row.token_path is None:
        return []
    name = f"{IDENTITY_TOKEN_VOLUME}-{conn.kind}"
    token = V1ServiceAccountTokenProjection(
        audience=identity.audience or row.audience,
        expiration_seconds=IDENTITY_TOKEN_SECONDS,
        path=posixpath.basename(row.token_path),
    )
    volume = V1Volume(name=name, projected=V1ProjectedVolumeSource(sources=[V1VolumeProjection(service_account_token=token)]))
    return [(volume, V1VolumeMount(name=name, mount_path=posixpath.dirname(row.token_path), read_only=True))]


def identity_env(conn: ConnectionLike) -> list[Sourced[V1EnvVar]]:
    """The SDK variables of a ``webhook: false`` identity (the webhook sets them otherwise)."""
    identity, row = _row(conn)
    if identity is None or identity.webhook or row.token_path is None:
        return []
    source = f"connection {conn.name!r} (identity)"
    out = [Sourced(V1EnvVar(name=row.token_env, value=row.token_path), source)]
    for var, field in row.field_env:
        value = getattr(identity, field)
        if value is not None:
            out.append(Sourced(V1EnvVar(name=var, value=value), source))
    return out


def service_account_annotations(conn: ConnectionLike) -> dict[str, str]:
    """The annotations the cloud wants on the connection's ServiceAccount."""
    identity, row = _row(conn)
    if identity is None:
        return {}
    return {key: getattr(identity, field) for key, field in row.sa_annotations if getattr(identity, field) is not None}


def add_identity(patch: PodPatch, conn: ConnectionLike, source: str | None = None) -> None:
    """The pod-level part of a connection's identity: its ServiceAccount and its labels."""
    identity, row = _row(conn)
    if identity is None:
        return
    source = source or f"connection {conn.name!r} (identity)"
    patch.set_service_account(identity.service_account, source, service_account_annotations(conn),
                              create=identity.create)
    for key, value in row.pod_labels:
        patch.add_label(key, value, source)
