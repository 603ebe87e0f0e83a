"""Secret manifests for the key files of the helm values example (examples/seed-004-values.yaml): what kubectl would make, checked keys, and
secret values that never leak into errors, reprs or any other output."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
import yaml

from k8s import build_secret, check_key_document, secret_from_file
from k8s.serialize import dump
from support.k8s import assert_golden, assert_valid
from stores.errors import SecretFormatError

SECRET_VALUE = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzzSECRET"
S3 = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET_VALUE, "AWS_REGION": "eu-west-1"}
GCS = {
    "type": "service_account",
    "project_id": "proj",
    "private_key_id": "abc",
    "private_key": f"-----BEGIN PRIVATE KEY-----\\n{SECRET_VALUE}\\n-----END PRIVATE KEY-----\\n",
    "client_email": "runner@proj.iam.gserviceaccount.com",
    "client_id": "123",
    "token_uri": "https://oauth2.googleapis.com/token",
}
AZURE = {"AZURE_ACCOUNT_NAME": "plxstorage", "AZURE_ACCOUNT_KEY": SECRET_VALUE}
DOCS = {"s3": S3, "gcs": GCS, "azure": AZURE}


def _decoded(secret) -> bytes:
    return base64.b64decode(dump(secret)["data"]["key.json"])


@pytest.mark.parametrize("store", sorted(DOCS))
def test_secret_from_a_file_is_what_kubectl_makes(tmp_path, store):
    path = tmp_path / "key.json"
    raw = json.dumps(DOCS[store], indent=4).encode()
    path.write_bytes(raw)
    secret = secret_from_file(f"{store}-secret", store, path, namespace="polyaxon")
    out = dump(secret)
    assert out == {
        "apiVersion": "v1",
        "data": {"key.json": base64.b64encode(raw).decode()},
        "kind": "Secret",
        "metadata": {"name": f"{store}-secret", "namespace": "polyaxon"},
        "type": "Opaque",
    }
    assert _decoded(secret) == raw  # byte for byte, as --from-file
    assert_valid(out)


@pytest.mark.parametrize("store", sorted(DOCS))
def test_secret_from_a_dict_golden(store):
    secret = build_secret(f"{store}-secret", store, DOCS[store])
    assert json.loads(_decoded(secret)) == DOCS[store]
    assert_golden(f"secret-{store}", dump(secret))
    assert_valid(dump(secret))


@pytest.mark.parametrize(
    "store, doc, missing",
    [
        ("s3", {"AWS_ACCESS_KEY_ID": "a"}, "AWS_SECRET_ACCESS_KEY"),
        ("s3", {"AWS_SECRET_ACCESS_KEY": SECRET_VALUE, "AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID"),
        ("gcs", {"type": "service_account", "private_key": SECRET_VALUE}, "client_email"),
        ("azure", {"AZURE_ACCOUNT_KEY": SECRET_VALUE}, "AZURE_ACCOUNT_NAME or AZURE_CONNECTION_STRING"),
        ("azure", {"AZURE_ACCOUNT_NAME": "plxstorage"}, "AZURE_ACCOUNT_KEY or AZURE_CONNECTION_STRING or AZURE_SAS_TOKEN"),
    ],
)
def test_missing_keys_are_named_never_values(store, doc, missing):
    with pytest.raises(SecretFormatError) as info:
        build_secret("s", store, doc)
    assert f"lacks {missing}" in str(info.value)
    assert SECRET_VALUE not in str(info.value) and SECRET_VALUE not in repr(info.value)


def test_azure_connection_string_alone_is_enough():
    doc = {"AZURE_CONNECTION_STRING": f"AccountName=plxstorage;AccountKey={SECRET_VALUE}"}
    secret = build_secret("az", "azure", doc)
    assert json.loads(_decoded(secret)) == doc
    assert SECRET_VALUE not in repr(secret) and SECRET_VALUE not in str(secret)
    with pytest.raises(SecretFormatError, match="AZURE_ACCOUNT_NAME") as info:
        build_secret("az", "azure", {"AZURE_ACCOUNT_KEY": SECRET_VALUE})  # a key alone is not
    assert SECRET_VALUE not in str(info.value)


def test_unknown_keys_refused_for_s3_but_not_gcs():
    with pytest.raises(SecretFormatError, match="unknown key\\(s\\) 'AWS_ACCES_KEY_ID'") as info:
        build_secret("s", "s3", {**S3, "AWS_ACCES_KEY_ID": SECRET_VALUE})
    assert SECRET_VALUE not in str(info.value)
    build_secret("g", "gcs", {**GCS, "universe_domain": "googleapis.com", "future_field": "x"})


def test_non_string_values_are_refused_without_showing_them():
    with pytest.raises(SecretFormatError, match="values must be strings: AWS_REGION") as info:
        check_key_document({**S3, "AWS_REGION": 12345}, "s3")
    assert "12345" not in str(info.value)


@pytest.mark.parametrize("content, message", [(b"\xff" + SECRET_VALUE.encode(), "not UTF-8"), (f'{{"AWS_SECRET_ACCESS_KEY": "{SECRET_VALUE}"'.encode(), "not valid JSON"), (f'["{SECRET_VALUE}"]'.encode(), "must be a JSON object")])
def test_unreadable_key_files_never_echo_content(tmp_path, content, message):
    path = tmp_path / "key.json"
    path.write_bytes(content)
    with pytest.raises(SecretFormatError, match=message) as info:
        secret_from_file("s", "s3", path)
    assert SECRET_VALUE not in str(info.value)


def test_repr_and_str_hide_values():
    secret = build_secret("s3-secret", "s3", S3)
    encoded = dump(secret)["data"]["key.json"]
    for shown in (repr(secret), str(secret), f"{secret}", secret.to_str()):
        assert SECRET_VALUE not in shown and encoded not in shown
        assert "key.json" in shown


def test_bad_names_are_refused():
    with pytest.raises(SecretFormatError, match="DNS-1123"):
        build_secret("Bad_Name", "s3", S3)
    with pytest.raises(SecretFormatError, match="unknown store 'minio'"):
        build_secret("s", "minio", S3)


def _stores(*args, **kw):
    return subprocess.run([sys.executable, "-m", "stores", *args], capture_output=True, text=True, **kw)


def test_cli_secret_prints_the_manifest(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(AZURE))
    res = _stores("secret", "az-secret", "--store", "azure", "--from-file", str(path), "-n", "polyaxon")
    assert res.returncode == 0, res.stderr
    doc = yaml.safe_load(res.stdout)
    assert doc["metadata"] == {"name": "az-secret", "namespace": "polyaxon"}
    assert base64.b64decode(doc["data"]["key.json"]) == path.read_bytes()
    res = _stores("secret", "az-secret", "--store", "azure", "--from-file", f"creds={path}", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert list(json.loads(res.stdout)["data"]) == ["creds"]


def test_cli_secret_error_names_keys_not_values(tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"AWS_SECRET_ACCESS_KEY": SECRET_VALUE}))
    res = _stores("secret", "s3-secret", "--store", "s3", "--from-file", str(path))
    assert res.returncode == 1
    assert "lacks AWS_ACCESS_KEY_ID" in res.stderr
    assert SECRET_VALUE not in res.stderr + res.stdout
