"""Checksums a user can rely on (issue 23, item 5), on each emulator: an object whose stored bytes
no longer match its checksums (bytes overwritten server-side, size and time kept) fails a
download with ``--checksum``, naming it, never with exit 0; ``sync --checksum`` compares content,
not size and time; S3 multipart ETags are checked part by part (the part size inferred), GCS
objects by crc32c, Azure blobs by their Content-MD5.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.servers import s3_client, AZURITE_ACCOUNT, azure_env, create_container, create_gcs_bucket, create_s3_bucket, gcs_env, s3_env, unique_bucket
from stores.errors import TransferError
from stores.handles import open_store
from stores.transfer import TransferOptions, download, sync
from stores.transfer.blocks import _PyCrc32c, crc32c, multipart_count, part_size_candidates

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
CHECK = TransferOptions(checksum=True, retries=0, chunk_size=1 * MiB)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


# ---- S3 (moto in this process: its stored bytes can be overwritten, keeping ETag and time) ----


@pytest.fixture
def s3(s3_server: Any) -> tuple[Any, str, Any]:
    bucket = unique_bucket("ck")
    create_s3_bucket(s3_server, bucket)
    client = s3_client(s3_server)
    return client, bucket, open_store(f"s3://{bucket}", environ=s3_env(s3_server))


def _moto_corrupt(bucket: str, key: str, at: int) -> None:
    """Overwrite one byte of the stored object: size, ETag and LastModified stay."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    obj = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[bucket].keys[key]
    etag, modified = obj.etag, obj.last_modified
    obj.value = _flip(obj.value, at)
    assert (obj.etag, obj.last_modified) == (etag, modified)


def _multipart(client: Any, bucket: str, key: str, data: bytes, part: int) -> str:
    up = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for i, start in enumerate(range(0, len(data), part)):
        out = client.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i + 1, Body=data[start:start + part])
        parts.append({"ETag": out["ETag"], "PartNumber": i + 1})
    out = client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
    return out["ETag"].strip('"')


def test_s3_single_part_object_corrupted_server_side_fails_naming_it(s3, tmp_path):
    client, bucket, store = s3
    client.put_object(Bucket=bucket, Key="d/one.bin", Body=os.urandom(3 * MiB))
    _moto_corrupt(bucket, "d/one.bin", 12345)
    with pytest.raises(TransferError, match=r"one\.bin.*MD5") as err:
        download(store, "d", tmp_path / "d", options=CHECK, progress=False)
    assert list(err.value.result.failed) == ["one.bin"]  # type: ignore[attr-defined]
    assert not (tmp_path / "d" / "one.bin").exists()


