"""``kubernetes.client`` models -> manifest dicts (tier 1).  Templates in containers:
``k8s.templates``."""

from __future__ import annotations

from typing import Any

__all__ = ["dump"]


def dump(obj: Any) -> Any:
    """The manifest spelling of a client model (camelCase, no unset fields); dicts pass through."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(by_alias=True, exclude_none=True, mode="json")
    return obj
