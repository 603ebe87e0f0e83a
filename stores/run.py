"""In-run lookup: where is my data, where do my outputs go (tier 0: stdlib only).

Code inside the pod imports this module; it loads nothing outside the standard library::

    from stores.run import get_data_paths, get_data_path, get_outputs_path, get_inputs, log_outputs

    train(get_data_path("data1"), out=get_outputs_path())
    log_outputs(loss=0.12)

The renderer (``stores.contract.write.contract_env``) sets these variables on the main container:

==============================  ===============================================================
``POLYAXON_RUN_DATA_PATHS``     JSON ``{store name: mountPath or bucket URL}``
``POLYAXON_RUN_OUTPUTS_PATH``   the outputs store's path or URL joined with the run's sub-path
``POLYAXON_RUN_UUID``           the run's uuid (``POLYAXON_RUN_NAME``: its name, if any)
``POLYAXON_RUN_INSTANCE``       ``owner.project.runs.uuid``
``POLYAXON_RUN_OWNER``,         owner and project, spelled out
``POLYAXON_RUN_PROJECT``
``POLYAXON_CONTEXT_PATH``       ``/plx-context`` (``globals.context_path``)
``POLYAXON_RUN_ARTIFACTS_PATH`` ``<context>/artifacts/<uuid>`` (``globals.run_artifacts_path``)
``POLYAXON_RUN_INPUTS``         the run's resolved inputs, JSON (or ``POLYAXON_RUN_INPUTS_FILE``)
==============================  ===============================================================

Precedence, decided on every call (first match wins):

1. ``POLYAXON_NO_OP=true``: a kill switch, as in Polyaxon.  Lookups return ``None`` (single
   paths, the run context) or an empty dict (data paths, inputs, outputs); ``log_outputs`` and
   ``reset_outputs`` write nothing.  Nothing raises.
2. The contract: if any of ``POLYAXON_RUN_DATA_PATHS``, ``POLYAXON_RUN_OUTPUTS_PATH``,
   ``POLYAXON_RUN_UUID``, ``POLYAXON_RUN_INSTANCE`` is set, the process is in a rendered run and
   the variables are read strictly: a missing or malformed one raises ``ContractError`` naming
   the variable and what is wrong, never its value (see ``stores.contract.read.check_location``: data
   and outputs locations are absolute paths without ``..`` or bucket URLs without credentials;
   JSON goes through ``stores.reader.load_json``: at most 100 levels, no key twice).
3. Local development, when ``STORES_LOCAL_DEV`` is true or ``local_dev()`` was called: data
   paths are ``<root>/data/<name>`` (created on demand; ``STORES_LOCAL_DEV_DATA`` or
   ``local_dev(data=...)`` point names at real directories), outputs go to ``<root>/outputs``,
   the run's artifacts to ``<root>/artifacts/local``.  The root is ``local_dev(root)``, else
   ``STORES_LOCAL_DEV_ROOT``, else one temporary directory per process.  Because the contract
   wins, a script may call ``local_dev()`` unconditionally and still behave in the cluster.
4. Otherwise: ``ContractError`` explaining the three ways above.

Every function takes an optional keyword ``environ`` mapping (default ``os.environ``), for tests
and for callers that hold a rendered env; positional arguments follow Polyaxon's call shapes
(``get_outputs_path("model.pt")``; ``log_outputs`` alone takes the mapping first, positionally,
so that no output name is reserved).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .contract import io as runio
from .contract import read as runenv
from .contract.names import OUTPUTS_FILE
from .contract.names import (
    ENV_CONTEXT_PATH,
    ENV_DATA_PATHS,
    ENV_LOCAL_DEV,
    ENV_LOCAL_DEV_DATA,
    ENV_LOCAL_DEV_ROOT,
    ENV_NO_OP,
    ENV_OUTPUTS_PATH,
    ENV_RUN_ARTIFACTS_PATH,
    ENV_RUN_INPUTS,
    ENV_RUN_INPUTS_FILE,
    ENV_RUN_INSTANCE,
    ENV_RUN_NAME,
    ENV_RUN_OWNER,
    ENV_RUN_PROJECT,
    ENV_RUN_UUID,
)
from .contract.read import (
    RunContext,
    disable_local_dev,
    local_dev,
)

__all__ = [
    "ENV_DATA_PATHS",
    "ENV_OUTPUTS_PATH",
    "ENV_RUN_UUID",
    "ENV_RUN_NAME",
    "ENV_RUN_INSTANCE",
    "ENV_RUN_OWNER",
    "ENV_RUN_PROJECT",
    "ENV_CONTEXT_PATH",
    "ENV_RUN_ARTIFACTS_PATH",
    "ENV_RUN_INPUTS",
    "ENV_RUN_INPUTS_FILE",
    "ENV_NO_OP",
    "ENV_LOCAL_DEV",
    "ENV_LOCAL_DEV_ROOT",
    "ENV_LOCAL_DEV_DATA",
    "OUTPUTS_FILE",
    "RunContext",
    "get_data_paths",
    "get_data_path",
    "get_artifacts_path",
    "get_outputs_path",
    "get_run_context",
    "get_inputs",
    "get_outputs",
    "log_outputs",
    "reset_outputs",
    "is_no_op",
    "local_dev",
    "disable_local_dev",
]


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _live(environ: Mapping[str, str] | None) -> tuple[Mapping[str, str], str | None]:
    """The one no-op guard: ``(env, mode)``, mode ``None`` under ``POLYAXON_NO_OP`` (the caller
    then returns its empty value and writes nothing), else ``"run"`` or ``"local"``."""
    env = _env(environ)
    m = runenv.mode(env)
    return env, (None if m == "noop" else m)


def is_no_op(*, environ: Mapping[str, str] | None = None) -> bool:
    """``POLYAXON_NO_OP`` is true."""
    return runenv.parse_bool(ENV_NO_OP, _env(environ).get(ENV_NO_OP))


def get_data_paths(*, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{store name: path or bucket URL}`` for every data store this run mounted."""
    env, m = _live(environ)
    return {} if m is None else runenv.read_data_paths(env, m)


