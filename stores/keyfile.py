"""Where a bucket connection's key file is, and the variable naming it (tier 0: stdlib only).

One rule for the renderer (``k8s.env``, ``k8s.naming``), the values loaders (``stores.legacy``)
and the in-run lookup (``stores.credentials``):

- a legacy bucket's secret is mounted at ``/plx-secrets/<name>`` (:data:`SECRETS_ROOT`) with
  its key delivered as ``key.json`` (:data:`KEY_FILE`);
- a connection's key file is :func:`key_file_path` of its secret's mount;
- the rendered pod names it in ``POLYAXON_CONNECTION_<NAME>_KEY_FILE`` (:func:`key_file_env`).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "SECRETS_ROOT",
    "KEY_FILE",
    "KEY_FILE_ENV_PREFIX",
    "KEY_FILE_ENV_SUFFIX",
    "key_file_env",
    "key_file_path",
]

#: where a legacy bucket's key file is mounted, one folder per connection; also where the in-run
#: lookup looks for the key of a store known only by name
SECRETS_ROOT = "/plx-secrets"
#: the key file's name when nothing else says (the legacy spelling's ``key.json``)
KEY_FILE = "key.json"

KEY_FILE_ENV_PREFIX = "POLYAXON_CONNECTION_"
KEY_FILE_ENV_SUFFIX = "_KEY_FILE"
_NOT_ENV_CHAR = re.compile(r"[^A-Z0-9]")


def key_file_env(name: str) -> str:
    """``POLYAXON_CONNECTION_<NAME>_KEY_FILE``: the env var holding a bucket connection's key-file
    path in the container.  ``<NAME>`` is the connection name upper-cased, every other character
    as ``_``.  Two names that fold alike (``test-s3``, ``test_s3``) would share the variable: the
    renderer's env check refuses such a pod rather than let one win."""
    return f"{KEY_FILE_ENV_PREFIX}{_NOT_ENV_CHAR.sub('_', name.upper())}{KEY_FILE_ENV_SUFFIX}"


_KINDS: Any = None


def _kinds() -> Any:
    # stores.kinds, not at import: it takes KEY_FILE from here
    global _KINDS
    if _KINDS is None:
        from .kinds import KINDS

        _KINDS = KINDS
    return _KINDS


def key_file_path(connection: Any) -> str | None:
    """Where a bucket ``connection``'s key file is mounted in the pod (not re-rooted), or ``None``
    when its secret is not mounted as files.

    The one rule, shared by the renderer and the in-run lookup: the secret's single item; else
    the item mounted under the kind's key-file name (``gc-secret.json`` for GCS, as Polyaxon's
    docs create that secret; ``key.json`` for the others and for the legacy spelling); no items:
    that name.  Several items and none of those names: no key file (ambiguous).
    """
    secret = getattr(connection, "secret", None)
    if secret is None or not secret.mount_path:
        return None
    row = _kinds().get(getattr(connection, "kind", ""))
    if row is None or not row.is_bucket:
        return None
    items = tuple(secret.items)
    root = secret.mount_path.rstrip("/")
    if len(items) == 1:
        return f"{root}/{items[0].path}"
    names = (row.key_file, KEY_FILE)
    if not items:
        return f"{root}/{row.key_file}"
    for wanted in names:
        if any(i.path == wanted for i in items):
            return f"{root}/{wanted}"
    return None
