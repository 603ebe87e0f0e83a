"""Checks run on a pod before anything is printed (tier 1, no Kubernetes client needed).

The Kubernetes schemas do not catch these, and an API server would (at best) reject them late:

- two volumes with one name;
- a mount of a volume the pod does not have;
- two mounts on one path in one container;
- a mount on ``/plx-context/artifacts`` (``CONTEXT_MOUNT``) or on a parent of it, except the
  context volume itself (named ``CONTEXT_VOLUME``) mounted exactly there;
- two different sources for one env name in one container (never last-one-wins; identical
  definitions are one source);
- one pod annotation key with two different values, or annotations over the API server's 256 KiB;
- two containers with one name;
- a hostPath on the deny list (see ``HostPathPolicy``).

Each check takes plain records (name, path, source) and raises ``RenderError`` naming both
parties of a clash.  Every check is one pass with a dict: linear in the number of records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple

from stores.errors import RenderError
from stores.policy import (
    CONTEXT_MOUNT,
    DENIED_HOST_PATHS,
    DENIED_HOST_TREES,
    MAX_ANNOTATIONS_BYTES,
    normalise_path,
    why_denied,
    why_reserved,
)

__all__ = [
    "CONTEXT_VOLUME",
    "CONTEXT_MOUNT",
    "DENIED_HOST_PATHS",
    "DENIED_HOST_TREES",
    "HostPathPolicy",
    "MountRecord",
    "EnvRecord",
    "ContainerView",
    "PodView",
    "check_pod",
    "check_volume_names",
    "check_mount_volumes",
    "check_mount_paths",
    "check_context_path",
    "check_env",
    "check_annotations",
    "check_container_names",
    "check_host_paths",
    "normalise_path",
]

#: The one volume that may be mounted at ``CONTEXT_MOUNT``: the run's artifacts context (an
#: emptyDir the plugins provide; Polyaxon's name and place for it).
CONTEXT_VOLUME = "artifacts-context"

# the rules themselves live in stores.policy, which the values loader applies to each connection
# too: `stores validate` accepts what render accepts

@dataclass(frozen=True)
class HostPathPolicy:
    """Which hostPaths the renderer refuses.

    The allow mechanism: ``allowed`` holds exact (normalised) host paths that are let through
    although denied — e.g. the docker plugin allows ``/var/run/docker.sock``.  Callers add to it
    with ``render_patch(..., allow_host_paths=[...])``, ``PodPatch.allow_host_path(path, by)``
    (what a plugin calls before the checks run) or ``stores render --allow-host-path PATH``.
    Allowing a path never allows its parents or children.
    """

    denied: tuple[str, ...] = DENIED_HOST_PATHS
    denied_trees: tuple[str, ...] = DENIED_HOST_TREES
    allowed: Mapping[str, str] = field(default_factory=dict)

    def why_denied(self, host_path: str) -> str | None:
        return why_denied(host_path, self.allowed, self.denied, self.denied_trees)


# the records are named tuples, not frozen dataclasses: a render makes one per mount and env var
# of the pod, and a frozen dataclass's __init__ (object.__setattr__ per field) cost a third of
# the checks


class MountRecord(NamedTuple):
    volume: str
    mount_path: str
    source: str


class EnvRecord(NamedTuple):
    name: str
    #: the whole definition in manifest spelling; equal definitions are not a clash
    definition: Any
    source: str


@dataclass
class ContainerView:
    name: str
    role: str
    mounts: list[MountRecord] = field(default_factory=list)
    env: list[EnvRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.role} {self.name!r}"


@dataclass
class PodView:
    """What the checks look at: the pod after the patch, each item with where it came from."""

    volumes: list[tuple[str, str]] = field(default_factory=list)  # (name, source)
    #: (host path, volume name, source) of the volumes the policy applies to
    host_paths: list[tuple[str, str, str]] = field(default_factory=list)
    containers: list[ContainerView] = field(default_factory=list)
    annotations: list[tuple[str, str, str]] = field(default_factory=list)  # (key, value, source)
    policy: HostPathPolicy = field(default_factory=HostPathPolicy)


def check_volume_names(volumes: Iterable[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for name, source in volumes:
        if name in seen:
            raise RenderError(f"duplicate volume name {name!r}: from {seen[name]} and from {source}")
        seen[name] = source


def check_mount_volumes(containers: Iterable[ContainerView], volumes: Iterable[str]) -> None:
    known = set(volumes)
    for container in containers:
        for mount in container.mounts:
            if mount.volume not in known:
                raise RenderError(
                    f"{container.label} mounts volume {mount.volume!r} at {mount.mount_path} "
                    f"(from {mount.source}), but the pod has no volume of that name"
                )


def check_mount_paths(containers: Iterable[ContainerView]) -> None:
    for container in containers:
        seen: dict[str, MountRecord] = {}
        for mount in container.mounts:
            path = normalise_path(mount.mount_path)
            other = seen.get(path)
            if other is not None:
                raise RenderError(
                    f"two mounts on {path} in {container.label}: volume {other.volume!r} "
                    f"(from {other.source}) and volume {mount.volume!r} (from {mount.source})"
                )
            seen[path] = mount


def check_context_path(containers: Iterable[ContainerView], context_path: str = CONTEXT_MOUNT) -> None:
    for container in containers:
        for mount in container.mounts:
            path = normalise_path(mount.mount_path)
            if path == context_path and mount.volume == CONTEXT_VOLUME:
                continue
            if not context_path.startswith(path.rstrip("/")):
                continue  # not a string prefix of it: neither the context nor a parent (most mounts)
            why = why_reserved(path, context_path)
            if why is not None:
                raise RenderError(f"{container.label} mounts volume {mount.volume!r} (from {mount.source}) {why}")


def check_env(containers: Iterable[ContainerView]) -> None:
    for container in containers:
        seen: dict[str, EnvRecord] = {}
        for var in container.env:
            other = seen.get(var.name)
            if other is None:
                seen[var.name] = var
            elif other.definition != var.definition:
                raise RenderError(
                    f"env var {var.name} of {container.label} has two sources: "
                    f"{other.source} and {var.source}"
                )


def check_annotations(annotations: Iterable[tuple[str, str, str]]) -> None:
    seen: dict[str, tuple[str, str]] = {}
    size = 0
    for key, value, source in annotations:
        other = seen.get(key)
        if other is None:
            seen[key] = (value, source)
            size += len(key.encode()) + len(value.encode())
        elif other[0] != value:
            raise RenderError(
                f"pod annotation {key!r} has two different values: from {other[1]} and from {source}"
            )
    if size > MAX_ANNOTATIONS_BYTES:
        largest = max(seen.items(), key=lambda kv: len(kv[0]) + len(kv[1][0]))
        raise RenderError(
            f"pod annotations take {size} bytes, more than the API server's {MAX_ANNOTATIONS_BYTES}; "
            f"the largest is {largest[0]!r} from {largest[1][1]}"
        )


def check_container_names(containers: Iterable[ContainerView]) -> None:
    seen: dict[str, ContainerView] = {}
    for container in containers:
        other = seen.get(container.name)
        if other is not None:
            raise RenderError(f"two containers are named {container.name!r}: {other.role} and {container.role}")
        seen[container.name] = container


def check_host_paths(host_paths: Iterable[tuple[str, str, str]], policy: HostPathPolicy) -> None:
    for path, volume, source in host_paths:
        why = policy.why_denied(path)
        if why is not None:
            raise RenderError(
                f"hostPath {path} of volume {volume!r} (from {source}) is not allowed: {why}; "
                "allow it explicitly (allow_host_paths / --allow-host-path) if this is intended"
            )


def check_pod(view: PodView) -> None:
    """Every check, in a fixed order; the first failure raises."""
    check_volume_names(view.volumes)
    check_host_paths(view.host_paths, view.policy)
    check_container_names(view.containers)
    check_mount_volumes(view.containers, (name for name, _ in view.volumes))
    check_mount_paths(view.containers)
    check_context_path(view.containers)
    check_env(view.containers)
    check_annotations(view.annotations)
