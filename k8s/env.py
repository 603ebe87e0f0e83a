"""Connection and run -> env vars and envFrom sources of the main container (tier 1).

Secrets travel only as ``secretKeyRef``, ``envFrom`` or mounted files; no env var here ever
carries a secret as a literal value.

- a secret / config map with ``items`` and no ``mountPath``: one ``secretKeyRef`` /
  ``configMapKeyRef`` env var per item, named after the item's key;
- with neither: the whole resource as ``envFrom``;
- a connection's own ``env`` entries as given;
- bucket key files: ``POLYAXON_CONNECTION_<NAME>_KEY_FILE`` (``stores.keyfile.key_file_env``) with
  the mounted key file's path, and for GCS ``GOOGLE_APPLICATION_CREDENTIALS`` too
  (``SDK_KEY_FILE_ENV``);
- the env contract (``stores.contract.contract_env``: data and outputs paths, the run's identity,
  its context paths and its resolved inputs as ``POLYAXON_RUN_INPUTS``).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ._client import V1EnvFromSource, V1EnvVar, V1EnvVarSource
from pydantic import ValidationError

from stores.contract import contract_env
from stores.errors import RenderError
from stores.keyfile import key_file_env, key_file_path as _key_file_path
from stores.kinds import KINDS
from stores.names import check_env_name

from .podpatch import Sourced
from .serialize import load
from .protocols import ConnectionLike, ResourceLike

if TYPE_CHECKING:
    from stores.contract.runinfo import RunInfo
    from stores.selection import Selection

__all__ = [
    "SDK_KEY_FILE_ENV",
    "resource_env",
    "connection_env",
    "key_file_path",
    "credential_env",
    "key_file_env_vars",
    "contract_vars",
]

#: kind -> the env var its SDKs read a key file's path from.  S3 and Azure SDKs read no JSON key
#: file of this shape; their handles find the file through ``POLYAXON_CONNECTION_<NAME>_KEY_FILE``.
SDK_KEY_FILE_ENV: dict[str, str] = {k: e.sdk_key_file_env for k, e in KINDS.items() if e.sdk_key_file_env}


# the builders below write env vars and envFrom sources in manifest spelling (keys in the client's
# field order), kept as ``Sourced.spelled`` entries: V1EnvVar {name, value, valueFrom},
# V1EnvVarSource {configMapKeyRef, ..., secretKeyRef}, a key selector {key, name},
# V1EnvFromSource {configMapRef, prefix, secretRef}


def _var(name: str, value: str, source: str) -> Sourced[V1EnvVar]:
    """A literal env var (from values our models validated, or the contract's own)."""
    return Sourced.spelled(V1EnvVar, {"name": name, "value": value}, source)


def _secret_ref(resource: ResourceLike, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"key": key, "name": resource.name}}


def _config_map_ref(resource: ResourceLike, key: str) -> dict[str, Any]:
    return {"configMapKeyRef": {"key": key, "name": resource.name}}


def _secret_from(resource: ResourceLike) -> dict[str, Any]:
    return {"secretRef": {"name": resource.name}}


def _config_map_from(resource: ResourceLike) -> dict[str, Any]:
    return {"configMapRef": {"name": resource.name}}


#: connection attribute -> (label, one item as env source, the whole resource as envFrom), spelled
RESOURCE_ENV: tuple[tuple[str, str, Callable[[ResourceLike, str], dict[str, Any]], Callable[[ResourceLike], dict[str, Any]]], ...] = (
    ("secret", "secret", _secret_ref, _secret_from),
    ("config_map", "config map", _config_map_ref, _config_map_from),
)


def resource_env(conn: ConnectionLike) -> tuple[list[Sourced[V1EnvVar]], list[Sourced[V1EnvFromSource]]]:
    """``(env, env_from)`` of the connection's secret / config map, as Polyaxon gives them: a
    resource with neither ``items`` nor ``mountPath`` as ``envFrom``; its items as env vars when
    it has no ``mountPath`` (a config map's items even when it has one: Polyaxon's converter
    exposes them both ways)."""
    env: list[Sourced[V1EnvVar]] = []
    env_from: list[Sourced[V1EnvFromSource]] = []
    for attr, label, item_ref, whole in RESOURCE_ENV:
        resource = getattr(conn, attr)
        if resource is None or (resource.mount_path is not None and not (attr == "config_map" and resource.items)):
            continue
        source = f"connection {conn.name!r} ({label} {resource.name!r})"
        if not resource.items:
            env_from.append(Sourced.spelled(V1EnvFromSource, whole(resource), source))
            continue
        for item in resource.items:
            try:
                check_env_name(item.key)
            except ValueError:
                if resource.mount_path is not None:
                    continue  # delivered as a file; only env-shaped keys also become env vars
                raise RenderError(
                    f"connection {conn.name!r}: {label} {resource.name!r} item {item.key!r} cannot be "
                    "an env var name; give the resource a mountPath to deliver it as a file"
                ) from None
            env.append(Sourced.spelled(V1EnvVar, {"name": item.key, "valueFrom": item_ref(resource, item.key)}, source))
    return env, env_from


