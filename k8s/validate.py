"""Validation of rendered objects against the official Kubernetes schemas (tier 1).

Wraps ``kubernetes_validate.validate(obj, version, strict=True)``: strict mode refuses unknown
fields, which catches a misspelt key the client models would not (they are only as strict as
the client version).  Errors become ``RenderError`` naming the object, the field path and the
Kubernetes version.  For a Secret the message never quotes the offending value.

A ``PodPatch`` is not an object Kubernetes knows: ``wrap_patch`` puts it in a minimal Pod or
Job first.  These schemas do not catch clashes (duplicate volumes, mounts of missing volumes,
duplicate mount paths): ``k8s.checks`` does.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from stores.errors import RenderError

from .serialize import dump

__all__ = ["DEFAULT_VERSION", "TEST_VERSIONS", "validate_manifest", "wrap_patch"]

DEFAULT_VERSION = "1.37"
#: the versions the tests hold every rendered object to
TEST_VERSIONS: tuple[str, ...] = ("1.25", "1.30", "1.37")


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "the document"


def validate_manifest(obj: Any, version: str = DEFAULT_VERSION, *, strict: bool = True) -> str:
    """Validate one manifest (dict or client model); returns the schema version used."""
    import kubernetes_validate
    from kubernetes_validate import utils

    data = dump(obj)
    if not isinstance(data, Mapping):
        raise RenderError(f"expected a manifest mapping, got {type(data).__name__}")
    manifest_kind = data.get("kind", "?")
    name = (data.get("metadata") or {}).get("name", "?")
    what = f"{manifest_kind} {name!r}"
    if "apiVersion" not in data or "kind" not in data:
        raise RenderError(f"{what}: a manifest needs apiVersion and kind to be validated")
    try:
        validated: str = kubernetes_validate.validate(dict(data), version, strict=strict)
        return validated
    except utils.ValidationError as exc:
        detail = f"fails {exc.validator!r}" if manifest_kind == "Secret" else exc.message
        raise RenderError(
            f"{what} is not valid for Kubernetes {exc.version} ({'strict' if strict else 'lax'}): "
            f"at {_where(exc.absolute_path)}: {detail}"
        ) from None
    except (utils.SchemaNotFoundError, utils.VersionNotSupportedError, utils.InvalidSchemaError) as exc:
        raise RenderError(f"{what}: {exc.message}") from None


def wrap_patch(patch: Any, kind: str = "Pod", name: str = "render-check") -> dict[str, Any]:
    """A minimal Pod or Job around a patch (a ``PodPatch`` or its ``to_dict()``), so the patch
    can be validated as what it will become."""
    body = copy.deepcopy(patch.to_dict() if hasattr(patch, "to_dict") and not isinstance(patch, dict) else patch)
    metadata = {"name": name, **(body.get("metadata") or {})}
    spec = body.get("spec") or {}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    if kind == "Job":
        template = {"metadata": body.get("metadata") or {}, "spec": {"restartPolicy": "Never", **spec}}
        if not template["metadata"]:
            del template["metadata"]
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {"template": template}}
    raise RenderError(f"cannot wrap a patch in a {kind!r}; use Pod or Job")
