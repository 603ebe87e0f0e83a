"""The shared field types and base model of the connection models (tier 1: pydantic)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import names

#: no ``..`` segment and no control character (a path is refused whole, whatever the engine's ``$``)
_NOT_DOTDOT = {"not": {"pattern": r"(^|/)\.\.(/|$)|[\x00-\x1f\x7f]"}}


def _checked(checker: Any, **schema: Any) -> Any:
    """A string checked by one of ``stores.names``' rules (whose messages quote the value); the
    JSON-schema keywords are given separately so helm checks what it can."""
    return Annotated[str, Field(json_schema_extra={"type": "string", **schema}), AfterValidator(checker)]


if TYPE_CHECKING:  # to a type checker each is the str it checks; pydantic reads the Annotated below
    Name = str
    ConnectionName = str
    ResourceName = str
    SecretKey = str
    MountPath = str
    HostPath = str
    RelPath = str
else:
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


if TYPE_CHECKING:  # to a type checker it is the one it replaces
    kept = functools.cached_property
else:

    class kept(functools.cached_property):
        """``functools.cached_property`` without its lock: a value worked out once per frozen
        model (what it derives never changes, so two threads working it out at once write equal
        values).  On Python 3.11 the lock (dropped in 3.12) cost as much as the small values it
        guards, several per connection in a render."""

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            # called only while the instance's __dict__ has no value yet (a non-data descriptor)
            value = instance.__dict__[self.attrname] = self.func(instance)
            return value


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        strict=False,
        ignored_types=(kept,),
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return drop_nulls(data)

    def to_dict(self) -> dict[str, Any]:
        """The document spelling (camelCase, no unset optionals)."""
        # model_dump's own arguments, minus its Python frame (a render writes one per connection)
        out: dict[str, Any] = self.__pydantic_serializer__.to_python(self, by_alias=True, exclude_none=True, mode="json")
        return out
