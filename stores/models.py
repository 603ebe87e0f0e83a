"""Connection models: one per kind, selected by ``kind`` (tier 1: pydantic).

The current Polyaxon spelling is the canonical one::

    {name, kind, schema: {...}, secret: {name, items, mountPath, defaultMode},
     configMap: {...}, env: [...], annotations: {...}, description, tags}

Python attribute names are snake_case; documents use the camelCase aliases.  Every model forbids
unknown keys and is frozen, so two catalogs built from equal input compare equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Callable, ClassVar, Literal, Union

from pydantic import BeforeValidator, Field, TypeAdapter, model_validator

from . import names, redact
from .envmodels import (  # the env models live there; re-exported here
    ENV_SOURCES,  # noqa: F401
    EnvList,
    EnvVar,
    EnvVarSource,  # noqa: F401
    KeySelector,  # noqa: F401
    ObjectFieldSelector,  # noqa: F401
    ResourceFieldSelector,  # noqa: F401
)
from .kinds import KINDS, OTHER_KINDS, KindRow
from .mounts import GcsMount, S3Mount, WasbMount
from .workload_identity import Identity
from .modelbase import (  # the shared field types live there; re-exported here
    _NOT_DOTDOT,  # noqa: F401
    ConnectionName,
    FileMode,
    Flag,
    HostPath,
    MountPath,
    Name,  # noqa: F401
    RelPath,
    ResourceName,
    SecretKey,
    _checked,
    _Model,
    kept,
    drop_nulls,
)

__all__ = [
    "KeyToPath",
    "ConnectionResource",
    "Identity",
    "EnvVar",
    "HostPathSchema",
    "ClaimSchema",
    "BucketSchema",
    "S3Schema",
    "GcsSchema",
    "WasbSchema",
    "HostPathConnection",
    "ClaimConnection",
    "S3Connection",
    "GcsConnection",
    "WasbConnection",
    "OtherConnection",
    "ConnectionName",
    "Connection",
    "StorageConnection",
    "CONNECTION_MODELS",
    "connection_adapter",
    "Flag",
    "parse_connection",
    "drop_nulls",
]


def _item_from_string(value: Any) -> Any:
    # Polyaxon writes secret items as bare key names; Kubernetes wants {key, path}.
    if isinstance(value, str):
        return {"key": value, "path": value}
    return value


class KeyToPath(_Model):
    """One item of a secret or config map: which key, and the file name it is mounted as."""

    key: SecretKey
    path: RelPath | None = None
    mode: FileMode | None = None

    @model_validator(mode="after")
    def _default_path(self) -> "KeyToPath":
        if self.path is None:
            object.__setattr__(self, "path", self.key)
        return self


Item = Annotated[
    KeyToPath,
    BeforeValidator(_item_from_string, json_schema_input_type=Union[SecretKey, KeyToPath]),
]


class ConnectionResource(_Model):
    """A Secret or ConfigMap a connection needs.

    With ``mount_path`` it is mounted read-only there; with ``items`` and no mount path each item
    becomes one env var from a ``secretKeyRef``; with neither, the whole resource goes to
    ``envFrom``.
    """

    name: ResourceName
    items: tuple[Item, ...] = ()
    mount_path: MountPath | None = None
    default_mode: FileMode | None = None
    #: Polyaxon's agent-level flag (mount this resource in every run); kept so its files load,
    #: not acted on: a run gets the resources of the connections it selects
    is_requested: Flag | None = None

    @model_validator(mode="after")
    def _unique_items(self) -> "ConnectionResource":
        seen: set[str] = set()
        for item in self.items:
            if item.path in seen:
                raise ValueError(f"two items are mounted as the same file {item.path!r}")
            seen.add(item.path)  # type: ignore[arg-type]
        return self


if TYPE_CHECKING:  # the str it checks (see stores.modelbase)
    AnnotationKey = str
else:
    AnnotationKey = _checked(names.check_annotation_key, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


# ---- schemas, one per kind ------------------------------------------------------------------


class HostPathSchema(_Model):
    host_path: HostPath
    mount_path: MountPath
    read_only: Flag | None = None
    #: Kubernetes hostPath type; empty means no check.
    type: Literal[
        "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
        "BlockDevice",
    ] | None = None


class ClaimSchema(_Model):
    volume_claim: ResourceName
    mount_path: MountPath
    read_only: Flag | None = None
    sub_path: RelPath | None = None


def _bucket_checker(kind: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        return names.parse_bucket(kind, value).url

    return check


#: a prefix with a '.' or '..' segment, or an empty segment inside it (parse_bucket refuses them)
_BAD_PREFIX = r"^[a-z0-9]+://[^/]*/((.*/)?\.\.?(/|$)|.*[^/]//+[^/])"


def bucket_keywords(kind: str) -> dict[str, Any]:
    """The JSON-schema keywords of a bucket URL of ``kind`` (shared with the legacy spelling):
    the patterns never match user-info credentials; a signed-URL / SAS query is refused apart
    (stores.redact's policy, as parse_bucket applies it)."""
    entry = KINDS[kind]
    bad = {"anyOf": [{"pattern": _BAD_PREFIX}, {"pattern": redact.SIGNED_QUERY_PATTERN}]}
    extra = {"allOf": [{"pattern": p} for p in entry.bucket_extra_patterns]} if entry.bucket_extra_patterns else {}
    return {"pattern": entry.bucket_pattern, "not": bad, **extra}


def _bucket_type(kind: str) -> Any:
    return _checked(_bucket_checker(kind), **bucket_keywords(kind))


class BucketSchema(_Model):
    bucket: str
    #: handles of the store refuse writes (``stores.handles``), the sidecar never writes to it;
    #: give the connection read-only credentials too (see the credential-mode docs)
    read_only: Flag | None = None

    @kept
    def parsed(self) -> names.BucketURL:
        # parsed once per model: the renderer asks for it several times per connection
        return names.parse_bucket(self._kind, self.bucket)  # type: ignore[attr-defined]


class S3Schema(BucketSchema):
    _kind = "s3"
    bucket: _bucket_type("s3")  # type: ignore[valid-type]


class GcsSchema(BucketSchema):
    _kind = "gcs"
    bucket: _bucket_type("gcs")  # type: ignore[valid-type]


class WasbSchema(BucketSchema):
    _kind = "wasb"
    bucket: _bucket_type("wasb")  # type: ignore[valid-type]


# ---- connections ----------------------------------------------------------------------------


class _ConnectionBase(_Model):
    # one credential mode per connection, for helm too (``_one_credential_mode`` says which)
    model_config = {**_Model.model_config,
                    "json_schema_extra": {"not": {"required": ["secret", "identity"]}}}

    name: ConnectionName
    description: str | None = None
    tags: tuple[str, ...] = ()
    secret: ConnectionResource | None = None
    config_map: ConnectionResource | None = None
    env: EnvList = ()
    annotations: dict[AnnotationKey, str] = Field(default_factory=dict)
    #: workload identity instead of a key (bucket kinds; ``Identity``)
    identity: Identity | None = None

    @property
    def info(self) -> KindRow:
        return KINDS[self.kind]  # type: ignore[attr-defined]

    @property
    def is_storage(self) -> bool:
        """A store of ours (host path, claim, bucket), not one of Polyaxon's other kinds."""
        return True

    @property
    def is_bucket(self) -> bool:
        return KINDS[self.kind].is_bucket  # type: ignore[attr-defined]

    @property
    def mount_path(self) -> str | None:
        """Where the store is mounted in the container: a volume's ``schema.mountPath``, a
        CSI-mounted bucket's ``mount.mountPath``; ``None`` for a bucket reached as a bucket."""
        mount = getattr(self, "mount", None)
        if mount is not None:
            path: str | None = mount.mount_path
            return path
        return getattr(self.schema_, "mount_path", None)  # type: ignore[attr-defined]

    @property
    def bucket(self) -> names.BucketURL | None:
        if isinstance(self.schema_, BucketSchema):  # type: ignore[attr-defined]
            return self.schema_.parsed  # type: ignore[attr-defined]
        return None

    @kept
    def store_path(self) -> str:
        """The mountPath for volumes and CSI-mounted buckets, the bucket URL for other buckets:
        what the env contract carries (worked out once: the model is frozen)."""
        schema = self.schema_  # type: ignore[attr-defined]
        if isinstance(schema, BucketSchema) and getattr(self, "mount", None) is None:
            # the field holds what its validator made of the URL, ``parse_bucket(...).url``:
            # the bucket's URL without parsing it a second time (a render asks every connection)
            url: str = schema.bucket
            return url
        return self.mount_path  # type: ignore[return-value]

    @property
    def read_only(self) -> bool:
        """Declared read-only (``schema.readOnly``): its handles refuse writes."""
        return bool(getattr(self.schema_, "read_only", None))  # type: ignore[attr-defined]

    @kept
    def catalog_json(self) -> str:
        """This connection's entry of ``POLYAXON_CONNECTIONS_CATALOG``, compact JSON, templates
        unresolved (``stores.contract.catalog_entry_json``): the model is frozen, so it is
        written once, however many runs are rendered from one catalog."""
        from .contract.write import catalog_entry_json

        return catalog_entry_json(self)

    @model_validator(mode="after")
    def _one_credential_mode(self) -> "_ConnectionBase":
        if self.identity is None:
            return self
        self.identity.check_kind(self.kind)  # type: ignore[attr-defined]
        if self.secret is not None:
            raise ValueError(
                f"two credential modes: identity (ServiceAccount {self.identity.service_account!r}) and secret "
                f"{self.secret.name!r}; a connection uses one: drop the secret (workload identity carries no key) "
                "or the identity"
            )
        return self

    @model_validator(mode="after")
    def _unique_env(self) -> "_ConnectionBase":
        seen: set[str] = set()
        for var in self.env:
            if var.name in seen:
                raise ValueError(f"env var {var.name!r} is defined twice")
            seen.add(var.name)
        return self


class HostPathConnection(_ConnectionBase):
    kind: Literal["host_path"] = "host_path"
    schema_: HostPathSchema = Field(alias="schema")
    #: never mounted through a CSI driver: a class attribute, so ``getattr(conn, "mount", None)``
    #: (asked several times per connection by the renderer) needs no failed lookup
    mount: ClassVar[None] = None


class ClaimConnection(_ConnectionBase):
    kind: Literal["volume_claim"] = "volume_claim"
    schema_: ClaimSchema = Field(alias="schema")
    mount: ClassVar[None] = None  # as on HostPathConnection


class S3Connection(_ConnectionBase):
    kind: Literal["s3"] = "s3"
    schema_: S3Schema = Field(alias="schema")
    #: the bucket mounted as a filesystem through the kind's CSI driver (``stores.mounts``)
    mount: S3Mount | None = None


class GcsConnection(_ConnectionBase):
    # A secret without a mountPath loads (Polyaxon passes it as envFrom / secretKeyRef), but
    # Google's SDKs read a service-account key only from a file: `stores validate` says so, and
    # GOOGLE_APPLICATION_CREDENTIALS is set only for a mounted key.
    kind: Literal["gcs"] = "gcs"
    schema_: GcsSchema = Field(alias="schema")
    #: the bucket mounted as a filesystem through the kind's CSI driver (``stores.mounts``)
    mount: GcsMount | None = None


class WasbConnection(_ConnectionBase):
    kind: Literal["wasb"] = "wasb"
    schema_: WasbSchema = Field(alias="schema")
    #: the bucket mounted as a filesystem through the kind's CSI driver (``stores.mounts``)
    mount: WasbMount | None = None


class OtherConnection(_ConnectionBase):
    """A connection of one of Polyaxon's other kinds (git, registry, slack, a database, ...).

    Kept in the catalog so the file loads and a run that names it gets its secret, config map and
    env exactly as Polyaxon gives them; its ``schema`` is the other system's business, kept as
    given."""

    # Polyaxon takes any name here (its tests use `user/foo` for git); nothing of ours is derived
    # from it but the catalog entry, so only what no name may hold is refused
    name: _checked(names.check_other_name, minLength=1, maxLength=names.MAX_CONNECTION_NAME)  # type: ignore[valid-type]
    kind: Literal[OTHER_KINDS]  # type: ignore[valid-type]
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    mount: ClassVar[None] = None  # as on HostPathConnection

    @property
    def is_storage(self) -> bool:
        return False

    @property
    def is_bucket(self) -> bool:
        return False

    @property
    def mount_path(self) -> str | None:
        return None

    @property
    def bucket(self) -> None:
        return None

    @property
    def store_path(self) -> str | None:  # type: ignore[override]
        return None


#: kind -> model: the one table the union and every dispatch use.
CONNECTION_MODELS: dict[str, type[_ConnectionBase]] = {
    "host_path": HostPathConnection,
    "volume_claim": ClaimConnection,
    "s3": S3Connection,
    "gcs": GcsConnection,
    "wasb": WasbConnection,
}
assert set(CONNECTION_MODELS) == set(KINDS), "models and the kinds table disagree"

Connection = Annotated[
    Union[HostPathConnection, ClaimConnection, S3Connection, GcsConnection, WasbConnection, OtherConnection],
    Field(discriminator="kind"),
]

#: what an artifacts store can be: runs write their outputs there, so a volume or a bucket
StorageConnection = Annotated[
    Union[HostPathConnection, ClaimConnection, S3Connection, GcsConnection, WasbConnection],
    Field(discriminator="kind"),
]

connection_adapter: TypeAdapter[Connection] = TypeAdapter(Connection)


def parse_connection(data: Any) -> _ConnectionBase:
    """Validate one connection document (raises ``pydantic.ValidationError``)."""
    return connection_adapter.validate_python(data)
