"""The pod-template table (``k8s.workloads``): every built-in kind strictly valid against the
Kubernetes schemas, client model objects in and out, Kubeflow training jobs, JobSet, Ray, Argo
workflows, and a kind a caller registers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from k8s import apply_patch, render_patch
from k8s.apply import ARGO_POD_KEYS
from k8s.serialize import dump
from k8s.workloads import WORKLOADS, pod_templates, register_workload
from support.k8s import RUN, assert_valid
from support.paths import ROOT
from stores.catalog import Catalog
from stores.errors import ManifestError, RenderError
from stores.plugins import parse_plugins
from stores.selection import RunRequest
from stores.settings import Settings



@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_file(ROOT / "examples" / "seed-004-values.yaml")


@pytest.fixture(scope="module")
def patch(catalog):
    return render_patch(catalog, RunRequest(data=("data1",)), RUN)


@pytest.fixture(scope="module")
def full_patch(catalog):
    """With init containers and a sidecar (collectArtifacts + collectLogs + the sidecar), rendered for
    1.25 (the classic sidecar), so every kind is held to every tested version."""
    return render_patch(catalog, RunRequest(data=("data1",)), RUN, plugins=parse_plugins({}, file="test"),
                        settings=Settings(kube_version="1.25"))


def _pod_spec(name="app"):
    return {"containers": [{"name": name, "image": "busybox", "env": [{"name": "A", "value": "1"}]}]}


def _template(name="app"):
    return {"metadata": {"labels": {"app": "x"}}, "spec": _pod_spec(name)}


BUILTINS = {
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": _pod_spec()},
    "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {**_pod_spec(), "restartPolicy": "Never"}}}},
    **{kind: {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"},
              "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": _template(),
                       **({"serviceName": "w"} if kind == "StatefulSet" else {})}}
       for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")},
    "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                "spec": {"schedule": "* * * * *",
                         "jobTemplate": {"spec": {"template": {"spec": {**_pod_spec(), "restartPolicy": "Never"}}}}}},
}


def _pod_of(template: dict) -> dict:
    """A pod template wrapped in a Pod, to hold it to the Pod schema."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t", **(template.get("metadata") or {})},
            "spec": template["spec"]}


def _main(template: dict, name: str) -> dict:
    return next(c for c in template["spec"]["containers"] if c["name"] == name)


def _patched(container: dict) -> bool:
    return any(v["name"] == "POLYAXON_RUN_UUID" for v in container.get("env") or [])


# -- built-in kinds: the real schemas -------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILTINS))
def test_each_builtin_kind_is_strictly_valid_after_the_patch(kind, full_patch):
    manifest = BUILTINS[kind]
    assert_valid(manifest)
    out = apply_patch(manifest, full_patch)
    assert_valid(out)
    (template,) = [node for path in WORKLOADS[kind].paths for _, node in pod_templates(out, path)]
    assert _patched(template["spec"]["containers"][0])
    assert [c["name"] for c in template["spec"]["containers"]][-1] == "polyaxon-sidecar"


# client model objects in, the same class out

def _models():
    from kubernetes import client

    return {
        "Pod": client.V1Pod,
        "Job": client.V1Job,
        "Deployment": client.V1Deployment,
        "StatefulSet": client.V1StatefulSet,
        "DaemonSet": client.V1DaemonSet,
        "ReplicaSet": client.V1ReplicaSet,
        # batch/v1 CronJob is in the client from 20 on; the oldest supported (19) has v1beta1's
        "CronJob": getattr(client, "V1CronJob", None) or client.V1beta1CronJob,
    }


@pytest.mark.parametrize("kind", sorted(BUILTINS))
def test_apply_patch_takes_and_returns_client_models(kind, full_patch):
    from k8s.serialize import load

    cls = _models()[kind]
    obj = load(cls, BUILTINS[kind])
    out = apply_patch(obj, full_patch)
    assert type(out) is cls
    assert dump(out) == apply_patch(BUILTINS[kind], full_patch)
    assert dump(obj) == BUILTINS[kind], "the input object is left as it was"


def test_a_model_without_kind_is_located_by_its_class(patch):
    from kubernetes import client

    pod = client.V1Pod(spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="busybox")]))
    out = apply_patch(pod, patch)
    assert isinstance(out, client.V1Pod) and out.kind is None
    assert _patched(dump(out.spec.containers[0]))
    assert {v.name for v in out.spec.volumes} >= {"data1"}


# -- Kubeflow training jobs ------------------------------------------------------------------

KUBEFLOW = {
    "PyTorchJob": ("pytorchReplicaSpecs", "pytorch", ("Master", "Worker")),
    "TFJob": ("tfReplicaSpecs", "tensorflow", ("Chief", "PS", "Worker")),
    "MPIJob": ("mpiReplicaSpecs", "mpi", ("Launcher", "Worker")),
    "XGBoostJob": ("xgbReplicaSpecs", "xgboost", ("Master", "Worker")),
}


