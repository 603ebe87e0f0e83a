"""What an API server checks in a Pod that the OpenAPI schemas (kubernetes-validate) do not.

A test oracle written from Kubernetes' own validation (``apimachinery/pkg/util/validation`` and
``pkg/apis/core/validation``), independent of the rules in ``stores.names``: rendered patches
must pass it too, or the fuzzers would call "valid" what a cluster refuses.  Only the rules that
concern what the renderer writes are here: names, annotation keys, env names and sources, paths,
modes.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["pod_problems"]

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# before 1.30 (the relaxed rule is behind a gate there): what the oldest tested version accepts
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ANNOTATIONS_MAX = 256 * 1024
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")


def _dns_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL.match(value))


def _dns_subdomain(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 253 and bool(_SUBDOMAIN.match(value))


def _qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not _dns_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def _descending(path: Any) -> bool:
    """validateLocalDescendingPath: relative, no '..' element."""
    return isinstance(path, str) and bool(path) and not path.startswith("/") and ".." not in path.split("/")


def _items(where: str, items: list[dict[str, Any]] | None, out: list[str]) -> None:
    seen: set[str] = set()
    for item in items or []:
        key, path = item.get("key"), item.get("path")
        if not (isinstance(key, str) and len(key) <= 253 and _CONFIG_KEY.match(key)):
            out.append(f"{where}: item key {key!r} is not a valid config key")
        if not _descending(path):
            out.append(f"{where}: item path {path!r} must be relative without '..'")
        elif path in seen:
            out.append(f"{where}: two items with path {path!r}")
        seen.add(path)
        mode = item.get("mode")
        if mode is not None and not 0 <= mode <= 0o777:
            out.append(f"{where}: item mode {mode} out of range")


def _container(c: dict[str, Any], volumes: set[str], out: list[str]) -> None:
    where = f"container {c.get('name')!r}"
    if not _dns_label(c.get("name")):
        out.append(f"{where}: name is not a DNS-1123 label")
    paths: set[str] = set()
    for m in c.get("volumeMounts") or []:
        if m.get("name") not in volumes:
            out.append(f"{where}: mount of unknown volume {m.get('name')!r}")
        mp = m.get("mountPath")
        if not mp:
            out.append(f"{where}: empty mountPath")
        elif mp in paths:
            out.append(f"{where}: mountPath {mp!r} used twice")
        paths.add(mp)
        sub = m.get("subPath")
        if sub is not None and sub != "" and not _descending(sub):
            out.append(f"{where}: subPath {sub!r} must be relative without '..'")
    names: set[str] = set()
    for e in c.get("env") or []:
        name = e.get("name")
        if not (isinstance(name, str) and _ENV_NAME.match(name)):
            out.append(f"{where}: env name {name!r} is not valid")
        if name in names:
            # allowed by the API server, but then only the last one counts: a silent overwrite
            out.append(f"{where}: env {name!r} listed twice")
        names.add(name)
        source = e.get("valueFrom")
        if source is not None:
            given = [k for k in _ENV_SOURCES if source.get(k) is not None]
            if len(given) != 1:
                out.append(f"{where}: env {name!r} valueFrom needs exactly one source, has {given}")
            if e.get("value"):
                out.append(f"{where}: env {name!r} has both value and valueFrom")
            for ref in ("configMapKeyRef", "secretKeyRef"):
                sel = source.get(ref)
                if sel is not None and not (sel.get("key") and _CONFIG_KEY.match(sel["key"])):
                    out.append(f"{where}: env {name!r} {ref} key {sel.get('key')!r} is not valid")
                if sel is not None and not sel.get("name"):
                    out.append(f"{where}: env {name!r} {ref} has no name")
    for e in c.get("envFrom") or []:
        ref = e.get("secretRef") or e.get("configMapRef") or {}
        if not ref.get("name"):
            out.append(f"{where}: envFrom without a name")


def pod_problems(pod: dict[str, Any]) -> list[str]:
    """Everything an API server would refuse in ``pod`` (of the rules above); empty if none."""
    out: list[str] = []
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    size = 0
    for key, value in annotations.items():
        if not _qualified_name(key):
            out.append(f"annotation key {key!r} is not a qualified name")
        size += len(key) + len(value)
    if size > _ANNOTATIONS_MAX:
        out.append(f"annotations total {size} bytes, more than {_ANNOTATIONS_MAX}")
    spec = pod.get("spec") or {}
    volumes: set[str] = set()
    for v in spec.get("volumes") or []:
        name = v.get("name")
        if not _dns_label(name):
            out.append(f"volume name {name!r} is not a DNS-1123 label")
        if name in volumes:
            out.append(f"volume name {name!r} used twice")
        volumes.add(name)
        if "hostPath" in v:
            path = v["hostPath"].get("path")
            if not path or ".." in path.split("/"):
                out.append(f"volume {name!r}: hostPath {path!r} is empty or has '..'")
        if "persistentVolumeClaim" in v and not v["persistentVolumeClaim"].get("claimName"):
            out.append(f"volume {name!r}: empty claimName")
        for kind, name_key in (("secret", "secretName"), ("configMap", "name")):
            if kind in v:
                src = v[kind]
                if not _dns_subdomain(src.get(name_key)):
                    out.append(f"volume {name!r}: {kind} name {src.get(name_key)!r} is not valid")
                mode = src.get("defaultMode")
                if mode is not None and not 0 <= mode <= 0o777:
                    out.append(f"volume {name!r}: defaultMode {mode} out of range")
                _items(f"volume {name!r}", src.get("items"), out)
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    names: set[str] = set()
    for c in containers:
        if c.get("name") in names:
            out.append(f"container name {c.get('name')!r} used twice")
        names.add(c.get("name"))
        _container(c, volumes, out)
    return out
