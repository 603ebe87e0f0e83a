"""The run contract: what a run's pod is told, and where its files go.

==================  ===========================================================================
``names``           the variable names and THE run layout (``<context>/artifacts/<uuid>/outputs``,
                    ``<store>/<uuid>``, the local-development folders); tier 0
``read``            reading the contract inside a run, the no-op/run/local modes; tier 0
``checks``          the checks of what the contract holds (names, paths, URLs, JSON), the one
                    flag parser and the one ``POLYAXON_RUN_INSTANCE`` parser; tier 0
``io``              the run's inputs and ``outputs.json``; tier 0
``runinfo``         ``RunInfo``, who a run is (renderer side)
``globals``         ``globals.*`` of a run (``compute_globals``)
``context``         the client context (``resolve_context``)
``write``           the env a run gets from a selection (``contract_env``); tier 1
==================  ===========================================================================

``stores.run`` is the public face inside a run.  Importing this package loads nothing: ``write``'s names
(``from stores.contract import contract_env``) are imported on first use, so the in-run
modules stay free of pydantic.
"""

from __future__ import annotations

_WRITE = (
    "data_paths",
    "outputs_path",
    "contract_env",
    "inputs_env",
    "join_store_path",
    "CONTRACT_VARS",
    "connections_catalog",
    "catalog_part",
    "join_catalog",
    "catalog_entry",
    "catalog_entry_json",
    "csi_mounts",
)

__all__ = list(_WRITE)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see __getattr__)
if TYPE_CHECKING:
    from .write import (
        CONTRACT_VARS as CONTRACT_VARS,
        catalog_entry as catalog_entry,
        catalog_entry_json as catalog_entry_json,
        catalog_part as catalog_part,
        join_catalog as join_catalog,
        connections_catalog as connections_catalog,
        contract_env as contract_env,
        csi_mounts as csi_mounts,
        data_paths as data_paths,
        inputs_env as inputs_env,
        join_store_path as join_store_path,
        outputs_path as outputs_path,
    )


def __getattr__(name: str) -> object:  # not typing.Any: importing typing costs ~2 ms in-run
    if name not in _WRITE:
        raise AttributeError(f"module 'stores.contract' has no attribute {name!r}")
    import sys

    from . import write

    value = getattr(write, name)
    # not globals(): the submodule ``stores.contract.globals`` shadows that builtin here
    setattr(sys.modules[__name__], name, value)
    return value
