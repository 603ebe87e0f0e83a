"""What the renderer refuses about one connection, without a run (tier 0: stdlib only).

``stores validate`` must be a complete gate: a values file it accepts renders.  So the rules the
renderer applies to a connection on its own live here, and both sides call them:

- the hostPath deny list (``why_denied``; ``k8s.checks.HostPathPolicy`` applies it to the pod,
  the values loader to each connection, each with its allow list);
- mounts on the run context (``why_reserved``): ``/plx-context/artifacts`` and its parents;
- secret / config map items delivered as env vars must be env var names;
- ``{{ globals.x }}`` in env values: only plain references to known variables;
- one connection's annotations alone within the API server's 256 KiB.

``connection_problems`` returns them as ``(path, message)`` pairs, the path in the current
spelling relative to the connection (``("schema", "hostPath")``).  What depends on the run (which
connections it selects, its plugins and settings) stays with the renderer.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Iterable, Mapping

from .kinds import KINDS
from .contract.names import CONTEXT_MOUNT  # where the run's artifacts context is mounted
from .names import check_env_name
from .templates import template_problem  # the renderer's own grammar, so the two cannot drift

__all__ = [
    "DENIED_HOST_PATHS",
    "DENIED_HOST_TREES",
    "CONTEXT_MOUNT",
    "MAX_ANNOTATIONS_BYTES",
    "normalise_path",
    "is_under",
    "why_denied",
    "why_reserved",
    "template_problem",
    "connection_problems",
]

#: hostPaths never mounted: these exact paths, anything under ``DENIED_HOST_TREES``, and any
#: ancestor of either (mounting ``/var/run`` exposes the docker socket as surely as mounting the
#: socket).  ``/run/docker.sock`` is listed because ``/var/run`` is a symlink to ``/run`` on
#: current distributions.
DENIED_HOST_PATHS: tuple[str, ...] = ("/", "/var/run/docker.sock", "/run/docker.sock")
DENIED_HOST_TREES: tuple[str, ...] = ("/proc", "/sys", "/etc")

#: the API server refuses a pod whose annotations (keys and values) total more than this
MAX_ANNOTATIONS_BYTES = 256 * 1024


def normalise_path(path: str) -> str:
    """Absolute paths compare after ``normpath`` (``/a//b/`` is ``/a/b``; a leading ``//`` is
    ``/``)."""
    if path.startswith("/") and "//" not in path and "/." not in path and (len(path) == 1 or not path.endswith("/")):
        return path  # already normal (the models normalise every path they accept)
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("/") else norm


def is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def why_denied(
    host_path: str,
    allowed: Iterable[str] | Mapping[str, Any] = (),
    denied: tuple[str, ...] = DENIED_HOST_PATHS,
    denied_trees: tuple[str, ...] = DENIED_HOST_TREES,
) -> str | None:
    """Why ``host_path`` may not be mounted, or ``None``.  ``allowed``: exact (normalised) paths
    let through; allowing a path never allows its parents or children."""
    path = normalise_path(host_path)
    if path in allowed:
        return None
    for tree in denied_trees:
        if is_under(path, tree):
            return f"it is {tree} or under it"
    below = path.rstrip("/") + "/"  # is_under(d, path), the prefix computed once per path
    for d in (*denied, *denied_trees):
        if path == d:
            return "it is on the deny list"
        if d.startswith(below):
            return f"it contains {d}"
    return None


def why_reserved(mount_path: str, context_path: str = CONTEXT_MOUNT) -> str | None:
    """Why nothing of a connection may be mounted on ``mount_path``, or ``None``: the run
    context and its parents belong to the plugins' context volume."""
    path = normalise_path(mount_path)
    if not is_under(context_path, path):
        return None
    where = "on" if path == context_path else f"on {path}, a parent of"
    return f"{where} {context_path}, which is reserved for the run context"


#: connection attribute -> its document key and label
_RESOURCES = (("secret", "secret"), ("config_map", "configMap"))


