"""Every name a module lists in ``__all__`` exists (a stale entry breaks ``import *``)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import k8s
import stores


def _modules() -> list[str]:
    names = []
    for package in (stores, k8s):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
