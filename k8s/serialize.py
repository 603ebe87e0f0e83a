"""``kubernetes.client`` models -> manifest dicts, and ``{{ globals.x }}`` in containers (tier 1)."""

from __future__ import annotations

from typing import Any, Callable

from stores.runenv import ENV_CONNECTIONS_CATALOG

__all__ = ["dump", "resolve_container", "PRE_RESOLVED_ENV"]

#: env vars whose value is assembled from parts already resolved one by one (a JSON document):
#: resolving the whole text again could pair an unclosed ``{{`` of one part with another's ``}}``
PRE_RESOLVED_ENV = frozenset({ENV_CONNECTIONS_CATALOG})


def dump(obj: Any) -> Any:
    """The manifest spelling of a client model (camelCase, no unset fields); dicts pass through."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(by_alias=True, exclude_none=True, mode="json")
    return obj


def resolve_container(container: dict[str, Any], resolve: Callable[[str], str] | None) -> dict[str, Any]:
    """A copy of a container dict with templates resolved in ``command``, ``args`` and literal env
    ``value``s; everything else is left as it was."""
    if resolve is None:
        return container
    out = dict(container)
    for key in ("command", "args"):
        if isinstance(out.get(key), list):
            out[key] = [resolve(v) if isinstance(v, str) else v for v in out[key]]
    if isinstance(out.get("env"), list):
        out["env"] = [
            {**var, "value": resolve(var["value"])}
            if isinstance(var, dict) and isinstance(var.get("value"), str) and var.get("name") not in PRE_RESOLVED_ENV
            else var
            for var in out["env"]
        ]
    return out
