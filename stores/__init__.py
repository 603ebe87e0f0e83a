"""Storage connections and volume mounts for ML runs on Kubernetes.

Importing this package loads only the standard library (tier 0); the catalog, models and CLI
are imported on first use::

    from stores import Catalog          # pydantic is imported here, not before
"""

from __future__ import annotations

from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names

__version__ = "0.1.0"

_LAZY = {
    "Catalog": "stores.catalog",
    "parse_connection": "stores.models",
    "HostPathConnection": "stores.models",
    "ClaimConnection": "stores.models",
    "S3Connection": "stores.models",
    "GcsConnection": "stores.models",
    "WasbConnection": "stores.models",
    "ConnectionResource": "stores.models",
    "values_schema": "stores.schema",
    "ValuesDocument": "stores.edit",
    "migrate_text": "stores.migrate",
    "select": "stores.selection",
    "RunRequest": "stores.selection",
    "Selection": "stores.selection",
    "RunInfo": "stores.contract.runinfo",
    "contract_env": "stores.contract.write",
    "inputs_env": "stores.contract.write",
    "Globals": "stores.contract.globals",
    "compute_globals": "stores.contract.globals",
    "resolve_context": "stores.contract.context",
    "ClientContext": "stores.contract.context",
}

__all__ = ["__version__", *_error_names, *_LAZY]


def __getattr__(name: str) -> object:  # not typing.Any: importing typing costs ~2 ms in-run
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stores' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
