"""Workload identity in rendered pods: every credential mode strict-valid for 1.25 to 1.37, one
golden file per mode (``tests/golden/identity-*.yaml``: the patch and the ServiceAccount), the
checks that refuse two modes on one connection or two service accounts in one pod."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from k8s.apply import apply_patch
from k8s.render import render_patch
from k8s.validate import TEST_VERSIONS, validate_manifest, wrap_patch
from support.k8s import RUN, assert_golden, assert_patch_valid, assert_valid, catalog_of
from stores import values_schema
from stores.errors import RenderError, ValuesError
from stores.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/data-reader"
CLIENT = "0e6f7a3c-6a59-4c1b-9d3e-1f2a3b4c5d6e"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GSA = "data-reader@acme-ml.iam.gserviceaccount.com"


def s3(identity: dict | None = None, **extra) -> dict:
    conn = {"name": "data-s3", "kind": "s3", "schema": {"bucket": "s3://acme-data"}, **extra}
    if identity is not None:
        conn["identity"] = identity
    return conn


def gcs(identity: dict) -> dict:
    return {"name": "data-gcs", "kind": "gcs", "schema": {"bucket": "gs://acme-data"}, "identity": identity}


def wasb(identity: dict) -> dict:
    return {"name": "data-az", "kind": "wasb", "schema": {"bucket": "wasbs://data@acmeml.blob.core.windows.net/"},
            "identity": identity}


#: credential mode -> the connection using it
MODES = {
    "s3-secret": s3(secret={"name": "s3-key", "mountPath": "/plx-secrets/data-s3"}),
    "s3-irsa": s3({"serviceAccount": "runs", "roleArn": ROLE}),
    "s3-irsa-no-webhook": s3({"serviceAccount": "runs", "roleArn": ROLE, "webhook": False}),
    "s3-eks-pod-identity": s3({"serviceAccount": "runs", "create": False}),
    "gcs-workload-identity": gcs({"serviceAccount": "runs", "gcpServiceAccount": GSA}),
    "wasb-workload-identity": wasb({"serviceAccount": "runs", "clientId": CLIENT, "tenantId": TENANT}),
    "wasb-workload-identity-no-webhook": wasb({"serviceAccount": "runs", "clientId": CLIENT, "tenantId": TENANT,
                                               "webhook": False}),
}


def _rendered(*connections: dict, plugins=None, settings: Settings | None = None, **roles) -> tuple[dict, list[dict], object]:
    patch = render_patch(catalog_of(*connections, **roles), None, RUN, plugins=plugins, settings=settings)
    return patch.to_dict(), patch.service_account_manifests("ml-runs"), patch


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_credential_mode_is_valid_and_golden(mode: str) -> None:
    patch, accounts, _ = _rendered(MODES[mode])
    assert_patch_valid(patch)
    for account in accounts:
        assert_valid(account)
    assert_golden(f"identity-{mode}", {"patch": patch, "serviceAccounts": accounts})
    spec, main = patch["spec"], patch["spec"]["containers"][0]
    names = {e["name"] for e in main.get("env", [])}
    if mode == "s3-secret":
        assert "serviceAccountName" not in spec and accounts == []
        return
    # workload identity: the ServiceAccount, and never a key
    assert spec["serviceAccountName"] == "runs"
    assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS"}
    assert all("secret" not in v for v in spec.get("volumes", []))
    assert "envFrom" not in main
    if mode.endswith("no-webhook"):
        projected = [v for v in spec["volumes"] if "projected" in v]
        assert len(projected) == 1
        token = projected[0]["projected"]["sources"][0]["serviceAccountToken"]
        assert token["audience"] in ("sts.amazonaws.com", "api://AzureADTokenExchange")
        assert names & {"AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE"}
    else:
        assert not any("projected" in v for v in spec.get("volumes", []))  # the cloud's webhook adds it
    if mode == "s3-eks-pod-identity":
        assert accounts == []  # create: false; the association lives in EKS, not in an annotation
    else:
        assert len(accounts) == 1 and accounts[0]["metadata"]["annotations"]


def test_azure_pod_is_labelled_for_the_webhook() -> None:
    patch, accounts, _ = _rendered(MODES["wasb-workload-identity"])
    assert patch["metadata"]["labels"] == {"azure.workload.identity/use": "true"}
    assert accounts[0]["metadata"]["annotations"] == {"azure.workload.identity/client-id": CLIENT,
                                                      "azure.workload.identity/tenant-id": TENANT}


def test_artifacts_store_identity_reaches_the_toolkit_containers() -> None:
    """The collect sidecar and the resume init container use the artifacts store as the main
    container would: the pod's ServiceAccount, the token volume, the variables."""
    store = {"name": "artifacts", "kind": "s3", "schema": {"bucket": "s3://acme-artifacts"},
             "identity": {"serviceAccount": "runs", "roleArn": ROLE, "webhook": False}}
    for mode in ("container", "native"):
        patch, accounts, _ = _rendered(plugins={"autoResume": True}, settings=Settings(sidecar_mode=mode),
                                       artifactsStore=store)
        if mode == "container":
            assert_patch_valid(patch)
        else:  # a native sidecar exists from Kubernetes 1.29
            for version in ("1.30", "1.37"):
                validate_manifest(wrap_patch(patch, "Job"), version)
        spec = patch["spec"]
        toolkit = [c for c in (*spec["containers"][1:], *spec["initContainers"]) if "stores" in c["command"]]
        assert toolkit
        for container in toolkit:
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["AWS_ROLE_ARN"] == ROLE
            assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].endswith("/token")
            assert any(m["name"] == "plx-identity-token-s3" and m["readOnly"] for m in container["volumeMounts"])
        assert spec["serviceAccountName"] == "runs"
        assert_golden(f"identity-artifacts-store-{mode}", {"patch": patch, "serviceAccounts": accounts})


