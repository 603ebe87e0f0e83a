"""The toolkit image (issue 22): built by ``scripts/build-image.sh``, it runs the rendered toolkit
containers, exactly as rendered, against the S3 / GCS / Azure emulators on 127.0.0.1.

Each container's command, args and literal env are taken from a patch rendered by
``k8s.render_patch``; ``toolkit_image.Pod`` runs them in the image's root filesystem (read-only),
with the container's volumeMounts only (emptyDirs writable, Secrets read-only at the pod's
mountPath, no ``STORES_SECRETS_ROOT``), as the rendered ``runAsUser``/``runAsGroup``.

Building the image takes 2.5 to 6 minutes from a fresh clone (debootstrap, then pip), so these
tests run with ``bash scripts/test-image.sh`` (``STORES_IMAGE_TESTS=1``) and are skipped in the
main suite; they are skipped there too, with the reason, where buildah cannot run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from support.image import BOOKWORM_PIP, Pod, cannot_run_buildah, image_name, rendered_container, toolkit_image, version

if os.environ.get("STORES_IMAGE_TESTS") != "1":
    pytestmark = pytest.mark.skip(reason="the toolkit image tests build the image (2.5 to 6 min from a fresh clone): "
                                         "run them with `bash scripts/test-image.sh` (or STORES_IMAGE_TESTS=1)")
elif cannot_run_buildah():
    pytestmark = pytest.mark.skip(reason=f"buildah cannot run here: {cannot_run_buildah()}")

from k8s import render_patch  # noqa: E402
from k8s.plugins import download_data  # noqa: E402
from support.k8s import RUN  # noqa: E402
from support.servers import (AZURITE_ACCOUNT, AZURITE_KEY, azure_env, create_container, create_gcs_bucket,  # noqa: E402
                     create_s3_bucket, gcs_env, s3_env, unique_bucket)
from stores.catalog import Catalog  # noqa: E402

UID = GID = 65532
FILES = {"train/a.csv": b"1,2\n", "train/deep/b.csv": b"3,4\n" * 1000, "test/c.csv": b"5,6\n"}


@pytest.fixture(scope="module")
def image():
    yield from toolkit_image()


# ---- rendering: the pod a user gets, with the emulators' endpoints in its connections ---------

def _service_account(token_uri: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "test-project", "private_key_id": "k1", "private_key": pem,
            "client_email": "runner@test-project.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri}


class Setup:
    """One connection of ``kind`` on its emulator (a fresh bucket holding FILES under ``sets/``),
    the artifacts store on S3, their Secrets' contents, and the rendered patch."""

    def __init__(self, request: pytest.FixtureRequest, kind: str, plugins: dict | None = None,
                 downloads: tuple[str, ...] = ()) -> None:
        s3 = request.getfixturevalue("s3_server")
        self.artifacts_bucket = unique_bucket("artifacts")
        create_s3_bucket(s3, self.artifacts_bucket)
        s3_key = json.dumps({**s3_env(s3)}).encode()  # placeholders moto accepts, and its endpoint
        self.secrets: dict[str, dict[str, bytes]] = {"artifacts-creds": {"key.json": s3_key}}
        self.bucket = unique_bucket("data")
        self.kind = kind
        connection: dict[str, Any]
        if kind == "s3":
            create_s3_bucket(s3, self.bucket)
            self.host_env = s3_env(s3)
            self.url = f"s3://{self.bucket}/sets"
            connection = {"schema": {"bucket": self.url},
                          "secret": {"name": "s3-creds", "items": [{"key": "key.json", "path": "key.json"}],
                                     "mountPath": "/plx-secrets/data-s3"}}
            self.secrets["s3-creds"] = {"key.json": s3_key}
        elif kind == "gcs":
            gcs = request.getfixturevalue("gcs_server")
            oauth = request.getfixturevalue("oauth_server")
            create_gcs_bucket(gcs, self.bucket)
            self.host_env = gcs_env(gcs)
            self.url = f"gs://{self.bucket}/sets"
            connection = {"schema": {"bucket": self.url},
                          "secret": {"name": "gcs-creds", "items": [{"key": "sa.json", "path": "key.json"}],
                                     "mountPath": "/plx-secrets/data-gcs"},
                          "env": [{"name": "STORAGE_EMULATOR_HOST", "value": gcs.url}]}
            self.secrets["gcs-creds"] = {"sa.json": json.dumps(_service_account(oauth.url)).encode()}
        else:
            az = request.getfixturevalue("azurite_server")
            create_container(az, self.bucket)
            self.host_env = azure_env(az)
            self.url = f"wasbs://{self.bucket}@{AZURITE_ACCOUNT}.blob.core.windows.net/sets"
            connection = {"schema": {"bucket": self.url},
                          "secret": {"name": "az-creds", "items": [{"key": "key.json", "path": "key.json"}],
                                     "mountPath": "/plx-secrets/data-wasb"},
                          "env": [{"name": "AZURE_STORAGE_BLOB_ENDPOINT", "value": az.url}]}
            self.secrets["az-creds"] = {"key.json": json.dumps({"AZURE_ACCOUNT_NAME": AZURITE_ACCOUNT,
                                                                "AZURE_ACCOUNT_KEY": AZURITE_KEY}).encode()}
        self.name = f"data-{kind}"
        catalog = Catalog.from_values({
            "artifactsStore": {"name": "artifacts", "kind": "s3", "schema": {"bucket": f"s3://{self.artifacts_bucket}"},
                               "secret": {"name": "artifacts-creds", "mountPath": "/plx-secrets/artifacts"}},
            "connections": [{"name": self.name, "kind": "wasb" if kind == "azure" else kind, **connection}]})
        self.patch = render_patch(catalog, None, RUN, plugins=plugins if plugins is not None else {"collectLogs": False},
                                  extensions=[download_data(downloads)] if downloads else ()).to_dict()

    def seed(self, tmp: Path, files: dict[str, bytes] = FILES) -> None:
        from stores.handles import open_store
        from stores.transfer import TransferOptions, upload

        src = tmp / "seed"
        for key, body in files.items():
            (src / key).parent.mkdir(parents=True, exist_ok=True)
            (src / key).write_bytes(body)
        upload(src, open_store(self.url, environ=self.host_env), "", options=TransferOptions(workers=4), progress=False)

    def artifacts(self) -> dict[str, bytes]:
        import boto3

        env = json.loads(self.secrets["artifacts-creds"]["key.json"])
        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1")
        prefix = RUN.uuid + "/"
        out = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.artifacts_bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"][len(prefix):]] = client.get_object(Bucket=self.artifacts_bucket, Key=obj["Key"])["Body"].read()
        return out


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- the image itself ---------------------------------------------------------------------------

