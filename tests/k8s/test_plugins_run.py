"""The commands the rendered containers run, executed here with ``stores`` from the venv
against moto's S3 server: the sidecar under SIGTERM, the resume init container, and the data
download init container (which must fail loudly on a missing bucket or key).

Each test takes the container's exact argv and literal env from a rendered patch and changes two
things only, both through documented mechanisms: ``/plx-context`` is re-rooted into a temporary
directory (nothing else in the argv is touched), and ``STORES_SECRETS_ROOT`` re-roots the
mounted key file ``/plx-secrets/...``, which the test writes with moto's endpoint in it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from support.k8s import RUN
from support.servers import s3_client, create_s3_bucket, unique_bucket
from support.sandbox import Sandbox, catalog_for, keys, rendered


def test_sidecar_leaves_every_finished_file_in_the_store(s3_server, tmp_path):
    bucket = unique_bucket("artifacts")
    create_s3_bucket(s3_server, bucket)
    catalog = catalog_for(bucket, "unused")
    container = rendered(catalog, "polyaxon-sidecar", {"collectLogs": False, "sidecar": {"syncInterval": 1}})
    box = Sandbox(tmp_path, s3_server)
    run_dir = box.local(f"/plx-context/artifacts/{RUN.uuid}")
    (run_dir / "outputs").mkdir(parents=True)
    prefix = RUN.uuid + "/"

    finished: dict[str, bytes] = {}
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            key = f"outputs/step-{i:04d}.txt" if i % 2 else f"metrics-{i:04d}.json"
            data = os.urandom(512) + str(i).encode()
            path = run_dir / key
            path.write_bytes(data[:100])  # a file being written...
            time.sleep(0.01)
            path.write_bytes(data)  # ...and finished
            finished[key] = data
            i += 1
            time.sleep(0.05)

    proc = subprocess.Popen(box.argv(container), env=box.env(container), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # the loop is running once the first files reach the store: only then can SIGTERM be
        # handled rather than kill the interpreter while it starts
        deadline = time.monotonic() + 60
        while not keys(s3_server, bucket, prefix) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert keys(s3_server, bucket, prefix), f"nothing synced while running (exit status {proc.poll()})"
        time.sleep(1.5)
    finally:
        stop.set()
        thread.join()
    # written just before SIGTERM: only the last sync, the one on termination, can send it
    last = os.urandom(2048)
    (run_dir / "outputs" / "last.bin").write_bytes(last)
    finished["outputs/last.bin"] = last
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    stored = keys(s3_server, bucket, prefix)
    assert len(finished) > 10
    assert {k: stored.get(k) for k in finished} == finished


def test_resume_restores_earlier_artifacts_and_tolerates_a_first_start(s3_server, tmp_path):
    bucket = unique_bucket("artifacts")
    create_s3_bucket(s3_server, bucket)
    container = rendered(catalog_for(bucket, "unused"), "polyaxon-init-artifacts-resume")
    box = Sandbox(tmp_path, s3_server)
    run_dir = box.local(f"/plx-context/artifacts/{RUN.uuid}")
    run_dir.mkdir(parents=True)

    first = subprocess.run(box.argv(container), env=box.env(container), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert list(run_dir.iterdir()) == []

    s3_client(s3_server).put_object(Bucket=bucket, Key=f"{RUN.uuid}/outputs/model.bin", Body=b"weights")
    again = subprocess.run(box.argv(container), env=box.env(container), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (run_dir / "outputs" / "model.bin").read_bytes() == b"weights"


def test_resume_fails_when_the_store_is_missing(s3_server, tmp_path):
    container = rendered(catalog_for(unique_bucket("gone"), "unused"), "polyaxon-init-artifacts-resume")
    box = Sandbox(tmp_path, s3_server)
    result = subprocess.run(box.argv(container), env=box.env(container), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "does not exist" in result.stderr


@pytest.fixture
def data_bucket(s3_server):
    bucket = unique_bucket("data")
    create_s3_bucket(s3_server, bucket)
    client = s3_client(s3_server)
    files = {"train/a.csv": b"1,2\n", "train/deep/b.csv": b"3,4\n", "test/c.csv": b"5,6\n"}
    for key, body in files.items():
        client.put_object(Bucket=bucket, Key=f"sets/{key}", Body=body)
    return bucket


def download(box: Sandbox, container: dict) -> subprocess.CompletedProcess:
    return subprocess.run(box.argv(container), env=box.env(container), capture_output=True, text=True, timeout=120)


def test_download_copies_the_prefix(s3_server, tmp_path, data_bucket):
    container = rendered(catalog_for("unused", data_bucket), "polyaxon-init-artifacts-data-s3-", {}, downloads=("data-s3:train",))
    box = Sandbox(tmp_path, s3_server)
    result = download(box, container)
    assert result.returncode == 0, result.stderr
    target = box.local("/plx-context/artifacts/data-s3")
    got = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert got == {"a.csv": b"1,2\n", "deep/b.csv": b"3,4\n"}
    assert "2 file(s)" in result.stderr  # the log says what was done


def test_download_of_a_missing_key_fails(s3_server, tmp_path, data_bucket):
    container = rendered(catalog_for("unused", data_bucket), "polyaxon-init-artifacts-data-s3-", {}, downloads=("data-s3:validation",))
    result = download(Sandbox(tmp_path, s3_server), container)
    assert result.returncode == 1
    assert f"no file at or under s3://{data_bucket}/sets/validation" in result.stderr
    assert "Traceback" not in result.stderr


def test_download_of_a_missing_bucket_fails(s3_server, tmp_path):
    missing = unique_bucket("missing")
    container = rendered(catalog_for("unused", missing), "polyaxon-init-artifacts-data-s3-", {}, downloads=("data-s3",))
    result = download(Sandbox(tmp_path, s3_server), container)
    assert result.returncode == 1
    assert f"s3://{missing}/sets" in result.stderr and "does not exist" in result.stderr
    assert "testing" not in result.stderr  # no credential in the message


def test_gcs_commands_use_the_stable_gcsfs_without_the_tests_variable():
    """Regression (issue 22, found by running the rendered GCS download init container in the
    toolkit image): ``backends.require`` imported gcsfs before ``gcs_fs`` defaulted
    GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT to false, so gcsfs chose its experimental layer, which
    probes gRPC for a minute on every bucket.  The tests' own process sets the variable
    (tests/support/servers.py), which hid it: here a child runs without it, as a pod does."""
    code = ("from stores.backends import require; require('gcs'); import gcsfs, gcsfs.core; "
            "assert gcsfs.GCSFileSystem is gcsfs.core.GCSFileSystem, gcsfs.GCSFileSystem")
    env = {k: v for k, v in os.environ.items() if k != "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
