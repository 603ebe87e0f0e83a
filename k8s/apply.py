"""Apply a ``PodPatch`` to a user's manifest: Pod, Job, Deployment, StatefulSet, DaemonSet,
ReplicaSet or CronJob (tier 1; works on plain dicts, so fields the client models do not know
survive untouched).

The main container is the one named ``container``, else the first.  Nothing the user had is
dropped or reordered: the patch's volumes, mounts, env and envFrom are appended after the user's
(identical entries are not repeated), its init containers go before the user's (data is in
place before user code runs), its sidecars after the user's containers.  Every check of
``k8s.checks`` runs on the merged pod first — an env name the user already sets with another
value, a volume name the user already uses, a mount path the user already mounts are all
``RenderError``s.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Mapping

from stores.errors import ManifestError

from .checks import check_pod
from .podpatch import PodPatch
from .templates import resolve_pod_containers

__all__ = ["WORKLOAD_TEMPLATES", "apply_patch", "pod_template", "main_container_index"]

#: kind -> where its pod template is (``()``: the object is the pod)
WORKLOAD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Job": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_template(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``{metadata, spec}`` pod template inside ``manifest`` (the same dict, not a copy)."""
    if not isinstance(manifest, dict):
        raise ManifestError(f"a manifest must be a mapping, got {type(manifest).__name__}")
    kind = manifest.get("kind")
    path = WORKLOAD_TEMPLATES.get(kind) if isinstance(kind, str) else None
    if path is None:
        raise ManifestError(f"cannot patch kind {kind!r}; supported: {', '.join(WORKLOAD_TEMPLATES)}")
    node: Any = manifest
    for depth, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ManifestError(f"{kind} has no {'.'.join(path[: depth + 1])} mapping")
    spec = node.get("spec")
    where = ".".join((*path, "spec"))
    if not isinstance(spec, dict):
        raise ManifestError(f"{kind} has no {where} mapping")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise ManifestError(f"{kind} {where}.containers must be a non-empty list of containers")
    template: dict[str, Any] = node
    return template


def main_container_index(containers: list[dict[str, Any]], name: str | None) -> int:
    if name is None:
        return 0
    for i, container in enumerate(containers):
        if container.get("name") == name:
            return i
    have = ", ".join(repr(c.get("name")) for c in containers)
    raise ManifestError(f"no container named {name!r}; the manifest has {have}")


def _list(mapping: dict[str, Any], key: str, what: str) -> list[Any]:
    value = mapping.setdefault(key, [])
    if value is None:
        value = mapping[key] = []
    if not isinstance(value, list):
        raise ManifestError(f"{what}.{key} must be a list, got {type(value).__name__}")
    return value


def _append_new(target: list[Any], items: list[Any]) -> None:
    """Append the items not already present (identical definitions are written once)."""
    present = {_canonical(x) for x in target}
    for item in items:
        if _canonical(item) not in present:
            target.append(item)


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def apply_patch(manifest: Mapping[str, Any], patch: PodPatch, container: str | None = None) -> dict[str, Any]:
    """A patched deep copy of ``manifest``; raises ``ManifestError`` when it cannot take a patch
    and ``RenderError`` when the merged pod fails a check."""
    out = copy.deepcopy(dict(manifest))
    template = pod_template(out)
    spec = template["spec"]
    index = main_container_index(spec["containers"], container)
    resolve_pod_containers(spec, patch.resolve)
    containers = spec["containers"]

    env = patch.env_dicts()
    check_pod(patch.view(template, index, env))

    annotations = patch.annotation_dict()
    if annotations:
        meta = template.setdefault("metadata", {}) or {}
        template["metadata"] = meta
        existing = meta.get("annotations") or {}
        meta["annotations"] = {**existing, **{k: v for k, v in annotations.items() if k not in existing}}
    volumes = patch.volume_dicts()
    if volumes:
        _list(spec, "volumes", "spec").extend(volumes)
    init = patch.init_container_dicts()
    if init:
        spec["initContainers"] = init + _list(spec, "initContainers", "spec")
    main = containers[index]
    label = f"container {main.get('name')!r}"
    for key, items in patch.main_container(env).items():
        _append_new(_list(main, key, label), items)
    containers.extend(patch.sidecar_dicts())
    return out
