"""Which stores one run gets (seed 004), tier 1.

- data: none named -> **all** data stores; names given -> exactly those (unknown name: error
  listing the known names).
- outputs: exactly one; none named -> the **first** defined (never random).

A catalog in the current spelling has no data/outputs roles: its plain ``connections`` are the
data candidates and its ``artifactsStore`` the outputs candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .catalog import Catalog
from .errors import SelectionError

__all__ = ["Selection", "RunRequest", "select"]


@dataclass(frozen=True)
class RunRequest:
    """What a run asked for.  ``data=None`` means "not said" (all); ``[]`` means none."""

    data: tuple[str, ...] | None = None
    outputs: str | None = None

    @classmethod
    def from_polyaxonfile(cls, doc: Mapping[str, Any] | None) -> "RunRequest":
        """From ``{environment: {persistence: {data: [...], outputs: name}}}``, from
        ``{persistence: {...}}`` or from the inner ``persistence`` mapping itself.  A polyaxonfile
        whose ``environment`` has no ``persistence`` asks for nothing (all data, first outputs)."""
        doc = doc or {}
        if not isinstance(doc, Mapping):
            raise SelectionError(f"expected a mapping, got {type(doc).__name__}")
        where = "environment.persistence"
        if "environment" in doc:
            env = doc["environment"] or {}
            if not isinstance(env, Mapping):
                raise SelectionError(f"environment: expected a mapping, got {type(env).__name__}")
            # the environment section carries other settings (resources, node selectors...)
            persistence = env.get("persistence")
        elif "persistence" in doc:
            persistence = doc["persistence"]
        elif "version" in doc or "kind" in doc:  # a whole polyaxonfile that selects nothing
            persistence = {}
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
    """The stores a run gets, in a deterministic order."""

    data: tuple[Any, ...]
    outputs: Any | None
    catalog: Catalog

    @property
    def connections(self) -> tuple[Any, ...]:
        """Every selected connection, data first then outputs, each once."""
        out = list(self.data)
        if self.outputs is not None and all(c.name != self.outputs.name for c in out):
            out.append(self.outputs)
        return tuple(out)


def _candidates(catalog: Catalog) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    data = catalog.data or catalog.connections
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
    if data is None:
        chosen = data_candidates
    else:
        names = list(data)
        by_name = {c.name: c for c in data_candidates}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            known = ", ".join(by_name) or "(none)"
            raise SelectionError(
                f"unknown data store{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; known: {known}"
            )
        seen: set[str] = set()
        chosen = tuple(by_name[n] for n in names if not (n in seen or seen.add(n)))
    if outputs is None:
        out = output_candidates[0] if output_candidates else None
    else:
        by_name = {c.name: c for c in output_candidates}
        if outputs not in by_name:
            known = ", ".join(by_name) or "(none)"
            raise SelectionError(f"unknown outputs store {outputs!r}; known: {known}")
        out = by_name[outputs]
    return Selection(tuple(chosen), out, catalog)