def connection_env(conn: ConnectionLike) -> list[Sourced[V1EnvVar]]:
    """The connection's own ``env`` entries."""
    out: list[Sourced[V1EnvVar]] = []
    for var in conn.env:
        source = f"connection {conn.name!r} (env)"
        try:
            value_from = load(V1EnvVarSource, var.value_from.to_dict()) if var.value_from is not None else None
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) or "the entry" for e in exc.errors(include_url=False))
            raise RenderError(f"connection {conn.name!r}: env var {var.name} has an invalid valueFrom ({fields})") from None
        except ValueError as exc:  # the pre-37 client models' own checks
            raise RenderError(f"connection {conn.name!r}: env var {var.name} has an invalid valueFrom ({exc})") from None
        out.append(Sourced(V1EnvVar(name=var.name, value=var.value, value_from=value_from), source))
    return out


def key_file_path(conn: ConnectionLike) -> str | None:
    """Where a bucket connection's key file is in the container, or ``None`` (one rule for the
    renderer and the in-run lookup: ``stores.keyfile.key_file_path``)."""
    return _key_file_path(conn)


def _key_identity(conn: ConnectionLike, path: str) -> tuple[str, str]:
    """Which secret key holds the credentials (``path``: the key file's): equal identities are
    the same credentials."""
    file = posixpath.basename(path)
    secret = conn.secret
    assert secret is not None  # a key file is a mounted secret's (key_file_path)
    for item in secret.items:
        if item.path == file:
            return secret.name, item.key
    return secret.name, file


def credential_env(connections: Iterable[ConnectionLike], sdk_defaults: Mapping[str, str] | None = None) -> list[Sourced[V1EnvVar]]:
    """Key-file env vars of the bucket connections, in the order given.

    One SDK variable (``GOOGLE_APPLICATION_CREDENTIALS``) can name one file: when connections of
    one kind hold *different* credentials, ``sdk_defaults[kind]`` must name the connection whose
    key file the SDK gets, otherwise this raises ``RenderError`` (never last-one-wins).  When they
    share one secret key, the first connection's file is used.
    """
    return key_file_env_vars(((c, p) for c in connections if (p := key_file_path(c)) is not None), sdk_defaults)


def key_file_env_vars(key_files: Iterable[tuple[ConnectionLike, str]],
                      sdk_defaults: Mapping[str, str] | None = None) -> list[Sourced[V1EnvVar]]:
    """``credential_env`` of the connections' key files already looked up: ``(connection,
    key_file_path(connection))`` for those that have one, in order (the renderer looks each up
    in its connection pass, while the connection's models are in the CPU cache)."""
    sdk_defaults = dict(sdk_defaults or {})
    out: list[Sourced[V1EnvVar]] = []
    by_kind: dict[str, list[tuple[ConnectionLike, str]]] = {}
    for conn, path in key_files:
        out.append(_var(key_file_env(conn.name), path, f"connection {conn.name!r} (key file)"))
        if KINDS[conn.kind].sdk_key_file_env is not None:
            by_kind.setdefault(conn.kind, []).append((conn, path))
    for kind, candidates in by_kind.items():
        env_name = KINDS[kind].sdk_key_file_env
        wanted = sdk_defaults.pop(kind, None)
        if wanted is not None:
            chosen = [c for c in candidates if c[0].name == wanted]
            if not chosen:
                names = ", ".join(c.name for c, _ in candidates)
                raise RenderError(f"{env_name}: connection {wanted!r} is not a selected {kind} connection with a key file; have: {names}")
            conn, path = chosen[0]
        else:
            identities = {_key_identity(c, p): c.name for c, p in candidates}
            if len(identities) > 1:
                names = " and ".join(repr(c.name) for c, _ in candidates[:2])
                raise RenderError(
                    f"{env_name} has two sources: connections {names} hold different {kind} "
                    f"credentials; name the one the SDK gets (sdk_defaults={{{kind!r}: NAME}}, "
                    f"stores render --{kind}-default NAME)"
                )
            conn, path = candidates[0]
        assert env_name is not None  # by_kind holds only kinds that have one (above)
        out.append(_var(env_name, path, f"connection {conn.name!r} ({kind} SDK key file)"))
    if sdk_defaults:
        kind, wanted = next(iter(sdk_defaults.items()))
        raise RenderError(f"no selected {kind} connection with a key file to give the SDK (asked for {wanted!r})")
    return out


def contract_vars(
    selection: Selection, run: RunInfo, inputs: Mapping[str, Any] | None = None, *, outputs_on_main: bool = True,
    store_paths: Mapping[str, str] | None = None,
) -> list[Sourced[V1EnvVar]]:
    """The env contract; ``inputs=None`` (not given) sets no ``POLYAXON_RUN_INPUTS``;
    ``outputs_on_main=False``: the outputs store is not mounted, outputs go to the context;
    ``store_paths``: the data stores' paths when already read (``stores.contract.contract_env``)."""
    env = contract_env(selection, run, inputs=inputs, outputs_on_main=outputs_on_main, store_paths=store_paths)
    return [_var(k, v, "the env contract") for k, v in env.items()]
