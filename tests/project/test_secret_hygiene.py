"""Secret hygiene (issue 8, item 4): canary secret values are passed through every way a secret
enters (values files, key files given to ``stores secret``, the variables
``AWS_SECRET_ACCESS_KEY`` / ``AZURE_ACCOUNT_KEY`` / ``AZURE_STORAGE_CONNECTION_STRING`` /
``POLYAXON_AUTH_TOKEN``, key files mounted for a connection, CLI flags) and every way something
leaves (stdout and stderr of the CLI, error messages, every log record at DEBUG level from every
library, reprs of handles, credentials and contexts, rendered manifests).  A canary may appear
only inside the Secret that ``stores secret`` prints, base64-encoded in its ``data``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from support.servers import AZURITE_ACCOUNT, create_container, create_s3_bucket, unique_bucket
from stores.cli import main
from stores.errors import StoresError, ValuesError
from support.paths import ROOT

#: one canary per way in; each long enough that a match is never an accident.  The Azure key must
#: be base64 (the SDK decodes it to sign requests).
CANARIES = {
    "aws": "CANARYaws" + secrets.token_hex(16),
    "azure": base64.b64encode(b"CANARYazure" + secrets.token_bytes(48)).decode(),
    "token": "CANARYtoken" + secrets.token_hex(16),
    "keyfile": "CANARYkeyfile" + secrets.token_hex(16),
    "mounted": "CANARYmounted" + secrets.token_hex(16),
    "values": "CANARYvalues" + secrets.token_hex(16),
    "gcs": "CANARYgcs" + secrets.token_hex(16),
}


def _forms(canary: str) -> set[str]:
    """The spellings a leak could take: as is, URL-encoded, base64 of it alone, JSON-escaped."""
    return {canary, urllib.parse.quote(canary, safe=""), base64.b64encode(canary.encode()).decode(),
            json.dumps(canary)[1:-1]}


class Outputs:
    """Everything that left the code under test, labelled, to be searched for canaries."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, label: str, text: Any) -> None:
        self.texts.append((label, text if isinstance(text, str) else repr(text)))

    def leaks(self) -> list[str]:
        found = []
        for label, text in self.texts:
            for name, canary in CANARIES.items():
                for form in _forms(canary):
                    if form in text:
                        at = text.index(form)
                        found.append(f"{name} canary in {label}: ...{text[max(0, at - 80):at + 20]!r}...")
        return found


@pytest.fixture
def outputs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Outputs]:
    """Collects; at the end, every DEBUG record of every logger (botocore, s3fs, aiohttp, azure,
    urllib3, ours) and whatever was printed are searched too."""
    out = Outputs()
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records propagate to it
    yield out
    captured = capsys.readouterr()
    out.add("stdout", captured.out)
    out.add("stderr", captured.err)
    for record in caplog.records:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string is not our leak
            message = f"{record.msg} {record.args}"
        out.add(f"log {record.name}", message)
    leaks = out.leaks()
    assert not leaks, "\n".join(leaks[:10])


def _run(outputs: Outputs, *argv: str) -> int:
    """The CLI, in this process (so its logs are captured); its printout is searched later."""
    code = main(list(argv))
    outputs.add(f"exit of stores {' '.join(argv)}", str(code))
    return code


# ---- stores secret: the only place a canary may appear ----------------------------------------------------


