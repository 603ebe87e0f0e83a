"""The ``globals.*`` context of a run (Polyaxon docs, Context > globals:
https://polyaxon.com/docs/core/context/globals/), tier 0: stdlib only.

Always set (a value may be ``None`` when the run does not have it, e.g. an unnamed run):
``owner_name, project_name, project_unique_name, project_uuid, run_info, name, uuid, namespace,
context_path, artifacts_path, run_artifacts_path, run_outputs_path, created_at, compiled_at,
cloning_kind, original_uuid, is_independent, iteration``.

Set only when their condition holds; otherwise asking for them is an error that says why:

- ``store_path``: the artifacts store is mounted (``plugins.mountArtifactsStore``): its
  mountPath or bucket URL.
- ``base_url``, ``ports``: service runs.  ``base_url`` defaults to Polyaxon's
  ``/services/v1/<namespace>/<owner>/<project>/runs/<uuid>``.
- ``schedule_at``: runs created by a schedule.
- ``status``, ``condition``, ``started_at``, ``finished_at``, ``duration``: a referenced run
  (``ref: runs.UUID``, ``ref: dag``, ``ref: ops.NAME``), taken from ``RunInfo.extra``.
- ``replica_role``, ``replica_index``, ``replica_name``, ``connections``, ``init``: one replica of
  a distributed job (``replica_globals``).

Paths are ``stores.contract.names``'s (the one place the run layout is computed), under its
``CONTEXT_PATH`` (``/plx-context``; the docs' ``/plx_context`` is the same directory under its
older spelling): ``artifacts_path = <context>/artifacts``,
``run_artifacts_path = <artifacts_path>/<uuid>``, ``run_outputs_path = <run_artifacts_path>/outputs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from ..errors import TemplateError
from .names import CONTEXT_PATH, artifacts_path as _artifacts_path, run_artifacts_path as _run_artifacts_path, run_outputs_path
from .runinfo import RunInfo

__all__ = [
    "BASE_NAMES",
    "CONDITIONAL_NAMES",
    "REFERENCE_NAMES",
    "REPLICA_NAMES",
    "KNOWN_NAMES",
    "Globals",
    "ReplicaSpec",
    "compute_globals",
    "replica_globals",
    "distributed_globals",
]

BASE_NAMES = (
    "owner_name", "project_name", "project_unique_name", "project_uuid", "run_info", "name", "uuid",
    "namespace", "context_path", "artifacts_path", "run_artifacts_path", "run_outputs_path",
    "created_at", "compiled_at", "cloning_kind", "original_uuid", "is_independent", "iteration",
)
REFERENCE_NAMES = ("status", "condition", "started_at", "finished_at", "duration")
REPLICA_NAMES = ("replica_role", "replica_index", "replica_name", "connections", "init")
CONDITIONAL_NAMES = ("store_path", "base_url", "ports", "schedule_at", *REFERENCE_NAMES, *REPLICA_NAMES)
KNOWN_NAMES = BASE_NAMES + CONDITIONAL_NAMES

# Why an always-set variable can still be None, for the error a template gets.
_EMPTY_REASONS = {
    "name": "the run has no name",
    "project_uuid": "the project uuid was not given",
    "namespace": "no namespace was given",
    "created_at": "the creation time was not given",
    "compiled_at": "the compilation time was not given",
    "cloning_kind": "the run was not restarted or copied from another run",
    "original_uuid": "the run was not restarted or copied from another run",
    "iteration": "the run is not part of an iterative process",
}
_REFERENCE_ONLY = "it is only set on a referenced run (ref: runs.UUID, ref: dag or ref: ops.NAME)"
_REPLICA_ONLY = "it is only set for a replica of a distributed job"


class Globals(Mapping[str, Any]):
    """Read-only ``globals.*`` values.  Iterating gives the variables this run has; indexing an
    unknown or unavailable one raises ``TemplateError`` saying which and why."""

    __slots__ = ("_values", "_missing")

    def __init__(self, values: Mapping[str, Any], missing: Mapping[str, str] | None = None):
        self._values = dict(values)
        self._missing = {k: v for k, v in (missing or {}).items() if k not in self._values}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Globals":
        if isinstance(values, Globals):
            return values
        return cls(values)

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._missing:
            raise TemplateError(f"globals.{name} is not available for this run: {self._missing[name]}")
        raise TemplateError(f"unknown variable globals.{name}; known: {', '.join(self.known)}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Globals({self._values!r})"

    @property
    def known(self) -> tuple[str, ...]:
        """Every variable name, available or not."""
        return tuple(self._values) + tuple(k for k in self._missing if k not in self._values)

    def why_missing(self, name: str) -> str | None:
        """The reason a variable is unset (or empty) for this run, else None."""
        if name in self._missing:
            return self._missing[name]
        if name in self._values and self._values[name] is None:
            return _EMPTY_REASONS.get(name, "it has no value for this run")
        return None

    def with_values(self, values: Mapping[str, Any]) -> "Globals":
        """A copy with ``values`` added (they stop being missing)."""
        return Globals({**self._values, **values}, self._missing)


def _store_path(artifacts_store: Any) -> str | None:
    if artifacts_store is None or isinstance(artifacts_store, str):
        return artifacts_store
    path: str | None = artifacts_store.store_path  # a catalog connection: mountPath or bucket URL
    return path


def compute_globals(
    run: RunInfo,
    *,
    kind: str = "job",
    artifacts_store: Any = None,
    mount_artifacts_store: bool = False,
    base_url: str | None = None,
    ports: Sequence[int] | None = None,
    schedule_at: Any = None,
    reference: bool = False,
    context_path: str = CONTEXT_PATH,
) -> Globals:
    """The globals of ``run``.  ``artifacts_store`` is a connection or its path/URL; it becomes
    ``store_path`` only with ``mount_artifacts_store``.  ``kind="service"`` adds ``base_url`` and
    ``ports``; ``reference=True`` adds the status fields from ``run.extra``.  Other ``run.extra``
    keys are added as they are."""
    values = _base_values(run, context_path)
    clash = sorted(set(run.extra) & set(BASE_NAMES))
    if clash:
        raise TemplateError(f"RunInfo.extra may not override globals.{clash[0]}; set the RunInfo field instead")
    extra = dict(run.extra)
    missing: dict[str, str] = {}
    _add_store_path(values, missing, artifacts_store, mount_artifacts_store)
    _add_service(values, missing, extra, run, kind, base_url, ports)
    _add_schedule(values, missing, extra, schedule_at)
    _add_reference(values, missing, extra, reference)
    values.update(extra)
    return Globals(values, missing)


def _base_values(run: RunInfo, context_path: str) -> dict[str, Any]:
    """The globals every run has, from its ``RunInfo`` and the context path."""
    run_artifacts_path = _run_artifacts_path(context_path, run.uuid)
    values: dict[str, Any] = {
        "owner_name": run.owner,
        "project_name": run.project,
        "project_unique_name": run.project_unique_name,
        "project_uuid": run.project_uuid,
        "run_info": run.run_info,
        "name": run.name,
        "uuid": run.uuid,
        "namespace": run.namespace,
        "context_path": context_path,
        "artifacts_path": _artifacts_path(context_path),
        "run_artifacts_path": run_artifacts_path,
        "run_outputs_path": run_outputs_path(run_artifacts_path),
        "created_at": run.created_at,
        "compiled_at": run.compiled_at,
        "cloning_kind": run.cloning_kind,
        "original_uuid": run.original_uuid,
        "is_independent": run.is_independent,
        "iteration": run.iteration,
    }
    return values


def _add_store_path(values: dict[str, Any], missing: dict[str, str], artifacts_store: Any,
                    mount_artifacts_store: bool) -> None:
    """``store_path``, or why it is missing."""
    path = _store_path(artifacts_store) if mount_artifacts_store else None
    if path:
        values["store_path"] = path
    elif mount_artifacts_store:
        missing["store_path"] = "mountArtifactsStore is on but no artifacts store is defined"
    else:
        missing["store_path"] = "the artifacts store is not mounted (set plugins.mountArtifactsStore: true)"


def _add_service(values: dict[str, Any], missing: dict[str, str], extra: dict[str, Any], run: RunInfo,
                 kind: str, base_url: str | None, ports: Sequence[int] | None) -> None:
    """``base_url`` and ``ports`` of a service (from ``extra`` when not given), or why they are missing."""
    base_url = base_url or extra.pop("base_url", None)
    ports = ports if ports is not None else extra.pop("ports", None)
    if kind == "service":
        if base_url is None and run.namespace:
            base_url = f"/services/v1/{run.namespace}/{run.owner}/{run.project}/runs/{run.uuid}"
        if base_url is None:
            missing["base_url"] = "the service's base URL needs the run's namespace, which was not given"
        else:
            values["base_url"] = base_url
        if ports is None:
            missing["ports"] = "the service declares no ports"
        else:
            values["ports"] = list(ports)
    else:
        why = f"it is only set for services, and this run is a {kind}"
        missing["base_url"] = missing["ports"] = why


def _add_schedule(values: dict[str, Any], missing: dict[str, str], extra: dict[str, Any], schedule_at: Any) -> None:
    """``schedule_at`` (taken from ``extra`` when not given), or why it is missing."""
    schedule_at = schedule_at if schedule_at is not None else extra.pop("schedule_at", None)
    if schedule_at is not None:
        values["schedule_at"] = schedule_at
    else:
        missing["schedule_at"] = "the run was not created by a schedule"


def _add_reference(values: dict[str, Any], missing: dict[str, str], extra: dict[str, Any], reference: bool) -> None:
    """The status fields of a referenced run (from ``extra``), and the replica-only names as missing."""
    for name in REFERENCE_NAMES:
        if reference:
            values[name] = extra.pop(name, None)
        else:
            missing[name] = _REFERENCE_ONLY
            extra.pop(name, None)
    for name in REPLICA_NAMES:
        missing[name] = _REPLICA_ONLY


@dataclass(frozen=True)
class ReplicaSpec:
    """One replica role of a distributed job: how many, and its own connections and init."""

    replicas: int = 1
    connections: tuple[str, ...] = ()
    init: tuple[Any, ...] = ()


def replica_globals(
    base: Globals,
    role: str,
    index: int,
    *,
    connections: Sequence[str] = (),
    init: Sequence[Any] = (),
) -> Globals:
    """``base`` augmented for one replica: role, index, ``<role>-<index>`` and its own
    connections (names) and init section."""
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise TemplateError(f"replica index must be a non-negative integer, got {index!r}")
    return base.with_values({
        "replica_role": role,
        "replica_index": index,
        "replica_name": f"{role}-{index}",
        "connections": list(connections),
        "init": list(init),
    })


def distributed_globals(base: Globals, replicas: Mapping[str, ReplicaSpec | int]) -> dict[str, list[Globals]]:
    """``{role: [globals of replica 0, 1, ...]}`` for every role of a distributed job."""
    out: dict[str, list[Globals]] = {}
    for role, spec in replicas.items():
        spec = ReplicaSpec(spec) if isinstance(spec, int) else spec
        if spec.replicas < 0:
            raise TemplateError(f"replica role {role!r}: replicas must be >= 0, got {spec.replicas}")
        out[role] = [
            replica_globals(base, role, i, connections=spec.connections, init=spec.init)
            for i in range(spec.replicas)
        ]
    return out
