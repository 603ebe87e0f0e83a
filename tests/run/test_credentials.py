"""The credential order, key-file formats, re-rooting, and that secrets never show."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from stores import CredentialsError, MissingExtraError, S3Connection, SecretFormatError, WasbConnection
from stores.credentials import key_file_env, resolve_credentials
from stores.handles import open_store

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def s3_conn(**extra):
    return S3Connection(name="data-s3", schema={"bucket": "s3://bkt/p"},
                        secret={"name": "s", "items": [{"key": "k", "path": "key.json"}], "mountPath": "/plx-secrets/data-s3"},
                        **extra)


def write_key(root, mount, doc):
    path = root / mount.lstrip("/") / "key.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_order_key_file_then_pod_env_then_standard_env(tmp_path):
    path = write_key(tmp_path, "/plx-secrets/data-s3",
                     {"AWS_ACCESS_KEY_ID": "FROMFILE", "AWS_SECRET_ACCESS_KEY": SECRET})
    conn = s3_conn(env=[{"name": "AWS_ENDPOINT_URL", "value": "http://from-connection-env"}])
    env = {"AWS_ACCESS_KEY_ID": "FROMENV", "AWS_SECRET_ACCESS_KEY": "x" * 20, "AWS_REGION": "eu-west-1",
           "AWS_ENDPOINT_URL": "http://from-std-env", "POLYAXON_TIMEOUT": "7"}
    creds = resolve_credentials("s3", connection=conn, environ=env, secrets_root=str(tmp_path))
    assert creds.get("access_key") == "FROMFILE" and creds.sources["access_key"] == f"key file {path}"
    assert creds.get("endpoint_url") == "http://from-connection-env"
    assert creds.sources["endpoint_url"] == "connection env"
    assert (creds.get("region"), creds.sources["region"]) == ("eu-west-1", "environment")
    assert creds.get("timeout") == "7"
    # no key file: the standard variables
    bare = resolve_credentials("s3", connection=conn, environ=env, secrets_root=str(tmp_path / "none"))
    assert bare.get("access_key") == "FROMENV"


def test_in_run_lookup_by_name_uses_legacy_mount_and_pod_variable(tmp_path):
    write_key(tmp_path, "/plx-secrets/data-s3", {"AWS_ACCESS_KEY_ID": "LEGACY", "AWS_SECRET_ACCESS_KEY": SECRET})
    env = {"STORES_SECRETS_ROOT": str(tmp_path)}
    assert resolve_credentials("s3", name="data-s3", environ=env).get("access_key") == "LEGACY"
    other = write_key(tmp_path, "/custom/place", {"AWS_ACCESS_KEY_ID": "VIAVAR", "AWS_SECRET_ACCESS_KEY": SECRET})
    assert key_file_env("my-data") == "POLYAXON_CONNECTION_MY_DATA_KEY_FILE"
    env[key_file_env("my-data")] = "/custom/place/key.json"
    creds = resolve_credentials("s3", name="my-data", environ=env)
    assert creds.get("access_key") == "VIAVAR" and str(other) in creds.sources["access_key"]
    # the renderer pointed at a file that is not there: a broken pod, said plainly
    env[key_file_env("my-data")] = "/custom/missing/key.json"
    with pytest.raises(CredentialsError, match="does not exist"):
        resolve_credentials("s3", name="my-data", environ=env)


def test_bad_key_files_name_the_file_not_the_content(tmp_path):
    write_key(tmp_path, "/plx-secrets/data-s3", '{"AWS_SECRET_ACCESS_KEY": "' + SECRET + '", oops')
    with pytest.raises(SecretFormatError) as info:
        resolve_credentials("s3", connection=s3_conn(), environ={}, secrets_root=str(tmp_path))
    assert "key.json" in str(info.value) and SECRET not in str(info.value)
    write_key(tmp_path, "/plx-secrets/data-s3", {"AWS_SECRET_ACCESS_KEY": SECRET})
    with pytest.raises(SecretFormatError, match="go together"):
        resolve_credentials("s3", connection=s3_conn(), environ={}, secrets_root=str(tmp_path))


def test_gcs_key_with_escaped_newlines_and_application_credentials(tmp_path):
    key = {"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "project_id": "p1",
           "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n"}
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(key))
    creds = resolve_credentials("gcs", environ={"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    assert creds.get("service_account")["private_key"].count("\n") == 3
    assert creds.get("project") == "p1"
    assert "MIIB" not in repr(creds) and "MIIB" not in str(creds.describe())
    (tmp_path / "bad.json").write_text(json.dumps({"client_email": "x"}))
    with pytest.raises(SecretFormatError):
        resolve_credentials("gcs", environ={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "bad.json")})


def test_azure_settings_and_redaction():
    conn = WasbConnection(name="az", schema={"bucket": "wasbs://cont@acct.blob.core.windows.net/"})
    env = {"AZURE_STORAGE_SAS_TOKEN": "sv=2024&sig=AbCdEfGh1234567890", "AZURE_ACCOUNT_KEY": SECRET}
    creds = resolve_credentials("wasb", connection=conn, environ=env)
    assert set(creds.settings) == {"sas_token", "account_key"}
    message = f"GET https://acct.blob.core.windows.net/c?sv=2024&sig=Zz9Yy8 failed with key {SECRET}"
    redacted = creds.redact(message)
    assert SECRET not in redacted and "Zz9Yy8" not in redacted and "sig=***" in redacted
    assert SECRET not in repr(creds)


def test_handle_repr_and_errors_hide_secrets(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "tok" * 10,
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    handle = open_store("s3://bkt/prefix", environ=env)
    text = repr(handle) + str(handle)
    assert SECRET not in text and "tok" * 10 not in text and "secret_key<-environment" in text


def test_missing_extra_names_the_pip_command():
    code = textwrap.dedent("""
        import sys
        sys.modules["s3fs"] = None  # as if the s3 extra were not installed
        from stores.handles import open_store
        from stores import MissingExtraError
        try:
            open_store("s3://bkt/x", environ={})
        except MissingExtraError as exc:
            print(exc)
        else:
            raise SystemExit("no error")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'plx-stores[s3]'" in out
    assert issubclass(MissingExtraError, ImportError)


