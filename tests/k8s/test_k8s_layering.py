"""The k8s package is layered: no two of its modules import each other, directly or through
others (an import cycle makes the import order matter and hides a missing layer), and each
module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT

PACKAGE = ROOT / "k8s"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _k8s_imports(module: str) -> set[str]:
    """The k8s modules ``module`` imports anywhere in its text (at the top or in a function;
    ``from . import x`` and ``import k8s.x`` alike), the lazy table of ``__init__`` aside."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(), filename=f"k8s/{module}.py")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and node.module and (node.module == "k8s" or node.module.startswith("k8s.")):
                base = node.module[len("k8s."):] if node.module != "k8s" else None
            else:
                continue
            if base is None:  # from . import x, y
                found.update(a.name for a in node.names if a.name in MODULES)
            else:
                found.add(base.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("k8s."):
                    found.add(alias.name.split(".")[1])
    return found - {module}


def _graph() -> dict[str, set[str]]:
    return {m: _k8s_imports(m) & set(MODULES) for m in MODULES}


def test_graph_sees_imports() -> None:
    graph = _graph()
    assert "podpatch" in graph["render"] and "connection" in graph["plugins"]


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles in k8s: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str) -> None:
    code = f"import k8s.{module}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_template_resolution_lives_in_k8s_templates() -> None:
    """``{{ globals.x }}`` is resolved by one module: only ``k8s.templates`` imports the template
    engine or names the env vars never resolved as a whole."""
    others = [m for m in MODULES if m != "templates"]
    for module in others:
        text = (PACKAGE / f"{module}.py").read_text()
        tree = ast.parse(text)
        engines = {
            n.module for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module in ("stores.templates", "stores.contract.globals")
        }
        assert not engines, f"k8s.{module} imports {engines}: resolve through k8s.templates"
        assert "PRE_RESOLVED_ENV" not in text, f"k8s.{module} names PRE_RESOLVED_ENV: k8s.templates owns that rule"
