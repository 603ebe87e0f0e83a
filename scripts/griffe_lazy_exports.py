"""A griffe extension for the API reference (mkdocs.yml, mkdocstrings' python handler).

``stores`` and ``k8s`` export most public names lazily: a module-level ``_LAZY`` dict maps each
name to the module that defines it, and ``__getattr__`` imports it on first use (so that
``import stores`` loads only the standard library).  griffe reads source statically and sees no
such name in the package; this extension turns every ``_LAZY`` entry into an alias
(``k8s.render_patch`` -> ``k8s.render.render_patch``), so the reference can name the public
spelling (``::: k8s.render_patch``) and keeps working when the defining module moves, as long as
``_LAZY`` says where it went.
"""

from __future__ import annotations

import ast
from typing import Any

import griffe


class LazyExports(griffe.Extension):
    def on_module_members(self, *, mod: griffe.Module, **kwargs: Any) -> None:
        lazy = mod.members.get("_LAZY")
        if lazy is None or not isinstance(lazy, griffe.Attribute) or lazy.value is None:
            return
        try:
            table = ast.literal_eval(str(lazy.value))
        except (ValueError, SyntaxError):
            return
        if not isinstance(table, dict):
            return
        for name, module in table.items():
            if isinstance(name, str) and isinstance(module, str) and name not in mod.members:
                mod.set_member(name, griffe.Alias(name, f"{module}.{name}", parent=mod))
