"""The env contract a run receives (seed 004), computed from a selection (tier 1).

``POLYAXON_RUN_DATA_PATHS``: compact JSON ``{name: path}`` with sorted keys, where path is the
mountPath of host paths and claims and the bucket URL of buckets.
``POLYAXON_RUN_OUTPUTS_PATH``: the outputs store's path joined with the run's sub-path
(``stores.runinfo.OUTPUTS_SUBPATH_TEMPLATE``).  Same inputs, byte-identical values.
"""

from __future__ import annotations

import json
import posixpath

from .runinfo import OUTPUTS_SUBPATH_TEMPLATE, RunInfo
from .run import ENV_DATA_PATHS, ENV_OUTPUTS_PATH, ENV_RUN_INSTANCE, ENV_RUN_NAME, ENV_RUN_UUID
from .selection import Selection

__all__ = ["data_paths", "outputs_path", "contract_env", "join_store_path"]


def join_store_path(base: str, sub: str) -> str:
    """Join a mountPath or bucket URL with a relative sub-path."""
    if not sub:
        return base
    if "://" in base:
        return base.rstrip("/") + "/" + sub
    return posixpath.join(base, sub)


def data_paths(selection: Selection) -> dict[str, str]:
    return {c.name: c.store_path for c in sorted(selection.data, key=lambda c: c.name)}


def outputs_path(selection: Selection, run: RunInfo, template: str = OUTPUTS_SUBPATH_TEMPLATE) -> str | None:
    if selection.outputs is None:
        return None
    return join_store_path(selection.outputs.store_path, run.outputs_subpath(template))


def contract_env(selection: Selection, run: RunInfo, template: str = OUTPUTS_SUBPATH_TEMPLATE) -> dict[str, str]:
    """Every contract variable, name -> value, in a fixed order."""
    env = {
        ENV_DATA_PATHS: json.dumps(data_paths(selection), sort_keys=True, separators=(",", ":")),
    }
    out = outputs_path(selection, run, template)
    if out is not None:
        env[ENV_OUTPUTS_PATH] = out
    env[ENV_RUN_UUID] = run.uuid
    if run.name:
        env[ENV_RUN_NAME] = run.name
    env[ENV_RUN_INSTANCE] = f"{run.owner}.{run.project}.runs.{run.uuid}"
    return env
