"""A run's inputs and outputs without an API server (Polyaxon docs, "Passing params with the
Python library": a run's resolved inputs and outputs), tier 0: stdlib only.

Inputs come from the renderer: ``POLYAXON_RUN_INPUTS`` (a JSON object) or, when that is unset,
the JSON file named by ``POLYAXON_RUN_INPUTS_FILE``; neither set means the run has no inputs.
Outputs are a JSON object in ``<run_outputs_path>/outputs.json`` (``globals.run_outputs_path``),
inside the run's artifacts so the artifacts sync carries them.  Every write goes to a temporary
file in the same directory and is renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from ..errors import ContractError
from ..reader import read_file
from .names import ENV_RUN_INPUTS, ENV_RUN_INPUTS_FILE, OUTPUTS_FILE
from .read import json_object, local_inputs, read_context

__all__ = ["OUTPUTS_FILE", "read_inputs", "outputs_file", "read_outputs", "write_outputs"]


def read_inputs(env: Mapping[str, str], run_mode: str) -> dict[str, object]:
    raw = env.get(ENV_RUN_INPUTS)
    if raw is not None:
        return json_object(ENV_RUN_INPUTS, raw)
    path = env.get(ENV_RUN_INPUTS_FILE)
    if path:
        # a regular file of at most stores.reader.MAX_BYTES: a FIFO or a device would hang the run
        text = read_file(path, what="run inputs file",
                         error=lambda m: ContractError(f"{ENV_RUN_INPUTS_FILE}={path!r} cannot be read: {m}"))
        return json_object(f"{ENV_RUN_INPUTS_FILE} ({path})", text)
    if run_mode == "local":
        return local_inputs() or {}
    return {}


def outputs_file(env: Mapping[str, str], run_mode: str) -> str:
    return os.path.join(read_context(env, run_mode).run_outputs_path, OUTPUTS_FILE)


def read_outputs(env: Mapping[str, str], run_mode: str) -> dict[str, object]:
    path = outputs_file(env, run_mode)
    if not os.path.lexists(path):
        return {}
    text = read_file(path, what="outputs file",
                     error=lambda m: ContractError(f"cannot read the run's outputs {path!r}: {m}"))
    return json_object(f"outputs file {path}", text)


def write_outputs(env: Mapping[str, str], run_mode: str, values: Mapping[str, object], *, merge: bool) -> dict[str, object]:
    path = outputs_file(env, run_mode)
    current = read_outputs(env, run_mode) if merge else {}
    current.update(values)
    try:
        text = json.dumps(current, sort_keys=True, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"outputs must be JSON values (finite numbers, strings, lists, objects): {exc}") from None
    directory = os.path.dirname(path)
    tmp = None
    try:
        import tempfile  # only writers pay for it

        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{OUTPUTS_FILE}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ContractError(f"cannot write the run's outputs to {path!r}: {exc.strerror}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return current
