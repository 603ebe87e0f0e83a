"""In-run lookup: where is my data, where do my outputs go (tier 0: stdlib only).

Code inside the pod imports this module; it must stay fast and light::

    from stores.run import get_data_paths, get_data_path, get_outputs_path

The renderer sets the variables below on the main container.
"""

from __future__ import annotations

import json
import os
from typing import Mapping

from .errors import ContractError

__all__ = [
    "ENV_DATA_PATHS",
    "ENV_OUTPUTS_PATH",
    "ENV_RUN_UUID",
    "ENV_RUN_NAME",
    "ENV_RUN_INSTANCE",
    "get_data_paths",
    "get_data_path",
    "get_outputs_path",
]

ENV_DATA_PATHS = "POLYAXON_RUN_DATA_PATHS"
ENV_OUTPUTS_PATH = "POLYAXON_RUN_OUTPUTS_PATH"
ENV_RUN_UUID = "POLYAXON_RUN_UUID"
ENV_RUN_NAME = "POLYAXON_RUN_NAME"
#: ``owner.project.runs.uuid``, the spelling Polyaxon uses
ENV_RUN_INSTANCE = "POLYAXON_RUN_INSTANCE"


def get_data_paths(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{store name: path or bucket URL}`` from ``POLYAXON_RUN_DATA_PATHS``."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_DATA_PATHS)
    if raw is None:
        raise ContractError(f"{ENV_DATA_PATHS} is not set: this process is not running in a rendered run")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ContractError(f"{ENV_DATA_PATHS} is not valid JSON ({exc.msg} at char {exc.pos}): {raw[:80]!r}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ContractError(f"{ENV_DATA_PATHS} must be a JSON object of name -> path strings, got {raw[:80]!r}")
    return value


def get_data_path(name: str, environ: Mapping[str, str] | None = None) -> str:
    paths = get_data_paths(environ)
    try:
        return paths[name]
    except KeyError:
        raise ContractError(
            f"no data store {name!r} in {ENV_DATA_PATHS}; this run has: {', '.join(paths) or '(none)'}"
        ) from None


def get_outputs_path(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    raw = env.get(ENV_OUTPUTS_PATH)
    if not raw:
        raise ContractError(f"{ENV_OUTPUTS_PATH} is not set: this run has no outputs store")
    return raw
