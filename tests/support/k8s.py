"""Helpers of the k8s tests: golden files and strict validation on every tested version.

Regenerate the golden files with ``UPDATE_GOLDEN=1 pytest tests/k8s/test_k8s_*.py`` and review the
diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from k8s.validate import TEST_VERSIONS, validate_manifest, wrap_patch
from stores.catalog import Catalog
from stores.contract.runinfo import RunInfo

from support.paths import GOLDEN
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


def _item_key(item: Any) -> Any:
    """How a list item is matched between two patches: by name (containers, volumes, env), and by
    mount path too for volume mounts (one volume may be mounted twice)."""
    if isinstance(item, dict) and "name" in item:
        return (item["name"], item.get("mountPath"))
    return None


def patch_delta(base: Any, new: Any) -> Any:
    """What ``new`` adds to or changes in ``base``, recursively: mapping keys that differ, list
    items matched by ``_item_key`` (added or changed ones; removed ones listed under
    ``(removed)``); anything else is ``new`` when it differs.  ``{}`` when they are equal."""
    if isinstance(base, dict) and isinstance(new, dict):
        out: dict[str, Any] = {k: patch_delta(base[k], v) if k in base else v for k, v in new.items() if base.get(k) != v}
        removed = sorted(k for k in base if k not in new)
        return {**out, "(removed)": removed} if removed else out
    if isinstance(base, list) and isinstance(new, list) and all(_item_key(i) for i in (*base, *new)):
        old = {_item_key(i): i for i in base}
        changed = [i if _item_key(i) not in old else {"name": i["name"], **patch_delta(old[_item_key(i)], i)}
                   for i in new if old.get(_item_key(i)) != i]
        keys = {_item_key(i) for i in new}
        removed = [k[0] if k[1] is None else f"{k[0]} at {k[1]}" for k in old if k not in keys]
        return changed + ([{"(removed)": removed}] if removed else [])
    return new


def assert_golden_delta(name: str, base: Any, new: Any, against: str) -> None:
    """A golden file per concern: only what ``new`` changes in ``base`` (``against`` names the
    base, e.g. the golden file holding it), so a change of one default touches one file."""
    assert_golden(name, {"against": against, "changes": patch_delta(base, new)})


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
