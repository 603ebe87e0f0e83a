"""Handles with workload identity, refreshing credentials, and read-only connections.

S3 runs against moto with authentication enforced (``s3_auth_server``): a request goes through
only when signed by a key IAM knows, so "it worked" means the credentials were right.  Web
identity goes through moto's STS ``AssumeRoleWithWebIdentity`` with a token file: no key in the
environment or in any file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from k8s.render import render_patch
from support.k8s import RUN, catalog_of
from support.servers import admin_client, create_s3_bucket, s3_env, unique_bucket
from stores.errors import ReadOnlyStoreError
from stores.handles import open_store
from stores.readonly import ReadOnlyFileSystem
from stores.models import parse_connection

ROLE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example"},
    "Action": "sts:AssumeRoleWithWebIdentity"}]})
S3_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
KEY_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def _role(server, name: str) -> str:
    iam = admin_client(server, "iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=S3_ONLY)
    return arn


def _bucket(server) -> str:
    bucket = unique_bucket("wid")
    admin_client(server, "s3").create_bucket(Bucket=bucket)
    return bucket


def _write_token(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _s3_credentials(handle):
    return handle.fs.session._stores_credentials


def test_s3_web_identity_from_the_rendered_pod(s3_auth_server, tmp_path: Path) -> None:
    """The pod the renderer makes for a ``webhook: false`` identity, read back by the handle:
    the role from the connections catalog / AWS_ROLE_ARN, the projected token's file, an STS
    exchange, and S3 requests signed with the session it returned."""
    server = s3_auth_server
    bucket = _bucket(server)
    arn = _role(server, f"reader-{bucket}")
    catalog = catalog_of({"name": "data", "kind": "s3", "schema": {"bucket": f"s3://{bucket}"},
                          "identity": {"serviceAccount": "runs", "roleArn": arn, "webhook": False}})
    patch = render_patch(catalog, None, RUN).to_dict()
    main = patch["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in main["env"] if "value" in e}
    assert patch["spec"]["serviceAccountName"] == "runs"
    # no key anywhere: no key variable, no secret volume, nothing from a Secret
    assert not set(KEY_NAMES) & {e["name"] for e in main["env"]}
    assert all("secret" not in v for v in patch["spec"]["volumes"])
    assert "envFrom" not in main and all("valueFrom" not in e for e in main["env"])
    # the catalog keeps Polyaxon's spelling (its V1Connection refuses unknown keys): the handle
    # finds the role in AWS_ROLE_ARN, the token in AWS_WEB_IDENTITY_TOKEN_FILE
    assert "identity" not in env["POLYAXON_CONNECTIONS_CATALOG"]
    # the kubelet's projected token, where the pod mounts it (re-rooted for the test)
    _write_token(tmp_path / env["AWS_WEB_IDENTITY_TOKEN_FILE"].lstrip("/"), "eyJhbGciOiJSUzI1NiJ9.pod-token.sig")
    pod_env = {**env, "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1", "STORES_SECRETS_ROOT": str(tmp_path)}
    handle = open_store("data", environ=pod_env)
    assert handle.credentials.get("access_key") is None
    handle.write_bytes("hello.txt", b"hi")
    assert handle.read_bytes("hello.txt") == b"hi"
    creds = _s3_credentials(handle)
    assert creds.method == "assume-role-with-web-identity"
    frozen = creds._frozen_credentials
    assert frozen.access_key.startswith("ASIA") and frozen.token  # an STS session, not a user's key


def test_web_identity_refreshes_before_expiry_and_rereads_the_token(s3_auth_server, tmp_path: Path) -> None:
    server = s3_auth_server
    bucket = _bucket(server)
    arn = _role(server, f"refresh-{bucket}")
    token = tmp_path / "token"
    _write_token(token, "eyJhbGciOiJSUzI1NiJ9.first.sig")
    conn = parse_connection({"name": "data", "kind": "s3", "schema": {"bucket": f"s3://{bucket}"},
                             "identity": {"serviceAccount": "runs", "roleArn": arn}})
    env = {"AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1", "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}
    handle = open_store(conn, environ=env)
    handle.write_bytes("a", b"1")
    creds = _s3_credentials(handle)
    first = creds._frozen_credentials.access_key
    # the kubelet rotated the token; the session is 5 minutes from expiry (botocore's mandatory window)
    _write_token(token, "eyJhbGciOiJSUzI1NiJ9.second.sig")
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    creds._expiry_time = soon
    for cached in creds._refresh_using.__self__._cache.values():  # the fetcher's copy expires alike
        cached["Credentials"]["Expiration"] = soon.isoformat()
    handle.write_bytes("b", b"2")
    assert creds._frozen_credentials.access_key != first
    assert creds._expiry_time > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)
    assert sorted(handle.find()) == ["a", "b"]


def _kubelet_swap(mount: Path, files: dict[str, str], generation: int) -> None:
    """What the kubelet does to a Secret volume: the new files in a fresh folder, then the
    ``..data`` symlink swapped atomically; the visible names are symlinks through ``..data``."""
    folder = mount / f"..2026_12_02_00_00_{generation:02d}.{generation}"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    tmp = mount / "..data_tmp"
    tmp.symlink_to(folder.name)
    os.replace(tmp, mount / "..data")
    for name in files:
        if not (mount / name).is_symlink():
            (mount / name).symlink_to(f"..data/{name}")


def _key_doc(key: dict, server) -> str:
    return json.dumps({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
                       "AWS_ENDPOINT_URL": server.url})


def test_key_file_swapped_by_the_kubelet_is_reread(s3_auth_server, tmp_path: Path) -> None:
    server = s3_auth_server
    bucket = _bucket(server)
    iam = admin_client(server, "iam")
    user = f"u-{bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=S3_ONLY)
    old = iam.create_access_key(UserName=user)["AccessKey"]
    mount = tmp_path / "plx-secrets" / "data"
    _kubelet_swap(mount, {"key.json": _key_doc(old, server)}, 1)
    conn = parse_connection({"name": "data", "kind": "s3", "schema": {"bucket": f"s3://{bucket}"},
                             "secret": {"name": "data-key", "mountPath": "/plx-secrets/data"}})
    handle = open_store(conn, environ={"AWS_REGION": "us-east-1"}, secrets_root=str(tmp_path))
    handle.write_bytes("before", b"1")
    assert not handle.key_file_changed()
    new = iam.create_access_key(UserName=user)["AccessKey"]
    _kubelet_swap(mount, {"key.json": _key_doc(new, server)}, 2)
    assert handle.key_file_changed()  # what `stores sync --watch` checks before each pass
    iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
    handle.write_bytes("after", b"2")  # the old key no longer exists: only the new one signs this
    assert _s3_credentials(handle)._frozen_credentials.access_key == new["AccessKeyId"]
    assert sorted(handle.find()) == ["after", "before"]


# ---- read-only connections ----------------------------------------------------------------------


def _refuses_writes(handle) -> None:
    assert isinstance(handle.fs, ReadOnlyFileSystem) and handle.read_only
    for write in (lambda: handle.write_bytes("new", b"x"), lambda: handle.open("new", "wb"),
                  lambda: handle.rm("seed"), lambda: handle.fs.pipe(handle.path("new"), b"x"),
                  lambda: handle.fs.open(handle.path("new"), "ab"), lambda: handle.fs.rm_file(handle.path("seed")),
                  lambda: handle.fs.put_file(__file__, handle.path("new"))):
        with pytest.raises(ReadOnlyStoreError, match="read-only .*readOnly: true"):
            write()
    assert issubclass(ReadOnlyStoreError, PermissionError)
    assert handle.read_bytes("seed") == b"seed"  # reads are untouched


def test_read_only_bucket_handle_refuses_writes(s3_server, tmp_path: Path) -> None:
    from stores.transfer import upload

    bucket = unique_bucket("ro")
    create_s3_bucket(s3_server, bucket)
    open_store(f"s3://{bucket}", environ=s3_env(s3_server)).write_bytes("seed", b"seed")
    conn = parse_connection({"name": "ro", "kind": "s3", "schema": {"bucket": f"s3://{bucket}", "readOnly": True}})
    handle = open_store(conn, environ=s3_env(s3_server))
    _refuses_writes(handle)
    with pytest.raises(ReadOnlyStoreError):
        handle.fs.call_s3("put_object", Bucket=bucket, Key="x", Body=b"x")
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(ReadOnlyStoreError, match="cannot copy into it"):
        upload(src, handle, "f.txt")
    assert sorted(handle.find()) == ["seed"]
    # what a read-only store is for: reading it, through the transfer engine too
    from stores.transfer import sync

    out = tmp_path / "out"
    assert sync(handle, str(out)).transferred == ["seed"]
    assert (out / "seed").read_bytes() == b"seed"


def test_read_only_host_path_handle_refuses_writes(tmp_path: Path) -> None:
    (tmp_path / "seed").write_bytes(b"seed")
    conn = parse_connection({"name": "ro", "kind": "host_path",
                             "schema": {"hostPath": "/data/ro", "mountPath": str(tmp_path), "readOnly": True}})
    handle = open_store(conn)
    _refuses_writes(handle)
    assert sorted(os.listdir(tmp_path)) == ["seed"]
    from stores.transfer import sync

    out = tmp_path.parent / f"{tmp_path.name}-out"
    assert sync(handle, str(out)).transferred == ["seed"]


# ---- the SDK chains of GCS and Azure ---------------------------------------------------------------


def test_azure_identity_is_a_workload_identity_credential(tmp_path: Path) -> None:
    from azure.identity.aio import WorkloadIdentityCredential

    from stores.backends import fs_options
    from stores.credentials import resolve_credentials

    token = tmp_path / "azure-identity-token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.azure.sig")
    conn = parse_connection({"name": "az", "kind": "wasb", "schema": {"bucket": "wasbs://data@acct.blob.core.windows.net/"},
                             "identity": {"serviceAccount": "runs", "clientId": "00000000-0000-0000-0000-00000000000a",
                                          "tenantId": "00000000-0000-0000-0000-00000000000b"}})
    creds = resolve_credentials("wasb", connection=conn, environ={"AZURE_FEDERATED_TOKEN_FILE": str(token)})
    assert creds.sources["client_id"] == "connection identity"
    opts = fs_options(creds, "acct")
    assert isinstance(opts["credential"], WorkloadIdentityCredential)
    assert "account_key" not in opts and "anon" not in opts
    from azure.identity import WorkloadIdentityCredential as SyncCredential

    from stores.backends import azure_fs

    fs = azure_fs(creds, "acct")  # adlfs's synchronous clients get the same identity
    assert isinstance(fs.credential, WorkloadIdentityCredential) and isinstance(fs.sync_credential, SyncCredential)


def test_gcs_identity_uses_google_default() -> None:
    from stores.backends import fs_options
    from stores.credentials import resolve_credentials

    conn = parse_connection({"name": "g", "kind": "gcs", "schema": {"bucket": "gs://data-bkt"},
                             "identity": {"serviceAccount": "runs", "gcpServiceAccount": "runs-sa@proj.iam.gserviceaccount.com"}})
    creds = resolve_credentials("gcs", connection=conn, environ={})
    assert fs_options(creds)["token"] == "google_default"


def test_gcs_key_file_swapped_by_the_kubelet_is_reloaded(tmp_path: Path, gcs_server, oauth_server) -> None:
    """A service-account key rotated in its Secret: the handle's credentials reload the file and
    the next token exchange is signed by the new key (the JWT names its account)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from support.servers import create_gcs_bucket

    def account(email: str) -> str:
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return json.dumps({"type": "service_account", "project_id": "test", "private_key_id": email[:4],
                           "private_key": pem, "client_email": email, "token_uri": oauth_server.url})

    def last_issuer() -> str:
        body = oauth_server.extra["requests"][-1]
        assertion = dict(p.split("=", 1) for p in body.split("&"))["assertion"]
        return json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))["iss"]

    bucket = unique_bucket("gkey")
    create_gcs_bucket(gcs_server, bucket)
    mount = tmp_path / "plx-secrets" / "data"
    _kubelet_swap(mount, {"gc-secret.json": account("first-key@test.iam.gserviceaccount.com")}, 1)
    conn = parse_connection({"name": "data", "kind": "gcs", "schema": {"bucket": f"gs://{bucket}"},
                             "secret": {"name": "gcs-key", "mountPath": "/plx-secrets/data"},
                             "env": [{"name": "STORAGE_EMULATOR_HOST", "value": gcs_server.url}]})
    handle = open_store(conn, environ={}, secrets_root=str(tmp_path))
    handle.write_bytes("a", b"1")
    assert last_issuer() == "first-key@test.iam.gserviceaccount.com"
    _kubelet_swap(mount, {"gc-secret.json": account("second-key@test.iam.gserviceaccount.com")}, 2)
    handle.write_bytes("b", b"2")
    assert last_issuer() == "second-key@test.iam.gserviceaccount.com"
    assert sorted(handle.find()) == ["a", "b"]


def test_read_only_azure_handle_reads_and_refuses_writes(azurite_server, tmp_path: Path) -> None:
    from support.servers import AZURITE_ACCOUNT, azure_env, create_container
    from stores.transfer import sync

    container = unique_bucket("ro")
    create_container(azurite_server, container)
    url = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/"
    open_store(url, environ=azure_env(azurite_server)).write_bytes("seed", b"seed")
    conn = parse_connection({"name": "ro", "kind": "wasb", "schema": {"bucket": url, "readOnly": True}})
    handle = open_store(conn, environ=azure_env(azurite_server))
    _refuses_writes(handle)
    assert sync(handle, str(tmp_path / "out")).transferred == ["seed"]
    with pytest.raises(ReadOnlyStoreError):
        sync(str(tmp_path / "out"), handle)
