"""A connection's env vars and their Kubernetes ``valueFrom`` sources (tier 1: pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from . import names, redact
from .modelbase import Flag, ResourceName, SecretKey, _checked, _Model, drop_nulls

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
