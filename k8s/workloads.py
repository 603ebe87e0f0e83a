"""Where a workload keeps its pod templates: the table ``apply_patch`` and the post-renderer read
(tier 1, stdlib only).

Each kind maps to one or more *paths* to a pod template (``{metadata, spec}``).  A path is a
tuple of keys; ``"*"`` stands for every item of a list or every value of a mapping, so a
PyTorchJob's ``("spec", "pytorchReplicaSpecs", "*", "template")`` reaches the Master's and every
Worker's template.  Every pod template found gets the whole patch (each replica of a training
job reads the same data and writes the same outputs).

==========================================  =========================================================
kind (API group)                            pod templates
==========================================  =========================================================
Pod (core)                                  the object itself
Job (batch), Deployment, StatefulSet,       ``spec.template``
DaemonSet, ReplicaSet (apps)
CronJob (batch)                             ``spec.jobTemplate.spec.template``
PyTorchJob, TFJob, MPIJob, XGBoostJob,      ``spec.<kind>ReplicaSpecs.<Role>.template`` (every role);
PaddleJob (kubeflow.org)                    main container: ``pytorch``, ``tensorflow``, ``mpi``,
                                            ``xgboost``, ``paddle`` when present, else the first
JobSet (jobset.x-k8s.io)                    ``spec.replicatedJobs[].template.spec.template``
RayCluster (ray.io)                         ``spec.headGroupSpec.template``,
                                            ``spec.workerGroupSpecs[].template``
RayJob (ray.io)                             the same under ``spec.rayClusterSpec``
RayService (ray.io)                         the same under ``spec.rayClusterConfig``
Workflow, WorkflowTemplate,                 ``spec.templates[]`` (CronWorkflow:
ClusterWorkflowTemplate, CronWorkflow       ``spec.workflowSpec.templates[]``): see below
(argoproj.io)
==========================================  =========================================================

Argo templates are not pod templates: a template that runs a pod has a ``container``, a
``script`` or a ``containerSet``; steps, dag, resource, suspend, http and data templates run no
pod of ours and are left alone.  Each pod-running template is patched as a pod of its own:
its ``container`` / ``script`` is the main container (of a ``containerSet``: the one named
``main``, Argo's own main container, else the first) and gets the mounts, env and envFrom;
the volumes go into **that template's** ``volumes`` (not the workflow's ``spec.volumes``: a
template called through ``templateRef`` from another workflow takes its own volumes along,
never the defining workflow's); the patch's init containers go before the template's ``initContainers``, its sidecars after its ``sidecars``, its
annotations into the template's ``metadata.annotations``.  The clash checks see what Argo puts
in the pod: the workflow's ``spec.volumes`` and the template's own.

A kind is matched with its API group when the manifest has an ``apiVersion`` (a ``Workflow`` of
another group is not Argo's).  ``register_workload`` adds or replaces a kind::

    from k8s.workloads import register_workload
    register_workload("TrainJob", ("spec", "podTemplates", "*", "template"),
                      group="example.com", main_container="trainer")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

__all__ = [
    "Workload",
    "WORKLOADS",
    "ARGO_KINDS",
    "register_workload",
    "workload_for",
    "pod_templates",
    "api_group",
]

#: a path to pod templates: keys, ``"*"`` for every item of a list / value of a mapping
Path = tuple[str, ...]


@dataclass(frozen=True)
class Workload:
    """One kind's pod templates: ``paths`` into the manifest (``()``: the manifest is the pod),
    ``group`` its API group (``""``: core; ``None``: any), ``main_container`` the container name
    that is the main one when present and the caller names none, ``argo`` for Argo's template
    lists (``paths`` then lead to lists of Argo templates)."""

    kind: str
    paths: tuple[Path, ...]
    group: str | None = None
    main_container: str | None = None
    argo: bool = False


WORKLOADS: dict[str, Workload] = {}

ARGO_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


def register_workload(
    kind: str,
    *paths: Path,
    group: str | None = None,
    main_container: str | None = None,
    argo: bool = False,
) -> Workload:
    """Add (or replace) a kind in the table; returns its entry.  ``paths`` as in the module
    docstring; ``group``: the API group its ``apiVersion`` must carry (``None``: any)."""
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"a workload kind must be a non-empty string, got {kind!r}")
    if not paths:
        raise ValueError(f"{kind}: give at least one path to a pod template (() for the object itself)")
    for path in paths:
        if not isinstance(path, tuple) or not all(isinstance(k, str) and k for k in path):
            raise ValueError(f"{kind}: a path is a tuple of keys ('*' for every item), got {path!r}")
    entry = Workload(kind, tuple(paths), group, main_container, argo)
    WORKLOADS[kind] = entry
    return entry


def api_group(api_version: Any) -> str | None:
    """``apps/v1`` -> ``apps``, ``v1`` -> ``""`` (core); ``None`` when not a string."""
    if not isinstance(api_version, str):
        return None
    return api_version.rpartition("/")[0]


def workload_for(manifest: Any) -> Workload | None:
    """The table's entry for this manifest dict, or ``None`` (not a workload we patch)."""
    if not isinstance(manifest, dict):
        return None
    kind = manifest.get("kind")
    entry = WORKLOADS.get(kind) if isinstance(kind, str) else None
    if entry is None:
        return None
    group = api_group(manifest.get("apiVersion"))
    if entry.group is not None and group is not None and group != entry.group:
        return None
    return entry


