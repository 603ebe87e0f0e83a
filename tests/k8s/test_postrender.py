"""``stores render --post-renderer``: helm's post-renderer contract (a multi-document stream on
standard input, the same stream on standard output with only the workloads patched, everything
else byte for byte, order kept), the opt-in annotation, and ``k8s.postrender`` itself."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s import render_patch
from k8s.postrender import ANNOTATION_CONNECTIONS, post_render, split_stream
from support.k8s import RUN, assert_valid
from stores.catalog import Catalog
from stores.errors import ManifestError
from stores.selection import RunRequest

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "examples" / "seed-004-values.yaml"

#: what `helm template` writes: `---` + `# Source:` before each document; the documents a
#: post-renderer must not touch carry comments, flow style and quoting a re-dump would lose
HELM_STREAM = """\
---
# Source: app/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: "app-config"   # quoted on purpose
data:
  settings.yaml: |
    a: 1
    ---
    b: 2
  flow: {x: 1, y: [1, 2]}
---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: app
  labels: {app.kubernetes.io/name: app}
spec:
  ports:
    - port: 80     # indented sequence
      targetPort: 8080
  selector:
    app: app
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: web
          image: "nginx:1.27"
          env:
            - {name: MODE, value: "prod"}
---
# Source: app/templates/train.yaml
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: train
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: trainer:1
    Worker:
      replicas: 2
      template:
        spec:
          containers:
            - name: pytorch
              image: trainer:1
---
# Source: app/templates/workflow.yaml
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: prep-
spec:
  entrypoint: prep
  templates:
    - name: prep
      container:
        image: alpine:3
        command: [sh, -c, "ls /data/1"]
