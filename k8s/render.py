"""Catalog + selection + run -> ``PodPatch``: the one call platform code makes (tier 1)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from stores.catalog import Catalog
from stores.contract import catalog_part, csi_mounts, join_catalog
from stores.plugins import Plugins, artifacts_store, as_plugins
from stores.contract.names import ENV_ARTIFACTS_STORE_NAME, ENV_CONNECTIONS_CATALOG, ENV_CSI_MOUNTS
from stores.contract.runinfo import RunInfo
from stores.selection import RunRequest, Selection, select
from stores.settings import Settings

from ._client import V1EnvVar
from .connection import add_connection
from .env import contract_vars, key_file_env_vars, key_file_path
from .gcpause import gc_paused
from .naming import CONTEXT_VOLUME_NAMES
from .plugins import apply_plugins, init_copies
from .podpatch import DEFAULT_CONTAINER, Extension, PodPatch
from .protocols import ConnectionLike
from .templates import globals_resolver
from .volumes import has_store_volume, store_key

__all__ = ["render_patch", "resolve_selection", "add_connection", "outputs_on_main", "reserve_volume_names"]


def resolve_selection(catalog: Catalog, selection: Selection | RunRequest | Mapping[str, Any] | None) -> Selection:
    """A ``Selection`` as is; a ``RunRequest`` or a polyaxonfile mapping selected from the
    catalog; ``None``: the defaults (all data, the first outputs store)."""
    if isinstance(selection, Selection):
        return selection
    if selection is None:
        return select(catalog)
    if isinstance(selection, Mapping):
        selection = RunRequest.from_polyaxonfile(selection)
    return select(catalog, request=selection)


def reserve_volume_names(patch: PodPatch, catalog: Catalog) -> None:
    """Polyaxon's names for the plugins' volumes and every store volume of the catalog, taken
    first so they never yield to a secret or config map volume (``k8s.naming.VolumeNamer``)."""
    for key, name in CONTEXT_VOLUME_NAMES.items():
        patch.namer.reserve(("context", key), name)
    for _, conn in catalog.entries():
        if has_store_volume(conn):
            patch.namer.reserve(store_key(conn), conn.name)


def outputs_on_main(selection: Selection, plugins: Plugins | None) -> bool:
    """Whether the main container gets the outputs store.  A legacy outputs store (the run's
    own selection) always; the artifacts store, as Polyaxon gives it: when the run names it,
    when nothing collects the artifacts (no plugins, or ``collectArtifacts`` off) or with
    ``mountArtifactsStore``; otherwise its credentials stay with the toolkit containers and the
    run writes its outputs to the context, which the sidecar uploads."""
    out = selection.outputs
    if out is None:
        return False
    store = selection.catalog.artifacts_store
    if store is None or out.name != store.name:
        return True
    if any(c.name == out.name for c in selection.data):
        return True
    return plugins is None or not plugins.collect_artifacts or plugins.mount_artifacts_store


@gc_paused
def render_patch(
    catalog: Catalog,
    selection: Selection | RunRequest | Mapping[str, Any] | None,
    run: RunInfo,
    *,
    inputs: Mapping[str, Any] | None = None,
    container_name: str = DEFAULT_CONTAINER,
    allow_host_paths: Iterable[str] = (),
    sdk_defaults: Mapping[str, str] | None = None,
    extensions: Sequence[Extension] = (),
    plugins: Plugins | Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> PodPatch:
    """The checked pod-spec patch of one run.

    ``selection``: a ``Selection``, a ``RunRequest``, a polyaxonfile ``environment.persistence``
    mapping, or ``None`` for the defaults.  ``inputs``: the run's resolved inputs
    (``POLYAXON_RUN_INPUTS``).  ``allow_host_paths``: exact host paths let past the deny list
    (besides those the catalog was loaded with: ``Catalog.allowed_host_paths``).
    ``sdk_defaults``: ``{"gcs": name}`` when selected GCS connections hold different keys and one
    must be ``GOOGLE_APPLICATION_CREDENTIALS``.  ``plugins``: a ``stores.plugins.Plugins`` or its
    YAML mapping (``V1Plugins``; ``{}`` gives Polyaxon's defaults, ``None`` no plugins at all), applied
    by ``k8s.plugins.apply_plugins`` with ``settings`` (``stores.settings``; default: the
    defaults, the environment is never read here); it decides whether ``globals.store_path``
    exists.  ``extensions`` then run in order on the patch before the checks; both are in
    ``patch.context``.  ``{{ globals.x }}`` is
    resolved in env values here and in commands, args and env of every container by
    ``apply_patch``.  Raises ``RenderError`` on any clash (``SelectionError``, ``TemplateError``, ``ContractError``
    for their own causes).
    """
    chosen = resolve_selection(catalog, selection)
    plugins = as_plugins(plugins)
    settings = settings if settings is not None else Settings()
    patch = PodPatch(
        container_name=container_name,
        resolve=globals_resolver(chosen, run, plugins=plugins),
        context={"catalog": catalog, "selection": chosen, "run": run, "inputs": inputs, "plugins": plugins,
                 "settings": settings},
    )
    reserve_volume_names(patch, catalog)
    on_main = outputs_on_main(chosen, plugins)
    data_paths = _add_main_connections(patch, chosen, on_main, sdk_defaults)
    _add_run_env(patch, chosen, run, inputs, on_main, data_paths)
    _allow_host_paths(patch, catalog, allow_host_paths)
    if plugins is not None:
        apply_plugins(patch, plugins, settings)
    init_copies(patch)
    _add_connections_catalog(patch)
    for extend in extensions:
        extend(patch)
    patch.check()
    return patch


def _add_main_connections(patch: PodPatch, chosen: Selection, on_main: bool,
                          sdk_defaults: Mapping[str, str] | None) -> dict[str, str]:
    """The selected connections (and the outputs store when ``on_main``) on the main container,
    with their credentials' env; returns the data stores' paths (name -> store path)."""
    connections = [*chosen.data, *chosen.others]
    data_count = len(chosen.data)
    data_paths: dict[str, str] = {}
    if on_main and chosen.outputs is not None and all(c.name != chosen.outputs.name for c in connections):
        connections.append(chosen.outputs)
    key_files: list[tuple[ConnectionLike, str]] = []
    for index, conn in enumerate(connections):
        add_connection(patch, conn)
        # read now, while the connection's models are in the CPU cache: a pass of its own over
        # 10,000 connections cost more per connection than over 1,000
        path = key_file_path(conn)
        if path is not None:
            key_files.append((conn, path))
        if index < data_count:
            data_paths[conn.name] = conn.store_path
    patch.add_env_entries(key_file_env_vars(key_files, sdk_defaults))
    return data_paths


def _add_run_env(patch: PodPatch, chosen: Selection, run: RunInfo, inputs: Mapping[str, Any] | None, on_main: bool,
                 data_paths: Mapping[str, str]) -> None:
    """The run contract's env vars, then the artifacts store's name (when there is one)."""
    patch.add_env_entries(contract_vars(chosen, run, inputs, outputs_on_main=on_main, store_paths=data_paths))
    store = artifacts_store(chosen)
    if store is not None:
        patch.add_env(V1EnvVar(name=ENV_ARTIFACTS_STORE_NAME, value=store.name), "the artifacts store")


def _allow_host_paths(patch: PodPatch, catalog: Catalog, allow_host_paths: Iterable[str]) -> None:
    """The host paths let past the deny list: the values loader's, then the caller's."""
    for path in catalog.allowed_host_paths:
        patch.allow_host_path(path, "the values loader (allow_host_paths)")
    for path in allow_host_paths:
        patch.allow_host_path(path, "the caller (allow_host_paths)")


def _add_connections_catalog(patch: PodPatch) -> None:
    """``POLYAXON_CONNECTIONS_CATALOG`` of the main container's connections."""
    # sorted by name: the pod must not depend on the order a run listed its stores in
    given = patch.context.get("main_connections", {})
    names = sorted(given)
    parts = patch.context.get("catalog_parts", {})
    catalog_json = join_catalog([parts[name] if name in parts else catalog_part(given[name], patch.resolve)
                                 for name in names])
    if catalog_json is not None:
        patch.add_env(V1EnvVar(name=ENV_CONNECTIONS_CATALOG, value=catalog_json), "the connections catalog")
    # the connections add_connection saw mounted through a CSI driver (most have no ``mount``)
    mounted = patch.context.get("csi_connections", {})
    mounts = csi_mounts([mounted[name] for name in sorted(mounted)])
    if mounts is not None:
        patch.add_env(V1EnvVar(name=ENV_CSI_MOUNTS, value=mounts), "the connections mounted through a CSI driver")