def test_image_is_the_dockerfiles(image):
    config = image.config
    assert config.get("User") == f"{UID}:{GID}"
    assert not config.get("Entrypoint")
    assert config.get("Cmd") == ["stores", "--help"]
    labels = image.labels
    assert labels["org.opencontainers.image.title"] == "plx-stores"
    assert labels["org.opencontainers.image.version"] == version()
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert re.fullmatch(r"[0-9a-f]{16}", labels["io.plx-stores.source-hash"])
    assert image.name == image_name() == f"plx-stores:{version()}"
    # the stores user of the Dockerfile, and no CA bundle of the build host left behind
    assert f"stores:x:{UID}:{GID}:" in (image.rootfs / "etc/passwd").read_text()
    assert not (image.rootfs / "src").exists()


def test_the_image_runs_its_cmd_as_the_rendered_user(image, tmp_path, request):
    setup = Setup(request, "s3")
    pod = Pod(setup.patch, image, tmp_path, setup.secrets)
    sidecar = rendered_container(setup.patch, "polyaxon-sidecar")
    container = {k: v for k, v in sidecar.items() if k not in ("command", "args")}  # the image's CMD
    result = pod.run(container)
    assert result.returncode == 0, result.stderr
    assert "usage: stores" in result.stdout
    pip = pod.run(sidecar, ["/opt/stores/bin/python", "-m", "pip", "--version"])
    assert pip.returncode == 0, pip.stderr
    if image.labels.get("io.plx-stores.base", "").startswith("bookworm"):
        assert pip.stdout.startswith(f"pip {BOOKWORM_PIP} "), pip.stdout


PROBE = r"""
import json, os
out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "writable": {}}
for d in ["/", "/opt/stores", "/etc", "/plx-context", "/plx-context/artifacts", "/plx-secrets/artifacts", "/tmp"]:
    try:
        with open(os.path.join(d, ".probe"), "w") as fh:
            fh.write("x")
        os.unlink(os.path.join(d, ".probe"))
        out["writable"][d] = True
    except OSError as exc:
        out["writable"][d] = exc.strerror
out["key"] = sorted(os.listdir("/plx-secrets/artifacts"))
print(json.dumps(out))
"""


def test_the_sandbox_is_the_pods(image, tmp_path, request):
    """The harness itself: in the sidecar's place, only its emptyDirs are writable, its key file
    is at the pod's path, and it runs as 65532 with no other group."""
    setup = Setup(request, "s3", {"collectLogs": False})
    pod = Pod(setup.patch, image, tmp_path, setup.secrets)
    sidecar = rendered_container(setup.patch, "polyaxon-sidecar")
    result = pod.run(sidecar, ["python3", "-c", PROBE])
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["uid"], got["gid"], got["groups"]) == (UID, GID, [GID])
    writable = {d for d, ok in got["writable"].items() if ok is True}
    assert writable == {"/plx-context/artifacts", "/tmp"}, got["writable"]
    assert got["writable"]["/"] == "Read-only file system"
    assert got["key"] == ["key.json"]


