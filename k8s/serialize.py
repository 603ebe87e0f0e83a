"""``kubernetes.client`` models -> manifest dicts, and ``{{ globals.x }}`` in containers (tier 1)."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["dump", "resolve_container"]


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
            {**var, "value": resolve(var["value"])} if isinstance(var, dict) and isinstance(var.get("value"), str) else var
            for var in out["env"]
        ]
    return out
