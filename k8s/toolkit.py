"""Toolkit containers the plugins add: hardened, in the toolkit image, given a store as the main container gets it (tier 1)."""

from __future__ import annotations

import json
from typing import Any

from ._client import (
    V1Capabilities,
    V1Container,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecurityContext,
    V1Volume,
    V1VolumeMount,
)

from stores.errors import RenderError
from stores.plugins import Plugins, artifacts_store
from stores.contract import connections_catalog, csi_mounts
from stores.contract.names import CONTEXT_PATH, artifacts_path, run_artifacts_path, run_logs_path, run_outputs_path
from stores.contract.names import ENV_CONNECTIONS_CATALOG, ENV_CSI_MOUNTS, ENV_DATA_PATHS, RUN_FOLDER_TEMPLATE
from stores.settings import Settings, check_resources

from .checks import CONTEXT_MOUNT, CONTEXT_VOLUME
from .env import connection_env, credential_env, resource_env
from .identity import add_identity, identity_env, identity_volumes
from .naming import CONTEXT_VOLUME_NAMES
from .podpatch import PodPatch
from .protocols import ConnectionLike
from .csi import add_csi_mount
from .volumes import connection_volumes

__all__ = [
    "toolkit_container",
    "store_access",
    "ensure_context",
    "run_paths",
    "require_artifacts_store",
    "plugin_source",
    "TMP_VOLUME",
    "TMP_FALLBACK",
    "ENV_LOG_LEVEL",
]

TMP_VOLUME = CONTEXT_VOLUME_NAMES["toolkit_tmp"]
#: where the toolkit's scratch space goes when a store is mounted on /tmp
TMP_FALLBACK = "/plx-toolkit-tmp"
ENV_LOG_LEVEL = "POLYAXON_LOG_LEVEL"


def plugin_source(plugin: str) -> str:
    """How the checks name what a plugin added: ``plugin '<key>'``."""
    return f"plugin {plugin!r}"


def run_paths(patch: PodPatch) -> dict[str, str]:
    """The run's local directories (``globals.*``) and its folder in a store."""
    run = patch.context["run"]
    run_artifacts = run_artifacts_path(CONTEXT_PATH, run.uuid)
    return {
        "artifacts": artifacts_path(CONTEXT_PATH),
        "run_artifacts": run_artifacts,
        "outputs": run_outputs_path(run_artifacts),
        "logs": run_logs_path(run_artifacts),
        "store_folder": run.outputs_subpath(RUN_FOLDER_TEMPLATE),
    }


def _add_volume_once(patch: PodPatch, volume: V1Volume, source: str) -> None:
    # PodPatch adds the very same volume once; a different one under the same name is still
    # added, and the checks then name both sources
    patch.add_volume(volume, source)


def ensure_context(patch: PodPatch, source: str) -> V1VolumeMount:
    """The artifacts context (an emptyDir, ``artifacts-context`` at ``/plx-context/artifacts``)
    on the main container (once); returns its mount."""
    mount = V1VolumeMount(name=CONTEXT_VOLUME, mount_path=CONTEXT_MOUNT)
    patch.add_volume(V1Volume(name=CONTEXT_VOLUME, empty_dir=V1EmptyDirVolumeSource()), source)
    patch.add_mount(mount, source)
    return mount


def require_artifacts_store(patch: PodPatch, plugin: str) -> ConnectionLike:
    """The selection's artifacts store; ``RenderError`` naming ``plugin`` when there is none."""
    store: ConnectionLike | None = artifacts_store(patch.context["selection"])
    if store is None:
        raise RenderError(
            f"plugins.{plugin} needs an artifacts store, and the catalog has none (define "
            f"artifactsStore, or an outputs store in the legacy spelling), or turn {plugin} off"
        )
    return store


def store_access(patch: PodPatch, conn: ConnectionLike, source: str) -> tuple[list[V1VolumeMount], list[V1EnvVar], list[Any]]:
    """``(mounts, env, env_from)`` giving a toolkit container one store, the way the main
    container gets it; the store's volumes are added to the pod once."""
    mounts: list[V1VolumeMount] = []
    csi_mount = add_csi_mount(patch, conn, source)  # a bucket mounted through its CSI driver
    if csi_mount is not None:
        mounts.append(csi_mount)
    for volume, mount in (*connection_volumes(conn, patch.namer), *identity_volumes(conn)):
        _add_volume_once(patch, volume, source)
        mounts.append(mount)
    add_identity(patch, conn)
    env_items, env_from_items = resource_env(conn)
    env = [v.item for v in (*env_items, *connection_env(conn), *identity_env(conn), *credential_env([conn]))]
    paths = json.dumps({conn.name: conn.store_path}, sort_keys=True, separators=(",", ":"))
    env.append(V1EnvVar(name=ENV_DATA_PATHS, value=paths))
    env.append(V1EnvVar(name=ENV_CONNECTIONS_CATALOG, value=connections_catalog([conn])))
    mounted = csi_mounts([conn])
    if mounted is not None:
        env.append(V1EnvVar(name=ENV_CSI_MOUNTS, value=mounted))
    return mounts, env, [e.item for e in env_from_items]


def _security_context(settings: Settings) -> V1SecurityContext:
    return V1SecurityContext(
        run_as_non_root=True,
        run_as_user=settings.run_as_user,
        run_as_group=settings.run_as_user,
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        capabilities=V1Capabilities(drop=["ALL"]),
        seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
    )


def toolkit_container(
    patch: PodPatch,
    name: str,
    command: list[str],
    source: str,
    *,
    store: ConnectionLike | None = None,
    image: str | None = None,
    pull_policy: str | None = None,
    resources: Any = None,
    context: bool = True,
) -> V1Container:
    """A hardened container running ``command`` in the toolkit image, with the context volume
    mounted (``context``), a writable ``/tmp``, the store's credentials (``store``) and the log
    level."""
    settings: Settings = patch.context.get("settings") or Settings()
    plugins: Plugins | None = patch.context.get("plugins")
    mounts = [ensure_context(patch, source)] if context else []
    env: list[V1EnvVar] = []
    env_from: list[Any] = []
    if store is not None:
        store_mounts, store_env, env_from = store_access(patch, store, source)
        mounts += store_mounts
        env += store_env
    # the root filesystem is read-only: SDKs and Python need somewhere to write; /tmp, unless
    # the store itself is mounted there (Polyaxon's own tests use such a store)
    scratch = "/tmp" if all(m.mount_path != "/tmp" for m in mounts) else TMP_FALLBACK
    _add_volume_once(patch, V1Volume(name=TMP_VOLUME, empty_dir=V1EmptyDirVolumeSource()), source)
    mounts.append(V1VolumeMount(name=TMP_VOLUME, mount_path=scratch))
    env += [V1EnvVar(name="HOME", value=scratch), V1EnvVar(name="TMPDIR", value=scratch)]
    if plugins is not None and plugins.log_level:
        env.append(V1EnvVar(name=ENV_LOG_LEVEL, value=plugins.log_level))
    res = check_resources(resources) if resources is not None else settings.toolkit_resources
    return V1Container(
        name=name,
        image=image or settings.toolkit_image,
        image_pull_policy=pull_policy or settings.image_pull_policy,
        command=command,
        env=sorted(env, key=lambda v: v.name),
        env_from=env_from or None,
        volume_mounts=sorted(mounts, key=lambda m: m.mount_path),
        resources=V1ResourceRequirements(requests=res.get("requests"), limits=res.get("limits")),
        security_context=_security_context(settings),
    )