def pod_templates(manifest: dict[str, Any], path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, node)`` for every node ``path`` reaches (``where``: a dotted path for messages;
    a node that is not a mapping is yielded as it is, for the caller to refuse)."""

    def walk(node: Any, rest: Path, where: str) -> Iterator[tuple[str, Any]]:
        if not rest:
            yield where, node
            return
        key, tail = rest[0], rest[1:]
        if key == "*":
            if isinstance(node, list):
                for i, item in enumerate(node):
                    yield from walk(item, tail, f"{where}[{i}]")
            elif isinstance(node, dict):
                for name, item in node.items():
                    yield from walk(item, tail, f"{where}.{name}")
            elif node is not None:  # absent: no templates there (a RayCluster without workers)
                yield where, node
            return
        child = node.get(key) if isinstance(node, dict) else None
        yield from walk(child, tail, f"{where}.{key}" if where else key)

    yield from walk(manifest, path, "")


def _builtins() -> None:
    template = ("spec", "template")
    register_workload("Pod", (), group="")
    register_workload("Job", template, group="batch")
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        register_workload(kind, template, group="apps")
    register_workload("CronJob", ("spec", "jobTemplate", "spec", "template"), group="batch")
    for kind, key, main in (
        ("PyTorchJob", "pytorchReplicaSpecs", "pytorch"),
        ("TFJob", "tfReplicaSpecs", "tensorflow"),
        ("MPIJob", "mpiReplicaSpecs", "mpi"),
        ("XGBoostJob", "xgbReplicaSpecs", "xgboost"),
        ("PaddleJob", "paddleReplicaSpecs", "paddle"),
    ):
        register_workload(kind, ("spec", key, "*", "template"), group="kubeflow.org", main_container=main)
    register_workload("JobSet", ("spec", "replicatedJobs", "*", "template", "spec", "template"), group="jobset.x-k8s.io")
    for kind, prefix in (("RayCluster", ("spec",)), ("RayJob", ("spec", "rayClusterSpec")),
                         ("RayService", ("spec", "rayClusterConfig"))):
        register_workload(kind, (*prefix, "headGroupSpec", "template"), (*prefix, "workerGroupSpecs", "*", "template"),
                          group="ray.io")
    for kind in ARGO_KINDS:
        spec = ("spec", "workflowSpec") if kind == "CronWorkflow" else ("spec",)
        register_workload(kind, (*spec, "templates"), group="argoproj.io", main_container="main", argo=True)


_builtins()
