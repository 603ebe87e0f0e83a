"""Catalog + selection + run -> ``PodPatch``: the one call platform code makes (tier 1)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from stores.catalog import Catalog
from stores.plugins import Plugins, as_plugins
from stores.runinfo import RunInfo
from stores.selection import RunRequest, Selection, select
from stores.settings import Settings

from .env import connection_env, contract_vars, credential_env, resource_env
from .plugins import apply_plugins
from .podpatch import DEFAULT_CONTAINER, Extension, PodPatch
from .templates import globals_resolver
from .volumes import connection_volumes

__all__ = ["render_patch", "resolve_selection", "add_connection"]


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


def add_connection(patch: PodPatch, conn: Any) -> None:
    """Everything one connection brings to the pod, except the credential env (which depends on
    the other connections: see ``k8s.env.credential_env``)."""
    source = f"connection {conn.name!r}"
    for volume, mount in connection_volumes(conn):
        patch.add_volume(volume, source)
        patch.add_mount(mount, source)
    env, env_from = resource_env(conn)
    for var, var_source in (*env, *connection_env(conn)):
        patch.add_env(var, var_source)
    for item, item_source in env_from:
        patch.add_env_from(item, item_source)
    for key, value in conn.annotations.items():
        patch.add_annotation(key, value, source)


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
    (``POLYAXON_RUN_INPUTS``).  ``allow_host_paths``: exact host paths let past the deny list.
    ``sdk_defaults``: ``{"gcs": name}`` when selected GCS connections hold different keys and one
    must be ``GOOGLE_APPLICATION_CREDENTIALS``.  ``plugins``: a ``stores.plugins.Plugins`` or its
    YAML mapping (seed 002; ``{}`` gives the seed's defaults, ``None`` no plugins at all), applied
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
    connections = chosen.connections
    for conn in connections:
        add_connection(patch, conn)
    for var, source in credential_env(connections, sdk_defaults):
        patch.add_env(var, source)
    for var, source in contract_vars(chosen, run, inputs):
        patch.add_env(var, source)
    for path in allow_host_paths:
        patch.allow_host_path(path, "the caller (allow_host_paths)")
    if plugins is not None:
        apply_plugins(patch, plugins, settings)
    for extend in extensions:
        extend(patch)
    patch.check()
    return patch
