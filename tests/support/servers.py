"""Real storage servers on 127.0.0.1 for the tests (session-scoped pytest fixtures).

- ``s3_server``: moto's S3 server (``ThreadedMotoServer``, in-process, a real HTTP server)
- ``s3_auth_server``: moto's server with authentication enforced (S3, IAM and STS at one
  endpoint, a process of its own: ``tests/support/moto_auth_server.py``), with an admin user's key in
  ``extra["admin"]``; only the tests that ask for it start it
- ``gcs_server``: gcp-storage-emulator (subprocess, in memory)
- ``azurite_server``: Azurite's blob service (subprocess from ``$AZURITE_BLOB``)
- ``oauth_server``: a token endpoint, so a real service-account key can be exchanged locally

Each picks a free port, waits until the server answers (or fails the test with the server's
own output: a server that cannot start is a failure, never a skip), and stops at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

# gcsfs reads this once, at import: without it every call probes gRPC for about a minute
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

__all__ = ["s3_server", "s3_auth_server", "admin_client", "gcs_server", "azurite_server", "oauth_server", "Server", "free_port", "unique_bucket",
           "s3_env", "gcs_env", "azure_env", "create_s3_bucket", "s3_client", "create_gcs_bucket", "create_container",
           "AZURITE_ACCOUNT", "AZURITE_KEY"]

from support.paths import ROOT
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft)
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT = 30.0


@dataclass
class Server:
    url: str
    port: int
    extra: dict = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen | None, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered; an error status is still an answer
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    output = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    if proc is not None and proc.poll() is None:
        proc.kill()
    pytest.fail(f"{what} did not start within {START_TIMEOUT:.0f}s at {url} (last error: {last}); output:\n{output}",
                pytrace=False)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _spawn(cmd: list[str], log: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    fh = open(log, "wb")
    try:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, cwd=cwd)
    finally:
        fh.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Server]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        pytest.fail(f"moto's server cannot be imported ({exc}); install moto[s3] flask flask-cors", pytrace=False)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _wait_http(url + "/moto-api/", None, "moto S3 server")
    try:
        yield Server(url, port)
    finally:
        server.stop()


#: requests the auth-enforcing server takes unsigned: the fixture's own making of its admin
_ADMIN_SETUP_ACTIONS = 3
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture(scope="session")
def s3_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """moto with authentication enforced; ``extra["admin"]``: ``{"key", "secret"}`` of a user
    allowed everything (to make users, keys and roles for the test at hand)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    proc = _spawn([sys.executable, str(ROOT / "tests" / "support" / "moto_auth_server.py"), str(port)], log,
                  env={"INITIAL_NO_AUTH_ACTION_COUNT": str(_ADMIN_SETUP_ACTIONS)})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/moto-api/", proc, "moto (authentication enforced)", log)
        import boto3

        # the only unsigned requests the server takes (_ADMIN_SETUP_ACTIONS)
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                           aws_secret_access_key="setup")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        yield Server(url, port, {"admin": {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}})
    finally:
        _stop(proc)


def admin_client(server: Server, service: str) -> Any:
    """A boto3 client of ``s3_auth_server`` signed by its admin."""
    import boto3

    admin = server.extra["admin"]
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=admin["key"], aws_secret_access_key=admin["secret"])


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    exe = shutil.which("gcp-storage-emulator", path=str(Path(sys.executable).parent)) or shutil.which("gcp-storage-emulator")
    if exe is None:
        pytest.fail("gcp-storage-emulator is not installed (pip install gcp-storage-emulator)", pytrace=False)
    port = free_port()
    log = tmp_path_factory.mktemp("gcs") / "emulator.log"
    proc = _spawn([exe, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "-q"], log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/storage/v1/b", proc, "gcp-storage-emulator", log)
        yield Server(url, port)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    exe = os.environ.get("AZURITE_BLOB") or str(ROOT / ".tools/azurite/node_modules/.bin/azurite-blob")
    if not os.path.exists(exe):
        pytest.fail(f"Azurite not found at {exe}; run scripts/test.sh (it installs it) or set AZURITE_BLOB",
                    pytrace=False)
    port = free_port()
    work = tmp_path_factory.mktemp("azurite")
    log = work / "azurite.log"
    proc = _spawn([exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                   "--disableTelemetry", "--skipApiVersionCheck", "--silent"], log, cwd=work)
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        _wait_http(endpoint + "?comp=list", proc, "Azurite", log)
        conn = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={endpoint};")
        yield Server(endpoint, port, {"connection_string": conn})
    finally:
        _stop(proc)


class _TokenHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.server.requests.append(body)  # type: ignore[attr-defined]
        payload = json.dumps({"access_token": "test-token", "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[Server]:
    """Answers service-account JWT exchanges with a token and records each request body."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    try:
        yield Server(f"http://127.0.0.1:{port}/token", port, {"requests": httpd.requests})  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- helpers the tests share: the environment a client needs, and fresh buckets ---------------

_counter = iter(range(1, 1_000_000))


def unique_bucket(prefix: str = "b") -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def s3_env(server: Server) -> dict[str, str]:
    # moto accepts any key pair; these are placeholders, not secrets
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1"}


def s3_client(server: Server) -> Any:
    """A boto3 S3 client of ``server`` (moto's placeholder key): for seeding and checking buckets."""
    import boto3

    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id="testing", aws_secret_access_key="testing",
                        region_name="us-east-1")


def create_s3_bucket(server: Server, name: str) -> None:
    s3_client(server).create_bucket(Bucket=name)


def gcs_env(server: Server) -> dict[str, str]:
    return {"STORAGE_EMULATOR_HOST": server.url}


def create_gcs_bucket(server: Server, name: str) -> None:
    req = urllib.request.Request(f"{server.url}/storage/v1/b?project=test", data=json.dumps({"name": name}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=10).close()


def azure_env(server: Server) -> dict[str, str]:
    return {"AZURE_STORAGE_CONNECTION_STRING": server.extra["connection_string"]}


def create_container(server: Server, name: str) -> None:
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient.from_connection_string(server.extra["connection_string"]).create_container(name)


def bucket_store(request: pytest.FixtureRequest, kind: str, prefix: str = "p", bucket_prefix: str = "b"):
    """A handle on a new, empty bucket of ``kind`` (``s3``, ``gcs``, ``wasb``) on its emulator,
    rooted at ``prefix``; the emulator's session fixture is started on first use."""
    from stores.handles import open_store

    bucket = unique_bucket(bucket_prefix)
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        create_s3_bucket(server, bucket)
        return open_store(f"s3://{bucket}/{prefix}", environ=s3_env(server))
    if kind == "gcs":
        server = request.getfixturevalue("gcs_server")
        create_gcs_bucket(server, bucket)
        return open_store(f"gs://{bucket}/{prefix}", environ=gcs_env(server))
    server = request.getfixturevalue("azurite_server")
    create_container(server, bucket)
    return open_store(f"wasbs://{bucket}@{AZURITE_ACCOUNT}.blob.core.windows.net/{prefix}", environ=azure_env(server))
