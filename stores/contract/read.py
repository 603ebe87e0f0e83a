"""Reading the in-run env contract, and the three modes a process can be in (tier 0: stdlib only).

The public face is ``stores.run``; this module holds the logic (the variable names and the
run layout are ``stores.contract.names``).

Mode, decided per call from the environment (first match wins):

1. **no-op**: ``POLYAXON_NO_OP`` is true.
2. **run**: any of ``POLYAXON_RUN_DATA_PATHS``, ``POLYAXON_RUN_OUTPUTS_PATH``,
   ``POLYAXON_RUN_UUID``, ``POLYAXON_RUN_INSTANCE`` is set: the contract is read strictly, and a
   missing or malformed variable is a ``ContractError`` naming it.
3. **local**: ``STORES_LOCAL_DEV`` is true or ``local_dev()`` was called: paths live under a
   local root (``local_dev(root)``, else ``STORES_LOCAL_DEV_ROOT``, else one temporary directory
   per process).
4. none of these: ``ContractError`` saying how to get one of the above.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping

from ..errors import ContractError
from ..reader import load_json
from .checks import (  # the checks live there; re-exported here, their old home
    _CONTROL,  # noqa: F401
    _FALSE,  # noqa: F401
    _MAX_NAME,
    _SCHEME,  # noqa: F401
    _TRUE,  # noqa: F401
    URL_SCHEMES,  # noqa: F401
    _name_shown,
    _path_problem,  # noqa: F401
    _shown,
    _url_problem,  # noqa: F401
    check_local_path,
    check_location,
    check_name,
    json_object,
    parse_bool,
    parse_instance,
)
from .names import (
    CONTEXT_PATH,
    ENV_ARTIFACTS_STORE_NAME,
    ENV_CONNECTIONS_CATALOG,
    ENV_CSI_MOUNTS,
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
    LOCAL_UUID,
    RUN_MARKERS,
    artifacts_path,
    local_data_path,
    local_outputs_path,
    project_unique_name,
    run_artifacts_path,
    run_outputs_path,
)

# the variable names themselves are ``names``'s: import them from there (or from ``stores.run``)
__all__ = [
    "RunContext",
    "parse_bool",
    "parse_instance",
    "json_object",
    "mode",
    "read_data_paths",
    "read_outputs_path",
    "read_context",
    "local_dev",
    "disable_local_dev",
    "local_root",
    "read_csi_mounts",
    "read_connections_catalog",
    "read_artifacts_store_name",
]



class RunContext:
    """Who this run is and where its local artifacts go (immutable).

    ``outputs_path`` is ``POLYAXON_RUN_OUTPUTS_PATH`` (None: the run has no outputs store);
    ``mode`` is ``"run"`` inside a rendered run, ``"local"`` in local development.
    """

    # Not a dataclass: ``dataclasses`` imports ``inspect`` (about 10 ms on every in-run import).
    __slots__ = ("uuid", "owner", "project", "name", "context_path", "artifacts_path",
                 "run_artifacts_path", "run_outputs_path", "outputs_path", "mode")

    uuid: str
    owner: str | None
    project: str | None
    name: str | None
    context_path: str
    artifacts_path: str
    run_artifacts_path: str
    run_outputs_path: str
    outputs_path: str | None
    mode: str

    def __init__(self, **values: object) -> None:
        missing = [f for f in self.__slots__ if f not in values]
        extra = [f for f in values if f not in self.__slots__]
        if missing or extra:
            raise TypeError(f"RunContext: missing {missing}, unexpected {extra}")
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: RunContext is immutable")

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "RunContext(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"

    @property
    def project_unique_name(self) -> str | None:
        return project_unique_name(self.owner, self.project) if self.owner and self.project else None


# -- local development ------------------------------------------------------------------------


class _LocalDev:
    __slots__ = ("root", "data", "inputs")

    def __init__(self, root: str | None, data: dict[str, str], inputs: dict[str, object] | None):
        self.root, self.data, self.inputs = root, data, inputs


_explicit: _LocalDev | None = None
_temp_root: str | None = None


def local_dev(
    root: str | os.PathLike[str] | None = None,
    *,
    data: Mapping[str, str] | None = None,
    inputs: Mapping[str, object] | None = None,
) -> str:
    """Turn local development on for this process and return its root.

    Inside a rendered run the contract still wins, so the same script can call this
    unconditionally.  ``data`` maps store names to real local directories; other names get
    ``<root>/data/<name>``.  ``inputs`` is what ``get_inputs()`` returns locally.
    """
    global _explicit
    _explicit = _LocalDev(
        os.fspath(root) if root is not None else None,
        # absolute now: a relative path would later be taken for a store name
        {str(k): os.path.abspath(os.fspath(v)) for k, v in (data or {}).items()},
        dict(inputs) if inputs is not None else None,
    )
    # inside a rendered run the contract wins: leave no local folder behind in the pod
    in_run = any(os.environ.get(name) is not None for name in RUN_MARKERS)
    return local_root(os.environ, create=not in_run)


def disable_local_dev() -> None:
    """Undo ``local_dev()`` (``STORES_LOCAL_DEV`` still applies)."""
    global _explicit
    _explicit = None


def _local_enabled(env: Mapping[str, str]) -> bool:
    return _explicit is not None or parse_bool(ENV_LOCAL_DEV, env.get(ENV_LOCAL_DEV))


def local_root(env: Mapping[str, str], create: bool = True) -> str:
    """The local-development root, created on first use (unless ``create`` is false)."""
    global _temp_root
    root = (_explicit.root if _explicit else None) or env.get(ENV_LOCAL_DEV_ROOT)
    if not root:
        if _temp_root is None and not create:
            return ""
        if _temp_root is None:
            import tempfile  # only local development pays for it

            _temp_root = tempfile.mkdtemp(prefix="stores-local-dev-")
        root = _temp_root
    root = os.path.abspath(root)
    if create:
        os.makedirs(root, exist_ok=True)
    return root


def _local_data(env: Mapping[str, str]) -> dict[str, str]:
    root = local_root(env)
    found: dict[str, str] = {}
    data_dir = local_data_path(root, join=os.path.join)
    if os.path.isdir(data_dir):
        for entry in sorted(os.listdir(data_dir)):
            if os.path.isdir(os.path.join(data_dir, entry)):
                found[entry] = os.path.join(data_dir, entry)
    raw = env.get(ENV_LOCAL_DEV_DATA)
    if raw:
        found.update({k: os.path.abspath(str(v)) for k, v in json_object(ENV_LOCAL_DEV_DATA, raw, str).items()})
    if _explicit:
        found.update(_explicit.data)
    return found


def local_inputs() -> dict[str, object] | None:
    return dict(_explicit.inputs) if _explicit and _explicit.inputs is not None else None


# -- mode and reading -------------------------------------------------------------------------


def mode(env: Mapping[str, str]) -> str:
    """``"noop"``, ``"run"`` or ``"local"``; raises ``ContractError`` when none applies."""
    if parse_bool(ENV_NO_OP, env.get(ENV_NO_OP)):
        return "noop"
    if any(env.get(name) is not None for name in RUN_MARKERS):
        return "run"
    if _local_enabled(env):
        return "local"
    raise ContractError(
        f"{ENV_DATA_PATHS} is not set: this process is not running in a rendered run. "
        f"To develop locally set {ENV_LOCAL_DEV}=1 or call stores.run.local_dev(); "
        f"to turn every lookup into a no-op set {ENV_NO_OP}=true"
    )


def read_data_paths(env: Mapping[str, str], run_mode: str) -> dict[str, str]:
    if run_mode == "local":
        return _local_data(env)
    raw = env.get(ENV_DATA_PATHS)
    if raw is None:
        present = ", ".join(n for n in RUN_MARKERS if env.get(n) is not None)
        raise ContractError(f"{ENV_DATA_PATHS} is not set (found {present}): the run's contract is incomplete")
    paths = json_object(ENV_DATA_PATHS, raw, str)
    return {
        check_name(ENV_DATA_PATHS, name): check_location(ENV_DATA_PATHS, path, f" entry {_name_shown(name)}")
        for name, path in paths.items()
    }


def read_data_path(env: Mapping[str, str], run_mode: str, name: str) -> str:
    paths = read_data_paths(env, run_mode)
    if name in paths:
        return paths[name]
    if run_mode == "local":
        # on a laptop any name works: it gets its own directory under the local root
        path = local_data_path(local_root(env), name, os.path.join)
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise ContractError(f"not a data store name: {name!r}")
        os.makedirs(path, exist_ok=True)
        return path
    raise ContractError(f"no data store {name!r} in {ENV_DATA_PATHS}; this run has: {', '.join(paths) or '(none)'}")


def read_outputs_path(env: Mapping[str, str], run_mode: str) -> str:
    if run_mode == "local":
        path = local_outputs_path(local_root(env), os.path.join)
        os.makedirs(path, exist_ok=True)
        return path
    raw = env.get(ENV_OUTPUTS_PATH)
    if raw is None:
        raise ContractError(f"{ENV_OUTPUTS_PATH} is not set: this run has no outputs store")
    return check_location(ENV_OUTPUTS_PATH, raw)


def _identity(env: Mapping[str, str]) -> tuple[str, str | None, str | None]:
    uuid = env.get(ENV_RUN_UUID) or None
    owner = env.get(ENV_RUN_OWNER) or None
    project = env.get(ENV_RUN_PROJECT) or None
    instance = env.get(ENV_RUN_INSTANCE)
    if instance is not None:
        owner, project, tail = parse_instance(instance, owner, project)
        if uuid is not None and uuid != tail:
            raise ContractError(f"{ENV_RUN_UUID}={uuid!r} disagrees with {ENV_RUN_INSTANCE}={instance!r}")
        uuid = tail
    if uuid is None:
        raise ContractError(f"neither {ENV_RUN_UUID} nor {ENV_RUN_INSTANCE} is set: the run's identity is unknown")
    if "/" in uuid or uuid in (".", "..") or not uuid.isprintable() or len(uuid) > _MAX_NAME:
        raise ContractError(f"{ENV_RUN_UUID} is not a run uuid: {_shown(uuid)}")
    return uuid, owner, project


def read_context(env: Mapping[str, str], run_mode: str) -> RunContext:
    owner: str | None
    project: str | None
    if run_mode == "local":
        root = local_root(env)
        uuid, owner, project, name = LOCAL_UUID, LOCAL_UUID, LOCAL_UUID, None
        context_path = root
        outputs: str | None = read_outputs_path(env, run_mode)
        join = os.path.join
        run_artifacts = run_artifacts_path(root, uuid, join)
    else:
        uuid, owner, project = _identity(env)
        name = env.get(ENV_RUN_NAME) or None
        context_path = check_local_path(ENV_CONTEXT_PATH, env.get(ENV_CONTEXT_PATH) or CONTEXT_PATH)
        outputs = env.get(ENV_OUTPUTS_PATH) or None
        if outputs is not None:
            outputs = check_location(ENV_OUTPUTS_PATH, outputs)
        artifacts = env.get(ENV_RUN_ARTIFACTS_PATH)
        run_artifacts = (
            check_local_path(ENV_RUN_ARTIFACTS_PATH, artifacts) if artifacts
            else run_artifacts_path(context_path, uuid)
        )
        join = posixpath.join
    return RunContext(
        uuid=uuid,
        owner=owner,
        project=project,
        name=name,
        context_path=context_path,
        artifacts_path=artifacts_path(context_path, join),
        run_artifacts_path=run_artifacts,
        run_outputs_path=run_outputs_path(run_artifacts, join),
        outputs_path=outputs,
        mode=run_mode,
    )


def read_connections_catalog(env: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """``POLYAXON_CONNECTIONS_CATALOG`` as ``{name: connection mapping}`` (empty when unset); a
    malformed value is a ``ContractError`` naming the variable."""
    raw = env.get(ENV_CONNECTIONS_CATALOG)
    if not raw:
        return {}
    doc = load_json(raw, what=ENV_CONNECTIONS_CATALOG, error=ContractError)
    conns = doc.get("connections") if isinstance(doc, dict) else None
    if conns is None:
        conns = []
    if not isinstance(conns, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in conns):
        raise ContractError(f"{ENV_CONNECTIONS_CATALOG} must be {{\"connections\": [{{\"name\": ..., \"kind\": ...}}, ...]}}")
    out: dict[str, dict[str, object]] = {}
    for conn in conns:
        name = check_name(ENV_CONNECTIONS_CATALOG, conn["name"])
        if name in out:
            raise ContractError(f"{ENV_CONNECTIONS_CATALOG} names connection {name!r} twice")
        out[name] = conn
    return out


def read_csi_mounts(env: Mapping[str, str]) -> dict[str, str]:
    """``STORES_CSI_MOUNTS`` as ``{name: mount path}`` (empty when unset): the buckets this
    container has mounted through a CSI driver; a malformed value is a ``ContractError``."""
    raw = env.get(ENV_CSI_MOUNTS)
    if not raw:
        return {}
    paths = json_object(ENV_CSI_MOUNTS, raw, str)
    out: dict[str, str] = {}
    for name, path in paths.items():
        location = check_location(ENV_CSI_MOUNTS, path, f" entry {_name_shown(name)}")
        if not location.startswith("/"):
            raise ContractError(f"{ENV_CSI_MOUNTS} entry {_name_shown(name)} must be an absolute path")
        out[check_name(ENV_CSI_MOUNTS, name)] = location
    return out


def read_artifacts_store_name(env: Mapping[str, str]) -> str | None:
    name = env.get(ENV_ARTIFACTS_STORE_NAME) or None
    return None if name is None else check_name(ENV_ARTIFACTS_STORE_NAME, name)
