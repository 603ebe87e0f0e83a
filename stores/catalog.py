"""The catalog: every connection an admin declared, each with its role (tier 1).

Build one from a values file (``Catalog.from_file``), a dict (``Catalog.from_values``) or in
Python (``Catalog(data=[...], outputs=[...], ...)``); all three give equal catalogs for equal
input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .errors import SelectionError
from .models import Connection

__all__ = ["Catalog", "Role", "ROLES", "SINGLE_ROLES"]

Role = Literal["data", "outputs", "artifacts_store", "logs", "repos", "upload", "connection"]
#: roles in the order entries are listed
ROLES: tuple[str, ...] = ("data", "outputs", "artifacts_store", "logs", "repos", "upload", "connection")
SINGLE_ROLES: tuple[str, ...] = ("artifacts_store", "logs", "repos", "upload")


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data: tuple[Connection, ...] = ()
    outputs: tuple[Connection, ...] = ()
    artifacts_store: Connection | None = None
    logs: Connection | None = None
    repos: Connection | None = None
    upload: Connection | None = None
    connections: tuple[Connection, ...] = ()
    #: what the reader wants to know about how the catalog was read (defaults that applied)
    notes: tuple[str, ...] = ()
    #: hostPaths let past the deny list when the catalog was loaded (``allow_host_paths``); the
    #: renderer lets them through too, so one decision covers validate and render
    allowed_host_paths: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> "Catalog":
        seen: dict[str, str] = {}
        for role, conn in self.entries():
            if conn.name in seen:
                raise ValueError(
                    f"connection name {conn.name!r} is used twice ({seen[conn.name]} and {role}); "
                    "names must be unique across the catalog"
                )
            seen[conn.name] = role
        return self

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_values(
        cls, values: Any, *, file: str | None = None, lines: dict[Any, Any] | None = None, allow_host_paths: Iterable[str] = ()
    ) -> "Catalog":
        """From a parsed values document (either helm spelling, or both).  Every rule the
        renderer applies to a connection on its own is checked here (``stores.policy``);
        ``allow_host_paths``: exact hostPaths let past the deny list, here and at render."""
        from .values import catalog_from_values

        return catalog_from_values(values, file=file, lines=lines, allow_host_paths=allow_host_paths)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, file: str | None = None, allow_host_paths: Iterable[str] = ()) -> "Catalog":
        from .values import catalog_from_yaml

        return catalog_from_yaml(text, file=file, allow_host_paths=allow_host_paths)

    @classmethod
    def from_file(cls, path: str | Path, *, allow_host_paths: Iterable[str] = ()) -> "Catalog":
        from .values import catalog_from_file

        return catalog_from_file(path, allow_host_paths=allow_host_paths)

    # -- queries ---------------------------------------------------------------------------

    def entries(self) -> Iterator[tuple[str, Any]]:
        """``(role, connection)`` for every connection, in role order then definition order."""
        for role in ROLES:
            if role in SINGLE_ROLES:
                conn = getattr(self, role)
                if conn is not None:
                    yield role, conn
            else:
                yield from ((role, c) for c in getattr(self, "connections" if role == "connection" else role))

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return (conn for _, conn in self.entries())

    def __len__(self) -> int:
        return sum(1 for _ in self.entries())

    def names(self) -> list[str]:
        return [c.name for c in self]

    def get(self, name: str) -> Any:
        for conn in self:
            if conn.name == name:
                return conn
        raise SelectionError(f"no connection named {name!r}; known: {', '.join(self.names()) or '(none)'}")

    def role_of(self, name: str) -> str:
        for role, conn in self.entries():
            if conn.name == name:
                return role
        raise SelectionError(f"no connection named {name!r}; known: {', '.join(self.names()) or '(none)'}")
