"""The native (obstore) client of S3 transfers, against moto's S3 server: which keys and handles
it serves, that its listings are taken only when exact (same account as the fsspec engine's on
awkward keys), that its errors are the ones the retry rules know, and that a command which
needs no fsspec filesystem does not import s3fs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stores.errors import TransferError
from stores.handles import open_store
from stores.transfer import TransferOptions, download, sync, upload
from stores.transfer.listing import _list
from stores.transfer.native import ENGINE_ENV, native_client, plain_key
from stores.transfer.retry import _is_connection_failure, is_transient
from support.paths import ROOT
from support.servers import admin_client, create_s3_bucket, s3_client, s3_env, unique_bucket


@pytest.fixture
def bucket(s3_server):
    name = unique_bucket("nat")
    create_s3_bucket(s3_server, name)
    return name


def _store(server, bucket: str, prefix: str = "p", **env: str):
    return open_store(f"s3://{bucket}/{prefix}", environ={**s3_env(server), **env})


@pytest.mark.parametrize("key, plain", [
    ("a/b.txt", True), ("ü n/ i%20x+*#?[]~", True), (".hidden/x", True),
    ("a//b", False), ("/a", False), ("a/", False), ("a/./b", False), ("a/../b", False), ("..", False),
    ("t\tab", False), ("nl\nx", False), ("", False),
])
def test_plain_keys_are_those_object_store_keeps_exactly(key, plain):
    assert plain_key(key) is plain


def test_the_native_listing_is_the_exact_listing_on_ordinary_keys(s3_server, bucket, monkeypatch):
    client = s3_client(s3_server)
    keys = [f"p/d{i % 3}/f{i}.bin" for i in range(25)] + ["p/ü n i+x.txt", "p/.hidden", "q/outside"]
    for i, key in enumerate(keys):
        client.put_object(Bucket=bucket, Key=key, Body=os.urandom(100 + i))
    store = _store(s3_server, bucket)
    native = native_client(store)
    assert native is not None
    listed = native.list("p")
    assert listed is not None and sorted(listed) == sorted(k[2:] for k in keys if k.startswith("p/"))
    fast = _list(store)
    monkeypatch.setenv(ENGINE_ENV, "fsspec")
    exact = _list(_store(s3_server, bucket))
    assert fast.files.keys() == exact.files.keys()
    for key, entry in fast.files.items():
        other = exact.files[key]
        assert (entry.size, entry.md5, entry.version) == (other.size, other.md5, other.version)
        assert entry.mtime == pytest.approx(other.mtime, abs=1)


@pytest.mark.parametrize("awkward", ["p/a//b", "p/x/./y", "p/tab\tx", "p/marker/", "p/empty"])
def test_a_listing_that_could_fold_a_key_is_taken_exactly(s3_server, bucket, awkward):
    """object_store refuses some keys and drops a trailing '/' (a folder marker would come back
    as a file): such a listing is not used, and the account is the fsspec engine's."""
    client = s3_client(s3_server)
    client.put_object(Bucket=bucket, Key="p/ok.txt", Body=b"ok")
    client.put_object(Bucket=bucket, Key=awkward, Body=b"" if awkward.endswith(("/", "empty")) else b"data")
    store = _store(s3_server, bucket)
    assert native_client(store).list("p") is None
    listing = _list(store)
    assert "ok.txt" in listing.files
    if awkward == "p/marker/":
        assert listing.skipped == {"marker/": "folder marker (an empty object whose key ends in '/')"}
        assert "marker" not in listing.files
    else:
        assert awkward[2:] in listing.files


def test_awkward_keys_download_through_the_exact_client(s3_server, bucket, tmp_path):
    client = s3_client(s3_server)
    body = {"p/ok.txt": b"ok", "p/sp ace/ü.bin": os.urandom(3000), "p/ctl\x01x": b"ctl"}
    for key, data in body.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    result = download(_store(s3_server, bucket), "", tmp_path / "d", progress=False)
    assert sorted(result.transferred) == sorted(k[2:] for k in body)
    for key, data in body.items():
        assert (tmp_path / "d" / key[2:]).read_bytes() == data


