"""The typed API: ``mypy --strict`` (config in pyproject's ``[tool.mypy]``) passes over
``stores/``, ``k8s/`` and ``examples/``, and the documented imports are typed for a user's
checker: ``from stores import Catalog`` and ``from k8s import render_patch`` resolve through the
package roots' ``TYPE_CHECKING`` imports (at run time they stay lazy, see test_public_api.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.paths import ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")

# the cache under the clone (gitignored tmp/): a warm run takes seconds, a cold one ~30 s
CACHE = ROOT / "tmp" / ".mypy_cache"


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(CACHE), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


def test_mypy_strict_passes():
    res = mypy()  # files, strict and per-module settings from pyproject.toml
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success" in res.stdout


USER_CODE = """\
from stores import Catalog, RunInfo, RunRequest
from k8s import render_patch, PodPatch

catalog = Catalog.from_values({"connections": []})
patch: PodPatch = render_patch(catalog, RunRequest(data=()), RunInfo(uuid="u"))
reveal_type(Catalog.from_values)
reveal_type(render_patch)
WRONG
"""


def _check_user_code(tmp_path: Path, wrong: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "user_code.py"
    path.write_text(USER_CODE.replace("WRONG", wrong))
    # the user's own file, checked against this clone's packages with pyproject's settings
    return mypy("--strict", str(path))


def test_documented_imports_are_typed(tmp_path: Path):
    res = _check_user_code(tmp_path, "")
    out = res.stdout
    assert res.returncode == 0, out
    # revealed as real signatures, not `object` / `Any` (the lazy __getattr__ roots' types)
    assert "def (values: Any, *, file:" in out, out
    assert "def (catalog:" in out and "k8s.podpatch.PodPatch" in out, out
    assert "error:" not in out, out


def test_a_wrong_call_is_flagged(tmp_path: Path):
    res = _check_user_code(tmp_path, 'render_patch("not a catalog", None, RunInfo(uuid="u"))')
    assert res.returncode == 1, res.stdout
    errors = [line for line in res.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "user_code.py:8:" in errors[0] and '"render_patch" has incompatible type "str"; expected "Catalog"' in errors[0], res.stdout