# ---- the init containers ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_download_init_container(image, tmp_path, request, kind):
    setup = Setup(request, kind, {}, downloads=(f"data-{kind}:train",))
    setup.seed(tmp_path)
    pod = Pod(setup.patch, image, tmp_path / "pod", setup.secrets)
    (tmp_path / "pod").mkdir()
    init = rendered_container(setup.patch, f"polyaxon-init-artifacts-data-{kind}-")
    assert init["command"][:2] == ["stores", "cp"]
    result = pod.run(init)
    assert result.returncode == 0, result.stderr
    target = pod.mount_dir(init, "/plx-context/artifacts") / f"data-{kind}"
    assert tree(target) == {"a.csv": FILES["train/a.csv"], "deep/b.csv": FILES["train/deep/b.csv"]}
    assert {p.stat().st_uid for p in target.rglob("*")} == {UID}  # written by the rendered user
    assert "2 file(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_download_of_a_missing_key_fails_in_the_image(image, tmp_path, request):
    setup = Setup(request, "s3", {}, downloads=("data-s3:validation",))
    setup.seed(tmp_path)
    (tmp_path / "pod").mkdir()
    pod = Pod(setup.patch, image, tmp_path / "pod", setup.secrets)
    result = pod.run(rendered_container(setup.patch, "polyaxon-init-artifacts-data-s3-"))
    assert result.returncode == 1
    assert f"no file at or under {setup.url}/validation" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the pod's toolkit containers in order, the sidecar stopped mid-write ---------------------

def _finish(proc, timeout: float = 120) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def test_init_containers_then_sidecar_sigterm_mid_write(image, tmp_path, request):
    from tools.reliability.sidecar import Writer

    setup = Setup(request, "s3", {"collectLogs": False, "sidecar": {"syncInterval": 1}}, downloads=("data-s3:train",))
    setup.seed(tmp_path)
    (tmp_path / "pod").mkdir()
    pod = Pod(setup.patch, image, tmp_path / "pod", setup.secrets)
    spec = setup.patch["spec"]
    names = [c["name"] for c in spec["initContainers"]]
    assert names[:2] == ["polyaxon-init-artifacts-default", "polyaxon-init-artifacts-resume"], names
    for init in spec["initContainers"]:  # mkdir, resume (a first start: nothing to restore), download
        result = pod.run(init)
        assert result.returncode == 0, f"{init['name']}: {result.stderr}"

    sidecar = rendered_container(setup.patch, "polyaxon-sidecar")
    assert sidecar["command"][:2] == ["stores", "sync"] and "--watch" in sidecar["command"]
    context = pod.mount_dir(sidecar, "/plx-context/artifacts")
    run_dir = context / RUN.uuid
    assert (run_dir / "outputs").is_dir()  # the mkdir init container's work
    (run_dir / "ready.txt").write_bytes(b"ready")
    # the main container's writes: each file under a temporary name, then renamed
    writer = Writer(run_dir / "outputs", random.Random("image-sidecar"), pause=0.05)
    proc = pod.popen(sidecar)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while "ready.txt" not in setup.artifacts() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, _finish(proc)
        time.sleep(random.Random("when").uniform(0.5, 2.0))
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        err = _finish(proc)
    finally:
        writer.stop.set()
        writer.join()
        if proc.poll() is None:
            proc.kill()
    expected = {f"outputs/{k}": v for k, v in writer.finished_before(signalled).items()}
    expected["ready.txt"] = b"ready"
    stored = setup.artifacts()
    assert "Traceback" not in err
    if proc.returncode == 1:  # the writer goes on after the signal: only a file still being written may fail
        failed = re.findall(r"^  (\S+): ", err, re.MULTILINE)
        assert failed and all(".partial" in k for k in failed), err
    else:
        assert proc.returncode == 0, err
    assert len(expected) > 5
    missing = sorted(k for k in expected if k not in stored)
    assert not missing, f"{len(missing)} of {len(expected)} finished files never reached the store: {missing[:5]}"
    assert not [k for k in expected if stored[k] != expected[k]]
    # the downloaded data is in the context too, and the sidecar synced only the run's directory
    assert tree(context / "data-s3") == {"a.csv": FILES["train/a.csv"], "deep/b.csv": FILES["train/deep/b.csv"]}
