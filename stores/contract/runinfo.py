"""Who a run is: the identity the contract, the globals and the renderer share (tier 0).  ``OUTPUTS_SUBPATH_TEMPLATE`` and ``RUN_FOLDER_TEMPLATE``, the run's
folders in a store, are ``stores.contract.names``'s (re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .names import OUTPUTS_SUBPATH_TEMPLATE, RUN_FOLDER_TEMPLATE, project_unique_name

__all__ = ["RunInfo", "OUTPUTS_SUBPATH_TEMPLATE", "RUN_FOLDER_TEMPLATE"]


@dataclass(frozen=True)
class RunInfo:
    """The run being compiled.  Only ``uuid`` is needed; the rest fills ``globals.*``."""

    uuid: str
    owner: str = "default"
    project: str = "default"
    name: str | None = None
    project_uuid: str | None = None
    namespace: str | None = None
    created_at: str | None = None
    compiled_at: str | None = None
    cloning_kind: str | None = None
    original_uuid: str | None = None
    is_independent: bool = True
    iteration: int | None = None
    #: anything else a caller wants in ``globals`` (status, base_url, ports, schedule_at, ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("uuid", "owner", "project"):
            value = getattr(self, attr)
            if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
                raise ValueError(f"run {attr} must be a non-empty string without '/', got {value!r}")

    @property
    def project_unique_name(self) -> str:
        return project_unique_name(self.owner, self.project)

    @property
    def run_info(self) -> str:
        return f"{self.project_unique_name}.{self.uuid}"

    def outputs_subpath(self, template: str = OUTPUTS_SUBPATH_TEMPLATE) -> str:
        try:
            sub = template.format(owner=self.owner, project=self.project, uuid=self.uuid, name=self.name or self.uuid)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"bad outputs path template {template!r}: {exc}; fields are owner, project, uuid, name"
            ) from None
        parts = [p for p in sub.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"outputs path template {template!r} gives a path with '..': {sub!r}")
        return "/".join(parts)