def _kubeflow(kind: str) -> dict:
    key, main, roles = KUBEFLOW[kind]
    specs = {}
    for role in roles:
        # the operator's container is not the first one: the kind's main-container name finds it
        containers = [{"name": "helper", "image": "busybox"}, {"name": main, "image": "trainer"}]
        specs[role] = {"replicas": 2, "restartPolicy": "OnFailure", "template": {"spec": {"containers": containers}}}
    return {"apiVersion": "kubeflow.org/v1", "kind": kind, "metadata": {"name": "train"}, "spec": {key: specs}}


@pytest.mark.parametrize("kind", sorted(KUBEFLOW))
def test_kubeflow_training_jobs_every_role(kind, full_patch):
    key, main, roles = KUBEFLOW[kind]
    out = apply_patch(_kubeflow(kind), full_patch)
    for role in roles:
        template = out["spec"][key][role]["template"]
        assert _patched(_main(template, main)), role
        assert not _patched(_main(template, "helper"))
        assert [c["name"] for c in template["spec"]["initContainers"]][0].startswith("polyaxon-init")
        assert_valid(_pod_of(template))  # the embedded template is a core PodTemplateSpec
    assert out["spec"][key][roles[0]]["replicas"] == 2


def test_kubeflow_named_container_wins(patch):
    out = apply_patch(_kubeflow("PyTorchJob"), patch, container="helper")
    template = out["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]
    assert _patched(_main(template, "helper")) and not _patched(_main(template, "pytorch"))


def test_kubeflow_job_without_replica_specs_is_refused(patch):
    with pytest.raises(ManifestError, match="PyTorchJob has no pod template"):
        apply_patch({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": {}}, patch)


# -- JobSet, Ray ---------------------------------------------------------------------------


def test_jobset_every_replicated_job(full_patch):
    jobset = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js"},
              "spec": {"replicatedJobs": [
                  {"name": name, "replicas": 1, "template": {"spec": {"template": _template(name)}}}
                  for name in ("leader", "workers")]}}
    out = apply_patch(jobset, full_patch)
    for job in out["spec"]["replicatedJobs"]:
        template = job["template"]["spec"]["template"]
        assert _patched(template["spec"]["containers"][0])
        assert_valid(_pod_of(template))


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob", "RayService"])
def test_ray_head_and_worker_groups(kind, patch):
    cluster = {"headGroupSpec": {"rayStartParams": {}, "template": _template("ray-head")},
               "workerGroupSpecs": [{"groupName": g, "replicas": 1, "rayStartParams": {}, "template": _template("ray-worker")}
                                    for g in ("cpu", "gpu")]}
    spec = {"RayCluster": cluster, "RayJob": {"entrypoint": "python x.py", "rayClusterSpec": cluster},
            "RayService": {"rayClusterConfig": cluster}}[kind]
    out = apply_patch({"apiVersion": "ray.io/v1", "kind": kind, "metadata": {"name": "r"}, "spec": spec}, patch)
    inner = out["spec"] if kind == "RayCluster" else out["spec"]["rayClusterSpec" if kind == "RayJob" else "rayClusterConfig"]
    templates = [inner["headGroupSpec"]["template"], *(g["template"] for g in inner["workerGroupSpecs"])]
    assert len(templates) == 3
    for template in templates:
        assert _patched(template["spec"]["containers"][0])
        assert_valid(_pod_of(template))


def test_ray_cluster_without_workers(patch):
    out = apply_patch({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "r"},
                       "spec": {"headGroupSpec": {"template": _template()}}}, patch)
    assert _patched(out["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0])


# -- Argo --------------------------------------------------------------------------------------


def _workflow(kind="Workflow"):
    templates = [
        {"name": "main", "steps": [[{"name": "a", "template": "a"}]]},
        {"name": "a", "container": {"image": "alpine", "command": ["sh", "-c", "echo {{inputs.parameters.x}}"]},
         "inputs": {"parameters": [{"name": "x"}]}},
        {"name": "s", "script": {"image": "python", "source": "print(1)"},
         "initContainers": [{"name": "prep", "image": "busybox"}], "sidecars": [{"name": "proxy", "image": "envoy"}]},
        {"name": "set", "containerSet": {"containers": [{"name": "prep", "image": "busybox"}, {"name": "main", "image": "app"}]}},
        {"name": "res", "resource": {"action": "create", "manifest": "apiVersion: v1\nkind: ConfigMap\n"}},
    ]
    spec = {"entrypoint": "main", "volumes": [{"name": "work", "emptyDir": {}}], "templates": templates}
    if kind == "CronWorkflow":
        spec = {"schedule": "0 * * * *", "workflowSpec": spec}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": {"name": "wf"}, "spec": spec}


@pytest.mark.parametrize("kind", ["Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"])
def test_argo_pod_templates_each_patched_as_a_pod(kind, full_patch):
    before = _workflow(kind)
    out = apply_patch(before, full_patch)
    wf_spec = out["spec"]["workflowSpec"] if kind == "CronWorkflow" else out["spec"]
    original = before["spec"]["workflowSpec"] if kind == "CronWorkflow" else before["spec"]
    by_name = {t["name"]: t for t in wf_spec["templates"]}
    # templates that run no pod, and the workflow's own volumes, are left as they were
    assert by_name["main"] == original["templates"][0] and by_name["res"] == original["templates"][4]
    assert wf_spec["volumes"] == [{"name": "work", "emptyDir": {}}]
    for name, main in (("a", by_name["a"]["container"]), ("s", by_name["s"]["script"]),
                       ("set", by_name["set"]["containerSet"]["containers"][1])):
        tmpl = by_name[name]
        assert _patched(main), name
        assert "data1" in {v["name"] for v in tmpl["volumes"]}  # the template's own volumes
        assert tmpl["initContainers"][0]["name"].startswith("polyaxon-init")
        assert tmpl["sidecars"][-1]["name"] == "polyaxon-sidecar"
        # what Argo puts in the pod is a valid core pod spec
        containers = [*(tmpl["containerSet"]["containers"] if name == "set" else [{"name": "main", **main}]),
                      *tmpl["sidecars"]]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"},
               "spec": {"containers": [{k: v for k, v in c.items() if k != "source"} for c in containers],
                        "initContainers": tmpl["initContainers"], "volumes": [*wf_spec["volumes"], *tmpl["volumes"]]}}
        assert_valid(pod)
    assert not _patched(by_name["set"]["containerSet"]["containers"][0]), "containerSet: the container named main"
    # Argo's own {{...}} expressions are left for Argo
    assert by_name["a"]["container"]["command"][-1] == "echo {{inputs.parameters.x}}"
    assert by_name["s"]["initContainers"][-1]["name"] == "prep" and by_name["s"]["sidecars"][0]["name"] == "proxy"


def test_argo_clash_with_the_workflow_volumes_is_caught(patch):
    wf = _workflow()
    wf["spec"]["volumes"].append({"name": "data1", "emptyDir": {}})
    with pytest.raises(RenderError, match="data1"):
        apply_patch(wf, patch)


def test_argo_workflow_without_pod_templates_is_refused(patch):
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
          "spec": {"workflowTemplateRef": {"name": "t"}}}
    with pytest.raises(ManifestError, match="no template that runs a pod"):
        apply_patch(wf, patch)
    assert set(ARGO_POD_KEYS) == {"container", "script", "containerSet"}


# -- the table: API groups, a caller's kind ------------------------------------------------------


def test_a_kind_of_another_api_group_is_not_patched(patch):
    with pytest.raises(ManifestError, match="API group 'example.com'"):
        apply_patch({"apiVersion": "example.com/v1", "kind": "Workflow", "spec": {"templates": []}}, patch)
    with pytest.raises(ManifestError, match="cannot patch kind 'Service'; supported: Pod, Job, .*PyTorchJob"):
        apply_patch({"apiVersion": "v1", "kind": "Service"}, patch)


def test_a_caller_registers_a_kind(patch):
    saved = dict(WORKLOADS)
    try:
        register_workload("TrainJob", ("spec", "pods", "*", "template"), group="example.com", main_container="trainer")
        job = {"apiVersion": "example.com/v1", "kind": "TrainJob",
               "spec": {"pods": {"a": {"template": _template("x")}, "b": {"template": _template("trainer")}}}}
        job["spec"]["pods"]["b"]["template"]["spec"]["containers"].insert(0, {"name": "y", "image": "i"})
        out = apply_patch(job, patch)
        assert _patched(out["spec"]["pods"]["a"]["template"]["spec"]["containers"][0])
        assert _patched(_main(out["spec"]["pods"]["b"]["template"], "trainer"))
        with pytest.raises(ValueError, match="a path is a tuple"):
            register_workload("Bad", "spec.template")  # type: ignore[arg-type]
    finally:
        WORKLOADS.clear()
        WORKLOADS.update(saved)


def test_templates_never_share_objects(full_patch):
    """Each template gets its own copies: a YAML dump of the result has no anchors."""
    import yaml

    out = apply_patch(_kubeflow("PyTorchJob"), full_patch)
    text = yaml.safe_dump(out)
    assert "&id" not in text and "*id" not in text
    assert copy.deepcopy(out) == out
