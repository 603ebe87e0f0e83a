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

# `from stores import Catalog` typed for mypy and pyright; never true at run time, and without
# importing `typing` (~2 ms in-run, see __getattr__ below): type checkers know the name
TYPE_CHECKING = False
if TYPE_CHECKING:
    from stores.catalog import Catalog as Catalog
    from stores.models import (
        parse_connection as parse_connection,
        HostPathConnection as HostPathConnection,
        ClaimConnection as ClaimConnection,
        S3Connection as S3Connection,
        GcsConnection as GcsConnection,
        WasbConnection as WasbConnection,
        ConnectionResource as ConnectionResource,
    )
    from stores.schema import values_schema as values_schema
    from stores.selection import select as select, RunRequest as RunRequest, Selection as Selection
    from stores.contract.runinfo import RunInfo as RunInfo
    from stores.contract.write import contract_env as contract_env, inputs_env as inputs_env
    from stores.contract.globals import Globals as Globals, compute_globals as compute_globals
    from stores.contract.context import (
        resolve_context as resolve_context,
        ClientContext as ClientContext,
    )

__all__ = ["__version__", *_error_names, *_LAZY]


def __getattr__(name: str) -> object:  # not typing.Any: importing typing costs ~2 ms in-run
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stores' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
