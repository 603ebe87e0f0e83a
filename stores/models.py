"""Connection models: one per kind, selected by ``kind`` (tier 1: pydantic).

The current Polyaxon spelling is the canonical one::

    {name, kind, schema: {...}, secret: {name, items, mountPath, defaultMode},
     configMap: {...}, env: [...], annotations: {...}, description, tags}

Python attribute names are snake_case; documents use the camelCase aliases.  Every model forbids
unknown keys and is frozen, so two catalogs built from equal input compare equal.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    WithJsonSchema,

    model_validator,
)
from pydantic.alias_generators import to_camel

from . import names, redact
from .kinds import KINDS, OTHER_KINDS

__all__ = [
    "KeyToPath",
    "ConnectionResource",
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

#: no ``..`` segment and no control character (a path is refused whole, whatever the engine's ``$``)
_NOT_DOTDOT = {"not": {"pattern": r"(^|/)\.\.(/|$)|[\x00-\x1f\x7f]"}}

def _checked(checker: Any, **schema: Any) -> Any:
    """A string checked by one of ``stores.names``' rules (whose messages quote the value); the
    JSON-schema keywords are given separately so helm checks what it can."""
    return Annotated[str, Field(json_schema_extra={"type": "string", **schema}), AfterValidator(checker)]


Name = _checked(names.check_name, pattern=names.DNS1123_LABEL, minLength=1, maxLength=63)
#: what a connection may be called: Polyaxon takes any string; we take what every derived name
#: (volume, container, env var, ``STORE:path`` argument) can be made from, one-to-one
ConnectionName = _checked(
    names.check_connection_name, pattern=names.CONNECTION_NAME, minLength=1, maxLength=names.MAX_CONNECTION_NAME
)
ResourceName = _checked(
    names.check_resource_name, pattern=names.DNS1123_SUBDOMAIN, minLength=1, maxLength=253
)
SecretKey = _checked(names.check_secret_key, pattern=names.SECRET_KEY, minLength=1, maxLength=253)
MountPath = _checked(names.check_mount_path, pattern=r"^/+[^/]", maxLength=names.PATH_MAX, **_NOT_DOTDOT)
HostPath = _checked(names.check_host_path, pattern=r"^/", maxLength=names.PATH_MAX, **_NOT_DOTDOT)
RelPath = _checked(names.check_relative_path, pattern=r"^[^/]", minLength=1, maxLength=names.PATH_MAX, **_NOT_DOTDOT)


def _octal_mode(value: Any) -> Any:
    # Polyaxon's own parser takes defaultMode only as a string ("0400") and passes it on, which
    # the API server refuses; we read a string of octal digits the way chmod does (never as
    # decimal: "0400" is 0o400 = 256) and emit the integer Kubernetes wants.
    if isinstance(value, str):
        if not names.OCTAL_MODE.fullmatch(value):
            raise ValueError(f"a file mode string must be octal digits like '0400', got {value!r}")
        return int(value, 8)
    return value


# Strict ints: lax parsing would take "yes"/"1"-like input; strings go through _octal_mode.
FileMode = Annotated[
    int,
    Field(ge=0, le=0o777, strict=True),
    BeforeValidator(_octal_mode),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0, "maximum": 0o777},
                              {"type": "string", "pattern": r"^0?[0-7]{1,3}$"}]}),
]
Flag = Annotated[bool, Field(strict=True)]


def drop_nulls(data: Any) -> Any:
    """A mapping without its null entries: helm charts leave optional keys empty
    (`existingClaim:` next to `hostPath`, `secret:`, `items:`), and a null means "not given", as
    it does for helm itself and for Polyaxon."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        strict=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return drop_nulls(data)

    def to_dict(self) -> dict[str, Any]:
        """The document spelling (camelCase, no unset optionals)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


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


#: the sources of an env var's ``valueFrom``: exactly one of them (the API server's rule)
ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")

# The valueFrom models: the kubernetes client's V1EnvVarSource and its selectors (which the
# renderer builds from them), as strict as those and with the API server's rules they lack (a
# named, keyed reference; exactly one source).  Here, not in k8s: `stores validate` runs without
# the kubernetes client and must refuse whatever the renderer would.
_K8sString = Annotated[str, Field(strict=True)]


class _Source(_Model):
    # a null is not "absent" here: the client models refuse it where a value is required
    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return data


class KeySelector(_Source):
    """``secretKeyRef`` / ``configMapKeyRef``."""

    name: ResourceName
    key: SecretKey
    optional: Flag | None = None


class ObjectFieldSelector(_Source):
    """``fieldRef``."""

    field_path: Annotated[_K8sString, Field(min_length=1)]
    api_version: _K8sString | None = None


def _quantity(value: Any) -> Any:
    # YAML reads `divisor: 1` as an integer; Kubernetes takes a quantity as a number or a string
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class ResourceFieldSelector(_Source):
    """``resourceFieldRef``."""

    resource: Annotated[_K8sString, Field(min_length=1)]
    container_name: _K8sString | None = None
    divisor: Annotated[_K8sString, BeforeValidator(_quantity)] | None = None


class EnvVarSource(_Source):
    """An env var's ``valueFrom``: exactly one source."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        given = drop_nulls(data)  # `fieldRef:` left empty next to the source is not a source
        if isinstance(given, dict) and (len(given) != 1 or next(iter(given)) not in ENV_SOURCES):
            raise ValueError(f"valueFrom needs exactly one of {', '.join(ENV_SOURCES)}, got {_keys(data)}")
        return given


