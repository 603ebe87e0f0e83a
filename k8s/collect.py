"""The plugins collecting a run's artifacts and logs: the context's init container, ``autoResume`` and the sidecar (tier 1)."""

from __future__ import annotations

import re
from typing import Any

from ._client import V1Container, V1EnvVar

from stores.contract.names import run_logs_path
from stores.plugins import Plugins
from stores.contract.names import ENV_ARTIFACTS_STORE_NAME
from stores.settings import Settings

from .checks import CONTEXT_MOUNT
from .podpatch import PodPatch
from .serialize import dump, has_field
from .toolkit import ensure_context, plugin_source, require_artifacts_store, run_paths, toolkit_container

__all__ = [
    "collect_artifacts",
    "collect_logs",
    "auto_resume",
    "sidecar",
    "SIDECAR_NAME",
    "INIT_CONTEXT_NAME",
    "INIT_RESUME_NAME",
    "ENV_COLLECT_ARTIFACTS",
    "ENV_MAIN_DONE_FILE",
    "MAIN_DONE_FILE",
    "SIDECAR_REPORT_FILE",
]

SIDECAR_NAME = "polyaxon-sidecar"
INIT_CONTEXT_NAME = "polyaxon-init-artifacts-default"
INIT_RESUME_NAME = "polyaxon-init-artifacts-resume"
ENV_COLLECT_ARTIFACTS = "POLYAXON_COLLECT_ARTIFACTS"
#: classic sidecar: the file whose appearance in the context volume says the main container ended
#: (written by the wrapper ``k8s.apply`` puts around its command, or by the program itself; the
#: main container gets its path as ``STORES_MAIN_DONE_FILE``).  Outside the run's folder: not synced.
MAIN_DONE_FILE = f"{CONTEXT_MOUNT}/.stores-main-done"
ENV_MAIN_DONE_FILE = "STORES_MAIN_DONE_FILE"
#: the sidecar's account of its last pass (``"final": true`` once it did its final one)
SIDECAR_REPORT_FILE = f"{CONTEXT_MOUNT}/.stores-sidecar-report.json"


def _name(container: Any) -> Any:
    """A container's name, whether a client model or (a native sidecar on a client older than
    28, see ``sidecar``) its dict."""
    return container["name"] if isinstance(container, dict) else container.name


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", key).lower()


def _add_init_once(patch: PodPatch, container: V1Container, source: str) -> None:
    if not any(_name(c.item) == container.name for c in patch.init_containers):
        patch.add_init_container(container, source)


def _prepare_context(patch: PodPatch, plugins: Plugins, plugin: str) -> None:
    require_artifacts_store(patch, plugin)
    source = plugin_source(plugin)
    ensure_context(patch, source)
    paths = run_paths(patch)
    dirs = [paths["artifacts"], paths["run_artifacts"], paths["outputs"]]
    if plugins.collect_logs:
        dirs.append(paths["logs"])
    # parents first, each named, so -m applies to every one: the main container's user is not
    # known here, and it must be able to write its outputs
    command = ["mkdir", "-p", "-m", "0777", *dirs]
    if not any(_name(c.item) == INIT_CONTEXT_NAME for c in patch.init_containers):
        patch.add_init_container(toolkit_container(patch, INIT_CONTEXT_NAME, command, source), source)


def collect_artifacts(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    """``collectArtifacts``: the context, its init container and ``POLYAXON_COLLECT_ARTIFACTS``."""
    if plugins.collect_artifacts:
        _prepare_context(patch, plugins, "collectArtifacts")
        # Polyaxon's tracking client writes its artifacts to the context only when told so
        patch.add_env(V1EnvVar(name=ENV_COLLECT_ARTIFACTS, value="true"), plugin_source("collectArtifacts"))


def collect_logs(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    """``collectLogs``: the context and its init container."""
    if plugins.collect_logs:
        _prepare_context(patch, plugins, "collectLogs")


def auto_resume(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    """``autoResume`` (with ``collectArtifacts``): the init container restoring the run's artifacts."""
    # what it restores is what collectArtifacts collected: nothing to do without it
    if not (plugins.auto_resume and plugins.collect_artifacts):
        return
    source = plugin_source("autoResume")
    store = require_artifacts_store(patch, "autoResume")
    paths = run_paths(patch)
    # --missing-ok: a run's first start has nothing to restore; a missing store still fails
    command = ["stores", "sync", "--missing-ok", f"{store.name}:{paths['store_folder']}", paths["run_artifacts"]]
    _add_init_once(patch, toolkit_container(patch, INIT_RESUME_NAME, command, source, store=store), source)


def sidecar(patch: PodPatch, plugins: Plugins, settings: Settings) -> None:
    """``sidecar`` (when anything is collected): the container syncing the run's folder to the store."""
    if not plugins.collects:
        return
    source = plugin_source("sidecar")
    store = require_artifacts_store(patch, "collectArtifacts" if plugins.collect_artifacts else "collectLogs")
    paths = run_paths(patch)
    local, remote = paths["run_artifacts"], paths["store_folder"]
    if not plugins.collect_artifacts:
        local, remote = paths["logs"], run_logs_path(remote)
    config = plugins.sidecar
    command = ["stores", "sync", local, f"{store.name}:{remote}", "--watch", "--interval", str(config.sync_interval),
               "--report", SIDECAR_REPORT_FILE]
    native = settings.effective_sidecar_mode == "native"
    if not native:
        # a classic sidecar ends on its own: once the main container's done file appears, it syncs
        # a last time and exits (0 when everything arrived), so a Job completes
        command += ["--until-file", MAIN_DONE_FILE]
    container = toolkit_container(
        patch, SIDECAR_NAME, command, source, store=store,
        image=config.image, pull_policy=config.image_pull_policy, resources=config.resources,
    )
    container.env = sorted([*(container.env or []), V1EnvVar(name=ENV_ARTIFACTS_STORE_NAME, value=store.name)], key=lambda v: v.name)
    if native:
        # an init container that keeps running: Kubernetes (1.29+) stops it, with SIGTERM, once
        # the main container has ended, so a Job completes and the last sync still happens
        if has_field(V1Container, "restart_policy"):
            container.restart_policy = "Always"
            patch.add_init_container(container, source)
        else:
            # a client older than 28 has no restartPolicy on containers: the same container as a
            # dict, the key where the client's (alphabetical) field order puts it
            spec = {**dump(container), "restartPolicy": "Always"}
            patch.add_init_container(dict(sorted(spec.items(), key=lambda kv: _snake(kv[0]))), source)
    else:
        patch.add_sidecar(container, source)
        patch.add_env(V1EnvVar(name=ENV_MAIN_DONE_FILE, value=MAIN_DONE_FILE), source)
        patch.main_done_file = MAIN_DONE_FILE
