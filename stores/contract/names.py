"""The run contract's variable names and THE run layout (tier 0: stdlib only, imports nothing
of the project).

Every layout path is computed here, by the renderer (``stores.contract.write``), the globals
(``stores.contract.globals``), the in-run reader (``stores.contract.read``), the plugins
(``k8s.plugins``) and the checks alike:

==========================  =====================================================================
in the pod                  ``<context>`` (``/plx-context``, ``globals.context_path``)
                            ``<context>/artifacts`` (``artifacts_path``: the artifacts context)
                            ``<context>/artifacts/<uuid>`` (``run_artifacts_path``)
                            ``<context>/artifacts/<uuid>/outputs`` (``run_outputs_path``)
                            ``<context>/artifacts/<uuid>/logs`` (``run_logs_path``)
in a store                  ``<store>/<uuid>`` (``RUN_FOLDER_TEMPLATE``: what the sidecar syncs)
                            ``<store>/<uuid>/outputs`` (``OUTPUTS_SUBPATH_TEMPLATE``)
local development           ``<root>/data/<name>``, ``<root>/outputs``, ``<root>/artifacts/local``
==========================  =====================================================================

Two spellings of a project, two meanings: ``project_unique_name`` is ``owner.project``
(Polyaxon's ``globals.project_unique_name`` and the head of ``POLYAXON_RUN_INSTANCE``);
``project_full_name`` is ``owner/project`` (the ``project=`` argument of the client context).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

__all__ = [
    "ENV_DATA_PATHS",
    "ENV_OUTPUTS_PATH",
    "ENV_RUN_UUID",
    "ENV_RUN_NAME",
    "ENV_RUN_INSTANCE",
    "ENV_RUN_OWNER",
    "ENV_RUN_PROJECT",
    "ENV_CONTEXT_PATH",
    "ENV_RUN_ARTIFACTS_PATH",
    "ENV_RUN_INPUTS",
    "ENV_RUN_INPUTS_FILE",
    "ENV_NO_OP",
    "ENV_LOCAL_DEV",
    "ENV_LOCAL_DEV_ROOT",
    "ENV_LOCAL_DEV_DATA",
    "ENV_CONNECTIONS_CATALOG",
    "ENV_ARTIFACTS_STORE_NAME",
    "ENV_CSI_MOUNTS",
    "RUN_MARKERS",
    "CONTEXT_PATH",
    "CONTEXT_MOUNT",
    "ARTIFACTS_DIR",
    "OUTPUTS_DIR",
    "LOGS_DIR",
    "DATA_DIR",
    "OUTPUTS_FILE",
    "LOCAL_UUID",
    "RUN_FOLDER_TEMPLATE",
    "OUTPUTS_SUBPATH_TEMPLATE",
    "RUNS_SEPARATOR",
    "artifacts_path",
    "run_artifacts_path",
    "run_outputs_path",
    "run_logs_path",
    "local_data_path",
    "local_outputs_path",
    "project_unique_name",
    "project_full_name",
    "run_instance",
]

# -- the variables -----------------------------------------------------------------------------

ENV_DATA_PATHS = "POLYAXON_RUN_DATA_PATHS"
ENV_OUTPUTS_PATH = "POLYAXON_RUN_OUTPUTS_PATH"
ENV_RUN_UUID = "POLYAXON_RUN_UUID"
ENV_RUN_NAME = "POLYAXON_RUN_NAME"
#: ``owner.project.runs.uuid``, the spelling Polyaxon uses (``run_instance``)
ENV_RUN_INSTANCE = "POLYAXON_RUN_INSTANCE"
ENV_RUN_OWNER = "POLYAXON_RUN_OWNER"
ENV_RUN_PROJECT = "POLYAXON_RUN_PROJECT"
#: the context the renderer shares with the main container (``globals.context_path``)
ENV_CONTEXT_PATH = "POLYAXON_CONTEXT_PATH"
#: ``globals.run_artifacts_path``; derived from the context path and uuid when absent
ENV_RUN_ARTIFACTS_PATH = "POLYAXON_RUN_ARTIFACTS_PATH"
#: the run's resolved inputs, a JSON object
ENV_RUN_INPUTS = "POLYAXON_RUN_INPUTS"
#: or a path to a file holding that JSON object (for inputs too large for an env var)
ENV_RUN_INPUTS_FILE = "POLYAXON_RUN_INPUTS_FILE"
ENV_NO_OP = "POLYAXON_NO_OP"
ENV_LOCAL_DEV = "STORES_LOCAL_DEV"
ENV_LOCAL_DEV_ROOT = "STORES_LOCAL_DEV_ROOT"
#: optional JSON ``{name: local path}`` pointing local development at real data
ENV_LOCAL_DEV_DATA = "STORES_LOCAL_DEV_DATA"

#: Polyaxon's catalog of the connections a container was given: JSON
#: ``{"connections": [{name, kind, schema, secret, configMap, env, annotations}, ...]}``
ENV_CONNECTIONS_CATALOG = "POLYAXON_CONNECTIONS_CATALOG"
#: the name of the store the run's artifacts are collected to
ENV_ARTIFACTS_STORE_NAME = "POLYAXON_ARTIFACTS_STORE_NAME"
#: ours, next to Polyaxon's catalog (whose ``V1Connection`` forbids other keys): JSON
#: ``{name: mountPath}`` of the container's buckets mounted through a CSI driver
ENV_CSI_MOUNTS = "STORES_CSI_MOUNTS"

#: any of these set means "this process runs inside a rendered run"
RUN_MARKERS = (ENV_DATA_PATHS, ENV_OUTPUTS_PATH, ENV_RUN_UUID, ENV_RUN_INSTANCE)

# -- the layout --------------------------------------------------------------------------------

#: the run's context in the pod (``globals.context_path``; the docs' ``/plx_context`` is the same
#: directory under its older spelling)
CONTEXT_PATH = "/plx-context"
ARTIFACTS_DIR = "artifacts"
OUTPUTS_DIR = "outputs"
LOGS_DIR = "logs"
#: local development: ``<root>/data/<name>``
DATA_DIR = "data"
#: the run's outputs, a JSON object in ``run_outputs_path`` (``stores.contract.io``)
OUTPUTS_FILE = "outputs.json"
#: the uuid (and owner, project) of a local-development run
LOCAL_UUID = "local"

#: a run's folder in the artifacts store: what the sidecar syncs and autoResume restores
RUN_FOLDER_TEMPLATE = "{uuid}"
#: How a run's outputs sub-path is formed under the selected outputs store.  Fields: owner,
#: project, uuid, name.  ``POLYAXON_RUN_OUTPUTS_PATH = <store path>/<this>``.  Polyaxon 2.x keeps
#: a run's artifacts at ``<store>/<uuid>`` (``RUN_FOLDER_TEMPLATE``) and its outputs in the
#: ``outputs`` folder there, where the artifacts sidecar uploads them too.
OUTPUTS_SUBPATH_TEMPLATE = RUN_FOLDER_TEMPLATE + "/" + OUTPUTS_DIR

_Join = Callable[..., str]


def artifacts_path(context_path: str = CONTEXT_PATH, join: _Join = posixpath.join) -> str:
    """``<context>/artifacts`` (``globals.artifacts_path``)."""
    return join(context_path, ARTIFACTS_DIR)


def run_artifacts_path(context_path: str, uuid: str, join: _Join = posixpath.join) -> str:
    """``<context>/artifacts/<uuid>`` (``globals.run_artifacts_path``)."""
    return join(artifacts_path(context_path, join), uuid)


def run_outputs_path(run_artifacts: str, join: _Join = posixpath.join) -> str:
    """``<run artifacts>/outputs`` (``globals.run_outputs_path``)."""
    return join(run_artifacts, OUTPUTS_DIR)


def run_logs_path(run_artifacts: str, join: _Join = posixpath.join) -> str:
    """``<run artifacts>/logs``."""
    return join(run_artifacts, LOGS_DIR)


def local_data_path(root: str, name: str | None = None, join: _Join = posixpath.join) -> str:
    """Local development: ``<root>/data`` or ``<root>/data/<name>``."""
    return join(root, DATA_DIR) if name is None else join(root, DATA_DIR, name)


def local_outputs_path(root: str, join: _Join = posixpath.join) -> str:
    """Local development: ``<root>/outputs``."""
    return join(root, OUTPUTS_DIR)


#: where the run's artifacts context is mounted in the pod (only the plugins' context volume goes
#: there); init copies land in ``<CONTEXT_MOUNT>/<connection name>``
CONTEXT_MOUNT = artifacts_path(CONTEXT_PATH)

# -- who the run is ----------------------------------------------------------------------------

#: ``POLYAXON_RUN_INSTANCE`` is ``<project_unique_name>.runs.<uuid>``
RUNS_SEPARATOR = ".runs."


def project_unique_name(owner: str, project: str) -> str:
    """``owner.project``: Polyaxon's ``globals.project_unique_name``."""
    return f"{owner}.{project}"


def project_full_name(owner: str, project: str) -> str:
    """``owner/project``: the client context's ``project=`` spelling."""
    return f"{owner}/{project}"


def run_instance(owner: str, project: str, uuid: str) -> str:
    """``owner.project.runs.uuid`` (``POLYAXON_RUN_INSTANCE``)."""
    return project_unique_name(owner, project) + RUNS_SEPARATOR + uuid