def get_data_path(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """The path (or bucket URL) of one data store; ``ContractError`` names the ones there are."""
    env, m = _live(environ)
    return None if m is None else runenv.read_data_path(env, m, name)


def get_outputs_path(
    rel_path: str | None = None,
    ensure_path: bool = True,
    is_dir: bool = False,
    *,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Where this run's outputs go: ``POLYAXON_RUN_OUTPUTS_PATH``; with ``rel_path``, that file
    (or folder, ``is_dir``) in it, as Polyaxon's ``get_outputs_path("model.pt")``; on a local
    path that file's folder is created unless ``ensure_path=False``."""
    env, m = _live(environ)
    if m is None:
        return None
    return _under(runenv.read_outputs_path(env, m), rel_path, ensure_path, is_dir)


def get_artifacts_path(
    rel_path: str | None = None,
    ensure_path: bool = False,
    is_dir: bool = False,
    *,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The run's artifacts folder in the context (``globals.run_artifacts_path``), or
    ``rel_path`` in it; Polyaxon's ``get_artifacts_path``."""
    env, m = _live(environ)
    if m is None:
        return None
    return _under(runenv.read_context(env, m).run_artifacts_path, rel_path, ensure_path, is_dir)


def _under(base: str, rel_path: str | None, ensure_path: bool, is_dir: bool) -> str:
    if rel_path:
        parts = rel_path.replace("\\", "/").split("/")
        if rel_path.startswith("/") or ".." in parts:
            raise ValueError(f"rel_path must be relative and stay inside the folder, got {rel_path!r}")
        path = base.rstrip("/") + "/" + "/".join(p for p in parts if p not in ("", "."))
    else:
        return base  # the folder itself is the renderer's (or the init container's) to create
    if ensure_path and "://" not in path:
        os.makedirs(path if is_dir else os.path.dirname(path), exist_ok=True)
    return path


def get_run_context(*, environ: Mapping[str, str] | None = None) -> RunContext | None:
    """uuid, owner, project, name and the run's artifacts/outputs paths."""
    env, m = _live(environ)
    return None if m is None else runenv.read_context(env, m)


def get_inputs(*, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The run's resolved inputs (Polyaxon docs, "Passing params with the Python library");
    ``{}`` when it has none."""
    env, m = _live(environ)
    return {} if m is None else runio.read_inputs(env, m)


def get_outputs(*, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Every output logged so far by this run."""
    env, m = _live(environ)
    return {} if m is None else runio.read_outputs(env, m)


def log_outputs(environ: Mapping[str, str] | None = None, /, **outputs: object) -> dict[str, object] | None:
    """Add or update outputs (JSON values); returns all outputs after the update."""
    env, m = _live(environ)
    return None if m is None else runio.write_outputs(env, m, outputs, merge=True)


def reset_outputs(*, environ: Mapping[str, str] | None = None) -> None:
    """Forget every output logged so far."""
    env, m = _live(environ)
    if m is not None:
        runio.write_outputs(env, m, {}, merge=False)
