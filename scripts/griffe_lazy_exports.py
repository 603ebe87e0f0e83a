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
import re
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


# -- reST-isms of the docstrings, as Markdown ------------------------------------------------------
#
# The docstrings are written for ``help()`` and plain-text readers, in a light reST: ``literal``
# (fine in Markdown too), "text::" before an indented example, simple tables framed by ``===``
# lines, definition lists (a term line, its text indented under it), :mod:`x` roles.  The API
# pages render them as Markdown; this turns those few constructs into their Markdown spelling.

_BORDER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
_ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|exc|obj):`~?([^`]+)`")


def _columns(border: str) -> list[int]:
    return [m.start() for m in re.finditer(r"=+", border)]


def _cells(line: str, starts: list[int]) -> list[str]:
    bounds = starts[1:] + [None]
    return [line[a:b].strip() if b is not None else line[a:].strip() for a, b in zip(starts, bounds)]


def _table(lines: list[str], i: int) -> tuple[list[str], int] | None:
    """The simple table whose top border is lines[i], as Markdown lines, and the index after it."""
    starts = _columns(lines[i])
    borders = [i]
    j = i + 1
    while j < len(lines) and lines[j].strip():
        if _BORDER.match(lines[j]):
            borders.append(j)
        j += 1
    if len(borders) < 2 or borders[-1] != j - 1:
        return None
    header: list[str] | None = None
    body_from = i + 1
    if len(borders) == 3 and borders[1] == i + 2:
        header = _cells(lines[i + 1], starts)
        body_from = i + 3
    rows: list[list[str]] = []
    for line in lines[body_from:borders[-1]]:
        if _BORDER.match(line):
            continue
        cells = _cells(line, starts)
        if rows and not cells[0]:  # continuation of the previous row's other columns
            rows[-1] = [a + (" " + b if b else "") for a, b in zip(rows[-1], cells)]
        elif rows and not any(cells[1:]):  # continuation of the previous row's first column
            rows[-1][0] += " " + cells[0]
        else:
            rows.append(cells)
    head = header or [""] * len(starts)
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(starts)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out + [""], j


def rest_to_markdown(text: str) -> str:
    lines = _ROLE.sub(r"``\1``", text).split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _BORDER.match(line):
            table = _table(lines, i)
            if table is not None:
                if out and out[-1].strip():
                    out.append("")
                out += table[0]
                i = table[1]
                continue
        if line.rstrip().endswith("::"):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(stripped + ":" if stripped else "")
            i += 1
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        is_term = (line.strip() and not line.startswith(" ") and (not out or not out[-1].strip())
                   and nxt.startswith("    ") and nxt.strip())
        if is_term:
            out += [f"**{line.strip()}**", ""]
            i += 1
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if not lines[i].strip() and not (i + 1 < len(lines) and lines[i + 1].startswith("    ")):
                    break
                out.append(lines[i][4:])
                i += 1
            out.append("")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RestDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, seen)
