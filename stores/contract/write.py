"""The env contract a run receives (Polyaxon docs, "Customize Data and Outputs":
POLYAXON_RUN_DATA_PATHS, POLYAXON_RUN_OUTPUTS_PATH), computed from a selection (tier 1).

``POLYAXON_RUN_DATA_PATHS``: compact JSON ``{name: path}`` with sorted keys, where path is the
mountPath of host paths and claims and the bucket URL of buckets.
``POLYAXON_RUN_OUTPUTS_PATH``: the outputs store's path joined with the run's sub-path
(``stores.contract.names.OUTPUTS_SUBPATH_TEMPLATE``, fields owner, project, uuid, name).
Then the run's identity and local paths, which ``stores.run`` reads back (see its docstring for
the full table), and, when given, its inputs.  Same inputs, byte-identical values, in a fixed
order.
"""

from __future__ import annotations

import json
import json.encoder
import posixpath
from typing import Any, Callable, Mapping

from pydantic_core import PydanticSerializationError

from ..errors import ContractError
from ..selection import Selection
from .names import (
    CONTEXT_PATH,
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
    OUTPUTS_SUBPATH_TEMPLATE,
    run_artifacts_path,
    run_instance,
    run_outputs_path,
)
from .runinfo import RunInfo

__all__ = [
    "data_paths",
    "outputs_path",
    "contract_env",
    "inputs_env",
    "join_store_path",
    "CONTRACT_VARS",
    "connections_catalog",
    "catalog_part",
    "join_catalog",
    "catalog_entry",
    "catalog_entry_json",
    "csi_mounts",
]

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
    outputs_on_main: bool = True,
    store_paths: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every contract variable, name -> value, in the order of ``CONTRACT_VARS``.  A run without
    an outputs store gets no ``POLYAXON_RUN_OUTPUTS_PATH``; a run without a name no
    ``POLYAXON_RUN_NAME``; ``inputs=None`` sets no ``POLYAXON_RUN_INPUTS``.
    ``outputs_on_main=False`` (the artifacts store is not given to the main container, as
    Polyaxon does while collecting artifacts): the outputs path is the run's outputs folder in the
    context (``globals.run_outputs_path``), which the sidecar uploads to ``<store>/<uuid>``.
    ``store_paths``: ``data_paths(selection)`` when the caller has it already (the renderer
    reads the paths in its connection pass; any order: the keys are written sorted)."""
    env = {ENV_DATA_PATHS: _dumps(dict(data_paths(selection) if store_paths is None else store_paths))}
    if outputs_on_main or selection.outputs is None:
        out = outputs_path(selection, run, template)
    else:
        out = run_outputs_path(run_artifacts_path(context_path, run.uuid))
    if out is not None:
        env[ENV_OUTPUTS_PATH] = out
    env[ENV_RUN_UUID] = run.uuid
    if run.name:
        env[ENV_RUN_NAME] = run.name
    env[ENV_RUN_INSTANCE] = run_instance(run.owner, run.project, run.uuid)
    env[ENV_RUN_OWNER] = run.owner
    env[ENV_RUN_PROJECT] = run.project
    env[ENV_CONTEXT_PATH] = context_path
    env[ENV_RUN_ARTIFACTS_PATH] = run_artifacts_path(context_path, run.uuid)
    if inputs is not None:
        env.update(inputs_env(inputs))
    return env


# Polyaxon's ConnectionResource spelling: an item as its bare key unless it is mounted under
# another name or mode, defaultMode an octal string
def _item_entry(item: Any) -> str | dict[str, Any]:
    key: str = item.key
    if item.path == key and item.mode is None:
        return key
    return {"key": key, "path": item.path, **({"mode": item.mode} if item.mode is not None else {})}


def _mode_string(mode: int) -> str:
    return f"0{mode:o}"


def _literal_env(conn: Any) -> list[list[Any]]:
    # Polyaxon's env spelling is name/value pairs; valueFrom entries have no place in it
    return [[e.name, e.value] for e in conn.env if e.value is not None]


def _resource_entry(resource: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": resource.name}
    if resource.mount_path is not None:
        out["mountPath"] = resource.mount_path
    if resource.items:
        out["items"] = [_item_entry(i) for i in resource.items]
    if resource.default_mode is not None:
        out["defaultMode"] = _mode_string(resource.default_mode)
    return out


def catalog_entry(conn: Any) -> dict[str, Any]:
    """One connection as Polyaxon's in-run code reads it from ``POLYAXON_CONNECTIONS_CATALOG``
    (its ``V1Connection`` spelling, nulls left out)."""
    out: dict[str, Any] = {"name": conn.name, "kind": conn.kind}
    if conn.description is not None:
        out["description"] = conn.description
    if conn.tags:
        out["tags"] = list(conn.tags)
    schema = conn.schema_
    if schema is not None:
        out["schema"] = schema if isinstance(schema, dict) else schema.to_dict()
    if conn.secret is not None:
        out["secret"] = _resource_entry(conn.secret)
    if conn.config_map is not None:
        out["configMap"] = _resource_entry(conn.config_map)
    literal = _literal_env(conn)
    if literal:
        out["env"] = literal
    if conn.annotations:
        out["annotations"] = dict(conn.annotations)
    # a connection's ``identity`` is not written: Polyaxon's V1Connection forbids unknown keys,
    # and its clients in the pod would refuse the whole catalog; handles there find the role /
    # client id in the variables the cloud's webhook (or the renderer) sets, AWS_ROLE_ARN, ...
    return out


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def connections_catalog(connections: Any, resolve: Callable[[str], str] | None = None) -> str | None:
    """``POLYAXON_CONNECTIONS_CATALOG`` for ``connections`` (in order), compact JSON as Polyaxon
    writes it; ``None`` for no connections (Polyaxon then sets no variable).  ``resolve`` is
    applied to each string of the entries before they are joined: templates are resolved value by
    value, never across the JSON text (where an unclosed ``{{`` in one value would pair with a
    ``}}`` in another).  A string without ``{{`` holds no template: ``resolve`` must return it
    unchanged (``k8s.templates.globals_resolver``'s does), so a text without one is final."""
    return join_catalog([catalog_part(c, resolve) for c in connections])


def join_catalog(parts: list[str]) -> str | None:
    """``POLYAXON_CONNECTIONS_CATALOG`` of its entries' JSON (``catalog_part``), in order."""
    if not parts:
        return None
    # what json.dumps({"connections": entries}, separators=(",", ":")) writes, entry by entry
    return '{"connections":[' + ",".join(parts) + "]}"


def _compact_json() -> Callable[[Any], str]:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` as one kept function.
    ``json.dumps`` with separators builds an encoder per call, which cost more than writing a
    catalog entry itself; the C encoder it builds is made once here and writes the very same
    text.  It keeps no markers (``check_circular=False``): an entry is a tree of fresh dicts and
    lists (``catalog_entry``), and an encoder without them holds no state between calls."""
    make = getattr(json.encoder, "c_make_encoder", None)  # not in the typeshed stubs
    if make is None:  # a Python without the _json accelerator
        return lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    encoder = make(None, json.JSONEncoder().default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(encoder(value, 0))


_compact = _compact_json()


def catalog_entry_json(conn: Any) -> str:
    """``catalog_entry(conn)`` as compact JSON (a part of ``POLYAXON_CONNECTIONS_CATALOG``).

    Written field by field rather than as a tree of dicts handed to the encoder: a render writes
    one per connection, and the tree cost more to build than the text.  The text is the very one
    ``_compact(catalog_entry(conn))`` gives (tests/k8s/test_render_fast.py compares the two on
    generated connections); a schema pydantic cannot write as UTF-8 JSON (a lone surrogate) goes
    the plain way."""
    out = '{"name":' + _string(conn.name) + ',"kind":' + _string(conn.kind)
    if conn.description is not None:
        out += ',"description":' + _string(conn.description)
    if conn.tags:
        out += ',"tags":' + _compact(list(conn.tags))
    schema = conn.schema_
    if schema is not None:
        out += ',"schema":' + _schema_json(schema)
    if conn.secret is not None:
        out += ',"secret":' + _resource_json(conn.secret)
    if conn.config_map is not None:
        out += ',"configMap":' + _resource_json(conn.config_map)
    if conn.env:
        literal = _literal_env(conn)
        if literal:
            out += ',"env":' + _compact(literal)
    if conn.annotations:
        out += ',"annotations":' + _compact(dict(conn.annotations))
    return out + "}"


#: a str as a JSON string, as ``_compact`` writes one (``ensure_ascii=False``)
_string: Callable[[str], str] = json.encoder.encode_basestring


def _schema_json(schema: Any) -> str:
    if isinstance(schema, dict):
        return _compact(schema)
    try:
        # pydantic's own writer: the keys of ``to_dict()`` in its order, compact, non-ASCII as is
        text: str = schema.__pydantic_serializer__.to_json(schema, by_alias=True, exclude_none=True).decode()
    except PydanticSerializationError:
        return _compact(schema.to_dict())
    return text


def _resource_json(resource: Any) -> str:
    """``_resource_entry(resource)`` as compact JSON."""
    out = '{"name":' + _string(resource.name)
    if resource.mount_path is not None:
        out += ',"mountPath":' + _string(resource.mount_path)
    if resource.items:
        entries = [_item_entry(i) for i in resource.items]
        out += ',"items":[' + ",".join([_string(e) if type(e) is str else _compact(e) for e in entries]) + "]"
    if resource.default_mode is not None:
        out += ',"defaultMode":' + _string(_mode_string(resource.default_mode))
    return out + "}"


def catalog_part(conn: Any, resolve: Callable[[str], str] | None = None) -> str:
    """One connection's entry of ``POLYAXON_CONNECTIONS_CATALOG``, compact JSON, its templates
    resolved by ``resolve`` value by value (see ``connections_catalog``)."""
    # a catalog's connection keeps its entry's JSON (``catalog_json``); other objects are written now
    text = getattr(conn, "catalog_json", None)
    if not isinstance(text, str):
        text = catalog_entry_json(conn)
    # a template starts with "{{", which JSON writes as is inside a string and never produces
    # between values (an object opens with '{"' or '{}'): without one in the text, no string holds
    # a template, and the resolvers leave template-free strings as they are
    if resolve is None or "{{" not in text:
        return text
    return json.dumps(_map_strings(catalog_entry(conn), resolve), separators=(",", ":"), ensure_ascii=False)


def csi_mounts(connections: Any) -> str | None:
    """``STORES_CSI_MOUNTS`` for ``connections``: compact JSON ``{name: mountPath}`` of those
    mounted through a CSI driver (``mount:``), sorted by name; ``None`` when none is.  Polyaxon's
    catalog cannot carry the mount (its ``V1Connection`` forbids other keys), so the in-run
    lookup reads it here."""
    mounts = {c.name: c.mount.mount_path for c in connections if getattr(c, "mount", None) is not None}
    if not mounts:
        return None
    return json.dumps(dict(sorted(mounts.items())), separators=(",", ":"), ensure_ascii=False)
