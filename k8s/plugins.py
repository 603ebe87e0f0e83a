"""Run plugins (Polyaxon docs, Specification > Plugins) -> what each adds to the pod-spec patch (tier 1, pure functions).

``PLUGINS`` maps each plugin key (the docs' spelling) to ``fn(patch, plugins, settings)``;
``apply_plugins`` calls them in the table's order, which fixes the order of the init containers
(context, resume, then the caller's extensions such as ``download_data``) and puts the sidecar
last.  What each one adds:

===================  ==========================================================================
``shm``              ``/dev/shm`` on the main container: an emptyDir of medium Memory
                     (``sizeLimit`` when given), volume ``plx-shm``
``docker``           ``/var/run/docker.sock``: a hostPath of type Socket (volume
                     ``plx-docker-socket``), allowed past the deny list by this plugin only
``auth``             ``POLYAXON_AUTH_TOKEN`` from the Secret ``settings.auth_secret`` (key
                     ``settings.auth_token_key``), as a ``secretKeyRef``
``externalHost``     ``POLYAXON_HOST``: ``settings.api_host``, or ``settings.external_api_host``
                     when on; set when ``auth`` or ``externalHost`` is on
``logLevel``         ``POLYAXON_LOG_LEVEL`` on the main container and every container added here
``collectResources`` ``POLYAXON_COLLECT_RESOURCES=true|false`` on the main container
``mountArtifactsStore``  the artifacts store's volumes, credentials and env on the main container
                     (unless the selection already has it); ``globals.store_path`` resolves
``collectArtifacts`` the context volume (``k8s.checks.CONTEXT_VOLUME``, an emptyDir) at
                     ``/plx-context`` and the init container ``plx-init-context`` creating the
                     run's artifacts and outputs directories; the sidecar syncs the run's
                     artifacts directory
``collectLogs``      the same context; without ``collectArtifacts`` the sidecar syncs only the
                     run's ``logs`` directory
``autoResume``       (with ``collectArtifacts``) the init container ``plx-init-resume``:
                     ``stores sync --missing-ok STORE:<run> <run artifacts>`` before the main
                     container starts
``sidecar``          the sidecar ``plx-sidecar`` (when anything is collected):
                     ``stores sync <run artifacts> STORE:<run> --watch --interval N``, a sync
                     every N seconds and a last one on SIGTERM; its image, pull policy,
                     interval and resources are overridden by ``plugins.sidecar``
===================  ==========================================================================

``<run>`` in a store is ``RunInfo.outputs_subpath()`` (``owner/project/uuid``): the folder
``POLYAXON_RUN_OUTPUTS_PATH`` names when the artifacts store is the outputs store.  The artifacts
store is ``stores.plugins.artifacts_store``: the catalog's ``artifactsStore``, else the selected
outputs store.

Containers added here run ``settings.toolkit_image`` as non-root with a read-only root
filesystem, no privilege escalation and every capability dropped; ``/tmp`` is an emptyDir.  A
container that touches a store gets that store's credentials exactly as the main container does
(its key-file mount and ``POLYAXON_CONNECTION_<NAME>_KEY_FILE``, ``secretKeyRef`` env, envFrom,
the connection's env) and ``POLYAXON_RUN_DATA_PATHS={<store>: <path or URL>}``, so the ``stores``
command inside finds the store by name.

The main container's plugins are here; the toolkit containers are built by ``k8s.toolkit``, the
collecting plugins (``collectArtifacts`` to ``sidecar``) live in ``k8s.collect`` and the copies
into the pod (``run.init``, ``download_data``) in ``k8s.initcopies``; this module re-exports
their public names.
"""

from __future__ import annotations

from typing import Any, Callable

from ._client import (
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1EnvVarSource,
    V1HostPathVolumeSource,
    V1SecretKeySelector,
    V1Volume,
    V1VolumeMount,
)

from stores.errors import RenderError
from stores.plugins import Plugins, artifacts_store, as_plugins
from stores.settings import Settings

from .collect import (
    ENV_COLLECT_ARTIFACTS,
    INIT_CONTEXT_NAME,
    INIT_RESUME_NAME,
    SIDECAR_NAME,
    auto_resume,
    collect_artifacts,
    collect_logs,
    sidecar,
)
from .connection import add_connection
from .env import credential_env
from .initcopies import CONNECTIONS_CONTEXT_FORMAT, INIT_COPY_PREFIX, download_data, init_container_name, init_copies
from .naming import CONTEXT_VOLUME_NAMES
from .podpatch import PodPatch
from .toolkit import (
    ENV_LOG_LEVEL,
    TMP_FALLBACK,  # noqa: F401  (was defined here)
    TMP_VOLUME,
    ensure_context,
    plugin_source,
    require_artifacts_store,
    run_paths,
    store_access,
    toolkit_container,
)

__all__ = [
    "PLUGINS",
    "PluginFn",
    "apply_plugins",
    "download_data",
    "toolkit_container",
    "store_access",
    "ensure_context",
    "run_paths",
    "init_copies",
    "init_container_name",
    "INIT_COPY_PREFIX",
    "CONNECTIONS_CONTEXT_FORMAT",
    "SHM_VOLUME",
    "DOCKER_VOLUME",
    "DOCKER_SOCKET",
    "TMP_VOLUME",
    "SIDECAR_NAME",
    "INIT_CONTEXT_NAME",
    "INIT_RESUME_NAME",
    "ENV_AUTH_TOKEN",
    "ENV_HOST",
    "ENV_LOG_LEVEL",
    "ENV_COLLECT_RESOURCES",
    "ENV_COLLECT_ARTIFACTS",
]

