"""Which stores one run gets (Polyaxon docs, "Customize Data and Outputs", Scheduling:
https://docs.polyaxon.com/customization/customize_outputs_and_data/), tier 1.

- data: none named -> **all** data stores; names given -> exactly those (unknown name: error
  listing the known names).
- outputs: exactly one; none named -> the **first** defined (never random).

A catalog in the current spelling has no data/outputs roles: its plain storage ``connections``
are the data candidates and its ``artifactsStore`` the outputs candidate.  A Polyaxon 2.x
polyaxonfile selects with ``run.connections`` (any catalogued connection, the artifacts store
included; Polyaxon's other kinds such as git or registry become ``Selection.others``: their
secrets, config maps and env, no data path) and ``run.init`` (``[{connection, paths, path}]``:
copies into the run context before the main container starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .catalog import Catalog
from .errors import SelectionError

__all__ = ["Selection", "RunRequest", "InitRequest", "select"]


@dataclass(frozen=True)
class InitRequest:
    """One ``run.init`` entry of a polyaxonfile that copies from a connection: ``connection``
    (``None``: the artifacts store), the ``paths`` in it (empty: all of it) and ``path``, the
    folder it lands in (``None``: ``/plx-context/artifacts/<connection>``, or
    ``/plx-context/artifacts`` for the artifacts store, as Polyaxon does)."""

    connection: str | None = None
    #: ``(from, to)``: a path in the store and where it lands under ``path``
    paths: tuple[tuple[str, str], ...] = ()
    path: str | None = None

    @classmethod
    def parse(cls, doc: Any, where: str) -> "InitRequest | None":
        """From one ``init`` mapping; ``None`` for entries that copy nothing of ours (git,
        dockerfile, file, tensorboard, a bare container): Polyaxon's, not ours to render."""
        if not isinstance(doc, Mapping):
            raise SelectionError(f"{where}: expected a mapping, got {type(doc).__name__}")
        conn = doc.get("connection")
        paths = doc.get("paths")
        artifacts = doc.get("artifacts")
        if conn is None and paths is None and artifacts is None:
            return None
        if conn is not None and not isinstance(conn, str):
            raise SelectionError(f"{where}.connection: expected a name, got {conn!r}")
        out: list[tuple[str, str]] = []
        for i, p in enumerate(paths or []):
            # a path in the store, copied to the same relative path; or a [from, to] pair
            pair = tuple(p) if isinstance(p, (list, tuple)) and len(p) == 2 else (p, p)
            if not all(isinstance(x, str) and x and not x.startswith("/") and ".." not in x.split("/") for x in pair):
                raise SelectionError(f"{where}.paths[{i}]: expected a relative path in the store, got {p!r}")
            out.append(pair)
        if isinstance(artifacts, Mapping):
            for key in ("files", "dirs"):
                for i, p in enumerate(artifacts.get(key) or []):
                    if not isinstance(p, str) or not p or p.startswith("/") or ".." in p.split("/"):
                        raise SelectionError(f"{where}.artifacts.{key}[{i}]: expected a relative path, got {p!r}")
                    out.append((p, p))
        path = doc.get("path")
        if path is not None:
            from .names import check_mount_path

            try:
                path = check_mount_path(path)
            except ValueError as exc:
                raise SelectionError(f"{where}.path: {exc}") from None
        return cls(conn, tuple(out), path)


@dataclass(frozen=True)
class RunRequest:
    """What a run asked for.  ``data=None`` means "not said" (all); ``[]`` means none.
    ``init``: the ``run.init`` copies."""

    data: tuple[str, ...] | None = None
    outputs: str | None = None
    init: tuple[InitRequest, ...] = ()

    @classmethod
    def from_polyaxonfile(cls, doc: Mapping[str, Any] | None) -> "RunRequest":
        """From ``{environment: {persistence: {data: [...], outputs: name}}}``, from
        ``{persistence: {...}}`` or from the inner ``persistence`` mapping itself.  A polyaxonfile
        whose ``environment`` has no ``persistence`` asks for nothing (all data, first outputs)."""
        doc = doc or {}
        if not isinstance(doc, Mapping):
            raise SelectionError(f"expected a mapping, got {type(doc).__name__}")
        legacy = cls._from_persistence(doc)
        run = doc.get("run")
        if isinstance(doc.get("component"), Mapping):  # an operation with an inline component
            run = doc["component"].get("run", run)
        if run is None:
            return legacy
        if not isinstance(run, Mapping):
            raise SelectionError(f"run: expected a mapping, got {type(run).__name__}")
        names = run.get("connections")
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise SelectionError(f"run.connections: expected a list of names, got {names!r}")
        init_docs = run.get("init") or []
        if not isinstance(init_docs, list):
            raise SelectionError(f"run.init: expected a list, got {type(init_docs).__name__}")
        init = tuple(i for n, d in enumerate(init_docs) if (i := InitRequest.parse(d, f"run.init[{n}]")) is not None)
        data = legacy.data
        if names is not None:
            data = tuple(dict.fromkeys((*(data or ()), *names)))
        elif data is None:
            # a Polyaxon 2.x run gets the connections it names, none when it names none (the
            # legacy "all data stores" applies to the legacy selection only)
            data = ()
        return cls(data, legacy.outputs, init)

    @classmethod
    def _from_persistence(cls, doc: Mapping[str, Any]) -> "RunRequest":
        where = "environment.persistence"
        if "environment" in doc:
            env = doc["environment"] or {}
            if not isinstance(env, Mapping):
                raise SelectionError(f"environment: expected a mapping, got {type(env).__name__}")
            # the environment section carries other settings (resources, node selectors...)
            persistence = env.get("persistence")
        elif "persistence" in doc:
            persistence = doc["persistence"]
        elif "version" in doc or "kind" in doc or "run" in doc or "component" in doc:
            persistence = {}  # a whole polyaxonfile without the legacy selection
        else:
            persistence, where = doc, "persistence"
        if persistence is None:
            persistence = {}
        if not isinstance(persistence, Mapping):
            raise SelectionError(f"{where}: expected a mapping, got {type(persistence).__name__}")
        unknown = set(persistence) - {"data", "outputs"}
        if unknown:
            raise SelectionError(f"{where}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}; expected data, outputs")
        data = persistence.get("data")
        if isinstance(data, str):
            data = [data]
        if data is not None and not (isinstance(data, list) and all(isinstance(d, str) for d in data)):
            raise SelectionError(f"{where}.data: expected a list of names, got {data!r}")
        outputs = persistence.get("outputs")
        if outputs is not None and not isinstance(outputs, str):
            raise SelectionError(f"{where}.outputs: expected one name, got {outputs!r}")
        return cls(tuple(data) if data is not None else None, outputs)


