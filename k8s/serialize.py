"""``kubernetes.client`` models <-> manifest dicts, for every supported client version (tier 1).
Templates in containers: ``k8s.templates``.

From version 37 the client's models are pydantic models (``model_dump`` / ``model_validate``);
before that (the versions kfp allows: ``kubernetes<31``) they are plain classes with
``openapi_types`` / ``attribute_map``, serialised by ``ApiClient().sanitize_for_serialization``
and read back by ``ApiClient().deserialize``.  Both give the same manifest spelling: camelCase
keys in the client's (alphabetical) field order, unset fields left out.  Nothing else in ``k8s``
looks at which kind of model it holds.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, TypeVar

__all__ = ["dump", "load", "spelling", "has_field", "kind_of_model", "pydantic_models"]

M = TypeVar("M")

_api_client: Any = None


def _client() -> Any:
    """One ``ApiClient`` for the old models (built on first use; it opens no connection)."""
    global _api_client
    if _api_client is None:
        from kubernetes.client.api_client import ApiClient

        _api_client = ApiClient()
    return _api_client


def _is_client_model_class(cls: type) -> bool:
    return hasattr(cls, "attribute_map") and (hasattr(cls, "openapi_types") or hasattr(cls, "swagger_types"))


def _dump_pydantic(obj: Any) -> Any:
    # what ``obj.model_dump(by_alias=True, exclude_none=True, mode="json")`` does, minus its
    # Python frame (a render dumps thousands of small models)
    return obj.__pydantic_serializer__.to_python(obj, by_alias=True, exclude_none=True, mode="json")


def _dump_client_model(obj: Any) -> Any:
    return _client().sanitize_for_serialization(obj)


def _dump_list(obj: Any) -> Any:
    return [dump(item) for item in obj]


def _as_is(obj: Any) -> Any:
    return obj


#: class -> how ``dump`` spells its objects (decided once per class: a render dumps thousands)
_DUMPERS: dict[type, Callable[[Any], Any]] = {}


def _dumper(cls: type) -> Callable[[Any], Any]:
    if hasattr(cls, "model_dump") and hasattr(cls, "model_validate"):
        return _dump_pydantic
    if _is_client_model_class(cls):
        return _dump_client_model
    if issubclass(cls, list):
        return _dump_list
    return _as_is


def dump(obj: Any) -> Any:
    """The manifest spelling of a client model (camelCase, no unset fields); dicts, lists and
    scalars pass through (lists of models are dumped item by item)."""
    cls = type(obj)
    fn = _DUMPERS.get(cls)
    if fn is None:
        fn = _DUMPERS[cls] = _dumper(cls)
    return fn(obj)


def spelling(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """A manifest dict of ``(key, value)`` pairs, null values left out: what ``dump`` gives for a
    model of those fields when the pairs come in the client's field order (alphabetical)."""
    return {key: value for key, value in pairs if value is not None}


class _Response:
    """What ``ApiClient.deserialize`` reads: a response whose ``data`` is the JSON text."""

    def __init__(self, data: Any) -> None:
        self.data = json.dumps(data)


def load(cls: type[M], data: Any) -> M:
    """A client model of class ``cls`` from its manifest spelling (the inverse of ``dump``).
    Raises ``ValueError`` (pydantic's ``ValidationError`` is one) when ``data`` does not fit."""
    if hasattr(cls, "model_validate"):
        return cls.model_validate(data)  # type: ignore[attr-defined,no-any-return]
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    try:
        return _client().deserialize(_Response(data), cls.__name__)  # type: ignore[no-any-return]
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from None


def has_field(cls: type, name: str) -> bool:
    """Whether this client version's model ``cls`` has the (snake_case) field ``name``: fields
    newer than the installed client (``V1Container.restart_policy`` before 28) are absent."""
    fields = getattr(cls, "model_fields", None)
    if fields is None:
        fields = getattr(cls, "openapi_types", None) or getattr(cls, "swagger_types", None) or {}
    return name in fields


#: ``V1Pod`` -> ``Pod``, ``V1beta1CronJob`` -> ``CronJob``, ``V2HorizontalPodAutoscaler`` -> ...
_MODEL_NAME = re.compile(r"V\d+(?:(?:alpha|beta)\d+)?(?P<kind>[A-Z]\w*)")  # fullmatch


def kind_of_model(obj: Any) -> str | None:
    """The Kubernetes kind of a client model object: its ``kind`` field when set, else read off
    its class name (``V1Job`` -> ``Job``); ``None`` for anything else."""
    kind = getattr(obj, "kind", None)
    if isinstance(kind, str) and kind:
        return kind
    match = _MODEL_NAME.fullmatch(type(obj).__name__)
    return match.group("kind") if match else None


def pydantic_models() -> bool:
    """Whether the installed client's models are pydantic (37+)."""
    from ._client import V1Volume

    return hasattr(V1Volume, "model_validate")
