"""The assembled patch: the seed 004 example into a user's Job, other workload kinds, globals,
determinism, the import tier, and ``stores render``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s import apply_patch, render_patch
from k8s.naming import default_run_uuid
from support.k8s import RUN, assert_golden, assert_patch_valid, assert_valid, catalog_of, python_catalog
from stores.catalog import Catalog
from stores.errors import ManifestError, TemplateError, ValuesError
from stores.contract.runinfo import RunInfo
from stores.selection import RunRequest

from support.paths import ROOT
JOB_PATH = ROOT / "examples" / "job.yaml"


@pytest.fixture(scope="module")
def seed_catalog():
    return Catalog.from_file(ROOT / "examples" / "seed-004-values.yaml")


@pytest.fixture()
def user_job():
    return yaml.safe_load(JOB_PATH.read_text())


def _containers(manifest):
    return {c["name"]: c for c in manifest["spec"]["template"]["spec"]["containers"]}


# -- the seed example in a user's Job ---------------------------------------------------------


def test_seed_example_full_patch_golden(seed_catalog):
    patch = render_patch(seed_catalog, RunRequest(outputs="outputs2"), RUN, inputs={"lr": 0.1, "epochs": 90})
    out = patch.to_dict()
    assert_golden("seed-004-patch", out)
    assert_patch_valid(out)


def test_seed_example_into_the_users_job(seed_catalog, user_job):
    before = copy.deepcopy(user_job)
    patch = render_patch(seed_catalog, RunRequest(outputs="outputs2"), RUN)
    job = apply_patch(user_job, patch, container="trainer")
    assert user_job == before, "apply_patch must not modify its input"
    assert_golden("seed-004-job", job)
    assert_valid(job)

    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    # host paths and claims
    assert volumes["data1"]["hostPath"] == {"path": "/path/to/data"}
    assert volumes["data2"]["persistentVolumeClaim"] == {"claimName": "data-2-pvc"}
    assert volumes["data-foo"]["persistentVolumeClaim"] == {"claimName": "data-foo-pvc"}
    assert volumes["outputs2"]["persistentVolumeClaim"] == {"claimName": "outputs-2-pvc"}
    # only the selected outputs store is mounted
    assert "outputs1" not in volumes and "outputs-foo" not in volumes
    # bucket credentials: key files mounted read-only, variables pointing at them
    # (the three name one secret and key: one volume, named after the secret as in Polyaxon)
    assert volumes["secret-name"]["secret"]["secretName"] == "secret-name"
    trainer = _containers(job)["trainer"]
    mounts = {m["mountPath"]: m for m in trainer["volumeMounts"]}
    for name in ("data-gcs3", "data-s3", "data-azure"):
        assert mounts[f"/plx-secrets/{name}"] == {"mountPath": f"/plx-secrets/{name}", "name": "secret-name", "readOnly": True}
    assert mounts["/data/1"]["readOnly"] is True
    env = {v["name"]: v.get("value") for v in trainer["env"]}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/plx-secrets/data-gcs3/key.json"
    assert env["POLYAXON_CONNECTION_DATA_AZURE_KEY_FILE"] == "/plx-secrets/data-azure/key.json"
    # the contract
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {
        "data1": "/data/1", "data2": "/data/2", "data-foo": "/data/foo", "data-gcs3": "gs://data-bucket",
        "data-s3": "s3://data-bucket", "data-azure": "wasbs://data-container@plxstorage.blob.core.windows.net/",
    }
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == f"/outputs/2/{RUN.uuid}/outputs"
    assert env["POLYAXON_RUN_UUID"] == RUN.uuid

    # the user's own fields survive
    assert job["metadata"] == before["metadata"]
    assert job["spec"]["backoffLimit"] == 2 and job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert spec["restartPolicy"] == "Never" and spec["serviceAccountName"] == "trainer"
    assert spec["nodeSelector"] == {"accelerator": "nvidia-a100"}
    assert spec["tolerations"] == before["spec"]["template"]["spec"]["tolerations"]
    assert spec["volumes"][0] == {"name": "cache", "emptyDir": {"sizeLimit": "10Gi"}}
    assert trainer["volumeMounts"][0] == {"name": "cache", "mountPath": "/cache"}
    assert trainer["env"][0] == {"name": "OMP_NUM_THREADS", "value": "8"}
    assert trainer["resources"]["limits"] == {"nvidia.com/gpu": 1, "memory": "32Gi"}
    assert trainer["image"] == "ghcr.io/example/resnet-train:1.4.0"
    assert job["spec"]["template"]["metadata"]["labels"] == {"app.kubernetes.io/name": "train-resnet"}
    assert job["spec"]["template"]["metadata"]["annotations"]["team.example.com/owner"] == "vision"
    # the other container is untouched
    assert _containers(job)["log-forwarder"] == _containers(before)["log-forwarder"]
    # globals resolved in args and env values
    assert trainer["args"][-1] == f"/plx-context/artifacts/{RUN.uuid}/outputs"
    assert env["RUN_LABEL"] == f"acme.vision/{RUN.uuid}"


def test_main_container_defaults_to_the_first(seed_catalog, user_job):
    job = apply_patch(user_job, render_patch(seed_catalog, None, RUN))
    assert_valid(job)
    names = [m["name"] for m in _containers(job)["log-forwarder"]["volumeMounts"]]
    assert "data1" in names
    assert "volumeMounts" not in _containers(job)["trainer"] or all(m["name"] == "cache" for m in _containers(job)["trainer"]["volumeMounts"])


def test_unknown_container_is_a_manifest_error(seed_catalog, user_job):
    with pytest.raises(ManifestError, match="no container named 'nope'; the manifest has 'log-forwarder', 'trainer'"):
        apply_patch(user_job, render_patch(seed_catalog, None, RUN), container="nope")


# -- other workloads --------------------------------------------------------------------------

POD_SPEC = {"containers": [{"name": "app", "image": "busybox", "env": [{"name": "A", "value": "1"}]}]}
WORKLOADS = {
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": POD_SPEC},
    "Deployment": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": POD_SPEC}},
    },
    "StatefulSet": {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
        "spec": {"serviceName": "s", "selector": {"matchLabels": {"app": "s"}},
                 "template": {"metadata": {"labels": {"app": "s"}}, "spec": POD_SPEC}},
    },
    "CronJob": {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "OnFailure"}}}}},
    },
}
TEMPLATE_PATH = {"Pod": (), "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
                 "CronJob": ("spec", "jobTemplate", "spec", "template")}


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_apply_to_each_workload_kind(kind, seed_catalog):
    manifest = WORKLOADS[kind]
    out = apply_patch(manifest, render_patch(seed_catalog, None, RUN))
    template = out
    for key in TEMPLATE_PATH[kind]:
        template = template[key]
    app = template["spec"]["containers"][0]
    assert app["env"][0] == {"name": "A", "value": "1"}
    assert any(v["name"] == "POLYAXON_RUN_UUID" for v in app["env"])
    assert {"data1", "secret-name"} <= {v["name"] for v in template["spec"]["volumes"]}
    assert_valid(out)
    assert_golden(f"apply-{kind.lower()}", out)


@pytest.mark.parametrize("manifest, message", [
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, "cannot patch kind 'Service'"),
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, "spec": {}}, "Job has no spec.template mapping"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": []}}, "containers must be a non-empty list"),
])
def test_manifests_that_cannot_take_a_patch(manifest, message, seed_catalog):
    with pytest.raises(ManifestError, match=message):
        apply_patch(manifest, render_patch(seed_catalog, None, RUN))


# -- contract, globals, determinism -----------------------------------------------------------


def test_inputs_and_identity_on_the_main_container(seed_catalog):
    out = render_patch(seed_catalog, None, RUN, inputs={"lr": 0.1, "name": "x"}).to_dict()
    assert_patch_valid(out)
    env = {v["name"]: v.get("value") for v in out["spec"]["containers"][0]["env"]}
    assert json.loads(env["POLYAXON_RUN_INPUTS"]) == {"lr": 0.1, "name": "x"}
    assert env["POLYAXON_RUN_INSTANCE"] == f"acme.vision.runs.{RUN.uuid}"
    assert env["POLYAXON_RUN_NAME"] == "train"


def test_globals_in_connection_env_are_resolved():
    catalog = catalog_of({"name": "a", "kind": "host_path", "schema": {"hostPath": "/mnt/a", "mountPath": "/a"},
                          "env": [{"name": "OUT", "value": "{{ globals.run_outputs_path }}/a"},
                                  {"name": "OTHER", "value": "{{ inputs.x }}"}]})
    out = render_patch(catalog, None, RUN).to_dict()
    assert_patch_valid(out)
    env = {v["name"]: v["value"] for v in out["spec"]["containers"][0]["env"]}
    assert env["OUT"] == f"/plx-context/artifacts/{RUN.uuid}/outputs/a"
    assert env["OTHER"] == "{{ inputs.x }}"  # not a globals expression: left alone


def test_unknown_globals_fail_before_output(seed_catalog):
    conn = {"name": "a", "kind": "host_path", "schema": {"hostPath": "/mnt/a", "mountPath": "/a"},
            "env": [{"name": "X", "value": "{{ globals.nope }}"}]}
    # the values loader knows no run has it (stores.policy); a catalog built in Python meets it here
    with pytest.raises(ValuesError, match=r"connections\[0\]\.env\[0\]\.value: unknown variable globals\.nope"):
        catalog_of(conn)
    with pytest.raises(TemplateError, match="nope"):
        render_patch(python_catalog(conn), None, RUN)
    job = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "command": ["echo", "{{ globals.store_path }}"]}]}}
    with pytest.raises(TemplateError, match="store_path"):
        apply_patch(job, render_patch(seed_catalog, None, RUN))


def test_output_is_deterministic_and_sorted(seed_catalog):
    a = render_patch(seed_catalog, None, RUN).to_dict()
    b = render_patch(seed_catalog, RunRequest(data=tuple(reversed([c.name for c in seed_catalog.data]))), RUN).to_dict()
    assert yaml.safe_dump(a) == yaml.safe_dump(b)
    assert_patch_valid(a)
    main = a["spec"]["containers"][0]
    assert [v["name"] for v in a["spec"]["volumes"]] == sorted(v["name"] for v in a["spec"]["volumes"])
    assert [m["mountPath"] for m in main["volumeMounts"]] == sorted(m["mountPath"] for m in main["volumeMounts"])
    assert [v["name"] for v in main["env"]] == sorted(v["name"] for v in main["env"])


def test_selection_forms_are_equivalent(seed_catalog):
    from stores.selection import select

    by_request = render_patch(seed_catalog, RunRequest(data=("data1",), outputs="outputs-s3"), RUN).to_dict()
    by_mapping = render_patch(seed_catalog, {"environment": {"persistence": {"data": ["data1"], "outputs": "outputs-s3"}}}, RUN).to_dict()
    by_selection = render_patch(seed_catalog, select(seed_catalog, ["data1"], "outputs-s3"), RUN).to_dict()
    assert by_request == by_mapping == by_selection
    assert_patch_valid(by_request)


# -- import tiers -----------------------------------------------------------------------------

HEAVY = ("fsspec", "s3fs", "gcsfs", "adlfs", "boto3", "botocore", "google.cloud", "azure")


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


def test_import_k8s_is_stdlib_only():
    mods = _modules_after("import k8s, k8s.naming")
    assert not {m for m in mods if m.split(".")[0] in ("kubernetes", "pydantic", "yaml", *HEAVY)}


def test_rendering_loads_no_fsspec_or_cloud_sdk():
    mods = _modules_after(
        "import k8s\nfrom stores.catalog import Catalog\nfrom stores.contract.runinfo import RunInfo\n"
        "from k8s import render_patch, apply_patch, build_secret, validate_manifest\n"
        "c = Catalog.from_file('examples/seed-004-values.yaml')\n"
        "render_patch(c, None, RunInfo(uuid='u')).to_dict()\n"
    )
    assert "kubernetes.client" in mods
    loaded = sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert not loaded, loaded


# -- stores render ----------------------------------------------------------------------------


def _stores(*args):
    return subprocess.run([sys.executable, "-m", "stores", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_render_default_example_is_reproducible():
    first, second = _stores("render", "--validate", "1.25"), _stores("render")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    patch = yaml.safe_load(first.stdout)
    env = {v["name"]: v["value"] for v in patch["spec"]["containers"][0]["env"]}
    assert env["POLYAXON_RUN_UUID"] == default_run_uuid("default", "default", None)
    assert_patch_valid(patch)


def test_cli_render_into_the_job(user_job):
    res = _stores("render", "examples/seed-004-values.yaml", "--data", "data1,data-s3", "--outputs", "outputs-foo",
                  "--run-uuid", "8a4c5f3e0b2d4e6f9a1b2c3d4e5f6a7b", "--owner", "acme", "--project", "vision",
                  "--into", "examples/job.yaml", "--container", "trainer", "--validate", "1.30", "-o", "json")
    assert res.returncode == 0, res.stderr
    job = json.loads(res.stdout)
    assert_valid(job)
    trainer = _containers(job)["trainer"]
    env = {v["name"]: v.get("value") for v in trainer["env"]}
    assert json.loads(env["POLYAXON_RUN_DATA_PATHS"]) == {"data1": "/data/1", "data-s3": "s3://data-bucket"}
    assert env["POLYAXON_RUN_OUTPUTS_PATH"] == "/outputs/foo/8a4c5f3e0b2d4e6f9a1b2c3d4e5f6a7b/outputs"
    assert {"data1", "outputs-foo", "secret-name", "cache"} == {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}


def test_cli_render_errors_exit_1():
    res = _stores("render", "--data", "nope")
    assert res.returncode == 1 and "unknown data store 'nope'" in res.stderr
    res = _stores("render", "examples/seed-004-values.yaml", "--into", "examples/seed-004-values.yaml")
    assert res.returncode == 1 and "cannot patch kind None" in res.stderr


def test_the_connections_catalog_resolves_templates_value_by_value() -> None:
    """An unclosed ``{{`` in one env value never pairs with a ``}}`` in another inside the
    catalog's JSON text; a whole reference in a value is resolved there as in the env itself."""
    catalog = catalog_of({
        "name": "data", "kind": "host_path", "schema": {"hostPath": "/mnt/data", "mountPath": "/data"},
        "env": [{"name": "A", "value": "{{ globals.uuid"}, {"name": "B", "value": "x }}"},
                {"name": "C", "value": "run-{{ globals.uuid }}"}],
    })
    main = render_patch(catalog, RunRequest(data=["data"]), RUN).to_dict()["spec"]["containers"][0]
    env = {v["name"]: v.get("value") for v in main["env"]}
    assert env["A"] == "{{ globals.uuid" and env["B"] == "x }}"
    assert env["C"] == f"run-{RUN.uuid}"
    entry = json.loads(env["POLYAXON_CONNECTIONS_CATALOG"])["connections"][0]
    assert entry["env"] == [["A", "{{ globals.uuid"], ["B", "x }}"], ["C", f"run-{RUN.uuid}"]]
