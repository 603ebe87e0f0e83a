"""Upload, download and sync on every kind, each against its real server."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from support.servers import bucket_store, s3_env
from stores import ClaimConnection, HostPathConnection, IntegrityError, StoresError, TransferError
from stores.handles import open_store
from stores.progress import Progress
from stores.transfer import TransferOptions, download, is_transient, sync, upload

KINDS = ["host_path", "volume_claim", "s3", "gcs", "wasb"]
MiB = 1024 * 1024
# a file big enough to go up in several parts (S3 multipart, GCS resumable chunks, Azure blocks);
# the GCS emulator is fragile, so its file is smaller
BIG = {"gcs": 6 * MiB}
OPTS = TransferOptions(workers=4, retries=1, backoff=0.05)


@pytest.fixture
def store(request, tmp_path):
    kind = request.param
    if kind == "host_path":
        conn = HostPathConnection(name="hp", schema={"hostPath": "/srv/data", "mountPath": str(tmp_path / "mnt")})
        return open_store(conn)
    if kind == "volume_claim":
        conn = ClaimConnection(name="claim", schema={"volumeClaim": "pvc", "mountPath": str(tmp_path / "mnt")})
        return open_store(conn)
    return bucket_store(request, kind, "prefix")


def make_tree(root: Path, big: int) -> dict[str, bytes]:
    files = {
        "small.txt": b"hello store\n",
        "empty.bin": b"",
        "nested/deeper/leaf.json": b'{"a": 1}',
        "nested/sibling.txt": b"x" * 1000,
        "big.bin": os.urandom(big),
    }
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("store", KINDS, indirect=True)
def test_round_trip_and_incremental_sync(store, tmp_path):
    src = tmp_path / "src"
    files = make_tree(src, BIG.get(store.kind, 12 * MiB))

    sent = upload(src, store, "run1", options=OPTS, progress=False)
    assert sorted(sent.transferred) == sorted(files)
    assert sent.bytes == sum(map(len, files.values()))
    assert {k: i["size"] for k, i in store.find("run1").items()} == {f"run1/{k}": len(v) for k, v in files.items()}

    back = tmp_path / "back"
    got = download(store, "run1", back, options=OPTS, progress=False)
    assert got.count == len(files)
    assert read_tree(back) == files
    assert not [p for p in back.rglob("*") if "stores-tmp" in p.name]

    # dir -> store: everything is already there
    again = sync(src, store, dst_key="run1", options=OPTS, progress=False)
    assert again.count == 0 and sorted(again.skipped) == sorted(files)
    # store -> dir: likewise
    assert sync(store, back, src_key="run1", options=OPTS, progress=False).count == 0

    # a changed file (new size) and a new one go; nothing else does
    (src / "small.txt").write_bytes(b"changed, and longer than before\n")
    (src / "nested" / "new.txt").write_bytes(b"new")
    changed = sync(src, store, dst_key="run1", options=OPTS, progress=False)
    assert sorted(changed.transferred) == ["nested/new.txt", "small.txt"]
    pulled = sync(store, back, src_key="run1", options=OPTS, progress=False)
    assert sorted(pulled.transferred) == ["nested/new.txt", "small.txt"]
    assert read_tree(back) == read_tree(src)


@pytest.mark.parametrize("store", KINDS, indirect=True)
def test_single_file_into_folder_and_missing_source(store, tmp_path):
    (tmp_path / "one.txt").write_bytes(b"one")
    result = upload(tmp_path / "one.txt", store, "folder/", options=OPTS, progress=False)
    assert result.transferred == ["one.txt"]
    assert store.read_bytes("folder/one.txt") == b"one"
    download(store, "folder/one.txt", tmp_path / "copy.txt", options=OPTS, progress=False)
    assert (tmp_path / "copy.txt").read_bytes() == b"one"
    with pytest.raises(TransferError):
        download(store, "no/such/key", tmp_path / "nothing", options=OPTS, progress=False)
    with pytest.raises(TransferError):
        upload(tmp_path / "missing-dir", store, "x", options=OPTS, progress=False)


@pytest.mark.parametrize("store", ["host_path", "s3"], indirect=True)
def test_keys_cannot_leave_the_store(store):
    for bad in ("../outside", "a/../../b", "/etc/passwd", "a/../b", "x\x00y"):
        with pytest.raises(StoresError):
            store.path(bad)
        with pytest.raises(StoresError):
            store.open(bad, "rb")
    assert store.path("a/./b/") == store.root + "/a/b"


@pytest.mark.parametrize("store", KINDS, indirect=True)
def test_source_changing_mid_upload_fails_and_leaves_nothing(store, tmp_path):
    """A file that grows while it is read must not be stored half-done: the partial upload is
    discarded (S3: the multipart upload is aborted), the error names the file."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"fine")
    grower = src / "growing.bin"
    # GCS: under one part, because the emulator answers 501 to cancelling a resumable upload
    # (real GCS implements it) and gcsfs retries that for a minute
    grower.write_bytes(os.urandom(3 * MiB if store.kind == "gcs" else 12 * MiB))

    grown: list[bool] = []

    class Grow(Progress):
        def advance(self, nbytes: int) -> None:
            super().advance(nbytes)
            if self.bytes_done >= MiB and not grown:  # after the first chunk it changes under us
                grown.append(True)
                with open(grower, "ab") as fh:
                    fh.write(b"!")

    opts = TransferOptions(workers=1, retries=1, backoff=0.01, chunk_size=MiB)
    with pytest.raises(TransferError) as info:
        upload(src, store, "up", options=opts, progress=Grow(enabled=False))
    assert "growing.bin" in str(info.value) and "ok.txt" not in str(info.value)
    assert isinstance(info.value.failures["growing.bin"], IntegrityError)
    assert list(store.find("up")) == ["up/ok.txt"]
    if store.kind == "s3":
        bucket, _, _ = store.root.partition("/")
        pending = store.fs.call_s3("list_multipart_uploads", Bucket=bucket)
        assert pending.get("Uploads", []) == [], "an interrupted multipart upload was left behind"
    if store.is_local:
        assert [p.name for p in (Path(store.root) / "up").iterdir()] == ["ok.txt"]