def test_uploads_arrive_whole_and_are_checked_by_their_etag(s3_server, bucket, tmp_path):
    src = tmp_path / "src"
    files = {f"d{i % 4}/f{i}.bin": os.urandom(4096 + i) for i in range(40)}
    for key, data in files.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        (src / key).write_bytes(data)
    result = upload(src, _store(s3_server, bucket), progress=False)
    assert sorted(result.transferred) == sorted(files)
    client = s3_client(s3_server)
    for key, data in files.items():
        assert client.get_object(Bucket=bucket, Key=f"p/{key}")["Body"].read() == data
    # a second sync finds every file in place
    again = sync(src, _store(s3_server, bucket), progress=False)
    assert again.transferred == [] and sorted(again.skipped) == sorted(files)


def test_a_large_download_in_concurrent_ranges_is_whole(s3_server, bucket, tmp_path):
    data = os.urandom(9 * 1024 * 1024 + 123)
    s3_client(s3_server).put_object(Bucket=bucket, Key="p/big.bin", Body=data)
    opts = TransferOptions(chunk_size=1024 * 1024)
    download(_store(s3_server, bucket), "big.bin", tmp_path / "big.bin", options=opts, progress=False)
    assert (tmp_path / "big.bin").read_bytes() == data


def test_native_errors_are_the_ones_the_retry_rules_know(s3_server, bucket):
    native = native_client(_store(s3_server, bucket))
    with pytest.raises(FileNotFoundError):
        native.get_range("p/missing", 0, 10)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = native_client(open_store(f"s3://{bucket}/p", environ={**s3_env(s3_server),
                                                                   "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}))
    with pytest.raises(ConnectionError) as info:
        dead.get_range("p/x", 0, 10)
    assert is_transient(info.value) and _is_connection_failure(info.value)
    with pytest.raises(ConnectionError):  # a listing's pages are fetched as it is read
        dead.list("p")


def test_a_wrong_key_is_refused_by_a_server_that_checks_signatures(s3_auth_server):
    admin = s3_auth_server.extra["admin"]
    bucket = unique_bucket("natauth")
    admin_client(s3_auth_server, "s3").create_bucket(Bucket=bucket)
    env = {"AWS_ENDPOINT_URL": s3_auth_server.url, "AWS_REGION": "us-east-1"}
    good = open_store(f"s3://{bucket}/p", environ={**env, "AWS_ACCESS_KEY_ID": admin["key"],
                                                   "AWS_SECRET_ACCESS_KEY": admin["secret"]})
    good_native = native_client(good)
    assert good_native is not None
    assert good_native.put("p/signed.txt", b"signed") is not None  # obstore's SigV4 passes moto's check
    bad = open_store(f"s3://{bucket}/p", environ={**env, "AWS_ACCESS_KEY_ID": admin["key"],
                                                  "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    with pytest.raises(PermissionError) as info:
        native_client(bad).put("p/unsigned.txt", b"x")
    assert not is_transient(info.value) and not _is_connection_failure(info.value)
    assert "not-the-secret" not in str(info.value)


def test_handles_the_native_client_does_not_serve(s3_server, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "fsspec")
    assert native_client(_store(s3_server, bucket)) is None
    monkeypatch.delenv(ENGINE_ENV)
    key_file = tmp_path / "keys.json"  # keys re-read from a mounted file: the SDK's refreshable session
    key_file.write_text(json.dumps({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}))
    assert native_client(open_store(f"s3://{bucket}/p", environ={"AWS_ENDPOINT_URL": s3_server.url},
                                    key_file=str(key_file))) is None


def _cli_imports(env: dict[str, str], *args: str, modules: tuple[str, ...] = ("s3fs", "botocore")) -> list[str]:
    """``stores ARGS`` in a fresh interpreter (the native engine on): its exit code, then for each
    of ``modules`` whether the command imported it."""
    code = ("import sys; from stores.cli import main; rc = main(sys.argv[2:]); "
            "print(rc, *(m in sys.modules for m in sys.argv[1].split(',')))")
    env = {**env, "PYTHONPATH": str(ROOT)}
    env.pop(ENGINE_ENV, None)
    out = subprocess.run([sys.executable, "-c", code, ",".join(modules), *args], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split()[:1] == ["0"], (args, out.stdout, out.stderr)
    return out.stdout.split()


def test_a_no_op_sync_imports_no_fsspec_backend(s3_server, bucket, tmp_path):
    """The command's start-up: with the native client, a sync that finds nothing to send never
    builds the s3fs filesystem (a fifth of a second of imports)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.txt").write_text(str(i))
    env = {**os.environ, **s3_env(s3_server)}
    _cli_imports(env, "sync", "-q", str(src), f"s3://{bucket}/p")
    assert _cli_imports(env, "sync", "-q", str(src), f"s3://{bucket}/p") == ["0", "False", "False"]


def test_uploads_and_downloads_of_plain_keys_build_no_fsspec_filesystem(s3_server, bucket, tmp_path):
    """With the native client, neither s3fs nor botocore is imported (most of a second of a
    command's time) by: a file into a bucket "directory" (is it one? one listing request), small
    files up (each PUT checked by its ETag), a large file up (multipart), files down."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):  # more than a batch: the uploads are checked by one listing afterwards
        (src / f"f{i}.txt").write_text(str(i))
    (tmp_path / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024))
    env = {**os.environ, **s3_env(s3_server)}
    url = f"s3://{bucket}/p"
    for args in (["cp", "-q", str(src), f"{url}/small/"],
                 ["cp", "-q", str(src / "f0.txt"), f"{url}/small"],  # into the "directory": small/f0.txt
                 ["cp", "-q", str(tmp_path / "big.bin"), f"{url}/big.bin"],
                 ["cp", "-q", f"{url}/small/", str(tmp_path / "down") + "/"]):
        assert _cli_imports(env, *args) == ["0", "False", "False"], args
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == sorted(p.name for p in src.iterdir())
    assert all((tmp_path / "down" / p.name).read_text() == p.read_text() for p in src.iterdir())


def test_azure_transfers_with_static_keys_import_no_adlfs(request, tmp_path):
    """The exact listing and the checks of Azure go through azure-storage-blob's synchronous
    client, built from the keys themselves: adlfs (twice the SDK's imports) is not imported by a
    sync up, a no-op sync, or a download."""
    from support.servers import azure_env, bucket_store

    store = bucket_store(request, "wasb")
    server = request.getfixturevalue("azurite_server")
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"f{i}.txt").write_text(str(i))
    env = {**os.environ, **azure_env(server)}
    url = store.url.rstrip("/")
    for args in (["sync", "-q", str(src), url], ["sync", "-q", str(src), url],
                 ["cp", "-q", url + "/", str(tmp_path / "down") + "/"]):
        assert _cli_imports(env, *args, modules=("adlfs", "fsspec")) == ["0", "False", "False"], args
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == sorted(p.name for p in src.iterdir())


def test_downloading_a_multipart_object_builds_no_fsspec_filesystem(s3_server, bucket, tmp_path):
    """An object whose ETag is no MD5 is checked, after its download, by its version (a HEAD):
    through the native client, not through s3fs built for that one question (before: most of a
    second of imports at the end of every such download)."""
    (tmp_path / "big.bin").write_bytes(os.urandom(11 * 1024 * 1024))
    store = _store(s3_server, bucket)
    upload(tmp_path / "big.bin", store, "big.bin", options=TransferOptions(chunk_size=5 * 1024 * 1024), progress=False)
    env = {**os.environ, **s3_env(s3_server)}
    got = _cli_imports(env, "cp", "-q", f"s3://{bucket}/p/big.bin", str(tmp_path / "copy.bin"))
    assert got == ["0", "False", "False"]
    assert (tmp_path / "copy.bin").read_bytes() == (tmp_path / "big.bin").read_bytes()


def test_a_transfer_error_names_the_file_a_native_request_failed_on(s3_server, bucket, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "a.txt").write_text("a")
    store = open_store(f"s3://{bucket}/p", environ={**s3_env(s3_server), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    with pytest.raises(TransferError) as info:
        upload(tmp_path / "a.txt", store, "a.txt", options=TransferOptions(retries=0, stall_timeout=20), progress=False)
    assert "a.txt" in str(info.value)


def test_a_large_upload_goes_up_in_parts_and_is_checked_whole(s3_server, bucket, tmp_path):
    data = os.urandom(12 * 1024 * 1024 + 7)
    (tmp_path / "big.bin").write_bytes(data)
    opts = TransferOptions(chunk_size=5 * 1024 * 1024)
    upload(tmp_path / "big.bin", _store(s3_server, bucket), "big.bin", options=opts, progress=False)
    client = s3_client(s3_server)
    assert client.get_object(Bucket=bucket, Key="p/big.bin")["Body"].read() == data
    head = client.head_object(Bucket=bucket, Key="p/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts of 5 MiB, the last shorter


def test_a_file_changed_during_a_large_upload_commits_nothing(s3_server, bucket, tmp_path):
    from stores.progress import Progress

    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(12 * 1024 * 1024))

    class Grow(Progress):  # appends to the file once its first part was read
        def __init__(self) -> None:
            super().__init__(enabled=False)
            self.done = False

        def advance(self, nbytes: int) -> None:
            super().advance(nbytes)
            if not self.done:
                self.done = True
                with open(path, "ab") as fh:
                    fh.write(b"more")

    opts = TransferOptions(chunk_size=5 * 1024 * 1024, retries=0)
    with pytest.raises(TransferError, match="changed while it was read"):
        upload(path, _store(s3_server, bucket), "big.bin", options=opts, progress=Grow())
    client = s3_client(s3_server)
    assert "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix="p/")
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_native_requests_are_signed_over_their_body():
    """The native client sends no Content-MD5; what binds a body to its request is the SHA-256
    the signature covers (``x-amz-content-sha256`` among the signed headers), which S3 checks.
    Seen on the wire by a plain HTTP server standing in for the store."""
    import hashlib
    import http.server
    import threading

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 (http.server's spelling)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append({**{k.lower(): v for k, v in self.headers.items()}, "body": body.hex()})
            self.send_response(200)
            self.send_header("ETag", f'"{hashlib.md5(body).hexdigest()}"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = open_store("s3://sig/p", environ={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                                                   "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_address[1]}"})
        assert native_client(store).put("p/f.txt", b"payload") is not None
    finally:
        server.shutdown()
    (request,) = seen
    assert request["x-amz-content-sha256"] == hashlib.sha256(b"payload").hexdigest()
    signed = request["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "x-amz-content-sha256" in signed


def test_a_listing_of_many_pages_is_progress_not_a_stall(s3_server, bucket, tmp_path):
    """A no-op sync against a bucket whose listing, page by page, takes longer than the stall
    bound: every page is progress (before, the listing counted once, when it ended, and a
    100,000-key bucket on moto failed as stalled after 60 s)."""
    from concurrent.futures import ThreadPoolExecutor

    from tools.reliability.faultproxy import FaultProxy

    client = s3_client(s3_server)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"p/k{i:05d}", Body=b"x"), range(4500)))
    proxy = FaultProxy("127.0.0.1", s3_server.port)
    proxy.throttle = 1024 * 1024  # bytes per second: each page of 1000 keys takes a fraction of a second
    try:
        store = open_store(f"s3://{bucket}/p", environ={**s3_env(s3_server), "AWS_ENDPOINT_URL": proxy.url})
        (tmp_path / "empty").mkdir()
        started = time.monotonic()
        result = sync(tmp_path / "empty", store, options=TransferOptions(stall_timeout=1.0), progress=False)
        took = time.monotonic() - started
    finally:
        proxy.close()
    assert result.transferred == [] and took > 1.0, took  # longer than the bound, and not a stall



KINDS_LISTER = "stores.transfer.azure:_list_azure"


def test_the_check_listing_after_an_upload_is_progress_not_a_stall(request, tmp_path, monkeypatch):
    """The listing that checks a batch of uploads (one listing instead of a request per blob;
    Azure's small blobs are checked so) beats per page: into a prefix of 1500 blobs through a
    slow link it takes longer than the stall bound, and is not a stall (before, the check
    listing counted once, when it ended, as the planning listings once did)."""
    from concurrent.futures import ThreadPoolExecutor

    from azure.storage.blob import ContainerClient

    from stores.transfer import azure
    from support.servers import AZURITE_ACCOUNT, azure_env, bucket_store
    from tools.reliability.faultproxy import FaultProxy

    monkeypatch.setattr(azure, "_PAGE", 300)  # pages of a size that crosses a slow link in well under the bound
    store = bucket_store(request, "wasb")
    server = request.getfixturevalue("azurite_server")
    container = ContainerClient.from_connection_string(server.extra["connection_string"], store.root.split("/")[0])
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: container.upload_blob(f"p/old/k{i:05d}", b"x"), range(1500)))
    src = tmp_path / "new"
    src.mkdir()
    for i in range(20):
        (src / f"f{i:02d}.txt").write_bytes(b"new %d" % i)
    proxy = FaultProxy("127.0.0.1", server.port)
    proxy.throttle = 512 * 1024  # bytes per second
    conn = azure_env(server)["AZURE_STORAGE_CONNECTION_STRING"].replace(f"127.0.0.1:{server.port}", proxy.url.split("//")[1])
    try:
        slow = open_store(f"wasbs://{store.root.split('/')[0]}@{AZURITE_ACCOUNT}.blob.core.windows.net/p",
                          environ={"AZURE_STORAGE_CONNECTION_STRING": conn})
        listed = []
        real = azure._list_azure
        # the kinds table keeps the functions it resolved: the lister is watched there
        from stores import kinds

        monkeypatch.setitem(kinds._RESOLVED, KINDS_LISTER,
                            lambda h, beat=None: listed.append(h.root) or real(h, beat))
        started = time.monotonic()
        result = upload(src, slow, options=TransferOptions(stall_timeout=1.0), progress=False)
        took = time.monotonic() - started
    finally:
        proxy.close()
    assert len(result.transferred) == 20
    assert len(listed) >= 1 and took > 1.5, (listed, took)  # the check listing ran, longer than the bound


def test_a_sync_into_a_bucket_lists_both_sides_at_once(s3_server, bucket, tmp_path):
    """The destination's listing does not wait for the source's walk: the two waits overlap (a
    no-op sync is mostly these two listings).  A source listing slowed by a hook is still under
    way when the destination's begins; the result is the same as one after the other."""
    import threading

    from stores.transfer import Hooks

    client = s3_client(s3_server)
    for i in range(5):
        client.put_object(Bucket=bucket, Key=f"p/f{i}.txt", Body=b"same %d" % i)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.txt").write_bytes(b"same %d" % i)
    store = open_store(f"s3://{bucket}/p", environ=s3_env(s3_server))
    spans: dict[str, list[float]] = {}
    lock = threading.Lock()

    def timed(handle, list_now):
        side = "source" if handle.is_local else "destination"
        start = time.monotonic()
        if side == "source":
            time.sleep(0.5)
        out = list_now()
        with lock:
            spans.setdefault(side, [start, time.monotonic()])
        return out

    result = sync(src, store, options=TransferOptions(hooks=Hooks(list_store=timed)), progress=False)
    assert sorted(result.skipped) == [f"f{i}.txt" for i in range(5)] and result.transferred == []
    assert spans["destination"][0] < spans["source"][1] - 0.3, spans  # begun while the source was walked


def test_a_single_file_synced_into_a_prefix_does_not_list_the_prefix(s3_server, bucket, tmp_path):
    """One file into a bucket folder goes to its own key: the folder (here 300 other keys) is
    not listed for it, early or late; only the file's own key is looked at."""
    from concurrent.futures import ThreadPoolExecutor

    from stores.transfer import Hooks

    client = s3_client(s3_server)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"p/k{i:03d}", Body=b"x"), range(300)))
    (tmp_path / "one.txt").write_text("one")
    store = open_store(f"s3://{bucket}/p/", environ=s3_env(s3_server))
    listed: list[str] = []

    def record(handle, list_now):
        listed.append(handle.root)
        return list_now()

    result = sync(tmp_path / "one.txt", store, options=TransferOptions(hooks=Hooks(list_store=record)), progress=False)
    assert result.transferred == ["one.txt"]
    assert not [r for r in listed if r.rstrip("/") == f"{bucket}/p"], listed


def test_a_failed_destination_listing_fails_the_sync_as_before(s3_server, tmp_path):
    """Listed early, raised where it was: a sync into a bucket that does not exist fails with
    the listing's error, and no listing is left running."""
    import threading

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    store = open_store(f"s3://{unique_bucket('nosuch')}/p", environ=s3_env(s3_server))
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(Exception) as info:
        sync(src, store, options=TransferOptions(retries=0), progress=False)
    assert "stores-list-destination" not in {t.name for t in threading.enumerate()} - before
    assert isinstance(info.value, TransferError) and "cannot list" in str(info.value), repr(info.value)


def test_a_data_lake_folder_blob_is_a_folder_not_an_empty_file(request, tmp_path):
    """A hierarchical-namespace account keeps each folder as a blob marked ``hdi_isfolder``
    (made here on Azurite as the service stores it): copying the folder copies what is under
    it, not a 0-byte file of its name."""
    from azure.storage.blob import ContainerClient

    from support.servers import azure_env, bucket_store

    store = bucket_store(request, "wasb")
    server = request.getfixturevalue("azurite_server")
    container = ContainerClient.from_connection_string(server.extra["connection_string"], store.root.split("/")[0])
    container.upload_blob("p/dir", b"", metadata={"hdi_isfolder": "true"})
    container.upload_blob("p/dir/a.txt", b"a")
    container.upload_blob("p/dir/b.txt", b"bb")
    folder = open_store(store.url.rstrip("/") + "/dir", environ=azure_env(server))
    result = download(folder, "", tmp_path / "out", progress=False)
    assert sorted(result.transferred) == ["a.txt", "b.txt"]
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"bb"
