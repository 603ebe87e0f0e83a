"""The client/run context (Polyaxon docs, Python library > Instantiation:
https://polyaxon.com/docs/core/python-library/instantiation/), tier 0: stdlib only (it is
imported inside runs).

Each field is taken from the first source that has it, in this order:

1. **explicit** arguments to ``resolve_context(...)``;
2. **environment**: ``POLYAXON_HOST``, ``POLYAXON_AUTH_TOKEN``, ``POLYAXON_VERIFY_SSL``,
   ``POLYAXON_SSL_CA_CERT``, ``POLYAXON_CERT_FILE``, ``POLYAXON_KEY_FILE``, ``POLYAXON_DEBUG``,
   ``POLYAXON_TIMEOUT``, ``POLYAXON_LOG_LEVEL`` and the run identity (``POLYAXON_RUN_OWNER``,
   ``POLYAXON_RUN_PROJECT``, ``POLYAXON_RUN_UUID``, ``POLYAXON_RUN_INSTANCE``);
3. **in-cluster**: when ``POLYAXON_IS_IN_CLUSTER`` is true, or it is unset and
   ``KUBERNETES_SERVICE_HOST`` is set, the renderer's context directory
   (``cluster_dir=``, else ``STORES_CLUSTER_CONTEXT_DIR``, else ``/plx-context/.configs``) with
   ``context.json`` and an optional ``token`` file;
4. **local file**: ``config_file=``, else ``POLYAXON_CONTEXT_FILE``, else
   ``$POLYAXON_HOME/context.json`` (``POLYAXON_HOME`` defaults to ``~/.polyaxon``).

The JSON files hold any of the field names: ``host, token, verify_ssl, ssl_ca_cert, cert_file,
key_file, debug, timeout, log_level, owner, project, run_uuid``.

Switching context as in those docs: ``project="owner/project"`` or ``owner=`` plus ``project=``;
a project alone keeps the owner of a lower source; ``run_uuid=`` alone keeps the project.  When a
source sets the owner or project, a run uuid from a lower source is dropped: it belongs to
another project.

No source at all gives ``ContextError``; so does ``ClientContext.require(...)`` for a field no
source had.  The token never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..errors import ContextError
from .names import ENV_RUN_INSTANCE, project_full_name
from .read import parse_bool, parse_instance

__all__ = [
    "ClientContext",
    "resolve_context",
    "ENV_VARS",
    "ENV_IS_IN_CLUSTER",
    "ENV_CLUSTER_CONTEXT_DIR",
    "ENV_CONTEXT_FILE",
    "ENV_HOME",
    "DEFAULT_CLUSTER_DIR",
    "SOURCES",
]

#: field -> environment variable
ENV_VARS = {
    "host": "POLYAXON_HOST",
    "token": "POLYAXON_AUTH_TOKEN",
    "verify_ssl": "POLYAXON_VERIFY_SSL",
    "ssl_ca_cert": "POLYAXON_SSL_CA_CERT",
    "cert_file": "POLYAXON_CERT_FILE",
    "key_file": "POLYAXON_KEY_FILE",
    "debug": "POLYAXON_DEBUG",
    "timeout": "POLYAXON_TIMEOUT",
    "log_level": "POLYAXON_LOG_LEVEL",
    "owner": "POLYAXON_RUN_OWNER",
    "project": "POLYAXON_RUN_PROJECT",
    "run_uuid": "POLYAXON_RUN_UUID",
}
ENV_IS_IN_CLUSTER = "POLYAXON_IS_IN_CLUSTER"
ENV_K8S = "KUBERNETES_SERVICE_HOST"
ENV_CLUSTER_CONTEXT_DIR = "STORES_CLUSTER_CONTEXT_DIR"
ENV_CONTEXT_FILE = "POLYAXON_CONTEXT_FILE"
ENV_HOME = "POLYAXON_HOME"
DEFAULT_CLUSTER_DIR = "/plx-context/.configs"
SOURCES = ("explicit", "env", "in-cluster", "file")

_BOOLS = {"verify_ssl", "debug"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_IDENTITY = ("owner", "project", "run_uuid")


@dataclass(frozen=True)
class ClientContext:
    """Where the API is, how to reach it, and which owner/project/run is current."""

    host: str | None = None
    token: str | None = field(default=None, repr=False)
    verify_ssl: bool | None = None
    ssl_ca_cert: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    debug: bool | None = None
    timeout: float | None = None
    log_level: str | None = None
    owner: str | None = None
    project: str | None = None
    run_uuid: str | None = None
    in_cluster: bool = False
    #: field -> the source it came from ("explicit", "env", "in-cluster", "file:<path>")
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.name not in ("token", "sources") and getattr(self, f.name) is not None]
        if self.token is not None:
            shown.insert(1, "token='***'")
        from ..redact import redact_text  # a host may carry user:password@

        return redact_text(f"ClientContext({', '.join(shown)})")

    @property
    def project_unique_name(self) -> str | None:
        """``owner/project``, the ``project=`` spelling (``globals.project_unique_name`` is
        ``owner.project``: ``stores.contract.names.project_unique_name``)."""
        return project_full_name(self.owner, self.project) if self.owner and self.project else None

    def require(self, *names: str) -> "ClientContext":
        """Raise ``ContextError`` naming every field in ``names`` that no source provided."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            hints = ", ".join(f"{n} (argument {n}=, or {ENV_VARS[n]})" for n in missing)
            raise ContextError(f"no {hints} in any context source ({', '.join(SOURCES)})")
        return self