"""

KINDS = ["ConfigMap", "Service", "Deployment", "PyTorchJob", "Workflow"]
WORKLOAD_KINDS = {"Deployment", "PyTorchJob", "Workflow"}


def _stores(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stores", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _docs(text: str) -> list:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _pod_templates(doc: dict) -> list[dict]:
    kind = doc["kind"]
    if kind == "Deployment":
        return [doc["spec"]["template"]]
    if kind == "PyTorchJob":
        return [r["template"] for r in doc["spec"]["pytorchReplicaSpecs"].values()]
    if kind == "Workflow":  # what Argo makes of a container template: a pod with these parts
        t = doc["spec"]["templates"][0]
        return [{"spec": {"containers": [{"name": "main", **t["container"]}], "volumes": t["volumes"]}}]
    raise AssertionError(kind)


def _patched(container: dict) -> bool:
    return any(v["name"] == "POLYAXON_RUN_UUID" for v in container.get("env") or [])


def test_helm_stream_round_trip():
    """A Deployment, a Service, a ConfigMap, a PyTorchJob and a Workflow: only the workloads
    change, the others come back byte for byte, the order is kept, every result is strictly
    valid where Kubernetes has a schema (the CRDs' pod templates against the Pod schema)."""
    res = _stores("render", str(VALUES), "--post-renderer", "--data", "data1", "--validate", "1.30", stdin=HELM_STREAM)
    assert res.returncode == 0, res.stderr
    before, after = split_stream(HELM_STREAM), split_stream(res.stdout)
    assert len(before) == len(after) == 5
    docs = _docs(res.stdout)
    assert [d["kind"] for d in docs] == KINDS
    for old, new, doc in zip(before, after, docs):
        if doc["kind"] in WORKLOAD_KINDS:
            assert new.text != old.text
            # the `---` line and helm's `# Source:` comment stay
            assert new.text.splitlines()[:2] == old.text.splitlines()[:2]
            for template in _pod_templates(doc):
                main = template["spec"]["containers"][0]
                assert _patched(main), doc["kind"]
                assert "data1" in {v["name"] for v in template["spec"]["volumes"]}
                assert_valid({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": template["spec"]})
            if doc["kind"] == "Deployment":
                assert_valid(doc)
                assert doc["spec"]["template"]["spec"]["containers"][0]["env"][0] == {"name": "MODE", "value": "prod"}
        else:
            assert new.text == old.text, f"{doc['kind']} must pass through byte for byte"


def test_only_annotated_workloads_and_their_own_selection():
    stream = HELM_STREAM.replace(
        "kind: PyTorchJob\nmetadata:\n  name: train\n",
        f"kind: PyTorchJob\nmetadata:\n  name: train\n  annotations:\n    {ANNOTATION_CONNECTIONS}: data2\n"
        "    plx-stores/outputs: outputs2\n",
    )
    res = _stores("render", str(VALUES), "--post-renderer", "--only-annotated", stdin=stream)
    assert res.returncode == 0, res.stderr
    before, after = split_stream(stream), split_stream(res.stdout)
    changed = [yaml.safe_load(new.text)["kind"] for old, new in zip(before, after) if old.text != new.text]
    assert changed == ["PyTorchJob"]
    job = _docs(res.stdout)[3]
    for template in _pod_templates(job):
        env = {v["name"]: v.get("value") for v in template["spec"]["containers"][0]["env"]}
        assert env["POLYAXON_RUN_DATA_PATHS"] == '{"data2":"/data/2"}'
        assert env["POLYAXON_RUN_OUTPUTS_PATH"].startswith("/outputs/2/")


def test_annotation_naming_an_unknown_store_names_the_document():
    stream = HELM_STREAM.replace("  name: app\nspec:\n  replicas",
                                 f"  name: app\n  annotations: {{{ANNOTATION_CONNECTIONS}: nope}}\nspec:\n  replicas")
    res = _stores("render", str(VALUES), "--post-renderer", stdin=stream)
    assert res.returncode == 1
    assert "unknown data store 'nope'" in res.stderr and res.stdout == ""


def test_the_annotated_container_is_the_main_one():
    stream = HELM_STREAM.replace(
        "        - name: web\n",
        "        - name: proxy\n          image: envoy\n        - name: web\n",
    ).replace("  name: app\nspec:\n  replicas", "  name: app\n  annotations: {plx-stores/container: web}\nspec:\n  replicas")
    res = _stores("render", str(VALUES), "--post-renderer", stdin=stream)
    assert res.returncode == 0, res.stderr
    containers = _docs(res.stdout)[2]["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["proxy", "web"]
    assert _patched(containers[1]) and not _patched(containers[0])


def test_as_helm_runs_it(tmp_path):
    """helm runs the post-renderer as an executable with the stream on stdin (no real helm
    needed to hold us to the contract)."""
    script = tmp_path / "stores-post-render"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m stores render {VALUES} --post-renderer \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    res = subprocess.run([str(script)], input=HELM_STREAM, capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ})
    assert res.returncode == 0, res.stderr
    assert [d["kind"] for d in _docs(res.stdout)] == KINDS


def test_stream_from_a_file_and_stdin_taken_once(tmp_path):
    path = tmp_path / "rendered.yaml"
    path.write_text(HELM_STREAM)
    a = _stores("render", str(VALUES), "--post-renderer", "--into", str(path))
    b = _stores("render", str(VALUES), "--post-renderer", stdin=HELM_STREAM)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout
    res = _stores("render", "-", "--post-renderer", stdin=HELM_STREAM)
    assert res.returncode != 0 and "can be read once" in res.stderr
    res = _stores("render", str(VALUES), "--only-annotated")
    assert res.returncode != 0 and "--only-annotated goes with --post-renderer" in res.stderr


# -- k8s.postrender on its own -------------------------------------------------------------------


@pytest.fixture(scope="module")
def render():
    catalog = Catalog.from_file(VALUES)
    calls = []

    def render(data, outputs):
        calls.append((data, outputs))
        return render_patch(catalog, RunRequest(data=data if data is not None else ("data1",), outputs=outputs), RUN)

    render.calls = calls  # type: ignore[attr-defined]
    return render


@pytest.mark.parametrize("text", [
    "",
    "a: 1",
    "a: 1\n",
    "---\na: 1\n---\nb: 2",
    "--- # a comment\na: 1\n...\n---\n\n---\r\nb: 2\r\n",
    "# only a comment\n",
    "a: |\n  ---\n  x\n---\nb: 1\n",
])
def test_split_stream_keeps_every_byte(text):
    assert "".join(p.text for p in split_stream(text)) == text


def test_untouched_stream_is_identical(render):
    text = "# leading comment\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n---\nkind: List\nitems: []\n"
    assert post_render(text, render) == text


def test_patches_are_rendered_once_per_selection(render):
    render.calls.clear()
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\nspec:\n  containers: [{{name: a, image: b}}]\n"
    text = "---\n".join(pod.format(i=i) for i in range(4))
    out = post_render(text, render)
    assert len(render.calls) == 1
    assert all(_patched(d["spec"]["containers"][0]) for d in _docs(out))


def test_a_workload_that_cannot_take_a_patch_names_its_document(render):
    text = "apiVersion: v1\nkind: Service\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {}\n"
    with pytest.raises(ManifestError, match=r"document 2 \(Job 'j'\): Job has no spec.template mapping"):
        post_render(text, render)


def test_argo_workflow_referencing_a_template_passes_through(render):
    text = ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: w-}\n"
            "spec: {workflowTemplateRef: {name: t}}\n")
    assert post_render(text, render) == text
