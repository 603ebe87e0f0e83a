"""``{{ globals.x }}`` in commands, args and env values: the one hook into ``stores.runglobals`` /
``stores.templates`` (both stdlib only)."""

from __future__ import annotations

from typing import Any, Callable

from stores.runglobals import compute_globals
from stores.templates import render

__all__ = ["globals_resolver"]


def globals_resolver(selection: Any, run: Any, *, plugins: Any = None) -> Callable[[str], str]:
    """A function resolving every ``{{ globals.x }}`` of one string for this run.  Other
    ``{{ ... }}`` expressions are left alone; an unknown or unavailable ``globals.x`` raises
    ``TemplateError``.  ``globals.store_path`` exists only when ``plugins.mount_artifacts_store``
    is on and the catalog has an artifacts store."""
    glob = compute_globals(
        run,
        artifacts_store=selection.catalog.artifacts_store,
        mount_artifacts_store=bool(getattr(plugins, "mount_artifacts_store", False)),
    )

    def resolve(text: str) -> str:
        return render(text, glob) if "{{" in text else text

    return resolve