def _convert(name: str, what: str, raw: Any) -> Any:
    """A field's value in its type; ``what`` names the variable or file for the message."""
    if name in _BOOLS:
        if isinstance(raw, str) and not raw.strip():
            return None  # blank: not given, as for every other field
        return parse_bool(what, raw, error=ContextError)
    if name == "timeout":
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            raise ContextError(f"{what} must be a number of seconds, got {str(raw)[:40]!r}") from None
        if seconds <= 0:
            raise ContextError(f"{what} must be positive, got {raw!r}")
        return seconds
    if not isinstance(raw, str):
        shown = "a secret" if name == "token" else repr(raw)
        raise ContextError(f"{what} must be a string, got {shown}")
    value = raw.strip()
    if name == "log_level":
        value = value.upper()
        if value not in _LEVELS:
            raise ContextError(f"{what} must be one of {', '.join(_LEVELS)}, got {raw[:20]!r}")
    if name == "host":
        value = value.rstrip("/")
    return value or None


def _split_project(values: dict[str, Any], what: str) -> None:
    """``project="owner/name"`` -> owner + project, checking an owner given alongside."""
    project = values.get("project")
    if not project or "/" not in project:
        return
    parts = project.split("/")
    if len(parts) != 2 or not all(parts):
        raise ContextError(f"{what}: project must be 'name' or 'owner/name', got {project!r}")
    owner = values.get("owner")
    if owner and owner != parts[0]:
        raise ContextError(f"{what}: owner {owner!r} disagrees with project {project!r}")
    values["owner"], values["project"] = parts