def _key_files(tmp_path: Path) -> dict[str, Path]:
    docs = {
        "s3": {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": CANARIES["keyfile"]},
        "azure": {"AZURE_ACCOUNT_NAME": "plxstorage", "AZURE_ACCOUNT_KEY": CANARIES["keyfile"]},
        "gcs": {"type": "service_account", "client_email": "r@p.iam.gserviceaccount.com", "project_id": "p",
                "private_key": f"-----BEGIN PRIVATE KEY-----\n{CANARIES['gcs']}\n-----END PRIVATE KEY-----\n"},
    }
    out = {}
    for store, doc in docs.items():
        out[store] = tmp_path / f"{store}.json"
        out[store].write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_stores_secret_puts_the_canary_only_in_the_secrets_data(tmp_path: Path, capsys: Any, fmt: str) -> None:
    for store, path in _key_files(tmp_path).items():
        assert main(["secret", f"{store}-creds", "--store", store, "--from-file", str(path), "-o", fmt]) == 0
        captured = capsys.readouterr()
        manifest = yaml.safe_load(captured.out)
        assert manifest["kind"] == "Secret" and set(manifest) == {"apiVersion", "kind", "metadata", "type", "data"}
        for canary in CANARIES.values():
            assert canary not in captured.out and canary not in captured.err
        decoded = base64.b64decode(manifest["data"]["key.json"]).decode()
        assert decoded == path.read_text()  # the canary is there, and only there
        assert CANARIES["keyfile"] in decoded or CANARIES["gcs"] in decoded


def test_bad_key_files_never_echo_their_content(tmp_path: Path, outputs: Outputs) -> None:
    c = CANARIES["keyfile"]
    bad = {
        "missing-access-key.json": json.dumps({"AWS_SECRET_ACCESS_KEY": c}),
        "unknown-key.json": json.dumps({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "x", "AWS_SECRET_KEY": c}),
        "not-a-string.json": json.dumps({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": [c]}),
        "not-json.json": '{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "' + c + '",,}',
        "not-an-object.json": json.dumps([c]),
        "unterminated.json": '{"AWS_SECRET_ACCESS_KEY": "' + c,
    }
    for name, content in bad.items():
        path = tmp_path / name
        path.write_text(content)
        assert _run(outputs, "secret", "s3-creds", "--store", "s3", "--from-file", str(path)) == 1
    (tmp_path / "latin.json").write_bytes(b'{"AWS_SECRET_ACCESS_KEY": "\xff' + c.encode() + b'"}')
    assert _run(outputs, "secret", "s3-creds", "--store", "s3", "--from-file", str(tmp_path / "latin.json")) == 1
    # and through the Python API: the exceptions' messages and reprs
    from k8s import build_secret, secret_from_file

    for name in bad:
        with pytest.raises(StoresError) as info:
            secret_from_file("s3-creds", "s3", tmp_path / name)
        outputs.add(f"error of {name}", f"{info.value} {info.value!r} {info.value.args!r}")
    secret = build_secret("s3-creds", "s3", {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": c})
    outputs.add("repr of the Secret object", f"{secret!r} {secret!s} {secret.to_str()}")


# ---- environment variables and mounted key files, through handles and transfers ------------------------------


@pytest.fixture
def canary_env(monkeypatch: pytest.MonkeyPatch, s3_server: Any) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": CANARIES["aws"],
        "AWS_ENDPOINT_URL": s3_server.url, "AWS_REGION": "us-east-1",
        "AZURE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_ACCOUNT_KEY": CANARIES["azure"],
        "POLYAXON_AUTH_TOKEN": CANARIES["token"], "POLYAXON_HOST": "https://polyaxon.example.com",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_CONNECTION_STRING", "POLYAXON_CONTEXT_FILE"):
        monkeypatch.delenv(key, raising=False)
    return env


def test_s3_credentials_from_the_environment(tmp_path: Path, outputs: Outputs, canary_env: dict[str, str],
                                             s3_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    from stores.credentials import resolve_credentials
    from stores.handles import open_store
    from stores.transfer import TransferOptions, download, upload

    bucket = unique_bucket("hygiene")
    create_s3_bucket(s3_server, bucket)
    creds = resolve_credentials("s3")
    outputs.add("credentials", f"{creds!r} {creds!s} {creds.describe()} {creds.searched}")
    handle = open_store(f"s3://{bucket}/run")
    outputs.add("handle", f"{handle!r} {handle!s}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("payload")
    opts = TransferOptions(workers=2, retries=0)
    outputs.add("upload", upload(tmp_path / "src", handle, options=opts, progress=False).summary())
    outputs.add("download", download(handle, "", tmp_path / "back", options=opts, progress=False).summary())
    assert _run(outputs, "ls", "-r", f"s3://{bucket}/run", "-o", "json") == 0
    assert _run(outputs, "sync", str(tmp_path / "src"), f"s3://{bucket}/run2") == 0
    # failures: their messages go to stderr and into exceptions
    assert _run(outputs, "cp", str(tmp_path / "src"), "s3://no-such-bucket-hygiene/x") == 1
    assert _run(outputs, "ls", "s3://no-such-bucket-hygiene/") == 1
    with pytest.raises(StoresError) as info:
        upload(tmp_path / "src", open_store("s3://no-such-bucket-hygiene/x"), options=opts, progress=False)
    outputs.add("transfer error", f"{info.value} {info.value!r} {getattr(info.value, 'failures', '')!r}")
    # the SDKs' own DEBUG records (signing, headers, retries) really were captured and searched
    assert {"botocore.auth", "botocore.endpoint"} <= {r.name for r in caplog.records}


def test_mounted_key_file_of_a_connection(tmp_path: Path, outputs: Outputs, canary_env: dict[str, str],
                                         s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A legacy bucket entry's key file, mounted at /plx-secrets/<name>/key.json (re-rooted)."""
    from stores.catalog import Catalog
    from stores.handles import open_store

    bucket = unique_bucket("hygiene")
    create_s3_bucket(s3_server, bucket)
    root = tmp_path / "secrets"
    (root / "plx-secrets" / "data-s3").mkdir(parents=True)
    (root / "plx-secrets" / "data-s3" / "key.json").write_text(json.dumps(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": CANARIES["mounted"], "AWS_ENDPOINT_URL": s3_server.url}))
    monkeypatch.setenv("STORES_SECRETS_ROOT", str(root))
    values = tmp_path / "values.yaml"
    values.write_text(f"persistence:\n  data:\n    data-s3:\n      store: s3\n      bucket: s3://{bucket}\n"
                      "      secret: s3-creds\n      secretKey: key.json\n")
    handle = open_store(Catalog.from_file(values).get("data-s3"))
    outputs.add("handle", f"{handle!r} {handle.credentials.describe()}")
    assert handle.credentials.sources["secret_key"].startswith("key file")
    (tmp_path / "f.txt").write_text("x")
    assert _run(outputs, "cp", "--values", str(values), str(tmp_path / "f.txt"), "data-s3:f.txt") == 0
    assert _run(outputs, "ls", "--values", str(values), "data-s3:") == 0
    # the same file, now broken: the error names the file, not its content
    (root / "plx-secrets" / "data-s3" / "key.json").write_text('{"AWS_SECRET_ACCESS_KEY": "' + CANARIES["mounted"])
    assert _run(outputs, "ls", "--values", str(values), "data-s3:") == 1


def test_azure_account_key_with_a_failing_request(tmp_path: Path, outputs: Outputs, canary_env: dict[str, str],
                                                  azurite_server: Any, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The canary is the wrong key for Azurite: every request fails to authenticate, and the
    errors (the SDK's, adlfs', ours) travel through messages and logs."""
    from stores.credentials import resolve_credentials
    from stores.handles import open_store
    from stores.transfer import TransferOptions, upload

    container = unique_bucket("hygiene")
    create_container(azurite_server, container)
    monkeypatch.setenv("AZURE_BLOB_ENDPOINT", azurite_server.url)
    monkeypatch.setenv("POLYAXON_TIMEOUT", "5")
    creds = resolve_credentials("wasb")
    outputs.add("credentials", f"{creds!r} {creds.describe()}")
    url = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/run"
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(StoresError) as info:
        handle = open_store(url)
        outputs.add("handle", repr(handle))
        upload(tmp_path / "a.txt", handle, "a.txt", options=TransferOptions(workers=1, retries=0), progress=False)
    outputs.add("azure error", f"{info.value} {info.value!r}")
    assert _run(outputs, "ls", url) == 1
    # the same key inside a connection string
    monkeypatch.delenv("AZURE_ACCOUNT_KEY")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={CANARIES['azure']};"
                       f"BlobEndpoint={azurite_server.url};")
    creds = resolve_credentials("wasb")
    outputs.add("credentials from a connection string", f"{creds!r} {creds.describe()}")
    assert _run(outputs, "ls", url) == 1
    assert any(r.name.startswith("azure.core.pipeline") for r in caplog.records)


# ---- the client context and the auth token --------------------------------------------------------------------


def test_auth_token_in_contexts_and_renders(tmp_path: Path, outputs: Outputs, canary_env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from stores.contract.context import resolve_context
    from stores.errors import ContextError

    ctx = resolve_context()
    assert ctx.token == CANARIES["token"]  # it was read...
    outputs.add("context", f"{ctx!r} {ctx!s} {dict(ctx.sources)}")  # ...and is never shown
    with pytest.raises(ContextError) as info:
        ctx.require("run_uuid", "owner")
    outputs.add("context error", str(info.value))
    # from a context file and from the in-cluster token file
    context_file = tmp_path / "context.json"
    context_file.write_text(json.dumps({"host": "https://h", "token": CANARIES["token"], "verify_ssl": "maybe"}))
    monkeypatch.delenv("POLYAXON_AUTH_TOKEN")
    with pytest.raises(ContextError) as info:
        resolve_context(config_file=str(context_file))
    outputs.add("context file error", str(info.value))
    context_file.write_text(json.dumps({"host": "https://h", "token": CANARIES["token"]}))
    outputs.add("context from file", repr(resolve_context(config_file=str(context_file))))
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    (cluster / "context.json").write_text(json.dumps({"host": "https://h"}))
    (cluster / "token").write_text(CANARIES["token"])
    monkeypatch.setenv("POLYAXON_IS_IN_CLUSTER", "true")
    outputs.add("in-cluster context", repr(resolve_context(cluster_dir=str(cluster))))
    monkeypatch.setenv("POLYAXON_AUTH_TOKEN", CANARIES["token"])
    # a rendered run takes the token from its Secret, never from the renderer's environment
    root = ROOT
    for values in ("current-values.yaml", "seed-004-values.yaml"):
        assert _run(outputs, "render", str(root / "examples" / values), "--auth", "--external-host",
                    "--external-api-host", "https://polyaxon.example.com", "--collect", "--mount-artifacts-store",
                    "--log-level", "DEBUG") == 0
    run_env = {"POLYAXON_RUN_DATA_PATHS": json.dumps({"d": "s3://bucket"}), "POLYAXON_RUN_OUTPUTS_PATH": "/out",
               "POLYAXON_RUN_UUID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}
    for key, value in run_env.items():
        monkeypatch.setenv(key, value)
    assert _run(outputs, "paths") in (0, 1)
    assert _run(outputs, "env", str(root / "examples" / "current-values.yaml"), "--run-uuid", "u1", "--owner", "o",
                "--project", "p") == 0


# ---- values files ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_ACCOUNT_KEY",
                                  "AZURE_STORAGE_CONNECTION_STRING", "POLYAXON_AUTH_TOKEN",
                                  # read by DefaultAzureCredential / the az CLI (stores.redact says why)
                                  "AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"])
def test_a_secret_written_into_a_values_file_is_refused_not_rendered(tmp_path: Path, outputs: Outputs,
                                                                     name: str) -> None:
    """Regression: a connection's literal env value for a secret variable was accepted and
    rendered into the pod spec as plain text."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"connections": [{
        "name": "data", "kind": "s3", "schema": {"bucket": "s3://bucket"},
        "env": [{"name": name, "value": CANARIES["values"]}, {"name": "AWS_REGION", "value": "eu-west-1"}]}]}))
    with pytest.raises(ValuesError) as info:
        from stores.catalog import Catalog

        Catalog.from_file(values)
    outputs.add("values error", f"{info.value} {info.value.problems!r}")
    assert any("secretKeyRef" in p.message for p in info.value.problems)
    assert _run(outputs, "validate", str(values)) == 1
    assert _run(outputs, "render", str(values)) == 1
    assert _run(outputs, "list", str(values)) == 1


@pytest.mark.parametrize("template", [
    "s3://AKIAEXAMPLE:{c}@data-bucket/runs",
    "gs://{c}@data-bucket",
    "wasbs://artifacts:{c}@plxstorage.blob.core.windows.net/",
    "wasbs://artifacts@plxstorage.blob.core.windows.net/runs?sv=2022-11-02&sp=rl&sig={c}",
])
def test_secret_material_in_a_bucket_url_is_refused_not_echoed(tmp_path: Path, outputs: Outputs, template: str) -> None:
    """Regression: credentials in a bucket URL were quoted back by `validate`, `ls` and `cp`."""
    url = template.format(c=CANARIES["values"])
    kind = {"s3": "s3", "gs": "gcs", "wasbs": "wasb"}[url.partition(":")[0]]
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"connections": [{"name": "data", "kind": kind, "schema": {"bucket": url}}]}))
    with pytest.raises(ValuesError) as info:
        from stores.catalog import Catalog

        Catalog.from_file(values)
    outputs.add("values error", f"{info.value} {info.value!r} {info.value.problems!r}")
    assert any("Kubernetes Secret" in p.message for p in info.value.problems)
    for argv in (["validate", str(values)], ["validate", "-o", "json", str(values)], ["render", str(values)],
                 ["list", str(values)], ["ls", url], ["cp", str(values), url], ["sync", str(tmp_path), url]):
        assert _run(outputs, *argv) == 1


def test_secrets_in_values_travel_by_reference(tmp_path: Path, outputs: Outputs) -> None:
    """The accepted way: the rendered pod names the Secret and key, never the value."""
    from k8s import render_patch
    from stores.catalog import Catalog
    from stores.contract.runinfo import RunInfo

    catalog = Catalog.from_values({"connections": [{
        "name": "data", "kind": "s3", "schema": {"bucket": "s3://bucket"},
        "secret": {"name": "s3-creds", "items": ["AWS_SECRET_ACCESS_KEY"]},
        "env": [{"name": "AWS_SESSION_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s3-creds", "key": "token"}}}]}]})
    manifest = render_patch(catalog, None, RunInfo(uuid="u1")).to_dict()
    env = {e["name"]: e for e in manifest["spec"]["containers"][0]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {
        "secretKeyRef": {"name": "s3-creds", "key": "AWS_SECRET_ACCESS_KEY"}}}
    outputs.add("manifest", json.dumps(manifest))


def test_the_search_finds_a_planted_leak() -> None:
    """The detector is not blind: each canary, in each spelling, is found."""
    for canary in CANARIES.values():
        for form in _forms(canary):
            out = Outputs()
            out.add("planted", f"prefix {form} suffix")
            assert out.leaks(), form
