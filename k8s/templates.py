"""``{{ globals.x }}``: the resolver of one run and every place a patch applies it (tier 1).

The one hook into ``stores.contract.globals`` / ``stores.templates`` (both stdlib only), and the one
module that decides which strings of a pod get resolved: ``command``, ``args`` and literal env
``value``s of every container (the patch's main-container env, its init containers and sidecars
in ``k8s.podpatch``, the user's containers in ``k8s.apply``).  Everything else is left as it was.

The env vars of ``PRE_RESOLVED_ENV`` are never resolved as a whole: their value is a JSON
document assembled from parts already resolved one by one (``POLYAXON_CONNECTIONS_CATALOG``,
``stores.contract.connections_catalog(..., resolve)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from stores.plugins import artifacts_store
from stores.contract.names import ENV_CONNECTIONS_CATALOG
from stores.contract.globals import compute_globals
from stores.templates import render

if TYPE_CHECKING:
    from stores.plugins import Plugins
    from stores.contract.runinfo import RunInfo
    from stores.selection import Selection

__all__ = [
    "Resolver",
    "PRE_RESOLVED_ENV",
    "globals_resolver",
    "resolve_env_var",
    "resolve_container",
    "resolve_pod_containers",
]

#: resolves every ``{{ globals.x }}`` of one string
Resolver = Callable[[str], str]

#: env vars whose value is assembled from parts already resolved one by one (a JSON document):
#: resolving the whole text again could pair an unclosed ``{{`` of one part with another's ``}}``
PRE_RESOLVED_ENV = frozenset({ENV_CONNECTIONS_CATALOG})

#: the container fields whose strings are resolved (besides literal env values)
RESOLVED_LISTS = ("command", "args")

#: the pod spec's container lists
CONTAINER_LISTS = ("containers", "initContainers")


def globals_resolver(selection: Selection, run: RunInfo, *, plugins: Plugins | None = None) -> Resolver:
    """A function resolving every ``{{ globals.x }}`` of one string for this run.  Other
    ``{{ ... }}`` expressions are left alone; an unknown or unavailable ``globals.x`` raises
    ``TemplateError``.  ``globals.store_path`` exists only when ``plugins.mount_artifacts_store``
    is on and there is an artifacts store (``stores.plugins.artifacts_store``: the catalog's, else
    the selected outputs store of a legacy catalog)."""
    glob = compute_globals(
        run,
        artifacts_store=artifacts_store(selection),
        mount_artifacts_store=bool(getattr(plugins, "mount_artifacts_store", False)),
    )

    def resolve(text: str) -> str:
        return render(text, glob) if "{{" in text else text

    return resolve


def resolve_env_var(var: dict[str, Any], resolve: Resolver | None) -> dict[str, Any]:
    """An env var dict with its literal ``value`` resolved (a copy, same key order); ``var``
    itself when there is nothing to resolve: no resolver, no literal value, a
    ``PRE_RESOLVED_ENV`` name, or a value the resolver leaves as it is (no template)."""
    value = var.get("value")
    if resolve is None or not isinstance(value, str) or var.get("name") in PRE_RESOLVED_ENV:
        return var
    resolved = resolve(value)
    # a resolver returns a template-free string itself (``globals_resolver``'s does): no copy
    # of the (many) env vars without a template
    return var if resolved is value else {**var, "value": resolved}


def resolve_container(container: dict[str, Any], resolve: Resolver | None) -> dict[str, Any]:
    """A copy of a container dict with templates resolved in ``command``, ``args`` and literal env
    ``value``s; everything else is left as it was.  ``resolve=None``: ``container`` itself."""
    if resolve is None:
        return container
    out = dict(container)
    for key in RESOLVED_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [resolve(v) if isinstance(v, str) else v for v in out[key]]
    if isinstance(out.get("env"), list):
        out["env"] = [resolve_env_var(var, resolve) if isinstance(var, dict) else var for var in out["env"]]
    return out


def resolve_pod_containers(spec: dict[str, Any], resolve: Resolver | None) -> None:
    """Resolve, in place, every container of a pod spec dict (``containers`` and
    ``initContainers``, each replaced by resolved copies); ``resolve=None``: nothing changes."""
    if resolve is None:
        return
    for key in CONTAINER_LISTS:
        if isinstance(spec.get(key), list):
            spec[key] = [resolve_container(c, resolve) for c in spec[key]]
