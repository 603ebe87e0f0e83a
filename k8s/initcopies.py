"""Copies into the pod before the main container starts: the polyaxonfile's ``run.init`` and ``download_data`` (tier 1)."""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
import uuid
from typing import Iterable

from ._client import V1EmptyDirVolumeSource, V1Volume, V1VolumeMount

from stores.errors import RenderError
from stores.plugins import DataDownload, artifacts_store

from .checks import CONTEXT_MOUNT
from .podpatch import Extension, PodPatch
from .protocols import ConnectionLike
from .toolkit import toolkit_container

__all__ = ["download_data", "init_copies", "init_container_name", "INIT_COPY_PREFIX", "CONNECTIONS_CONTEXT_FORMAT"]

#: ``<prefix>-<connection>-<10 hex>``: Polyaxon's name for a copy into the pod (its suffix is
#: random; ours is a hash of what is copied, so renders are reproducible)
INIT_COPY_PREFIX = "polyaxon-init-artifacts"
#: an init ``path`` outside the context gets an emptyDir named after it (Polyaxon's scheme)
CONNECTIONS_CONTEXT_FORMAT = "connections-context-{}"


def init_container_name(conn_name: str, what: object) -> str:
    """``polyaxon-init-artifacts-<connection>-<10 hex>`` (a DNS-1123 label), the hex a hash of
    ``what`` is copied; a connection name that cannot stand in a label is folded as Polyaxon
    folds it (lower case, other characters as ``-``)."""
    digest = hashlib.sha256(repr((conn_name, what)).encode()).hexdigest()[:10]
    head = re.sub(r"[^a-z0-9-]+", "-", f"{INIT_COPY_PREFIX}-{conn_name}".lower()).strip("-")
    return f"{head[:52].rstrip('-')}-{digest}"


def _copy_into_pod(patch: PodPatch, conn: ConnectionLike, copies: list[tuple[str, str]], target: str, source: str, what: object) -> None:
    """One init container copying ``copies`` (``(path in the store, destination)``) from ``conn``
    before the main container starts; ``target`` is the folder they land in.  Inside the
    artifacts context the context volume carries them to the main container; elsewhere an
    emptyDir named after ``target`` (Polyaxon's ``connections-context-<uuid5>``) is mounted at
    ``target`` in both.  A missing store or key exits non-zero and fails the pod."""
    in_context = target == CONTEXT_MOUNT or target.startswith(CONTEXT_MOUNT + "/")
    extra: list[V1VolumeMount] = []
    if not in_context:
        name = CONNECTIONS_CONTEXT_FORMAT.format(uuid.uuid5(uuid.NAMESPACE_DNS, target).hex)
        patch.add_volume(V1Volume(name=name, empty_dir=V1EmptyDirVolumeSource()), source)
        mount = V1VolumeMount(name=name, mount_path=target)
        patch.add_mount(mount, source)
        extra.append(mount)
    commands = [["stores", "cp", f"{conn.name}:{src}", dst] for src, dst in copies]
    if len(commands) == 1:
        command = commands[0]
    else:
        command = ["/bin/sh", "-c", " && ".join(shlex.join(c) for c in commands)]
    container = toolkit_container(patch, init_container_name(conn.name, what), command, source, store=conn, context=in_context)
    if extra:
        container.volume_mounts = sorted([*(container.volume_mounts or []), *extra], key=lambda m: m.mount_path)
    patch.add_init_container(container, source)


def init_copies(patch: PodPatch) -> None:
    """The polyaxonfile's ``run.init`` copies (``Selection.init``), where Polyaxon puts them:
    into ``/plx-context/artifacts/<connection>`` (the artifacts store's own into
    ``/plx-context/artifacts``), or into the entry's ``path``; each ``paths`` entry lands at the
    same relative path there; no ``paths``: the whole store."""
    selection = patch.context.get("selection")
    if selection is None:
        return
    store = artifacts_store(selection)
    for n, (item, conn) in enumerate(selection.init):
        source = f"run.init[{n}] ({conn.name!r})"
        if item.path is not None:
            target = item.path
        elif store is not None and conn.name == store.name:
            target = CONTEXT_MOUNT
        else:
            target = posixpath.join(CONTEXT_MOUNT, conn.name)
        copies = [(src, posixpath.join(target, dst)) for src, dst in item.paths] or [("", target)]
        _copy_into_pod(patch, conn, copies, target, source, (n, item))


def download_data(downloads: Iterable[DataDownload | str]) -> Extension:
    """An extension adding, per download, an init container ``polyaxon-init-artifacts-<name>-…``
    that copies a selected data store (or a prefix in it) to ``DataDownload.target`` with
    ``stores cp`` (``stores render --download-data``)."""
    items = [d if isinstance(d, DataDownload) else DataDownload.parse(d) for d in downloads]
    names = [d.name for d in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RenderError(f"data store {twice[0]!r} is downloaded twice; download each store once")
    targets = [d.target for d in items]
    for i, target in enumerate(targets):
        for other in targets[i + 1:]:
            if target == other or target.startswith(other + "/") or other.startswith(target + "/"):
                raise RenderError(f"two data downloads overlap: {target} and {other}")

    def extend(patch: PodPatch) -> None:
        selection = patch.context["selection"]
        by_name = {c.name: c for c in selection.data}
        for item in items:
            source = f"data download {item.name!r}"
            conn = by_name.get(item.name)
            if conn is None:
                raise RenderError(
                    f"cannot download {item.name!r}: not a selected data store; selected: "
                    f"{', '.join(by_name) or '(none)'}"
                )
            _copy_into_pod(patch, conn, [(item.prefix, item.target)], item.target, source, ("download", item.prefix, item.target))

    return extend
