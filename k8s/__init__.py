"""Connections -> ``kubernetes.client`` objects: volumes, mounts, env, secrets, the pod-spec patch.

Pure functions from models to models (tier 1); output is deterministic.  ``import k8s`` loads
only the standard library; the names below import their module (and ``kubernetes.client``) on
first use.  Nothing in this package loads fsspec or a cloud SDK.

Typical use::

    from k8s import render_patch, apply_patch
    patch = render_patch(catalog, RunRequest(data=("data1",)), RunInfo(uuid=...))
    job = apply_patch(user_job_dict, patch)          # or a V1Job; or patch.to_dict() on its own

Modules, one job each:

==================  ==========================================================================
``k8s.naming``      volume names, the key-file env var (stdlib only)
``k8s.protocols``   what the builders read of a connection (``ConnectionLike``, ...; stdlib only)
``k8s.volumes``     connection -> volumes and main-container mounts (table ``STORE_VOLUMES``)
``k8s.env``         connection / run -> env vars and envFrom; key-file and SDK variables
``k8s.secrets``     key file -> checked ``V1Secret`` (``stores secret``)
``k8s.podpatch``    ``PodPatch``: items with their sources, extension points, ``to_dict()``
``k8s.connection``  ``add_connection``: one connection's volumes, mounts, env, annotations on a patch
``k8s.render``      ``render_patch``: catalog + selection + run (+ plugins) -> checked ``PodPatch``
``k8s.plugins``     Polyaxon's ``V1Plugins`` (table ``PLUGINS``, the main container's plugins);
                    settings in ``stores.settings``; re-exports the three below
``k8s.toolkit``     the hardened toolkit containers the plugins add, a store's access for them
``k8s.collect``     ``collectArtifacts``, ``collectLogs``, ``autoResume``, the sidecar
``k8s.initcopies``  copies into the pod: ``run.init`` and bucket downloads (``download_data``)
``k8s.apply``       ``apply_patch``: a patch onto a workload (dict or client model object)
``k8s.workloads``   where each kind keeps its pod templates (``register_workload``; stdlib only)
``k8s.postrender``  ``post_render``: a multi-document stream with its workloads patched (helm)
``k8s.serialize``   client models <-> manifest dicts, pydantic (37+) or older clients
``k8s.checks``      clash checks and the hostPath deny list
``k8s.validate``    strict validation against the Kubernetes schemas (``kubernetes-validate``)
``k8s.templates``   ``{{ globals.x }}``: the run's resolver, and where it applies in containers
==================  ==========================================================================

Conventions
-----------

Volume names
    ``store-<connection>`` for a host path or claim, ``secret-<connection>`` and
    ``config-<connection>`` for a connection's mounted secret / config map.  Names longer than 63
    characters keep 54 and end with ``-`` + 8 hex digits of a SHA-256 of the full name.

Key files of bucket connections
    A bucket connection whose secret has a ``mountPath`` (every legacy ``secret`` + ``secretKey``
    entry: mounted read-only at ``/plx-secrets/<name>/key.json``) gets
    ``POLYAXON_CONNECTION_<NAME>_KEY_FILE=<path of the key file>`` on the main container, where
    ``<NAME>`` is the connection name upper-cased with ``-`` as ``_`` (``data-s3`` ->
    ``POLYAXON_CONNECTION_DATA_S3_KEY_FILE``).  The key file is the secret's single item, else
    its item mounted as ``key.json``, else (no items) ``key.json``.  GCS connections also set
    ``GOOGLE_APPLICATION_CREDENTIALS`` to it, so every Google SDK finds it; if selected GCS
    connections hold different keys, ``render_patch(sdk_defaults={"gcs": NAME})`` chooses.

Secrets
    Secret values only travel as ``secretKeyRef`` env vars, ``envFrom`` or mounted files; no env
    var ever carries one as a literal value.

HostPath deny list and its allow mechanism
    ``/``, ``/proc``, ``/sys``, ``/etc``, ``/var/run/docker.sock`` (and ``/run/docker.sock``),
    anything under ``/proc``, ``/sys``, ``/etc``, and any ancestor of those are refused.  Exact
    paths are let through by ``render_patch(..., allow_host_paths=[...])``, by
    ``PodPatch.allow_host_path(path, by=...)`` (what the docker plugin calls), or by
    ``stores render --allow-host-path PATH``.

Extension points (plugins, init containers, sidecars)
    ``render_patch(..., extensions=[fn, ...])`` calls each ``fn(patch)`` before the checks; ``fn``
    uses ``patch.add_volume/add_mount/add_env/add_env_from/add_annotation/add_init_container/
    add_sidecar/allow_host_path`` and reads ``patch.context`` (catalog, selection, run, inputs).
    The run context volume must be named ``k8s.checks.CONTEXT_VOLUME`` to mount at
    ``/plx-context``.  ``render_patch(..., plugins=..., settings=...)`` applies Polyaxon's ``V1Plugins``
    plugins first (``k8s.plugins``); ``download_data([...])`` is such an extension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "render_patch",
    "resolve_selection",
    "apply_patch",
    "register_workload",
    "post_render",
    "PodPatch",
    "Sourced",
    "HostPathPolicy",
    "check_pod",
    "build_secret",
    "secret_from_file",
    "check_key_document",
    "validate_manifest",
    "wrap_patch",
    "dump",
    "label_for",
    "VolumeNamer",
    "key_file_env",
    "default_run_uuid",
    "apply_plugins",
    "download_data",
]

_LAZY = {
    "render_patch": "k8s.render",
    "resolve_selection": "k8s.render",
    "apply_patch": "k8s.apply",
    "register_workload": "k8s.workloads",
    "post_render": "k8s.postrender",
    "PodPatch": "k8s.podpatch",
    "Sourced": "k8s.podpatch",
    "HostPathPolicy": "k8s.checks",
    "check_pod": "k8s.checks",
    "build_secret": "k8s.secrets",
    "secret_from_file": "k8s.secrets",
    "check_key_document": "k8s.secrets",
    "validate_manifest": "k8s.validate",
    "wrap_patch": "k8s.validate",
    "dump": "k8s.serialize",
    "label_for": "k8s.naming",
    "VolumeNamer": "k8s.naming",
    "key_file_env": "k8s.naming",
    "default_run_uuid": "k8s.naming",
    "apply_plugins": "k8s.plugins",
    "download_data": "k8s.plugins",
}


if TYPE_CHECKING:  # `from k8s import render_patch` typed; at run time __getattr__ imports on first use
    from k8s.render import render_patch as render_patch, resolve_selection as resolve_selection
    from k8s.apply import apply_patch as apply_patch
    from k8s.podpatch import PodPatch as PodPatch, Sourced as Sourced
    from k8s.checks import HostPathPolicy as HostPathPolicy, check_pod as check_pod
    from k8s.secrets import (
        build_secret as build_secret,
        secret_from_file as secret_from_file,
        check_key_document as check_key_document,
    )
    from k8s.validate import validate_manifest as validate_manifest, wrap_patch as wrap_patch
    from k8s.serialize import dump as dump
    from k8s.naming import (
        label_for as label_for,
        VolumeNamer as VolumeNamer,
        key_file_env as key_file_env,
        default_run_uuid as default_run_uuid,
    )
    from k8s.plugins import apply_plugins as apply_plugins, download_data as download_data


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'k8s' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
