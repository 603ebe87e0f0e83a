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
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
import uuid
from typing import Any, Callable, Iterable

from ._client import (
    V1Capabilities,
    V1Container,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1EnvVarSource,
    V1HostPathVolumeSource,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecretKeySelector,
    V1SecurityContext,
    V1Volume,
    V1VolumeMount,
)

from stores.errors import RenderError
from stores.plugins import DataDownload, Plugins, artifacts_store, as_plugins
from stores.contract import connections_catalog
from stores.contract.names import CONTEXT_PATH, artifacts_path, run_artifacts_path, run_logs_path, run_outputs_path
from stores.runenv import ENV_ARTIFACTS_STORE_NAME, ENV_CONNECTIONS_CATALOG, ENV_DATA_PATHS
from stores.runinfo import RUN_FOLDER_TEMPLATE
from stores.settings import Settings, check_resources

from .checks import CONTEXT_MOUNT, CONTEXT_VOLUME
from .connection import add_connection
from .env import connection_env, credential_env, resource_env
from .naming import CONTEXT_VOLUME_NAMES
from .podpatch import Extension, PodPatch
from .protocols import ConnectionLike
from .volumes import connection_volumes

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
TMP_VOLUME = CONTEXT_VOLUME_NAMES["toolkit_tmp"]
#: where the toolkit's scratch space goes when a store is mounted on /tmp
TMP_FALLBACK = "/plx-toolkit-tmp"
SIDECAR_NAME = "polyaxon-sidecar"
INIT_CONTEXT_NAME = "polyaxon-init-artifacts-default"
INIT_RESUME_NAME = "polyaxon-init-artifacts-resume"
#: ``<prefix>-<connection>-<10 hex>``: Polyaxon's name for a copy into the pod (its suffix is
#: random; ours is a hash of what is copied, so renders are reproducible)
INIT_COPY_PREFIX = "polyaxon-init-artifacts"
#: an init ``path`` outside the context gets an emptyDir named after it (Polyaxon's scheme)
CONNECTIONS_CONTEXT_FORMAT = "connections-context-{}"
ENV_AUTH_TOKEN = "POLYAXON_AUTH_TOKEN"
ENV_HOST = "POLYAXON_HOST"
ENV_LOG_LEVEL = "POLYAXON_LOG_LEVEL"
ENV_COLLECT_RESOURCES = "POLYAXON_COLLECT_RESOURCES"
ENV_COLLECT_ARTIFACTS = "POLYAXON_COLLECT_ARTIFACTS"


def _src(plugin: str) -> str:
    return f"plugin {plugin!r}"


# -- building blocks ------------------------------------------------------------------------------


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


def _artifacts_store(patch: PodPatch, plugin: str) -> ConnectionLike:
    store = artifacts_store(patch.context["selection"])
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
    for volume, mount in connection_volumes(conn, patch.namer):
        _add_volume_once(patch, volume, source)
        mounts.append(mount)
    env_items, env_from_items = resource_env(conn)
    env = [v.item for v in (*env_items, *connection_env(conn), *credential_env([conn]))]
    paths = json.dumps({conn.name: conn.store_path}, sort_keys=True, separators=(",", ":"))
    env.append(V1EnvVar(name=ENV_DATA_PATHS, value=paths))
    env.append(V1EnvVar(name=ENV_CONNECTIONS_CATALOG, value=connections_catalog([conn])))
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


def _add_init_once(patch: PodPatch, container: V1Container, source: str) -> None:
    if not any(c.item.name == container.name for c in patch.init_containers):
        patch.add_init_container(container, source)


# -- the plugins ----------------------------------------------------------------------------------


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
        store = _artifacts_store(patch, "mountArtifactsStore")
    elif not plugins.collect_artifacts:
        store = artifacts_store(patch.context["selection"])
        if store is None:
            return
    else:
        return
    if store.name in patch.context.get("main_connections", {}):
        return  # selected by the run: already on the main container with its credentials
    add_connection(patch, store)
    have = {e.item.name for e in patch.env}
    for var in credential_env([store]):
        # the store's own POLYAXON_CONNECTION_<NAME>_KEY_FILE always lands; an SDK-wide variable
        # (GOOGLE_APPLICATION_CREDENTIALS) already set by a selected connection stays theirs,
        # and the store's handles still find its key through the per-connection variable
        if var.item.name not in have:
            patch.add_env(var.item, var.source)


