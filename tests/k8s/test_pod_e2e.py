"""End to end, per cloud: a connection with its secret is rendered into a pod patch; the key file
and env are laid out as the kubelet would (mount paths re-rooted under a temp dir through
STORES_SECRETS_ROOT); then, with only that environment, the store is opened through the in-run
lookup (POLYAXON_RUN_DATA_PATHS) and data makes the round trip."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from support.servers import AZURITE_ACCOUNT, AZURITE_KEY, create_container, create_gcs_bucket, create_s3_bucket, unique_bucket
from stores import Catalog
from stores.credentials import ENV_SECRETS_ROOT
from stores.handles import open_store
from stores.contract.runinfo import RunInfo
from stores.transfer import TransferOptions, download, sync, upload

OPTS = TransferOptions(workers=2, retries=1, backoff=0.05)


def kubelet(patch: dict[str, Any], secrets: dict[str, dict[str, bytes]], root: Path) -> dict[str, str]:
    """Mount the main container's secret volumes under ``root`` and build its environment."""
    spec = patch["spec"]
    container = next(c for c in spec["containers"] if c["name"] == "main")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "secret" not in volume:
            continue
        data = secrets[volume["secret"]["secretName"]]
        items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            target = root / mount["mountPath"].lstrip("/") / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[item["key"]])
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("secretRef")
        if ref:
            env.update({k: v.decode() for k, v in secrets[ref["name"]].items()})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]].decode()
    env[ENV_SECRETS_ROOT] = str(root)
    return env


def render(values: dict[str, Any]) -> dict[str, Any]:
    from k8s import render_patch

    return render_patch(Catalog.from_values(values), None, RunInfo(uuid="0123456789abcdef")).to_dict()


def round_trip(name: str, env: dict[str, str], tmp_path: Path) -> Any:
    handle = open_store(name, environ=env)
    src = tmp_path / "work"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"from the pod")
    (src / "nested" / "b.bin").write_bytes(bytes(range(256)) * 64)
    (src / "empty").write_bytes(b"")
    assert upload(src, handle, "e2e", options=OPTS, progress=False).count == 3
    assert sync(src, handle, dst_key="e2e", options=OPTS, progress=False).count == 0
    back = tmp_path / "back"
    download(handle, "e2e", back, options=OPTS, progress=False)
    assert {p.relative_to(back).as_posix(): p.read_bytes() for p in back.rglob("*") if p.is_file()} == {
        "a.txt": b"from the pod", "nested/b.bin": bytes(range(256)) * 64, "empty": b""}
    return handle


def test_s3_pod(tmp_path, s3_server):
    bucket = unique_bucket("pod")
    create_s3_bucket(s3_server, bucket)
    patch = render({"persistence": {"data": {"data-s3": {
        "store": "s3", "bucket": f"s3://{bucket}/data", "secret": "s3-secret", "secretKey": "key.json"}}}})
    key = {"AWS_ACCESS_KEY_ID": "AKIDPOD", "AWS_SECRET_ACCESS_KEY": "pod-secret-value-123",
           "AWS_ENDPOINT_URL": s3_server.url, "AWS_REGION": "us-east-1"}
    env = kubelet(patch, {"s3-secret": {"key.json": json.dumps(key).encode()}}, tmp_path / "root")
    assert not any(k.startswith("AWS_") for k in env), "credentials must come from the mounted file"
    handle = round_trip("data-s3", env, tmp_path)
    key_file = str(tmp_path / "root/plx-secrets/data-s3/key.json")
    assert handle.credentials.sources["endpoint_url"] == f"key file {key_file}"
    assert handle.credentials.sources["secret_key"] == f"key file {key_file}"
    assert "pod-secret-value-123" not in repr(handle) + str(handle.credentials.describe())


def _service_account(token_uri: str) -> tuple[dict[str, Any], str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    email = "runner@test-project.iam.gserviceaccount.com"
    # written the way some tools export it: newlines escaped twice ("\\n" in the JSON text)
    return {"type": "service_account", "project_id": "test-project", "private_key_id": "k1",
            "private_key": pem.replace("\n", "\\n"), "client_email": email, "client_id": "1",
            "token_uri": token_uri}, email


def test_gcs_pod(tmp_path, gcs_server, oauth_server):
    bucket = unique_bucket("pod")
    create_gcs_bucket(gcs_server, bucket)
    account, email = _service_account(oauth_server.url)
    patch = render({"connections": [{
        "name": "data-gcs", "kind": "gcs", "schema": {"bucket": f"gs://{bucket}/data"},
        "secret": {"name": "gcs-secret", "items": [{"key": "sa.json", "path": "key.json"}],
                   "mountPath": "/plx-secrets/data-gcs"},
        "env": [{"name": "STORAGE_EMULATOR_HOST", "value": gcs_server.url}]}]})
    env = kubelet(patch, {"gcs-secret": {"sa.json": json.dumps(account).encode()}}, tmp_path / "root")
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/plx-secrets/data-gcs/key.json"
    before = len(oauth_server.extra["requests"])
    handle = round_trip("data-gcs", env, tmp_path)
    assert handle.credentials.sources["service_account"].startswith("key file ")
    # the mounted key was exchanged for a token: its JWT names our service account
    exchanges = oauth_server.extra["requests"][before:]
    assert exchanges, "the service-account key was never used"
    assertion = dict(p.split("=", 1) for p in exchanges[-1].split("&"))["assertion"]
    claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
    assert claims["iss"] == email


def test_wasb_pod(tmp_path, azurite_server):
    container = unique_bucket("pod")
    create_container(azurite_server, container)
    patch = render({"connections": [{
        "name": "data-az", "kind": "wasb",
        "schema": {"bucket": f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/data"},
        "secret": {"name": "az-secret", "items": [{"key": "key.json", "path": "key.json"}],
                   "mountPath": "/plx-secrets/data-az"},
        "env": [{"name": "AZURE_STORAGE_BLOB_ENDPOINT", "value": azurite_server.url}]}]})
    key = {"AZURE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_ACCOUNT_KEY": AZURITE_KEY}
    env = kubelet(patch, {"az-secret": {"key.json": json.dumps(key).encode()}}, tmp_path / "root")
    assert not any(k.startswith("AZURE_") and k != "AZURE_STORAGE_BLOB_ENDPOINT" for k in env)
    handle = round_trip("data-az", env, tmp_path)
    # Azurite checks SharedKey signatures, so the mounted key really signed these requests
    assert handle.credentials.sources["account_key"].startswith("key file ")
    assert AZURITE_KEY not in repr(handle)