def _from_mapping(data: Mapping[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(data) - set(ENV_VARS))
    if unknown:
        raise ContextError(f"{what}: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(ENV_VARS)}")
    values = {k: _convert(k, f"{what}: {k}", v) for k, v in data.items() if v is not None}
    values = {k: v for k, v in values.items() if v is not None}
    _split_project(values, what)
    return values


def _read_json(path: str, what: str) -> dict[str, Any]:
    from ..reader import load_json, read_file

    raw = read_file(path, what=what, error=lambda m: ContextError(f"{what} {path!r} cannot be read: {m}"))
    data = load_json(raw, what=f"{what} {path!r}", error=ContextError)
    if not isinstance(data, dict):
        raise ContextError(f"{what} {path!r} must hold a JSON object, got {type(data).__name__}")
    return _from_mapping(data, f"{what} {path}")


def _env_source(env: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name, var in ENV_VARS.items():
        raw = env.get(var)
        if raw is not None and raw.strip():
            value = _convert(name, var, raw)
            if value is not None:
                values[name] = value
    instance = env.get(ENV_RUN_INSTANCE)
    if instance:
        owner, project, uuid = parse_instance(instance, values.get("owner"), values.get("project"), error=ContextError)
        if values.get("run_uuid", uuid) != uuid:
            raise ContextError(f"{ENV_VARS['run_uuid']} disagrees with {ENV_RUN_INSTANCE}")
        values.setdefault("owner", owner)
        values.setdefault("project", project)
        values.setdefault("run_uuid", uuid)
    _split_project(values, "environment")
    return values


def _in_cluster(env: Mapping[str, str]) -> bool:
    flag = env.get(ENV_IS_IN_CLUSTER)
    if flag is not None and flag.strip():
        return parse_bool(ENV_IS_IN_CLUSTER, flag, error=ContextError)
    return bool(env.get(ENV_K8S))


def _cluster_source(env: Mapping[str, str], cluster_dir: str | None) -> dict[str, Any]:
    directory = cluster_dir or env.get(ENV_CLUSTER_CONTEXT_DIR) or DEFAULT_CLUSTER_DIR
    values: dict[str, Any] = {}
    path = os.path.join(directory, "context.json")
    if os.path.isfile(path):
        values = _read_json(path, "in-cluster context")
    token_path = os.path.join(directory, "token")
    if os.path.isfile(token_path) and "token" not in values:
        from ..reader import read_file

        raw = read_file(token_path, what="token file",
                        error=lambda m: ContextError(f"in-cluster token file {token_path!r} cannot be read: {m}"))
        try:
            token = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ContextError(f"in-cluster token file {token_path!r} is not UTF-8 text") from None
        if token:
            values["token"] = token
    return values


def _file_source(env: Mapping[str, str], config_file: str | None) -> tuple[dict[str, Any], str]:
    explicit = config_file or env.get(ENV_CONTEXT_FILE)
    if explicit:
        return _read_json(os.path.expanduser(explicit), "context file"), explicit
    home = env.get(ENV_HOME) or os.path.join(os.path.expanduser("~"), ".polyaxon")
    path = os.path.join(home, "context.json")
    if not os.path.isfile(path):
        return {}, path
    return _read_json(path, "context file"), path


def resolve_context(
    *,
    host: str | None = None,
    token: str | None = None,
    verify_ssl: bool | None = None,
    ssl_ca_cert: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    debug: bool | None = None,
    timeout: float | None = None,
    log_level: str | None = None,
    owner: str | None = None,
    project: str | None = None,
    run_uuid: str | None = None,
    environ: Mapping[str, str] | None = None,
    cluster_dir: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> ClientContext:
    """The context, field by field from the first source that has it (see the module doc)."""
    env = os.environ if environ is None else environ
    given = {"host": host, "token": token, "verify_ssl": verify_ssl, "ssl_ca_cert": ssl_ca_cert,
             "cert_file": cert_file, "key_file": key_file, "debug": debug, "timeout": timeout,
             "log_level": log_level, "owner": owner, "project": project, "run_uuid": run_uuid}
    explicit = _from_mapping({k: v for k, v in given.items() if v is not None}, "arguments")
    in_cluster = _in_cluster(env)
    layers: list[tuple[str, dict[str, Any]]] = [("explicit", explicit), ("env", _env_source(env))]
    if in_cluster:
        layers.append(("in-cluster", _cluster_source(env, os.fspath(cluster_dir) if cluster_dir else None)))
    file_values, file_path = _file_source(env, os.fspath(config_file) if config_file else None)
    layers.append((f"file:{file_path}", file_values))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    switched = False  # a higher source named the owner or project
    for label, layer in layers:
        for name, value in layer.items():
            if name in values:
                continue
            if name == "run_uuid" and switched:
                continue
            values[name] = value
            sources[name] = label
        if "owner" in layer or "project" in layer:
            switched = True
    if not values and not in_cluster:
        raise ContextError(
            "no context found: pass host= (and token=), set POLYAXON_HOST (and POLYAXON_AUTH_TOKEN), "
            f"run in a cluster, or write a context file at {file_path}"
        )
    return ClientContext(**values, in_cluster=in_cluster, sources=sources)