PluginFn = Callable[[PodPatch, Plugins, Settings], None]

# Polyaxon's names for the same things (its converter's constants), so a pod reads the same
SHM_VOLUME = CONTEXT_VOLUME_NAMES["shm"]
DOCKER_VOLUME = CONTEXT_VOLUME_NAMES["docker"]
DOCKER_SOCKET = "/var/run/docker.sock"
ENV_AUTH_TOKEN = "POLYAXON_AUTH_TOKEN"
ENV_HOST = "POLYAXON_HOST"
ENV_COLLECT_RESOURCES = "POLYAXON_COLLECT_RESOURCES"

_src = plugin_source


# -- the plugins on the main container ------------------------------------------------------------


def _shm(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if not plugins.shm.enabled:
        return
    source = _src("shm")
    medium = V1EmptyDirVolumeSource(medium="Memory", size_limit=plugins.shm.size_limit)
    patch.add_volume(V1Volume(name=SHM_VOLUME, empty_dir=medium), source)
    patch.add_mount(V1VolumeMount(name=SHM_VOLUME, mount_path="/dev/shm"), source)


def _docker(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if not plugins.docker:
        return
    source = _src("docker")
    patch.allow_host_path(DOCKER_SOCKET, by=source)
    socket = V1HostPathVolumeSource(path=DOCKER_SOCKET, type="Socket")
    patch.add_volume(V1Volume(name=DOCKER_VOLUME, host_path=socket), source)
    patch.add_mount(V1VolumeMount(name=DOCKER_VOLUME, mount_path=DOCKER_SOCKET), source)


def _auth(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if not plugins.auth:
        return
    ref = V1SecretKeySelector(name=settings.auth_secret, key=settings.auth_token_key)
    patch.add_env(V1EnvVar(name=ENV_AUTH_TOKEN, value_from=V1EnvVarSource(secret_key_ref=ref)), _src("auth"))


def _external_host(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if not (plugins.auth or plugins.external_host):
        return
    if plugins.external_host:
        if not settings.external_api_host:
            raise RenderError(
                "plugins.externalHost is on but no external API host is set "
                "(STORES_EXTERNAL_API_HOST, or stores render --external-api-host URL)"
            )
        patch.add_env(V1EnvVar(name=ENV_HOST, value=settings.external_api_host), _src("externalHost"))
    else:
        patch.add_env(V1EnvVar(name=ENV_HOST, value=settings.api_host), _src("auth"))


def _log_level(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    # toolkit containers get it where they are built (toolkit_container)
    if plugins.log_level:
        patch.add_env(V1EnvVar(name=ENV_LOG_LEVEL, value=plugins.log_level), _src("logLevel"))


def _collect_resources(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    # always written: the tracking client collects unless told otherwise
    value = "true" if plugins.collect_resources else "false"
    patch.add_env(V1EnvVar(name=ENV_COLLECT_RESOURCES, value=value), _src("collectResources"))


def _mount_artifacts_store(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    # Polyaxon gives the main container the artifacts store when asked (mountArtifactsStore) and
    # whenever nothing collects the artifacts for it (collectArtifacts off)
    if plugins.mount_artifacts_store:
        store = require_artifacts_store(patch, "mountArtifactsStore")
    elif not plugins.collect_artifacts:
        store = artifacts_store(patch.context["selection"])
        if store is None:
            return
    else:
        return
    if store.name in patch.context.get("main_connections", {}):
        return  # selected by the run: already on the main container with its credentials
    add_connection(patch, store)
    have = {e.manifest["name"] for e in patch.env}
    # the store's own POLYAXON_CONNECTION_<NAME>_KEY_FILE always lands; an SDK-wide variable
    # (GOOGLE_APPLICATION_CREDENTIALS) already set by a selected connection stays theirs, and
    # the store's handles still find its key through the per-connection variable
    patch.add_env_entries(var for var in credential_env([store]) if var.manifest["name"] not in have)


#: plugin key (the docs' spelling) -> what it adds; applied in this order
PLUGINS: dict[str, PluginFn] = {
    "shm": _shm,
    "docker": _docker,
    "auth": _auth,
    "externalHost": _external_host,
    "logLevel": _log_level,
    "collectResources": _collect_resources,
    "mountArtifactsStore": _mount_artifacts_store,
    "collectArtifacts": collect_artifacts,
    "collectLogs": collect_logs,
    "autoResume": auto_resume,
    "sidecar": sidecar,
}
assert set(PLUGINS) == {f.alias for f in Plugins.model_fields.values()}, "plugin table and Plugins disagree"


def apply_plugins(patch: PodPatch, plugins: Plugins | Any, settings: Settings | None = None) -> None:
    """Every plugin of the table, in order, onto ``patch`` (a ``Plugins`` or its YAML mapping)."""
    parsed = as_plugins(plugins) or Plugins()
    settings = settings or patch.context.get("settings") or Settings()
    patch.context.setdefault("plugins", parsed)
    patch.context.setdefault("settings", settings)
    for fn in PLUGINS.values():
        fn(patch, parsed, settings)

