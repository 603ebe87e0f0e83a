"""``{{ globals.x }}`` in commands, args and env values: the one hook into ``stores.runglobals`` /
``stores.templates`` (both stdlib only)."""

from __future__ import annotations

from typing import Any, Callable

from stores.plugins import artifacts_store
from stores.runglobals import compute_globals
from stores.templates import render

__all__ = ["globals_resolver"]


def globals_resolver(selection: Any, run: Any, *, plugins: Any = None) -> Callable[[str], str]:
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
