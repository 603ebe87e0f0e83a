"""The one redaction policy (``stores.redact``) and its regressions: secret material in bucket
URLs, in env values of any type, in ``describe()``, short and numeric secrets, SAS tokens and
``AZURE_CLIENT_SECRET``.  The CLI cases run ``python -m stores`` as a user would and search its
whole output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import AZURITE_ACCOUNT, create_container, create_s3_bucket, s3_env, unique_bucket
from stores import Catalog, ValuesError
from stores.credentials import resolve_credentials
from stores.errors import Problem, StoresError, TransferError
from stores.redact import MASK, is_secret_name, redact_text, redact_url, url_secret

from support.paths import ROOT

SECRET = "S3cr3tPAYLOAD"  # what each credentialed URL below carries


# ---- the policy itself --------------------------------------------------------------------------


@pytest.mark.parametrize("url,shown,why", [
    (f"s3://AKIAEXAMPLE:{SECRET}@bkt/x", "s3://***@bkt/x", "credentials"),
    # AWS secret keys hold '/': the authority ends early, the rest must not escape
    (f"s3://AKIAEXAMPLE:ab/{SECRET}@bkt", "s3://***@bkt", "credentials"),
    (f"gs://{SECRET}@bkt", "gs://***@bkt", "credentials"),
    (f"https://u:{SECRET}@minio.example.com:9000", "https://***@minio.example.com:9000", "credentials"),
    (f"https://u:a/{SECRET}@minio.example.com", "https://***@minio.example.com", "credentials"),
    (f"wasbs://c:{SECRET}@acct.blob.core.windows.net/p", "wasbs://***@acct.blob.core.windows.net/p", "credentials"),
    (f"wasbs://{SECRET}@c@acct.blob.core.windows.net/", "wasbs://***@acct.blob.core.windows.net/", "credentials"),
    # Azure's "blob SAS URL": sv/se/sp say what the token allowed and are kept; sig is the secret
    (f"wasbs://c@acct.blob.core.windows.net/p?sv=2022-11-02&se=2030-01-01&sp=rl&sig={SECRET}",
     "wasbs://c@acct.blob.core.windows.net/p?sv=2022-11-02&se=2030-01-01&sp=rl&sig=***", "signed"),
    (f"s3://bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={SECRET}",
     "s3://bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=***", "signed"),
    (f"gs://bkt/k?X-Goog-Signature={SECRET}", "gs://bkt/k?X-Goog-Signature=***", "signed"),
])
def test_urls_with_secret_material(url: str, shown: str, why: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)
    found = url_secret(url)
    assert found is not None and ("credentials" if why == "credentials" else "signed URL") in found
    assert SECRET not in found


@pytest.mark.parametrize("url", [
    "s3://bkt/prefix", "gs://bkt/a/b", "wasbs://container@acct.blob.core.windows.net/runs",
    "s3://bkt/user@example.com/x", "s3://bkt/what?not-a-query", "https://minio.example.com:9000",
    "http://127.0.0.1:9000/bkt/user@example.com/x",  # a port, then an '@' in the path
])
def test_urls_without_secret_material_are_left_alone(url: str) -> None:
    assert url_secret(url) is None
    assert redact_url(url) == url


@pytest.mark.parametrize("name,secret", [
    ("AWS_SECRET_ACCESS_KEY", True), ("AWS_SESSION_TOKEN", True), ("AZURE_CLIENT_SECRET", True),
    ("AZURE_STORAGE_KEY", True), ("AZURE_STORAGE_SAS_TOKEN", True), ("AZURE_STORAGE_CONNECTION_STRING", True),
    ("AZURE_PASSWORD", True), ("POLYAXON_AUTH_TOKEN", True), ("GIT_TOKEN", True), ("db.password", True),
    # a path to a key file, identifiers, settings: shown and allowed as literals
    ("GOOGLE_APPLICATION_CREDENTIALS", False), ("AWS_ACCESS_KEY_ID", False), ("AZURE_CLIENT_ID", False),
    ("AZURE_STORAGE_ACCOUNT_NAME", False), ("POLYAXON_CONNECTION_DATA_KEY_FILE", False), ("AWS_REGION", False),
    ("PWD", False), ("STORES_AUTH_TOKEN_KEY", False),
])
def test_secret_ish_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize("value,text", [
    (86753091, "status 403 for key 86753091"),  # a number: its text is masked
    (1234, "AccountKey 1234 refused"),  # short and numeric
    ("pw", "cannot reach http://minio:pw@host (pw rejected)"),  # two characters
    (b"bytes-secret", "got bytes-secret back"),
    (["first-secret", 42], "first-secret and 42"),
])
def test_secret_values_are_masked_whatever_their_type_and_length(value: object, text: str) -> None:
    out = redact_text(text, [value])
    for shown in (value if isinstance(value, list) else [value]):
        plain = shown.decode() if isinstance(shown, bytes) else str(shown)
        assert plain not in out.replace(MASK, " "), out
    assert MASK in out


def test_a_short_secret_is_masked_as_a_token_not_inside_words() -> None:
    # "pw" stands alone in "u:pw@" and is masked; inside "pwned" it is two letters of a word
    assert redact_text("u:pw@h pwned", ["pw"]) == "u:***@h pwned"


def test_the_secret_fields_of_a_key_document_are_masked_whatever_their_length() -> None:
    doc = {"type": "service_account", "project_id": "p", "private_key_id": "k1",
           "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"}
    out = redact_text("id k1 line MIIEvQIBADANBg project p", [doc])
    assert "k1" not in out and "MIIEvQIBADANBg" not in out
    assert "project p" in out  # what is not secret stays readable


def test_errors_are_scrubbed_where_they_are_made() -> None:
    url = f"s3://AKIA:{SECRET}@bkt"
    for exc in (StoresError(f"cannot list {url}"), TransferError(f"cannot list {url}")):
        assert SECRET not in f"{exc} {exc!r} {exc.args!r}"
    problem = Problem(("connections", 0, "schema", "bucket"), f"got {url!r}")
    assert SECRET not in f"{problem} {problem!r} {problem.as_dict()}"


# ---- defect 1: credentials in a bucket URL, at validation and in ls / cp / sync ------------------


CREDENTIALED = {
    "s3 user:password": f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@{{bucket}}/x",
    "s3 password with '/'": f"s3://AKIAIOSFODNN7EXAMPLE:wJal/{SECRET}@{{bucket}}",
    "gs token": f"gs://{SECRET}@{{bucket}}/x",
    "wasbs container:key": f"wasbs://{{bucket}}:{SECRET}@{AZURITE_ACCOUNT}.blob.core.windows.net/x",
    "wasbs SAS token": f"wasbs://{{bucket}}@{AZURITE_ACCOUNT}.blob.core.windows.net/x?sv=2022-11-02&sp=rl&sig={SECRET}",
    "s3 presigned": f"s3://{{bucket}}/x?X-Amz-Credential=AKIA%2F20240101&X-Amz-Signature={SECRET}",
}


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "stores", *argv], capture_output=True, text=True, env=full,
                          timeout=120)


@pytest.mark.parametrize("form", list(CREDENTIALED))
def test_ls_cp_sync_never_echo_a_credentialed_url(form: str, tmp_path: Path, s3_server: object) -> None:
    """Regression: `stores ls s3://AKIA...:pw@bucket` printed the URL back in its error."""
    bucket = unique_bucket("redact")
    create_s3_bucket(s3_server, bucket)  # a real bucket: only the credentials are wrong
    url = CREDENTIALED[form].format(bucket=bucket)
    (tmp_path / "f.txt").write_text("x")
    # the same URL reaching the CLI through the run contract (a store named `data`)
    env = {**s3_env(s3_server), "POLYAXON_RUN_DATA_PATHS": json.dumps({"data": url})}  # type: ignore[arg-type]
    for argv in (["ls", url], ["ls", "-r", url, "-o", "json"], ["cp", str(tmp_path / "f.txt"), url],
                 ["cp", url, str(tmp_path / "back")], ["sync", str(tmp_path), url], ["ls", "data:"]):
        res = _cli(*argv, env=env)
        assert res.returncode == 1, (argv, res.stderr)
        assert SECRET not in res.stdout + res.stderr, argv
        assert "Traceback" not in res.stderr
        if argv[0] == "ls" and argv[1] == "data:":
            # the in-run contract refuses it first, naming the variable and the entry only
            assert "POLYAXON_RUN_DATA_PATHS entry 'data'" in res.stderr and "through a Secret" in res.stderr, res.stderr
        else:
            assert "Kubernetes Secret" in res.stderr and "not shown" in res.stderr, res.stderr


def test_validate_names_the_path_and_where_the_secret_goes(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(f"connections:\n  - name: d\n    kind: s3\n    schema:\n"
                      f"      bucket: s3://AKIA:{SECRET}@data-bucket\n")
    res = _cli("validate", str(values))
    assert res.returncode == 1 and SECRET not in res.stdout + res.stderr
    assert res.stderr.startswith(f"{values}:5: connections[0].schema.bucket: the bucket URL of store s3 holds "
                                 "credentials")
    assert "referenced by the connection's 'secret:'" in res.stderr


# ---- defect 2: a secret env value of the wrong type ---------------------------------------------


@pytest.mark.parametrize("value", [[SECRET], {"nested": SECRET}, 86753091, 3.25, True])
@pytest.mark.parametrize("spelling", ["list", "mapping", "pairs"])
def test_a_secret_env_value_of_any_type_is_refused_unquoted(value: object, spelling: str) -> None:
    env: object = {
        "list": [{"name": "AWS_SECRET_ACCESS_KEY", "value": value}],
        "mapping": {"AWS_SECRET_ACCESS_KEY": value},
        "pairs": [["AWS_SECRET_ACCESS_KEY", value]],
    }[spelling]
    with pytest.raises(ValuesError) as info:
        Catalog.from_values({"connections": [{"name": "d", "kind": "s3", "schema": {"bucket": "s3://bkt"}, "env": env}]})
    shown = f"{info.value} {info.value!r} {info.value.problems!r}"
    assert SECRET not in shown and "86753091" not in shown and "3.25" not in shown
    (problem,) = info.value.problems
    assert problem.path == ("connections", 0, "env", 0)
    assert "AWS_SECRET_ACCESS_KEY holds a secret" in problem.message


def test_a_non_secret_env_value_of_the_wrong_type_is_still_quoted() -> None:
    # the rule "quote the bad value" stands for everything that is not secret
    with pytest.raises(ValuesError, match=r"expected a string, got \['eu-west-1'\]"):
        Catalog.from_values({"connections": [{"name": "d", "kind": "s3", "schema": {"bucket": "s3://bkt"},
                                              "env": [{"name": "AWS_REGION", "value": ["eu-west-1"]}]}]})


# ---- defect 3: describe() and an endpoint's user:password ---------------------------------------


def test_describe_hides_an_endpoints_user_and_password() -> None:
    creds = resolve_credentials("s3", environ={"AWS_ENDPOINT_URL": f"http://minio:{SECRET}@minio.local:9000",
                                               "AWS_ACCESS_KEY_ID": "minio", "AWS_SECRET_ACCESS_KEY": "pw"})
    described = creds.describe()
    assert described["endpoint_url"] == "http://***@minio.local:9000 (environment)"
    assert SECRET not in f"{described} {creds!r}"
    assert creds.get("endpoint_url").endswith("@minio.local:9000")  # the SDK still gets it as given


# ---- defect 4: numeric and short secrets -------------------------------------------------------


def test_numeric_and_short_secrets_from_a_key_file_are_redacted(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": 86753091,
                               "AWS_SESSION_TOKEN": "t0k"}))
    creds = resolve_credentials("s3", key_file=str(key), environ={})
    out = creds.redact("SignatureDoesNotMatch: key 86753091, token t0k, http://AKID:t0k@h")
    assert "86753091" not in out and "t0k" not in out
    assert out == "SignatureDoesNotMatch: key ***, token ***, http://***@h"


def test_a_short_service_account_field_is_redacted(tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "r@p.iam.gserviceaccount.com",
                               "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
                               "private_key_id": "k9"}))
    creds = resolve_credentials("gcs", key_file=str(key), environ={})
    assert creds.redact("key k9 refused") == "key *** refused"


# ---- defect 5: SAS tokens in a wasbs URL, AZURE_CLIENT_SECRET as a literal ----------------------


def test_a_sas_url_is_refused_and_the_sas_token_variable_is_the_way(tmp_path: Path, azurite_server: object) -> None:
    """The refused form, then the accepted one: the token in AZURE_STORAGE_SAS_TOKEN (from the
    connection's Secret in a pod) reaches Azurite and works."""
    from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
    from datetime import datetime, timedelta, timezone

    container = unique_bucket("redact")
    create_container(azurite_server, container)  # type: ignore[arg-type]
    conn = azurite_server.extra["connection_string"]  # type: ignore[attr-defined]
    key = dict(p.split("=", 1) for p in conn.split(";") if p)["AccountKey"]
    sas = generate_container_sas(AZURITE_ACCOUNT, container, account_key=key,
                                 permission=ContainerSasPermissions(read=True, write=True, list=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    url = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/runs"
    sig = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    with pytest.raises(ValuesError) as info:
        Catalog.from_values({"connections": [{"name": "az", "kind": "wasb", "schema": {"bucket": f"{url}?{sas}"}}]})
    assert sig not in str(info.value) and "SAS token" in str(info.value)
    (tmp_path / "f.txt").write_text("x")
    env = {"AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_STORAGE_SAS_TOKEN": sas,
           "AZURE_BLOB_ENDPOINT": azurite_server.url}  # type: ignore[attr-defined]
    env = {k: v for k, v in {**os.environ, **env}.items()
           if k not in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_CONNECTION_STRING", "AZURE_ACCOUNT_KEY")}
    res = _cli("cp", str(tmp_path / "f.txt"), f"{url}/f.txt", env=env)
    assert res.returncode == 0, res.stderr
    assert sig not in res.stdout + res.stderr
    assert BlobServiceClient.from_connection_string(conn).get_container_client(container) \
        .get_blob_client("runs/f.txt").download_blob().readall() == b"x"


@pytest.mark.parametrize("name", ["AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
                                  "AZURE_CLIENT_CERTIFICATE_PASSWORD"])
def test_azure_secret_variables_as_literals_are_refused(name: str, tmp_path: Path) -> None:
    """Regression: AZURE_CLIENT_SECRET (read by DefaultAzureCredential's EnvironmentCredential)
    was accepted as a literal and rendered into the pod spec."""
    values = tmp_path / "values.yaml"
    values.write_text(f"connections:\n  - name: az\n    kind: wasb\n    schema:\n"
                      f"      bucket: wasbs://artifacts@acct.blob.core.windows.net/\n"
                      f"    env:\n      - {{name: {name}, value: {SECRET}}}\n")
    for argv in (["validate", str(values)], ["render", str(values)]):
        res = _cli(*argv)
        assert res.returncode == 1, res.stdout
        assert SECRET not in res.stdout + res.stderr
    assert f"{name} holds a secret" in res.stderr


def test_google_application_credentials_is_a_path_and_stays_allowed() -> None:
    catalog = Catalog.from_values({"connections": [{
        "name": "g", "kind": "gcs", "schema": {"bucket": "gs://bkt"},
        "env": [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/etc/gcs/key.json"}]}]})
    assert catalog.get("g").env[0].value == "/etc/gcs/key.json"


def test_query_parameter_names_need_no_escaping_in_patterns() -> None:
    # SIGNED_QUERY_PATTERN joins them unescaped, and helm's Go regexp reads the same text
    from stores import redact

    assert all(p.isascii() and p.replace("-", "").replace("_", "").isalpha()
               for p in redact.SECRET_QUERY_PARAMS | redact.SIGNED_QUERY_PARAMS)