@pytest.mark.parametrize("part", [5 * MiB, 8 * MiB, 16 * MiB, -(-(17 * MiB + 77) // 3)])
def test_s3_multipart_etag_checked_part_by_part_with_the_part_size_inferred(s3, tmp_path, part):
    client, bucket, store = s3
    data = os.urandom(17 * MiB + 77)
    etag = _multipart(client, bucket, "m.bin", data, part)
    assert multipart_count(etag) == -(-len(data) // part)
    download(store, "m.bin", tmp_path / "ok.bin", options=CHECK, progress=False)  # intact: passes
    assert (tmp_path / "ok.bin").read_bytes() == data
    _moto_corrupt(bucket, "m.bin", len(data) - 5)
    # without --checksum a multipart object is checked by size and version only: this passes
    download(store, "m.bin", tmp_path / "plain.bin", options=TransferOptions(retries=0), progress=False)
    with pytest.raises(TransferError, match=r"m\.bin.*multipart ETag"):
        download(store, "m.bin", tmp_path / "bad.bin", options=CHECK, progress=False)
    assert not (tmp_path / "bad.bin").exists()


def test_s3_corrupted_object_makes_the_cli_exit_1_naming_it(s3, s3_server, tmp_path):
    client, bucket, _ = s3
    data = os.urandom(11 * MiB)
    _multipart(client, bucket, "runs/model.pt", data, 8 * MiB)
    _moto_corrupt(bucket, "runs/model.pt", 3)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POLYAXON_"))}, **s3_env(s3_server),
           "PYTHONPATH": str(ROOT)}
    report = tmp_path / "report.json"
    res = subprocess.run([sys.executable, "-m", "stores", "cp", f"s3://{bucket}/runs", str(tmp_path / "out"),
                          "--checksum", "--retries", "0", "--report", str(report)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "model.pt" in res.stderr and "multipart ETag" in res.stderr, res.stderr
    rows = json.loads(report.read_text())
    assert rows["ok"] is False and [r["key"] for r in rows["entries"] if r["fate"] == "failed"] == ["model.pt"]


def test_s3_sync_checksum_compares_content_not_size_and_time(s3, tmp_path):
    client, bucket, store = s3
    client.put_object(Bucket=bucket, Key="a.bin", Body=os.urandom(200_000))
    _multipart(client, bucket, "m.bin", os.urandom(11 * MiB), 8 * MiB)
    local = tmp_path / "local"
    sync(store, local, progress=False)
    time.sleep(2.1)  # past the settling window, where a same-time copy is compared by content anyway
    for name in ("a.bin", "m.bin"):  # changed in place: same size, same mtime
        path = local / name
        st = path.stat()
        path.write_bytes(_flip(path.read_bytes(), 100))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert sync(store, local, progress=False).transferred == []  # by size and time: unchanged
    result = sync(store, local, options=TransferOptions(checksum=True), progress=False)
    assert sorted(result.transferred) == ["a.bin", "m.bin"]
    assert sync(store, local, options=TransferOptions(checksum=True), progress=False).skipped == ["a.bin", "m.bin"]


# ---- GCS (gcp-storage-emulator: the object's crc32c and md5Hash can be patched) ---------------


def _gcs_patch(server: Any, bucket: str, key: str, fields: dict[str, str]) -> None:
    url = f"{server.url}/storage/v1/b/{bucket}/o/{urllib.request.quote(key, safe='')}"
    req = urllib.request.Request(url, data=json.dumps(fields).encode(), method="PATCH",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


def _crc_b64(data: bytes) -> str:
    h = crc32c()
    h.update(data)
    return base64.b64encode(h.digest()).decode()


def test_gcs_object_whose_crc32c_does_not_match_fails_naming_it(gcs_server, tmp_path):
    bucket = unique_bucket("ck")
    create_gcs_bucket(gcs_server, bucket)
    store = open_store(f"gs://{bucket}", environ=gcs_env(gcs_server))
    data = os.urandom(300_000)
    store.fs.pipe(f"{bucket}/c/obj.bin", data)
    download(store, "c", tmp_path / "ok", options=CHECK, progress=False)
    assert (tmp_path / "ok" / "obj.bin").read_bytes() == data
    # the stored checksum no longer matches the bytes (as after bit rot, or a composite object
    # whose parts changed): only crc32c can tell, and only --checksum asks it
    _gcs_patch(gcs_server, bucket, "c/obj.bin", {"crc32c": _crc_b64(_flip(data, 7))})
    store.fs.invalidate_cache()
    download(store, "c", tmp_path / "plain", options=TransferOptions(retries=0), progress=False)
    with pytest.raises(TransferError, match=r"obj\.bin.*crc32c") as err:
        download(store, "c", tmp_path / "bad", options=CHECK, progress=False)
    assert list(err.value.result.failed) == ["obj.bin"]  # type: ignore[attr-defined]


def test_gcs_sync_checksum_compares_content(gcs_server, tmp_path):
    bucket = unique_bucket("ck")
    create_gcs_bucket(gcs_server, bucket)
    store = open_store(f"gs://{bucket}", environ=gcs_env(gcs_server))
    store.fs.pipe(f"{bucket}/x.bin", os.urandom(5000))
    local = tmp_path / "l"
    sync(store, local, progress=False)
    time.sleep(2.1)
    path = local / "x.bin"
    st = path.stat()
    path.write_bytes(_flip(path.read_bytes(), 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert sync(store, local, progress=False).transferred == []
    assert sync(store, local, options=TransferOptions(checksum=True), progress=False).transferred == ["x.bin"]


# ---- Azure (Azurite: a blob committed from blocks keeps the Content-MD5 it is given) ---------


def test_azure_blob_whose_content_md5_does_not_match_fails_naming_it(azurite_server, tmp_path):
    from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings

    container = unique_bucket("ck")
    create_container(azurite_server, container)
    data = os.urandom(400_000)
    blob = BlobServiceClient.from_connection_string(azurite_server.extra["connection_string"]) \
        .get_blob_client(container, "z/blob.bin")
    blob.stage_block("b1", data)
    # the bytes on the server differ from the MD5 recorded for them (a block list commit takes
    # the Content-MD5 it is given: the emulator's way to corrupt an object)
    wrong = hashlib.md5(_flip(data, 9)).digest()
    blob.commit_block_list([BlobBlock("b1")], content_settings=ContentSettings(content_md5=bytearray(wrong)))
    store = open_store(f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net", environ=azure_env(azurite_server))
    with pytest.raises(TransferError, match=r"blob\.bin.*MD5") as err:
        download(store, "z", tmp_path / "z", options=CHECK, progress=False)
    assert list(err.value.result.failed) == ["blob.bin"]  # type: ignore[attr-defined]
    assert not (tmp_path / "z" / "blob.bin").exists()


# ---- the pieces -------------------------------------------------------------------------------


def test_pure_crc32c_matches_google_crc32c():
    data = os.urandom(10_000) + b"123456789"
    ours, ref = _PyCrc32c(), crc32c()
    for h in (ours, ref):
        h.update(data[:3333])
        h.update(data[3333:])
    assert ours.digest() == ref.digest()
    check = _PyCrc32c()
    check.update(b"123456789")
    assert check.digest().hex() == "e3069283"  # the CRC-32C check value


def test_part_size_candidates():
    assert 8 * MiB in part_size_candidates(17 * MiB, 3)
    assert 5 * MiB in part_size_candidates(17 * MiB, 4)
    assert part_size_candidates(10, 1) == [10]
    assert all(-(-(17 * MiB) // p) == 3 for p in part_size_candidates(17 * MiB, 3))