def _prepare_context(patch: PodPatch, plugins: Plugins, plugin: str) -> None:
    _artifacts_store(patch, plugin)
    source = _src(plugin)
    ensure_context(patch, source)
    paths = run_paths(patch)
    dirs = [paths["artifacts"], paths["run_artifacts"], paths["outputs"]]
    if plugins.collect_logs:
        dirs.append(paths["logs"])
    # parents first, each named, so -m applies to every one: the main container's user is not
    # known here, and it must be able to write its outputs
    command = ["mkdir", "-p", "-m", "0777", *dirs]
    if not any(c.item.name == INIT_CONTEXT_NAME for c in patch.init_containers):
        patch.add_init_container(toolkit_container(patch, INIT_CONTEXT_NAME, command, source), source)


def _collect_artifacts(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if plugins.collect_artifacts:
        _prepare_context(patch, plugins, "collectArtifacts")
        # Polyaxon's tracking client writes its artifacts to the context only when told so
        patch.add_env(V1EnvVar(name=ENV_COLLECT_ARTIFACTS, value="true"), _src("collectArtifacts"))


def _collect_logs(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if plugins.collect_logs:
        _prepare_context(patch, plugins, "collectLogs")


def _auto_resume(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    # what it restores is what collectArtifacts collected: nothing to do without it
    if not (plugins.auto_resume and plugins.collect_artifacts):
        return
    source = _src("autoResume")
    store = _artifacts_store(patch, "autoResume")
    paths = run_paths(patch)
    # --missing-ok: a run's first start has nothing to restore; a missing store still fails
    command = ["stores", "sync", "--missing-ok", f"{store.name}:{paths['store_folder']}", paths["run_artifacts"]]
    _add_init_once(patch, toolkit_container(patch, INIT_RESUME_NAME, command, source, store=store), source)


def _sidecar(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    if not plugins.collects:
        return
    source = _src("sidecar")
    store = _artifacts_store(patch, "collectArtifacts" if plugins.collect_artifacts else "collectLogs")
    paths = run_paths(patch)
    local, remote = paths["run_artifacts"], paths["store_folder"]
    if not plugins.collect_artifacts:
        local, remote = paths["logs"], run_logs_path(remote)
    config = plugins.sidecar
    command = ["stores", "sync", local, f"{store.name}:{remote}", "--watch", "--interval", str(config.sync_interval)]
    container = toolkit_container(
        patch, SIDECAR_NAME, command, source, store=store,
        image=config.image, pull_policy=config.image_pull_policy, resources=config.resources,
    )
    container.env = sorted([*container.env, V1EnvVar(name=ENV_ARTIFACTS_STORE_NAME, value=store.name)], key=lambda v: v.name)
    if settings.sidecar_mode == "native":
        # an init container that keeps running: Kubernetes (1.29+) stops it, with SIGTERM, once
        # the main container has ended, so a Job completes and the last sync still happens
        container.restart_policy = "Always"
        patch.add_init_container(container, source)
    else:
        patch.add_sidecar(container, source)


#: plugin key (the docs' spelling) -> what it adds; applied in this order
PLUGINS: dict[str, PluginFn] = {
    "shm": _shm,
    "docker": _docker,
    "auth": _auth,
    "externalHost": _external_host,
    "logLevel": _log_level,
    "collectResources": _collect_resources,
    "mountArtifactsStore": _mount_artifacts_store,
    "collectArtifacts": _collect_artifacts,
    "collectLogs": _collect_logs,
    "autoResume": _auto_resume,
    "sidecar": _sidecar,
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


def init_container_name(conn_name: str, what: object) -> str:
    """``polyaxon-init-artifacts-<connection>-<10 hex>`` (a DNS-1123 label), the hex a hash of
    ``what`` is copied; a connection name that cannot stand in a label is folded as Polyaxon
    folds it (lower case, other characters as ``-``)."""
    digest = hashlib.sha256(repr((conn_name, what)).encode()).hexdigest()[:10]
    head = re.sub(r"[^a-z0-9-]+", "-", f"{INIT_COPY_PREFIX}-{conn_name}".lower()).strip("-")
    return f"{head[:52].rstrip('-')}-{digest}"


def _copy_into_pod(patch: PodPatch, conn: ConnectionLike, copies: list[tuple[str, str]], target: str, source: str, what: object) -> None:
    """One init container copying ``copies`` (``(path in the store, destination)``) from ``conn``
    before the main container starts; ``target`` is the folder they land in.  Inside the
    artifacts context the context volume carries them to the main container; elsewhere an
    emptyDir named after ``target`` (Polyaxon's ``connections-context-<uuid5>``) is mounted at
    ``target`` in both.  A missing store or key exits non-zero and fails the pod."""
    in_context = target == CONTEXT_MOUNT or target.startswith(CONTEXT_MOUNT + "/")
    extra: list[V1VolumeMount] = []
    if not in_context:
        name = CONNECTIONS_CONTEXT_FORMAT.format(uuid.uuid5(uuid.NAMESPACE_DNS, target).hex)
        patch.add_volume(V1Volume(name=name, empty_dir=V1EmptyDirVolumeSource()), source)
        mount = V1VolumeMount(name=name, mount_path=target)
        patch.add_mount(mount, source)
        extra.append(mount)
    commands = [["stores", "cp", f"{conn.name}:{src}", dst] for src, dst in copies]
    if len(commands) == 1:
        command = commands[0]
    else:
        command = ["/bin/sh", "-c", " && ".join(shlex.join(c) for c in commands)]
    container = toolkit_container(patch, init_container_name(conn.name, what), command, source, store=conn, context=in_context)
    if extra:
        container.volume_mounts = sorted([*container.volume_mounts, *extra], key=lambda m: m.mount_path)
    patch.add_init_container(container, source)


def init_copies(patch: PodPatch) -> None:
    """The polyaxonfile's ``run.init`` copies (``Selection.init``), where Polyaxon puts them:
    into ``/plx-context/artifacts/<connection>`` (the artifacts store's own into
    ``/plx-context/artifacts``), or into the entry's ``path``; each ``paths`` entry lands at the
    same relative path there; no ``paths``: the whole store."""
    selection = patch.context.get("selection")
    if selection is None:
        return
    store = artifacts_store(selection)
    for n, (item, conn) in enumerate(selection.init):
        source = f"run.init[{n}] ({conn.name!r})"
        if item.path is not None:
            target = item.path
        elif store is not None and conn.name == store.name:
            target = CONTEXT_MOUNT
        else:
            target = posixpath.join(CONTEXT_MOUNT, conn.name)
        copies = [(src, posixpath.join(target, dst)) for src, dst in item.paths] or [("", target)]
        _copy_into_pod(patch, conn, copies, target, source, (n, item))


def download_data(downloads: Iterable[DataDownload | str]) -> Extension:
    """An extension adding, per download, an init container ``polyaxon-init-artifacts-<name>-…``
    that copies a selected data store (or a prefix in it) to ``DataDownload.target`` with
    ``stores cp`` (``stores render --download-data``)."""
    items = [d if isinstance(d, DataDownload) else DataDownload.parse(d) for d in downloads]
    names = [d.name for d in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RenderError(f"data store {twice[0]!r} is downloaded twice; download each store once")
    targets = [d.target for d in items]
    for i, target in enumerate(targets):
        for other in targets[i + 1:]:
            if target == other or target.startswith(other + "/") or other.startswith(target + "/"):
                raise RenderError(f"two data downloads overlap: {target} and {other}")

    def extend(patch: PodPatch) -> None:
        selection = patch.context["selection"]
        by_name = {c.name: c for c in selection.data}
        for item in items:
            source = f"data download {item.name!r}"
            conn = by_name.get(item.name)
            if conn is None:
                raise RenderError(
                    f"cannot download {item.name!r}: not a selected data store; selected: "
                    f"{', '.join(by_name) or '(none)'}"
                )
            _copy_into_pod(patch, conn, [(item.prefix, item.target)], item.target, source, ("download", item.prefix, item.target))

    return extend
