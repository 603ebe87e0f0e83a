"""Apply a ``PodPatch`` to a user's manifest: a Pod, the built-in workloads, Kubeflow training
jobs, JobSet, Ray and Argo workflows (tier 1; the table is ``k8s.workloads``).  Works on plain dicts, so fields the client models do not know survive
untouched; a client model object (``V1Pod``, ``V1Job``, ...) is serialised, patched and read back
into its own class.

The main container is the one named ``container``, else the kind's usual main container when
present (``pytorch`` in a PyTorchJob, ...), else the first.  Nothing the user had is dropped or
reordered: the patch's volumes, mounts, env and envFrom are appended after the user's
(identical entries are not repeated), its init containers go before the user's (data is in
place before user code runs), its sidecars after the user's containers.  Every check of
``k8s.checks`` runs on each merged pod first — an env name the user already sets with another
value, a volume name the user already uses, a mount path the user already mounts are all
``RenderError``s.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Mapping, TypeVar

from stores.errors import ManifestError, RenderError

from .checks import check_pod
from .podpatch import PodPatch
from .serialize import dump, kind_of_model, load
from .templates import resolve_pod_containers
from .workloads import WORKLOADS, Workload, api_group, pod_templates, workload_for

__all__ = ["apply_patch", "apply_patch_dict", "pod_template", "main_container_index", "MAIN_WRAPPER", "wrap_main_command"]

#: the shell around a main container's command when a classic sidecar must learn that it ended:
#: runs the command (``"$@"``: the container's command and args, unchanged), passes SIGTERM and
#: SIGINT on to it, then writes its exit code to the done file (``$STORES_MAIN_DONE_FILE``) and
#: exits with that code.  Needs ``/bin/sh`` in the image, nothing else.
MAIN_WRAPPER = (
    'trap \'kill -TERM "$pid" 2>/dev/null\' TERM INT; "$@" & pid=$!; '
    'while :; do wait "$pid"; rc=$?; kill -0 "$pid" 2>/dev/null || break; done; '
    'echo "$rc" > "${STORES_MAIN_DONE_FILE:?}.tmp" && mv -f "${STORES_MAIN_DONE_FILE}.tmp" "$STORES_MAIN_DONE_FILE"; '
    'exit "$rc"'
)


def wrap_main_command(container: dict[str, Any]) -> bool:
    """Wrap ``container``'s ``command`` in :data:`MAIN_WRAPPER` (its ``args`` stay as they are);
    False when it has no ``command`` (the image's entrypoint, unknown here, runs: the program then
    writes ``$STORES_MAIN_DONE_FILE`` itself) or is already wrapped."""
    command = container.get("command")
    if not isinstance(command, list) or not command:
        return False
    if command[:3] == ["/bin/sh", "-c", MAIN_WRAPPER]:
        return False
    container["command"] = ["/bin/sh", "-c", MAIN_WRAPPER, "stores-main", *command]
    return True

M = TypeVar("M")


def _entry(manifest: Any) -> Workload:
    if not isinstance(manifest, dict):
        raise ManifestError(f"a manifest must be a mapping, got {type(manifest).__name__}")
    entry = workload_for(manifest)
    if entry is None:
        kind = manifest.get("kind")
        entry_of_kind = WORKLOADS.get(kind) if isinstance(kind, str) else None
        if entry_of_kind is not None:
            raise ManifestError(
                f"cannot patch kind {kind!r} of API group {api_group(manifest.get('apiVersion'))!r}; "
                f"a {kind} is patched in API group {entry_of_kind.group!r}"
            )
        raise ManifestError(f"cannot patch kind {kind!r}; supported: {', '.join(WORKLOADS)}")
    return entry


def _checked_template(kind: str, where: str, node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise ManifestError(f"{kind} has no {where} mapping")
    spec = node.get("spec")
    where_spec = f"{where}.spec" if where else "spec"
    if not isinstance(spec, dict):
        raise ManifestError(f"{kind} has no {where_spec} mapping")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise ManifestError(f"{kind} {where_spec}.containers must be a non-empty list of containers")
    return node


def _templates(manifest: dict[str, Any], entry: Workload) -> list[dict[str, Any]]:
    out = []
    for path in entry.paths:
        for where, node in pod_templates(manifest, path):
            out.append(_checked_template(entry.kind, where, node))
    if not out:
        where = " or ".join(".".join(p) for p in entry.paths)
        raise ManifestError(f"{entry.kind} has no pod template (at {where})")
    return out


def pod_template(manifest: dict[str, Any]) -> dict[str, Any]:
    """The first ``{metadata, spec}`` pod template inside ``manifest`` (the same dict, not a
    copy); not for Argo workflows, whose templates are not pod templates."""
    entry = _entry(manifest)
    if entry.argo:
        raise ManifestError(f"{entry.kind} templates are not pod templates; use apply_patch")
    return _templates(manifest, entry)[0]


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


def _default_index(containers: list[dict[str, Any]], container: str | None, entry: Workload) -> int:
    if container is None and entry.main_container is not None:
        for i, c in enumerate(containers):
            if c.get("name") == entry.main_container:
                return i
    return main_container_index(containers, container)


def _patch_template(template: dict[str, Any], patch: PodPatch, index: int, env: list[tuple[dict[str, Any], str]]) -> None:
    """Merge the patch into one pod template dict, in place (checks first).  What goes in is
    copied: the templates of one workload never share an object (a YAML dump would alias it)."""
    spec = template["spec"]
    resolve_pod_containers(spec, patch.resolve)
    containers = spec["containers"]
    check_pod(patch.view(template, index, env))

    annotations = patch.annotation_dict()
    if annotations:
        meta = template.setdefault("metadata", {}) or {}
        template["metadata"] = meta
        existing = meta.get("annotations") or {}
        meta["annotations"] = {**existing, **{k: v for k, v in annotations.items() if k not in existing}}
    labels = patch.label_dict()
    if labels:
        meta = template.setdefault("metadata", {}) or {}
        template["metadata"] = meta
        existing = meta.get("labels") or {}
        for key, value in labels.items():
            if key in existing and existing[key] != value:
                raise RenderError(f"pod label {key}: the manifest sets {existing[key]!r}, the patch needs {value!r}")
        meta["labels"] = {**existing, **labels}
    if patch.service_account is not None:
        have = spec.get("serviceAccountName") or spec.get("serviceAccount")
        want = patch.service_account.item
        if have and have != want:
            raise RenderError(
                f"conflicting service accounts: the manifest runs as {have!r}, {patch.service_account.source} "
                f"needs {want!r} (its workload identity)"
            )
        spec["serviceAccountName"] = want
    volumes = copy.deepcopy(patch.volume_dicts())
    if volumes:
        _list(spec, "volumes", "spec").extend(volumes)
    init = copy.deepcopy(patch.init_container_dicts())
    if init:
        spec["initContainers"] = init + _list(spec, "initContainers", "spec")
    main = containers[index]
    label = f"container {main.get('name')!r}"
    for key, items in copy.deepcopy(patch.main_container(env)).items():
        _append_new(_list(main, key, label), items)
    if patch.main_done_file:  # a classic sidecar: it must learn when the main container ends
        wrap_main_command(main)
    containers.extend(copy.deepcopy(patch.sidecar_dicts()))


#: the keys of an Argo template that run a pod (the others: steps, dag, resource, ... run none of ours)
ARGO_POD_KEYS = ("container", "script", "containerSet")


def _argo_list(node: dict[str, Any], key: str, where: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError(f"{where}.{key} must be a list, got {type(value).__name__}")
    return value


def _patch_argo(manifest: dict[str, Any], entry: Workload, patch: PodPatch, container: str | None,
                env: list[tuple[dict[str, Any], str]]) -> int:
    """Each pod-running template of an Argo workflow, patched as its own pod (the module
    docstring of ``k8s.workloads`` says where each part goes); returns how many."""
    count = 0
    for path in entry.paths:
        spec_where = ".".join(path[:-1])
        for where, templates in pod_templates(manifest, path):
            if templates is None:
                continue
            if not isinstance(templates, list):
                raise ManifestError(f"{entry.kind} {where} must be a list of templates")
            owner: Any = manifest
            for key in path[:-1]:
                owner = owner[key]
            shared_volumes = _argo_list(owner, "volumes", spec_where)
            for i, tmpl in enumerate(templates):
                at = f"{where}[{i}]"
                if not isinstance(tmpl, dict):
                    raise ManifestError(f"{entry.kind} {at} must be a mapping")
                found = next((k for k in ARGO_POD_KEYS if k in tmpl), None)
                if found is None:
                    continue
                key = found
                if key == "containerSet":
                    cset = tmpl[key]
                    mains = cset.get("containers") if isinstance(cset, dict) else None
                    if not isinstance(mains, list) or not mains or not all(isinstance(c, dict) for c in mains):
                        raise ManifestError(f"{entry.kind} {at}.containerSet.containers must be a non-empty list of containers")
                else:
                    if not isinstance(tmpl[key], dict):
                        raise ManifestError(f"{entry.kind} {at}.{key} must be a mapping")
                    mains = [tmpl[key]]
                sidecars = _argo_list(tmpl, "sidecars", at)
                own_volumes = _argo_list(tmpl, "volumes", at)
                meta = tmpl.get("metadata")
                pod: dict[str, Any] = {
                    "metadata": dict(meta) if isinstance(meta, dict) else {},
                    "spec": {
                        "containers": [*mains, *sidecars],
                        "initContainers": list(_argo_list(tmpl, "initContainers", at)),
                        "volumes": [*shared_volumes, *own_volumes],
                    },
                }
                index = _default_index(mains, container, entry)
                _patch_template(pod, patch, index, env)
                spec = pod["spec"]
                n = len(mains)
                if key == "containerSet":
                    tmpl[key]["containers"] = spec["containers"][:n]
                else:
                    tmpl[key] = spec["containers"][0]
                for name, value in (("sidecars", spec["containers"][n:]), ("initContainers", spec["initContainers"]),
                                    ("volumes", spec["volumes"][len(shared_volumes):])):
                    if value or name in tmpl:
                        tmpl[name] = value
                if pod["metadata"].get("annotations") != ((meta or {}).get("annotations") if isinstance(meta, dict) else None):
                    tmpl["metadata"] = pod["metadata"]
                count += 1
    return count


def apply_patch_dict(manifest: dict[str, Any], patch: PodPatch, container: str | None = None, *,
                     require: bool = True) -> int:
    """Patch ``manifest`` (a dict) **in place**; returns the number of pod templates patched.
    ``require=False``: a workload with no pod template to patch (an Argo workflow of steps only,
    or one that only references a WorkflowTemplate) is left as it is instead of refused."""
    entry = _entry(manifest)
    env = patch.env_dicts()
    if entry.argo:
        count = _patch_argo(manifest, entry, patch, container, env)
        if not count and require:
            raise ManifestError(
                f"{entry.kind} has no template that runs a pod (a container, script or containerSet template)"
            )
        return count
    templates = _templates(manifest, entry)
    for template in templates:
        index = _default_index(template["spec"]["containers"], container, entry)
        _patch_template(template, patch, index, env)
    return len(templates)


def apply_patch(manifest: M, patch: PodPatch, container: str | None = None) -> M:
    """A patched copy of ``manifest``: a dict (the result is a new dict; the input is left as it
    was) or a ``kubernetes.client`` model object (``V1Pod``, ``V1Job``, ...; the result is a new
    object of the same class).  Raises ``ManifestError`` when it cannot take a patch and
    ``RenderError`` when a merged pod fails a check."""
    if isinstance(manifest, Mapping):
        out = copy.deepcopy(dict(manifest))
        apply_patch_dict(out, patch, container)
        return out  # type: ignore[return-value]
    data = dump(manifest)
    if not isinstance(data, dict) or data is manifest:
        raise ManifestError(f"a manifest must be a mapping or a kubernetes client model, got {type(manifest).__name__}")
    kind = data.get("kind") or kind_of_model(manifest)
    work = copy.deepcopy(data)
    if "kind" not in work and kind:
        work["kind"] = kind  # located by the class name (V1Job -> Job); not added to the result
    apply_patch_dict(work, patch, container)
    if "kind" not in data:
        work.pop("kind", None)
    try:
        return load(type(manifest), work)
    except ValueError as exc:
        raise ManifestError(f"the patched {type(manifest).__name__} does not fit its client model: {exc}") from None