def test_importing_handles_loads_no_backend():
    code = ("import sys, stores.handles, stores.transfer, stores.credentials, stores.progress, stores.backends; "
            "print(sorted(m for m in ('fsspec', 's3fs', 'gcsfs', 'adlfs', 'boto3', 'botocore', 'google.cloud.storage',"
            " 'azure.storage.blob', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_client_options_from_the_polyaxon_context():
    from stores.backends import fs_options

    base = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": SECRET}
    opts = fs_options(resolve_credentials("s3", environ={**base, "POLYAXON_VERIFY_SSL": "false", "AWS_REGION": "us-east-1",
                                                         "POLYAXON_TIMEOUT": "5"}))
    assert opts["client_kwargs"] == {"verify": False}  # no region_name for us-east-1 (s3fs mkdir breaks)
    assert opts["config_kwargs"]["connect_timeout"] == 5.0 and opts["key"] == "AKID"
    opts = fs_options(resolve_credentials("s3", environ={**base, "POLYAXON_SSL_CA_CERT": "/etc/minio-ca.pem",
                                                         "AWS_DEFAULT_REGION": "eu-west-1"}))
    assert opts["client_kwargs"] == {"verify": "/etc/minio-ca.pem", "region_name": "eu-west-1"}
    opts = fs_options(resolve_credentials("s3", environ={"AWS_SECURITY_TOKEN": "legacy-token", **base}))
    assert opts["token"] == "legacy-token"
    az = fs_options(resolve_credentials("wasb", environ={"AZURE_SAS_TOKEN": "?sv=1&sig=abc",
                                                         "AZURE_BLOB_ENDPOINT": "http://127.0.0.1:1/acct"}), "acct")
    assert az["connection_string"] == "BlobEndpoint=http://127.0.0.1:1/acct;AccountName=acct;SharedAccessSignature=sv=1&sig=abc"