def _env_clashes(conn: Any) -> list[tuple[tuple[object, ...], str]]:
    """Two env vars of one name from one connection (its items, its own env), as ``k8s.env``
    makes them: the pod would get two sources for one name."""
    out: list[tuple[tuple[object, ...], str]] = []
    seen: dict[str, str] = {}

    def see(name: str, what: str, path: tuple[object, ...]) -> None:
        if name in seen and seen[name] != what:
            out.append((path, f"env var {name} is also set by the {seen[name]}; one name, one source"))
        seen.setdefault(name, what)

    for attr, key in _RESOURCES:
        resource = getattr(conn, attr)
        if resource is None or not resource.items or (resource.mount_path is not None and attr != "config_map"):
            continue
        for i, item in enumerate(resource.items):
            try:
                check_env_name(item.key)
            except ValueError:
                continue  # refused above, or delivered only as a file
            see(item.key, f"{key} {resource.name!r}", (key, "items", i))
    for i, var in enumerate(conn.env):
        see(var.name, "connection's env", ("env", i, "name"))
    return out


def _mount_prefix_problems(conn: Any) -> list[tuple[tuple[object, ...], str]]:
    """A bucket prefix its CSI driver's mount options cannot carry (their separators)."""
    entry = KINDS.get(conn.kind)
    bucket = conn.bucket
    driver = entry.csi if entry is not None else None
    if driver is None or bucket is None or not re.search(driver.prefix_refuses, bucket.path):
        return []
    return [(("schema", "bucket"), f"bucket prefix {bucket.path!r} cannot be mounted through {driver.driver}: "
             f"its mount options cannot carry a prefix holding {driver.prefix_refuses_text}")]


def connection_problems(conn: Any, allow_host_paths: Iterable[str] = ()) -> list[tuple[tuple[object, ...], str]]:
    """Everything the renderer would refuse about ``conn`` alone, as ``(path, message)``."""
    out: list[tuple[tuple[object, ...], str]] = []
    allowed = {normalise_path(p) for p in allow_host_paths}
    schema = getattr(conn, "schema_", None)
    host_path = getattr(schema, "host_path", None)
    if host_path is not None:
        why = why_denied(host_path, allowed)
        if why is not None:
            out.append((("schema", "hostPath"), f"hostPath {host_path!r} is not allowed: {why}; allow it "
                        "explicitly (--allow-host-path / allow_host_paths) if this is intended"))
    mounts: list[tuple[tuple[object, ...], str]] = []
    schema_mount = getattr(schema, "mount_path", None)
    if schema_mount is not None:
        mounts.append((("schema", "mountPath"), schema_mount))
    csi_mount = getattr(conn, "mount", None)  # a bucket mounted through its CSI driver
    if csi_mount is not None:
        mounts.append((("mount", "mountPath"), csi_mount.mount_path))
        out.extend(_mount_prefix_problems(conn))
    for attr, key in _RESOURCES:
        resource = getattr(conn, attr)
        if resource is None:
            continue
        if resource.mount_path is not None:
            mounts.append(((key, "mountPath"), resource.mount_path))
            continue
        # without a mountPath each item becomes an env var named after its key (k8s.env)
        for i, item in enumerate(resource.items):
            try:
                check_env_name(item.key)
            except ValueError:
                out.append(((key, "items", i), f"item {item.key!r} cannot be an env var name, and a {key} "
                            "without mountPath delivers its items as env vars; give it a mountPath"))
    seen_mounts: dict[str, tuple[object, ...]] = {}
    for path, mount in mounts:
        why = why_reserved(mount)
        if why is not None:
            out.append((path, f"mountPath {mount!r} is {why}"))
        norm = normalise_path(mount)
        if norm in seen_mounts:
            # one container cannot mount two volumes on one path
            out.append((path, f"mountPath {mount!r} is also where {'.'.join(map(str, seen_mounts[norm]))} "
                        "mounts; a connection's volumes need different paths"))
        else:
            seen_mounts[norm] = path
    out.extend(_env_clashes(conn))
    for i, var in enumerate(conn.env):
        if isinstance(var.value, str):
            problem = template_problem(var.value)
            if problem is not None:
                out.append((("env", i, "value"), problem))
    size = sum(len(k.encode()) + len(v.encode()) for k, v in conn.annotations.items())
    if size > MAX_ANNOTATIONS_BYTES:
        out.append((("annotations",), f"annotations take {size} bytes, more than the API server's "
                    f"{MAX_ANNOTATIONS_BYTES} for a whole pod"))
    return out
