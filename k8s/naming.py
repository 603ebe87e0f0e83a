"""Names the renderer derives: volume names and per-connection env var names (tier 0: stdlib).

Kept free of pydantic and of the Kubernetes client.  The key-file variable's rule lives in
``stores.keyfile`` (shared with the in-run lookup) and is re-exported here.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from stores.keyfile import KEY_FILE_ENV_PREFIX, KEY_FILE_ENV_SUFFIX, key_file_env

__all__ = [
    "MAX_LABEL",
    "VolumeNamer",
    "label_for",
    "CONTEXT_VOLUME_NAMES",
    "KEY_FILE_ENV_PREFIX",
    "KEY_FILE_ENV_SUFFIX",
    "key_file_env",
    "DEFAULT_RUN_NAMESPACE",
    "default_run_uuid",
]

MAX_LABEL = 63
_HASH_LEN = 8
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # fullmatch: the whole name

def label_for(name: str) -> str:
    """``name`` itself when it is a DNS-1123 label (what Polyaxon uses: the connection, secret or
    config map name), else a label derived from it: lower-cased, other characters as ``-``, with
    8 hex digits of its SHA-256 so that two names which fold alike still differ."""
    if len(name) <= MAX_LABEL and _LABEL.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LEN]
    head = re.sub(r"[^a-z0-9-]+", "-", name.lower())[: MAX_LABEL - _HASH_LEN - 1].strip("-")
    return f"{head}-{digest}" if head else digest


#: the volumes Polyaxon's plugins bring, by its names (its converter's constants)
CONTEXT_VOLUME_NAMES = {
    "artifacts": "artifacts-context",
    "shm": "shm",
    "docker": "docker",
    "toolkit_tmp": "plx-toolkit-tmp",
}


class VolumeNamer:
    """The name of every volume of one pod, decided once and deterministically.

    Polyaxon names a host-path / claim volume after its connection and a mounted secret or config
    map after the resource, so two of them can share a name (a secret called like a connection),
    which the API server refuses.  Here the plugins' volumes and every store volume of the catalog
    are reserved first (in that order), so a store volume always keeps Polyaxon's name; a secret
    or config map volume gets its resource's name unless another volume holds it, then
    ``<name>-secret`` / ``<name>-config``, then that with a hash.  One resource mounted the same
    way by several connections is one volume (``key`` identifies it).
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[object, ...], str] = {}
        self._taken: set[str] = set()

    def reserve(self, key: tuple[object, ...], desired: str) -> str:
        return self.name(key, desired, "")

    def name(self, key: tuple[object, ...], desired: str, family: str) -> str:
        have = self._by_key.get(key)
        if have is not None:
            return have
        chosen = label_for(desired)
        if chosen in self._taken:
            # the fallbacks, computed only when needed: ``<name>-<family>``, then that hashed
            last = label_for(f"{desired}-{family}") if family else chosen
            if last in self._taken:
                digest = hashlib.sha256(repr(key).encode()).hexdigest()[:_HASH_LEN]
                last = f"{last[: MAX_LABEL - _HASH_LEN - 1].rstrip('-')}-{digest}"
            chosen = last
        self._by_key[key] = chosen
        self._taken.add(chosen)
        return chosen


#: uuid5 namespace of the default run uuids (a uuid5 of the URL namespace, fixed forever)
DEFAULT_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/polyaxon/stores/render")


def default_run_uuid(owner: str, project: str, name: str | None = None) -> str:
    """The run uuid used when none is given: ``uuid5(DEFAULT_RUN_NAMESPACE, "owner/project/name")``
    in hex.  A function of its arguments only, so renders without ``--run-uuid`` are
    reproducible; give a real uuid for real runs."""
    return uuid.uuid5(DEFAULT_RUN_NAMESPACE, f"{owner}/{project}/{name or ''}").hex
