"""Run plugins (Polyaxon docs, Specification > Plugins, ``V1Plugins``:
https://polyaxon.com/docs/core/specification/plugins/), in the docs' YAML spelling or in Python
(tier 1).

Defaults are the docs': auth on, docker off, shm on, mountArtifactsStore off (the docs' field
text says "disabled by default"; its argument list says otherwise — we follow the field text,
which is also what Polyaxon does), collectArtifacts / collectLogs / collectResources / autoResume
on, externalHost off, logLevel unset, sidecar unset.  A key given as ``null`` (the docs' YAML
usage lists them bare) means "the default".  Unknown keys are errors.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .contract.names import CONTEXT_MOUNT
from .names import check_connection_name, check_mount_path, check_relative_path

__all__ = [
    "Plugins",
    "ShmConfig",
    "SidecarConfig",
    "DataDownload",
    "DEFAULT_SYNC_INTERVAL",
    "DATA_DIR",
    "parse_plugins",
    "as_plugins",
    "artifacts_store",
]

DEFAULT_SYNC_INTERVAL = 10  # seconds between two syncs of the artifacts sidecar
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: where copies into the pod go by default: ``<DATA_DIR>/<connection name>`` (Polyaxon's init
#: copies land in the artifacts context, ``/plx-context/artifacts/<connection name>``)
DATA_DIR = CONTEXT_MOUNT


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=to_camel)


class ShmConfig(_Model):
    """``/dev/shm`` as a memory-backed emptyDir; ``size_limit`` caps it (a Kubernetes quantity)."""

    enabled: bool = True
    size_limit: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


class SidecarConfig(_Model):
    """Overrides of the artifacts sidecar."""

    image: str | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    sync_interval: int = Field(default=DEFAULT_SYNC_INTERVAL, ge=1, le=86400)
    resources: dict[str, dict[str, str | int]] | None = None

    @field_validator("resources")
    @classmethod
    def _resource_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            unknown = set(value) - {"requests", "limits"}
            if unknown:
                raise ValueError(f"resources takes 'requests' and 'limits', got {sorted(unknown)!r}")
        return value


class Plugins(_Model):
    auth: bool = True
    docker: bool = False
    shm: ShmConfig = ShmConfig()
    mount_artifacts_store: bool = False
    collect_artifacts: bool = True
    collect_logs: bool = True
    collect_resources: bool = True
    auto_resume: bool = True
    external_host: bool = False
    log_level: str | None = None
    sidecar: SidecarConfig = SidecarConfig()

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if v is not None}
            shm = data.get("shm")
            if isinstance(shm, bool):
                data["shm"] = {"enabled": shm}
        return data

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        upper = value.upper()
        if upper == "WARN":
            upper = "WARNING"
        if upper not in _LOG_LEVELS:
            raise ValueError(f"logLevel must be one of {', '.join(_LOG_LEVELS)}, got {value!r}")
        return upper

    @property
    def collects(self) -> bool:
        """Whether the run needs the context volume and the artifacts sidecar."""
        return self.collect_artifacts or self.collect_logs


def parse_plugins(doc: Any, *, file: str | None = None) -> Plugins:
    """From the docs' YAML spelling (``{plugins: {...}}`` or the inner mapping); every problem
    is reported as a ``ValuesError`` naming ``plugins.<key>``."""
    from pydantic import ValidationError

    from .errors import Problem, ValuesError

    if isinstance(doc, dict) and set(doc) == {"plugins"}:
        doc = doc["plugins"]
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ValuesError([Problem(("plugins",), f"expected a mapping, got {type(doc).__name__}", file)])
    try:
        return Plugins.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ("plugins", *err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown plugin key {err['loc'][-1]!r}"
            problems.append(Problem(loc, f"{msg}, got {err.get('input')!r}" if err["type"] not in ("extra_forbidden", "value_error") else msg, file))
        raise ValuesError(problems) from None


def as_plugins(value: Any) -> Plugins | None:
    """A ``Plugins`` as is, a mapping in the docs' spelling parsed, ``None`` kept (no plugins)."""
    if value is None or isinstance(value, Plugins):
        return value
    return parse_plugins(value)


def artifacts_store(selection: Any) -> Any:
    """The store the plugins collect to and mount: the catalog's ``artifactsStore``; in a legacy
    catalog (which has none) the run's selected outputs store plays that role."""
    store = selection.catalog.artifacts_store
    return store if store is not None else selection.outputs


class DataDownload(_Model):
    """One bucket (or a prefix in it) copied into the pod before the main container starts.

    ``name``: a selected data store; ``prefix``: a key under the store's root ("": all of it);
    ``path``: where it lands (default ``/plx-context/artifacts/<name>``, in the run context); a
    path outside the context gets an emptyDir of its own, mounted there in the main container
    too, as Polyaxon does for an init ``path``.
    """

    name: str
    prefix: str = ""
    path: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_connection_name(value, "data store name")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_relative_path(value, "prefix") if value.strip("/") else ""

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_mount_path(value)

    @property
    def target(self) -> str:
        return self.path or f"{DATA_DIR}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> "DataDownload":
        """``NAME``, ``NAME:PREFIX`` or ``NAME:PREFIX=PATH`` (the CLI spelling)."""
        spec, _, path = text.partition("=")
        name, _, prefix = spec.partition(":")
        return cls(name=name, prefix=prefix, path=path or None)
