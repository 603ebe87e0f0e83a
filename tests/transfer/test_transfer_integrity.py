"""Issue 24: names are identities and downloads are verified on Azure and GCS (and S3 where the
same class applies), change detection has no blind spot, and a dead store ends the command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stores.transfer.ranged import AHEAD

from support.servers import (
    AZURITE_ACCOUNT, AZURITE_KEY, azure_env, bucket_store, create_container, create_gcs_bucket, free_port, gcs_env,
)
from stores.errors import IntegrityError, TransferError
from stores.handles import open_store
from stores.progress import Progress
from stores.transfer import TransferOptions, download, sync, upload

from support.paths import ROOT
MiB = 1024 * 1024
OPTS = TransferOptions(workers=2, retries=0, backoff=0.01)


def _store(request, kind: str):
    return bucket_store(request, kind, "p", "int")


def _blob(store, key: str):
    from stores.transfer import _azure_container, _azure_name

    return _azure_container(store).get_blob_client(_azure_name(store, key))


def _put(store, key: str, data: bytes) -> None:
    """One object as one PUT (Azure then keeps its Content-MD5, as for any single-shot upload)."""
    if store.kind == "wasb":
        _blob(store, key).upload_blob(data, overwrite=True)
    else:
        store.write_bytes(key, data)


def test_azure_refuses_names_it_would_rewrite_and_delete_never_flips(request, tmp_path):
    store = _store(request, "wasb")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a\tb", "c\\d", "nl\nx", "nlx"):
        (src / name).write_bytes(name.encode())
    for _ in range(2):
        with pytest.raises(TransferError) as info:
            sync(src, store, options=TransferOptions(delete=True, retries=0), progress=False)
        result = info.value.result
        assert sorted(result.failed) == ["a\tb", "c\\d", "nl\nx"]
        assert all("Azure" in why for why in result.failed.values())
        assert result.deleted == [] and "\t" not in str(info.value)
        assert sorted(store.find("")) == ["nlx"] and store.read_bytes("nlx") == b"nlx"


def test_azure_blob_with_control_characters_is_never_read_from_another_blob(request, tmp_path):
    store = _store(request, "wasb")
    _blob(store, "nl\nx").upload_blob(b"BBBB")
    _blob(store, "nlx").upload_blob(b"AAAA")
    with pytest.raises(TransferError) as info:
        download(store, "", tmp_path / "d", options=OPTS, progress=False)
    assert list(info.value.result.failed) == ["nl\nx"]
    assert os.listdir(tmp_path / "d") == ["nlx"] and (tmp_path / "d" / "nlx").read_bytes() == b"AAAA"


@pytest.mark.parametrize("kind", ["wasb", "s3"])
def test_a_key_ending_in_slash_with_content_fails_and_its_sibling_settles(request, tmp_path, kind):
    store = _store(request, kind)
    if kind == "wasb":
        _blob(store, "t/").upload_blob(b"slash")
    else:
        bucket, _, _ = store.root.partition("/")
        store.fs.call_s3("put_object", Bucket=bucket, Key="p/t/", Body=b"slash")
    _put(store, "t", b"plain")
    for attempt in range(2):
        with pytest.raises(TransferError) as info:
            sync(store, tmp_path / "d", options=OPTS, progress=False)
        result = info.value.result
        assert list(result.failed) == ["t/"] and "ends with '/'" in result.failed["t/"]
        assert result.transferred == (["t"] if attempt == 0 else [])
    assert (tmp_path / "d" / "t").read_bytes() == b"plain"


class _Overwrite(Progress):
    """Overwrites the object being read after its first chunk arrived (same size)."""

    def __init__(self, write) -> None:
        super().__init__(enabled=False)
        self.write, self.done = write, False

    def advance(self, nbytes: int) -> None:
        super().advance(nbytes)
        if not self.done and self.bytes_done >= MiB:
            self.done = True
            self.write()


@pytest.mark.parametrize("kind,with_md5", [("wasb", True), ("wasb", False), ("gcs", True), ("s3", True), ("s3", False)])
def test_an_object_overwritten_mid_download_fails_and_nothing_is_put_in_place(request, tmp_path, kind, with_md5):
    store = _store(request, kind)
    # larger than the ranges a download fetches ahead (stores.transfer.ranged.AHEAD parts), so the
    # overwrite after the first part lands while most of the object is still to be read
    size = (AHEAD + 6) * MiB
    old, new = os.urandom(size), os.urandom(size)
    if kind == "wasb" and not with_md5:  # committed block by block: Azure keeps no Content-MD5
        blob = _blob(store, "big.bin")
        ids = []
        for i in range(size // MiB):
            ids.append(f"{i:06d}")
            blob.stage_block(ids[-1], old[i * MiB:(i + 1) * MiB])
        blob.commit_block_list(ids)
        assert blob.get_blob_properties().content_settings.content_md5 is None
    elif kind == "s3" and not with_md5:  # a multipart object: its ETag is no MD5, its version is
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "big.bin").write_bytes(old)
        upload(tmp_path / "src" / "big.bin", store, "big.bin", options=TransferOptions(chunk_size=5 * MiB),
               progress=False)
        shutil.rmtree(tmp_path / "src")
        assert "-" in store.fs.info(store.path("big.bin"))["ETag"]
    else:
        store.write_bytes("big.bin", old)
    opts = TransferOptions(workers=1, retries=1, backoff=0.01, chunk_size=MiB)
    with pytest.raises(TransferError) as info:
        download(store, "big.bin", tmp_path / "big.bin", options=opts,
                 progress=_Overwrite(lambda: store.write_bytes("big.bin", new)))
    failure = info.value.failures["big.bin"]
    # ours (MD5 or version check) or s3fs' own (it pins the ETag it first read: FileExpired)
    assert isinstance(failure, IntegrityError) or type(failure).__name__ == "FileExpired", repr(failure)
    assert os.listdir(tmp_path) == [], "a stitched or temporary file was left"


@pytest.mark.parametrize("kind", ["gcs", "wasb", "s3"])
def test_checksum_repairs_a_same_size_local_change_with_its_mtime_restored(request, tmp_path, kind):
    store = _store(request, kind)
    _put(store, "f.txt", b"original")
    sync(store, tmp_path / "d", options=OPTS, progress=False)
    local = tmp_path / "d" / "f.txt"
    st = local.stat()
    local.write_bytes(b"tampered")
    os.utime(local, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = sync(store, tmp_path / "d", options=TransferOptions(checksum=True, retries=0), progress=False)
    assert result.transferred == ["f.txt"] and local.read_bytes() == b"original"
    assert sync(store, tmp_path / "d", options=TransferOptions(checksum=True), progress=False).count == 0


@pytest.mark.parametrize("kind", ["gcs", "wasb", "s3"])
def test_a_same_size_change_right_after_a_sync_is_caught_both_ways(request, tmp_path, kind):
    store = _store(request, kind)
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"one")
    sync(src, store, options=OPTS, progress=False)
    (src / "f").write_bytes(b"two")  # same size, well within a second of the upload
    assert sync(src, store, options=OPTS, progress=False).transferred == ["f"]
    assert store.read_bytes("f") == b"two"
    back = tmp_path / "back"
    sync(store, back, options=OPTS, progress=False)
    _put(store, "f", b"six")  # the store's copy changes within the same second
    assert sync(store, back, options=OPTS, progress=False).transferred == ["f"]
    assert (back / "f").read_bytes() == b"six"


# ---- a store that dies: the command ends with exit 1 within the documented bound ------------------


def _spawn_emulator(kind: str, port: int, cwd: Path) -> subprocess.Popen:
    if kind == "gcs":
        exe = str(Path(sys.executable).parent / "gcp-storage-emulator")
        cmd = [exe, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "-q"]
    else:
        cmd = [os.environ.get("AZURITE_BLOB") or str(ROOT / ".tools/azurite/node_modules/.bin/azurite-blob"),
               "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--disableTelemetry",
               "--skipApiVersionCheck", "--silent"]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["gcs", "wasb"])
def test_killing_the_store_mid_transfer_ends_with_exit_1_within_the_bound(tmp_path, kind):
    import urllib.request

    from support.servers import Server, _wait_http

    port = free_port()
    proc = _spawn_emulator(kind, port, tmp_path)
    try:
        if kind == "gcs":
            server = Server(f"http://127.0.0.1:{port}", port)
            _wait_http(server.url + "/storage/v1/b", proc, "gcp-storage-emulator")
            create_gcs_bucket(server, "dying")
            env, url = gcs_env(server), "gs://dying/p"
        else:
            endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
            _wait_http(endpoint + "?comp=list", proc, "Azurite")
            server = Server(endpoint, port, {"connection_string": (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={endpoint};")})
            create_container(server, "dying")
            env, url = azure_env(server), f"wasbs://dying@{AZURITE_ACCOUNT}.blob.core.windows.net/p"
        src = tmp_path / "src"
        src.mkdir()
        names = [f"f{i}.bin" for i in range(8)]
        for name in names:
            (src / name).write_bytes(os.urandom(4 * MiB))
        bound = 15.0
        cli = subprocess.Popen([sys.executable, "-m", "stores", "cp", str(src), url, "--workers", "1", "-q",
                                "--stall-timeout", str(bound), "--report", str(tmp_path / "r.json")],
                               env={**os.environ, **env, "PYTHONPATH": str(ROOT), "POLYAXON_TIMEOUT": "5"},
                               stderr=subprocess.PIPE, text=True)
        check = open_store(url, environ=env)
        deadline = time.monotonic() + 30
        while not check.fs.find(check.root):  # the transfer is under way: one file has arrived
            assert time.monotonic() < deadline and cli.poll() is None, cli.stderr.read() if cli.stderr else ""
            time.sleep(0.05)
            check.fs.invalidate_cache()
        proc.kill()
        proc.wait()
        start = time.monotonic()
        try:
            rc = cli.wait(timeout=bound + 30)
        finally:
            if cli.poll() is None:
                cli.kill()
        elapsed = time.monotonic() - start
        assert rc == 1, cli.stderr.read()
        assert elapsed < bound + 15, f"{elapsed:.0f}s after the store died"
        entries = json.loads((tmp_path / "r.json").read_text())["entries"]
        assert {e["key"] for e in entries} <= set(names)
        assert not [p for p in tmp_path.rglob("*stores-tmp*")]
    finally:
        if proc.poll() is None:
            proc.kill()
        urllib.request  # noqa: B018 (imported for _wait_http's HTTP errors)


def test_a_store_serving_another_objects_bytes_fails_that_file(request, tmp_path):
    """The GCS emulator conflates `\\é` with `é` (it lists both, serves one): the download must
    fail the file it cannot read back as listed, keep the other, and exit non-zero, never 0."""
    store = _store(request, "gcs")
    src = tmp_path / "src"
    src.mkdir()
    (src / "é").write_bytes(b"")
    (src / "\\é").write_bytes(b"\x00")
    # one worker: `\é` is sent first, then `é`, which the emulator then serves for both names
    upload(src, store, options=TransferOptions(workers=1, retries=0, backoff=0.01), progress=False)
    store.fs.invalidate_cache()
    if store.fs.cat(f"{store.root}/\\é") == b"\x00":
        pytest.skip("this GCS emulator keeps the two names apart")
    with pytest.raises(TransferError) as info:
        download(store, "", tmp_path / "back", options=OPTS, progress=False)
    fates = {r["key"]: r for r in info.value.result.account()}
    assert set(fates) == {"é", "\\é"}, "every listed object is accounted for"
    failed = [r for r in fates.values() if r["fate"] == "failed"]
    assert failed and all("IntegrityError" in r["reason"] for r in failed), fates
    for key, r in fates.items():
        local = tmp_path / "back" / key
        assert local.exists() == (r["fate"] == "sent"), key  # nothing put in place for a failure