def test_one_service_account_for_several_clouds() -> None:
    _, accounts, _ = _rendered(MODES["s3-irsa"], MODES["gcs-workload-identity"], MODES["wasb-workload-identity"])
    assert sorted(accounts[0]["metadata"]["annotations"]) == [
        "azure.workload.identity/client-id", "azure.workload.identity/tenant-id", "eks.amazonaws.com/role-arn",
        "iam.gke.io/gcp-service-account"]


def test_conflicting_service_accounts_are_an_error_naming_both() -> None:
    other = {**gcs({"serviceAccount": "other-runs", "gcpServiceAccount": GSA})}
    with pytest.raises(RenderError, match="conflicting service accounts: connection 'data-s3' .* 'runs', "
                                          "connection 'data-gcs' .* 'other-runs'"):
        _rendered(MODES["s3-irsa"], other)


def test_two_roles_on_one_service_account_is_an_error() -> None:
    second = {**s3({"serviceAccount": "runs", "roleArn": ROLE + "-2"}), "name": "more-s3", "schema": {"bucket": "s3://acme-more"}}
    with pytest.raises(RenderError, match="eks.amazonaws.com/role-arn: connection 'data-s3' .* connection 'more-s3'"):
        _rendered(MODES["s3-irsa"], second)


@pytest.mark.parametrize(("conn", "message"), [
    (s3({"serviceAccount": "runs", "roleArn": ROLE}, secret={"name": "k", "mountPath": "/plx-secrets/k"}),
     "two credential modes: identity .* and secret 'k'"),
    (s3({"serviceAccount": "runs", "clientId": CLIENT}), "identity.clientId is not for a s3 connection"),
    (s3({"serviceAccount": "runs", "webhook": False}), "identity.roleArn is required .*webhook: false"),
    (wasb({"serviceAccount": "runs"}), "identity.clientId is required for Azure Workload Identity"),
    (s3({"serviceAccount": "runs", "roleArn": "arn:aws:iam::1:user/x"}), "roleArn"),
    ({"name": "local", "kind": "host_path", "schema": {"hostPath": "/data", "mountPath": "/data"},
      "identity": {"serviceAccount": "runs"}}, "a host_path connection has no workload identity"),
])
def test_invalid_identities_name_the_path(conn: dict, message: str) -> None:
    with pytest.raises(ValuesError, match=r"connections\[0\]") as info:
        catalog_of(conn)
    assert __import__("re").search(message, str(info.value)), str(info.value)


def test_apply_sets_the_service_account_and_refuses_another() -> None:
    _, _, patch = _rendered(MODES["wasb-workload-identity"])
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"},
           "spec": {"template": {"metadata": {"labels": {"app": "train"}},
                                 "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "python:3.12"}]}}}}
    out = apply_patch(job, patch)
    template = out["spec"]["template"]
    assert template["spec"]["serviceAccountName"] == "runs"
    assert template["metadata"]["labels"] == {"app": "train", "azure.workload.identity/use": "true"}
    for version in TEST_VERSIONS:
        validate_manifest(out, version)
    job["spec"]["template"]["spec"]["serviceAccountName"] = "default-runner"
    with pytest.raises(RenderError, match="conflicting service accounts: the manifest runs as 'default-runner'"):
        apply_patch(job, patch)


def test_schema_takes_identity_and_refuses_a_bad_one() -> None:
    validator = jsonschema.Draft7Validator(values_schema())
    good = {"connections": [MODES["s3-irsa"], MODES["wasb-workload-identity-no-webhook"]]}
    assert not list(validator.iter_errors(good))
    bad = {"connections": [s3({"serviceAccount": "runs", "roleArn": "not-an-arn"})]}
    assert list(validator.iter_errors(bad))
    typo = {"connections": [s3({"serviceAccount": "runs", "roleARN": ROLE})]}
    assert list(validator.iter_errors(typo))
    both = {"connections": [s3({"serviceAccount": "runs", "roleArn": ROLE}, secret={"name": "k", "mountPath": "/k"})]}
    assert list(validator.iter_errors(both))  # two credential modes: helm refuses it too


def test_cli_render_emits_the_service_account(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"connections": [MODES["s3-irsa-no-webhook"]]}))
    res = subprocess.run([sys.executable, "-m", "stores", "render", str(values), "--owner", "acme", "--project", "vision",
                          "--name", "train", "--namespace", "ml-runs", "--service-accounts", "--validate", "1.25"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    patch, account = list(yaml.safe_load_all(res.stdout))
    assert patch["spec"]["serviceAccountName"] == "runs"
    assert account == {"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "runs", "namespace": "ml-runs",
                                    "annotations": {"eks.amazonaws.com/role-arn": ROLE}}}
    res = subprocess.run([sys.executable, "-m", "stores", "render", str(values), "--owner", "acme", "--project", "vision",
                          "--name", "train", "--service-accounts", "-o", "json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert [d.get("kind") for d in json.loads(res.stdout)] == [None, "ServiceAccount"]
    assert_valid(wrap_patch(patch, "Job"))