def test_unreachable_store_is_retried_then_reported(tmp_path, s3_server):
    from support.servers import free_port

    (tmp_path / "a.txt").write_bytes(b"a")
    env = {**s3_env(s3_server), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "POLYAXON_TIMEOUT": "2"}
    dead = open_store("s3://nowhere/x", environ=env)
    opts = TransferOptions(workers=1, retries=1, backoff=0.5)
    start = time.monotonic()
    with pytest.raises(TransferError) as info:
        upload(tmp_path / "a.txt", dead, options=opts, progress=False)
    assert "s3://nowhere/x" in str(info.value)
    assert time.monotonic() - start >= 0.5 * 0.5  # one backoff (its jitter keeps at least half)


def test_transient_classification():
    assert is_transient(TimeoutError())
    assert is_transient(ConnectionResetError())
    assert is_transient(IntegrityError("size differs"))
    assert not is_transient(FileNotFoundError("x"))
    assert not is_transient(PermissionError("x"))
    assert not is_transient(ValueError("bad"))

    class Throttled(Exception):
        status = 503

    assert is_transient(Throttled())


def test_progress_draws_only_on_a_terminal(tmp_path):
    src = tmp_path / "src"
    make_tree(src, 1024)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    upload(src, tmp_path / "out1", progress=Progress(stream=tty))
    upload(src, tmp_path / "out2", progress=Progress(stream=pipe))
    assert "5/5 files" in tty.getvalue() and "/s" in tty.getvalue()
    assert pipe.getvalue() == ""
    quiet = Tty()
    upload(src, tmp_path / "out3", progress=Progress(stream=quiet, enabled=False))
    assert quiet.getvalue() == ""
