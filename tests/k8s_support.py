"""Helpers of the k8s tests: golden files and strict validation on every tested version.

Regenerate the golden files with ``UPDATE_GOLDEN=1 pytest tests/test_k8s_*.py`` and review the
diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from k8s.validate import TEST_VERSIONS, validate_manifest, wrap_patch
from stores.catalog import Catalog
from stores.runinfo import RunInfo

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN = RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0", owner="acme", project="vision", name="train")


def assert_golden(name: str, data: Any) -> None:
    path = GOLDEN / f"{name}.yaml"
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), f"{path} differs; run with UPDATE_GOLDEN=1 and review the diff"


def assert_valid(manifest: Any) -> None:
    """Strictly valid for every version of ``TEST_VERSIONS`` (raises RenderError otherwise)."""
    for version in TEST_VERSIONS:
        validate_manifest(manifest, version)


def assert_patch_valid(patch: Any) -> None:
    """A patch, wrapped in a Pod and in a Job, strictly valid for every tested version."""
    assert_valid(wrap_patch(patch, "Pod"))
    assert_valid(wrap_patch(patch, "Job"))


def catalog_of(*connections: dict[str, Any], **roles: Any) -> Catalog:
    return Catalog.from_values({"connections": list(connections), **roles})


def python_catalog(*connections: dict[str, Any]) -> Catalog:
    """A catalog built in Python, past the values loader's policy checks (``stores.policy``):
    what the renderer's own checks must still catch."""
    from stores.models import parse_connection

    return Catalog(connections=tuple(parse_connection(c) for c in connections))
