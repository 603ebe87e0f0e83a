"""What the builders of this package need of a connection (tier 0: stdlib only).

The builders (``k8s.volumes``, ``k8s.env``, ``k8s.connection``, ``k8s.plugins``) read a few
attributes of a connection and of its secret / config map; these protocols name exactly those,
so any object with them will do (``stores.models``' connections are the ones the toolkit passes).
Every member is read-only: the builders never set one.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

__all__ = [
    "ItemLike",
    "ResourceLike",
    "EnvSourceLike",
    "EnvVarLike",
    "ConnectionLike",
    "HostPathSchemaLike",
    "ClaimSchemaLike",
    "HostPathConnectionLike",
    "ClaimConnectionLike",
]


class ItemLike(Protocol):
    """One item of a secret or config map (``stores.models.KeyToPath``)."""

    @property
    def key(self) -> str: ...
    @property
    def path(self) -> str | None: ...
    @property
    def mode(self) -> int | None: ...


class ResourceLike(Protocol):
    """A connection's secret or config map (``stores.models.ConnectionResource``)."""

    @property
    def name(self) -> str: ...
    @property
    def items(self) -> Sequence[ItemLike]: ...
    @property
    def mount_path(self) -> str | None: ...
    @property
    def default_mode(self) -> int | None: ...


class EnvSourceLike(Protocol):
    """An env var's ``valueFrom`` (``stores.models.EnvVarSource``): its manifest spelling."""

    def to_dict(self) -> dict[str, Any]: ...


class EnvVarLike(Protocol):
    """One of a connection's own env entries (``stores.models.EnvVar``)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def value_from(self) -> EnvSourceLike | None: ...


class ConnectionLike(Protocol):
    """A connection as the builders read it (``stores.models.Connection``): its name and kind
    (the row of ``stores.kinds.KINDS``), its secret and config map, its own env and pod
    annotations, and the path or URL the env contract carries (``None``: not a store)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def secret(self) -> ResourceLike | None: ...
    @property
    def config_map(self) -> ResourceLike | None: ...
    @property
    def env(self) -> Sequence[EnvVarLike]: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...
    @property
    def store_path(self) -> str | None: ...


class HostPathSchemaLike(Protocol):
    """The schema of a ``host_path`` connection (``stores.models.HostPathSchema``)."""

    @property
    def host_path(self) -> str: ...
    @property
    def mount_path(self) -> str: ...
    @property
    def read_only(self) -> bool | None: ...
    @property
    def type(self) -> str | None: ...


class ClaimSchemaLike(Protocol):
    """The schema of a ``volume_claim`` connection (``stores.models.ClaimSchema``)."""

    @property
    def volume_claim(self) -> str: ...
    @property
    def mount_path(self) -> str: ...
    @property
    def read_only(self) -> bool | None: ...
    @property
    def sub_path(self) -> str | None: ...


class HostPathConnectionLike(ConnectionLike, Protocol):
    """A ``host_path`` connection: what its store volume is built from."""

    @property
    def schema_(self) -> HostPathSchemaLike: ...


class ClaimConnectionLike(ConnectionLike, Protocol):
    """A ``volume_claim`` connection: what its store volume is built from."""

    @property
    def schema_(self) -> ClaimSchemaLike: ...