def _keys(value: dict[str, Any]) -> str:
    return ", ".join(f"{k!r}" + (" (empty)" if value[k] is None else "") for k in value) or "no source"


AnnotationKey = _checked(names.check_annotation_key, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


def _shown_name(name: Any) -> str:
    """An env var name as a message shows it: as it is when valid, quoted otherwise (a trailing
    newline or a control character would otherwise be invisible or break the line)."""
    try:
        return names.check_env_name(name)
    except ValueError:
        return repr(name)


class EnvVar(_Model):
    """An env var a connection adds to the container: a literal ``value`` (never a secret) or a
    Kubernetes ``valueFrom`` source."""

    # the "exactly one source" and "no literal secret" rules below, in a form helm can check too
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["value"]}, {"required": ["valueFrom"]}],
            "not": {
                "required": ["name", "value"],
                "properties": {"name": {
                    "pattern": redact.SECRET_NAME_PATTERN,
                    "not": {"pattern": "(?i)^(" + "|".join(sorted(redact.NOT_SECRET_VARIABLES)) + ")$"},
                }},
            },
        }
    )

    name: _checked(names.check_env_name, pattern=names.ENV_NAME)  # type: ignore[valid-type]
    value: str | None = None
    value_from: EnvVarSource | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, data: Any) -> Any:
        # before the fields are checked: a type error on `value` would quote it, and a secret's
        # value is never quoted, whatever its type (stores.redact's policy)
        if isinstance(data, dict) and redact.is_secret_name(data.get("name")) and data.get("value") is not None:
            if data.get("valueFrom", data.get("value_from")) is not None:
                raise ValueError("an env var needs exactly one of 'value' or 'valueFrom' (the value is not shown)")
            # a literal would be written into the pod spec for anyone who can read it
            raise ValueError(
                f"{_shown_name(data['name'])} holds a secret: give it as valueFrom.secretKeyRef or through the "
                "connection's secret, never as a literal value (the value is not shown)"
            )
        return data

    @model_validator(mode="after")
    def _one_source(self) -> "EnvVar":
        if (self.value is None) == (self.value_from is None):
            raise ValueError("an env var needs exactly one of 'value' or 'valueFrom'")
        return self


def _env_list(value: Any) -> Any:
    """A connection's ``env`` in any of Polyaxon's spellings, as a list of ``{name, value}`` /
    ``{name, valueFrom}`` entries: a mapping ``{NAME: value}`` and a list of ``[NAME, value]``
    pairs (Polyaxon's own schema) as well as Kubernetes' list of env vars."""
    if isinstance(value, dict):
        return [{"name": k, "value": _env_value(v)} for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [
            {"name": e[0], "value": _env_value(e[1])} if isinstance(e, (list, tuple)) and len(e) == 2 else e
            for e in value
        ]
    return value


def _env_value(value: Any) -> Any:
    # Polyaxon writes a non-string value as JSON; YAML gives ints and booleans for `8080`, `true`
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


EnvList = Annotated[tuple[EnvVar, ...], BeforeValidator(_env_list)]


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


def _bucket_checker(kind: str):
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

    @cached_property
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
    name: ConnectionName
    description: str | None = None
    tags: tuple[str, ...] = ()
    secret: ConnectionResource | None = None
    config_map: ConnectionResource | None = None
    env: EnvList = ()
    annotations: dict[AnnotationKey, str] = Field(default_factory=dict)

    @property
    def info(self):
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
        """Where the store is mounted in the container (volumes only)."""
        return getattr(self.schema_, "mount_path", None)  # type: ignore[attr-defined]

    @property
    def bucket(self) -> names.BucketURL | None:
        if isinstance(self.schema_, BucketSchema):  # type: ignore[attr-defined]
            return self.schema_.parsed  # type: ignore[attr-defined]
        return None

    @property
    def store_path(self) -> str:
        """The mountPath for volumes, the bucket URL for buckets: what the env contract carries."""
        bucket = self.bucket
        return bucket.url if bucket is not None else self.mount_path  # type: ignore[return-value]

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


class ClaimConnection(_ConnectionBase):
    kind: Literal["volume_claim"] = "volume_claim"
    schema_: ClaimSchema = Field(alias="schema")


class S3Connection(_ConnectionBase):
    kind: Literal["s3"] = "s3"
    schema_: S3Schema = Field(alias="schema")


class GcsConnection(_ConnectionBase):
    # A secret without a mountPath loads (Polyaxon passes it as envFrom / secretKeyRef), but
    # Google's SDKs read a service-account key only from a file: `stores validate` says so, and
    # GOOGLE_APPLICATION_CREDENTIALS is set only for a mounted key.
    kind: Literal["gcs"] = "gcs"
    schema_: GcsSchema = Field(alias="schema")


class WasbConnection(_ConnectionBase):
    kind: Literal["wasb"] = "wasb"
    schema_: WasbSchema = Field(alias="schema")


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