@dataclass(frozen=True)
class Selection:
    """The stores a run gets, in a deterministic order.  ``others``: selected connections of
    Polyaxon's other kinds; ``init``: ``(InitRequest, connection)`` copies before the run."""

    data: tuple[Any, ...]
    outputs: Any | None
    catalog: Catalog
    others: tuple[Any, ...] = ()
    init: tuple[tuple[InitRequest, Any], ...] = ()

    @property
    def connections(self) -> tuple[Any, ...]:
        """Every selected connection, data first then outputs, each once."""
        out = list(self.data)
        if self.outputs is not None and all(c.name != self.outputs.name for c in out):
            out.append(self.outputs)
        return tuple(out)


def _candidates(catalog: Catalog) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    data = catalog.data or tuple(c for c in catalog.connections if c.is_storage)
    outputs = catalog.outputs or ((catalog.artifacts_store,) if catalog.artifacts_store else ())
    return tuple(data), tuple(outputs)


def select(
    catalog: Catalog,
    data: Iterable[str] | None = None,
    outputs: str | None = None,
    *,
    request: RunRequest | None = None,
) -> Selection:
    """The stores a run gets.  ``data=None``: all data stores; names: exactly those, in the
    order given, each once.  ``outputs=None``: the first outputs store defined."""
    if request is not None:
        data = request.data if data is None else data
        outputs = request.outputs if outputs is None else outputs
    if isinstance(data, str):  # one name, not an iterable of characters
        data = (data,)
    if outputs is not None and not isinstance(outputs, str):
        raise SelectionError(f"outputs: expected one store name, got {outputs!r}")
    data_candidates, output_candidates = _candidates(catalog)
    others: tuple[Any, ...] = ()
    if data is None:
        chosen = data_candidates
    else:
        names = list(data)
        by_name = {c.name: c for c in data_candidates}
        # a polyaxonfile's run.connections may name any catalogued connection: the artifacts
        # store, or one of Polyaxon's other kinds
        for role, conn in catalog.entries():
            if role in ("artifacts_store", "connection"):
                by_name.setdefault(conn.name, conn)
        unknown = [n for n in names if n not in by_name]
        if unknown:
            known = ", ".join(by_name) or "(none)"
            raise SelectionError(
                f"unknown data store{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; known: {known}"
            )
        picked = tuple(by_name[n] for n in dict.fromkeys(names))  # each once, first occurrence first
        chosen = tuple(c for c in picked if c.is_storage)
        others = tuple(c for c in picked if not c.is_storage)
    if outputs is None:
        out = output_candidates[0] if output_candidates else None
    else:
        by_name = {c.name: c for c in output_candidates}
        if outputs not in by_name:
            known = ", ".join(by_name) or "(none)"
            raise SelectionError(f"unknown outputs store {outputs!r}; known: {known}")
        out = by_name[outputs]
    init: list[tuple[InitRequest, Any]] = []
    items = request.init if request is not None else ()
    every = {c.name: c for _, c in catalog.entries()} if items else {}
    for item in items:
        name = item.connection
        conn = every.get(name) if name is not None else (catalog.artifacts_store or out)
        if conn is None:
            what = repr(name) if name is not None else "the artifacts store (none is defined)"
            raise SelectionError(f"run.init copies from {what}: not in the catalog; known: {', '.join(every) or '(none)'}")
        if not conn.is_storage:
            raise SelectionError(f"run.init copies from {conn.name!r}, a {conn.kind} connection: only stores can be copied")
        init.append((item, conn))
    return Selection(tuple(chosen), out, catalog, others, tuple(init))
