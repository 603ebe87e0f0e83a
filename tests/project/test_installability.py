"""Installability (issue 22): each runtime extra lists only what the code imports, and
``pip install "plx-stores[s3]"`` (gcs, azure, all) resolves quickly, without backtracking, with
the oldest pip the toolkit image supports: Debian bookworm's pip 23.0.1 (the image built on a
debootstrap base installs with it).

The resolution test builds the checkout's wheel and runs ``pip install --dry-run --report``
against PyPI in a fresh virtualenv holding that pip (the machine's pip configuration and local
wheel directories are ignored); it needs network access to PyPI, and fails rather than skips
without it.  A resolution that backtracks prints "pip is looking at multiple versions" and
downloads one package again and again: both fail the test, whatever the time.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from support.paths import ROOT
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
#: Debian bookworm's python3-pip / python-pip-whl (what python3 -m venv gives in the image)
BOOKWORM_PIP = "23.0.1"
#: seconds for one extra's resolution, downloads included: a backstop.  On these shared 2-core
#: machines the time is the network's and the load's (30-130 s measured, see
#: docs/reference/plugins.md, "The toolkit image"), as much as the resolver's; backtracking is
#: caught from pip's own output below, whatever the time
BUDGET = float(os.environ.get("STORES_RESOLVE_BUDGET", "300"))
#: distribution -> the module it provides (when the names differ)
MODULE_OF = {"azure-storage-blob": "azure.storage.blob", "kubernetes-validate": "kubernetes_validate"}


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower()


def _imported_modules() -> set[str]:
    """Every module imported (at any depth, lazily too) by stores/ and k8s/, plus the modules
    named in strings that are imported by name (the kinds table's ``modules``)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("stores").rglob("*.py"), *ROOT.joinpath("k8s").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[a-z_][\w.]*", node.value):
                found.add(node.value)
    return found


@pytest.mark.parametrize("extra", ["k8s", "s3", "gcs", "azure"])
def test_each_extra_lists_only_what_the_code_imports(extra):
    imported = _imported_modules()
    for requirement in EXTRAS[extra]:
        name = _name(requirement)
        module = MODULE_OF.get(name, name.replace("-", "_"))
        assert any(m == module or m.startswith(module + ".") for m in imported), (
            f"the {extra!r} extra lists {requirement!r}, but nothing in stores/ or k8s/ imports {module!r}")


def test_the_test_tools_are_not_runtime_extras():
    """boto3 and google-cloud-storage seed the tests' buckets; no runtime extra may list them
    (boto3 next to s3fs's own botocore pin made pip 23 backtrack for minutes)."""
    runtime = {_name(r) for extra in ("k8s", "s3", "gcs", "azure") for r in EXTRAS[extra]}
    assert not runtime & {"boto3", "google-cloud-storage", "moto", "awscli"}
    assert EXTRAS["all"] == ["plx-stores[k8s,s3,gcs,azure]"]


@pytest.fixture(scope="module")
def old_pip(tmp_path_factory):
    """A virtualenv with Debian bookworm's pip, the checkout's wheel, a clean pip environment."""
    work = tmp_path_factory.mktemp("old-pip")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CACHE_DIR=str(work / "cache"),
               PIP_DEFAULT_TIMEOUT="60")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=120)
    pip = [str(work / "venv" / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "-q", f"pip=={BOOKWORM_PIP}"], check=True, env=env, timeout=300)
    version = subprocess.run([*pip, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith(f"pip {BOOKWORM_PIP} "), version
    subprocess.run([*pip, "wheel", "-q", "--no-deps", str(ROOT), "-w", str(work / "wheel")], check=True, env=env,
                   timeout=300)
    wheel = next((work / "wheel").glob("plx_stores-*.whl"))
    return pip, env, wheel, work


RESOLVED = ["s3", "gcs", "azure", "all"]


@pytest.fixture(scope="module")
def resolutions(old_pip):
    """``pip install --dry-run --report`` of each extra, one after the other with one pip cache:
    extra -> (CompletedProcess, seconds, report)."""
    pip, env, wheel, work = old_pip

    def resolve(extra: str):
        report = work / f"report-{extra}.json"
        started = time.monotonic()
        result = subprocess.run([*pip, "install", "--dry-run", "--ignore-installed", "--report", str(report),
                                 f"plx-stores[{extra}] @ {wheel.as_uri()}"], capture_output=True, text=True,
                                env=env, timeout=BUDGET * 3)
        return result, time.monotonic() - started, report

    out = {extra: resolve(extra) for extra in RESOLVED}
    print("\nresolved with pip " + BOOKWORM_PIP + ": " + ", ".join(f"[{e}] {r[1]:.1f}s" for e, r in out.items()))
    return out


@pytest.mark.parametrize("extra", RESOLVED)
def test_extra_resolves_quickly_with_bookworms_pip(resolutions, extra):
    result, took, report = resolutions[extra]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pip is looking at multiple versions" not in result.stdout + result.stderr, result.stdout[-3000:]
    collected = [re.sub(r"[-_.]+", "-", n).lower()
                 for n in re.findall(r"^Collecting ([A-Za-z0-9._-]+)", result.stdout, re.MULTILINE)]
    # one discarded candidate is the resolver's normal work (python-dateutil 4 until botocore's
    # <3 arrives); backtracking downloads a package again and again (30 aiobotocore releases)
    again = sorted({n for n in collected if collected.count(n) > 2})
    assert not again, f"collected more than twice (backtracking): {again}"
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert "plx-stores" in names and "boto3" not in names
    expected = {"s3": {"s3fs"}, "gcs": {"gcsfs"}, "azure": {"adlfs", "azure-storage-blob"},
                "all": {"s3fs", "gcsfs", "adlfs", "kubernetes"}}[extra]
    assert expected <= names
    assert took < BUDGET, f"pip {BOOKWORM_PIP} took {took:.0f}s to resolve plx-stores[{extra}] (budget {BUDGET:.0f}s)"
