"""The env contract a run receives (seed 004), computed from a selection (tier 1).

``POLYAXON_RUN_DATA_PATHS``: compact JSON ``{name: path}`` with sorted keys, where path is the
mountPath of host paths and claims and the bucket URL of buckets.
``POLYAXON_RUN_OUTPUTS_PATH``: the outputs store's path joined with the run's sub-path
(``stores.runinfo.OUTPUTS_SUBPATH_TEMPLATE``, fields owner, project, uuid, name).
Then the run's identity and local paths, which ``stores.run`` reads back (see its docstring for
the full table), and, when given, its inputs.  Same inputs, byte-identical values, in a fixed
order.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Mapping

from .errors import ContractError
from .names import CONTEXT_PATH
from .runenv import (
    ENV_CONTEXT_PATH,
    ENV_DATA_PATHS,
    ENV_OUTPUTS_PATH,
    ENV_RUN_ARTIFACTS_PATH,
    ENV_RUN_INPUTS,
    ENV_RUN_INSTANCE,
    ENV_RUN_NAME,
    ENV_RUN_OWNER,
    ENV_RUN_PROJECT,
    ENV_RUN_UUID,
)
from .runinfo import OUTPUTS_SUBPATH_TEMPLATE, RunInfo
from .selection import Selection

__all__ = ["data_paths", "outputs_path", "contract_env", "inputs_env", "join_store_path", "CONTRACT_VARS"]

#: every variable ``contract_env`` may set, in the order it sets them
CONTRACT_VARS = (
    ENV_DATA_PATHS,
    ENV_OUTPUTS_PATH,
    ENV_RUN_UUID,
    ENV_RUN_NAME,
    ENV_RUN_INSTANCE,
    ENV_RUN_OWNER,
    ENV_RUN_PROJECT,
    ENV_CONTEXT_PATH,
    ENV_RUN_ARTIFACTS_PATH,
    ENV_RUN_INPUTS,
)


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


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def inputs_env(inputs: Mapping[str, Any]) -> dict[str, str]:
    """``{POLYAXON_RUN_INPUTS: <compact JSON>}`` for a run's resolved inputs."""
    if not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs):
        raise ContractError(f"inputs must be a mapping of names to values, got {type(inputs).__name__}")
    try:
        return {ENV_RUN_INPUTS: _dumps(dict(inputs))}
    except (TypeError, ValueError) as exc:
        raise ContractError(f"the run's inputs cannot be carried as JSON: {exc}") from None


def contract_env(
    selection: Selection,
    run: RunInfo,
    template: str = OUTPUTS_SUBPATH_TEMPLATE,
    *,
    inputs: Mapping[str, Any] | None = None,
    context_path: str = CONTEXT_PATH,
) -> dict[str, str]:
    """Every contract variable, name -> value, in the order of ``CONTRACT_VARS``.  A run without
    an outputs store gets no ``POLYAXON_RUN_OUTPUTS_PATH``; a run without a name no
    ``POLYAXON_RUN_NAME``; ``inputs=None`` sets no ``POLYAXON_RUN_INPUTS``."""
    env = {ENV_DATA_PATHS: _dumps(data_paths(selection))}
    out = outputs_path(selection, run, template)
    if out is not None:
        env[ENV_OUTPUTS_PATH] = out
    env[ENV_RUN_UUID] = run.uuid
    if run.name:
        env[ENV_RUN_NAME] = run.name
    env[ENV_RUN_INSTANCE] = f"{run.owner}.{run.project}.runs.{run.uuid}"
    env[ENV_RUN_OWNER] = run.owner
    env[ENV_RUN_PROJECT] = run.project
    env[ENV_CONTEXT_PATH] = context_path
    env[ENV_RUN_ARTIFACTS_PATH] = posixpath.join(context_path, "artifacts", run.uuid)
    if inputs is not None:
        env.update(inputs_env(inputs))
    return env
