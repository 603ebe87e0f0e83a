"""Downloads that finish or fail, never hang (issue 23, item 4), against moto's S3 server behind
the fault proxy (``tools/reliability/faultproxy.py``):

- a server that stops answering mid-object makes ``stores cp`` fail within ``--stall-timeout``,
  naming the object;
- a download SIGKILLed mid-object (the proxy throttles, so it is killed in the middle) resumes:
  the second run is served only the bytes after the verified prefix (the proxy counts them), and
  starts over when the object changed in between;
- a download's memory does not grow with the object (peak RSS of the process measured);
- progress lines reach a log (stderr not a terminal).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tools.reliability.faultproxy import Fault, FaultProxy
from support.servers import s3_client, create_s3_bucket, unique_bucket
from stores.errors import TransferError
from stores.transfer import Hooks, TransferOptions, copy

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


@pytest.fixture
def proxy(s3_server: Any) -> Iterator[FaultProxy]:
    p = FaultProxy("127.0.0.1", s3_server.port)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def client(s3_server: Any) -> Any:
    return s3_client(s3_server)


@pytest.fixture
def bucket(s3_server: Any) -> str:
    name = unique_bucket("stall")
    create_s3_bucket(s3_server, name)
    return name


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POLYAXON_", "STORES_"))}
    # moto accepts any key pair; placeholders, not secrets
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": url,
                "AWS_REGION": "us-east-1", "PYTHONPATH": str(ROOT)})
    return env


def _stores(*args: str) -> list[str]:
    return [sys.executable, "-m", "stores", *args]


def test_a_stalled_server_fails_the_download_within_the_timeout_naming_the_object(proxy, client, bucket, tmp_path):
    client.put_object(Bucket=bucket, Key="data/big.bin", Body=os.urandom(3 * MiB))
    # every connection stops answering once 96 KiB went down it: the listing passes, the object not
    proxy.fail_all(Fault("stall", "down", after=96 * 1024, seconds=120))
    start = time.monotonic()
    res = subprocess.run(_stores("cp", f"s3://{bucket}/data/big.bin", str(tmp_path / "out") + "/", "--stall-timeout", "3",
                                 "--part-size", "1MiB", "--retries", "0"),
                         env=_env(proxy.url), capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert res.returncode == 1, res.stderr
    assert "stalled" in res.stderr and "big.bin" in res.stderr, res.stderr
    assert elapsed < 3 + 10, f"failed after {elapsed:.1f}s, the bound is 3s (plus start-up)"
    assert proxy.injected["stall"] >= 1
    # nothing half-written is left under the destination's name
    assert not (tmp_path / "out" / "big.bin").exists()


def test_one_hung_file_fails_the_run_naming_it_while_others_moved(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.bin", "hung.bin", "z.bin"):
        (src / name).write_bytes(os.urandom(1024))
    release = threading.Event()

    def copy_file(key: str, size: int, send: Any) -> int:
        if key == "hung.bin":
            release.wait(30)  # a request that never answers
        return send()

    opts = TransferOptions(workers=3, stall_timeout=1.5, hooks=Hooks(copy_file=copy_file))
    start = time.monotonic()
    with pytest.raises(TransferError, match=r"no byte of hung\.bin moved for 1\.5s") as err:
        copy(str(src), str(tmp_path / "dst"), options=opts, progress=False)
    release.set()
    assert time.monotonic() - start < 10
    assert err.value.stalled_keys == ["hung.bin"]  # type: ignore[attr-defined]


def _state(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    for p in folder.glob(".stores-tmp-*.resume"):
        try:
            return p, json.loads(p.read_text())
        except (OSError, ValueError):
            return None
    return None


def _killed_mid_download(proxy: FaultProxy, src: str, out: Path, at_least: int) -> int:
    """Start ``stores cp`` through the throttled proxy, SIGKILL it once ``at_least`` bytes are
    recorded as verified; the verified length it left."""
    proxy.throttle = 6 * MiB
    proc = subprocess.Popen(_stores("cp", src, str(out) + "/", "--part-size", "1MiB", "-q"), env=_env(proxy.url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = _state(out) if out.exists() else None
            if got is not None and got[1]["length"] >= at_least:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail("the download recorded no progress within 60s")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
        proxy.throttle = None
    # the killed process's ranges still in flight drain through the proxy until their sockets
    # close: wait for that before the caller counts the next run's bytes
    last, quiet = -1, time.monotonic()
    while time.monotonic() - quiet < 0.5:
        if proxy.bytes_down != last:
            last, quiet = proxy.bytes_down, time.monotonic()
        time.sleep(0.05)
    got = _state(out)
    assert got is not None, "a killed download left no state"
    return int(got[1]["length"])


def test_a_killed_download_resumes_after_the_verified_prefix(proxy, client, bucket, tmp_path):
    data = os.urandom(24 * MiB)
    client.put_object(Bucket=bucket, Key="big.bin", Body=data)
    out = tmp_path / "out"
    verified = _killed_mid_download(proxy, f"s3://{bucket}/big.bin", out, 6 * MiB)
    assert 6 * MiB <= verified < len(data)
    assert not (out / "big.bin").exists()  # nothing under the final name yet
    proxy.bytes_down = 0
    res = subprocess.run(_stores("cp", f"s3://{bucket}/big.bin", str(out) + "/", "--part-size", "1MiB", "-q"),
                         env=_env(proxy.url), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (out / "big.bin").read_bytes() == data
    rest = len(data) - verified
    # served: the rest, plus headers and the listing; never the verified prefix again
    assert rest <= proxy.bytes_down < rest + 256 * 1024, (proxy.bytes_down, rest, verified)
    assert not list(out.glob(".stores-tmp-*"))


def test_a_resumed_download_starts_over_when_the_object_changed(proxy, client, bucket, tmp_path):
    client.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(20 * MiB))
    out = tmp_path / "out"
    _killed_mid_download(proxy, f"s3://{bucket}/big.bin", out, 4 * MiB)
    new = os.urandom(20 * MiB)  # same size, another version
    client.put_object(Bucket=bucket, Key="big.bin", Body=new)
    proxy.bytes_down = 0
    res = subprocess.run(_stores("cp", f"s3://{bucket}/big.bin", str(out) + "/", "--part-size", "1MiB", "-q"),
                         env=_env(proxy.url), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (out / "big.bin").read_bytes() == new
    assert proxy.bytes_down >= len(new)  # all of it again: the prefix was of another version
    assert not list(out.glob(".stores-tmp-*"))


def test_a_dropped_connection_mid_object_is_retried_from_the_verified_prefix(proxy, client, bucket, tmp_path):
    from stores.handles import open_store
    from stores.transfer import download

    data = os.urandom(20 * MiB)
    client.put_object(Bucket=bucket, Key="big.bin", Body=data)
    fault = Fault("drop", "down", after=512 * 1024 + 12345)  # inside a ranged GET
    # one ranged GET about halfway (20 MiB is read in 8 ranges of 2.5 MiB; stores.transfer.ranged)
    # is cut; a restart from zero would be served ~10 MiB again
    proxy.plan = lambda n: fault if n >= 5 and not proxy.injected["drop"] else None
    store = open_store(f"s3://{bucket}", environ=_env(proxy.url))
    opts = TransferOptions(chunk_size=1 * MiB, retries=2, backoff=0.01)
    download(store, "big.bin", tmp_path / "big.bin", options=opts, progress=False)
    assert (tmp_path / "big.bin").read_bytes() == data
    drops = proxy.injected["drop"]
    assert drops >= 1, (proxy.connections, proxy.bytes_down)
    # each retry asked only for what was not yet verified (at most the chunk in flight again)
    assert proxy.bytes_down < len(data) + drops * 2 * MiB, (proxy.bytes_down, drops)


_RSS_PROBE = """
import json, resource, sys
from stores.handles import open_store
from stores.transfer import TransferOptions, download
store = open_store(sys.argv[1])
store.exists("")  # the SDK's clients and imports, before the measure
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
download(store, "huge.bin", sys.argv[2], options=TransferOptions(chunk_size=4 * 1024 * 1024), progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after}))
"""


def test_download_memory_does_not_grow_with_the_object(s3_server, client, bucket, tmp_path):
    size = 160 * MiB
    client.create_multipart_upload(Bucket=bucket, Key="huge.bin")
    up = client.create_multipart_upload(Bucket=bucket, Key="huge.bin")
    parts = []
    block = os.urandom(16 * MiB)
    for i in range(size // len(block)):
        out = client.upload_part(Bucket=bucket, Key="huge.bin", UploadId=up["UploadId"], PartNumber=i + 1, Body=block)
        parts.append({"ETag": out["ETag"], "PartNumber": i + 1})
    client.complete_multipart_upload(Bucket=bucket, Key="huge.bin", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": parts})
    res = subprocess.run([sys.executable, "-c", _RSS_PROBE, f"s3://{bucket}", str(tmp_path / "huge.bin")],
                         env=_env(s3_server.url), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rss = json.loads(res.stdout)
    grown = (rss["after_kib"] - rss["before_kib"]) * 1024
    assert (tmp_path / "huge.bin").stat().st_size == size
    # two 4 MiB chunks and the SDK's buffers; never the object (160 MiB)
    assert grown < 48 * MiB, f"peak RSS grew by {grown / MiB:.0f} MiB downloading {size // MiB} MiB"


def test_progress_lines_reach_a_log(client, bucket, tmp_path, s3_server):
    client.put_object(Bucket=bucket, Key="p.bin", Body=os.urandom(6 * MiB))
    proxy = FaultProxy("127.0.0.1", s3_server.port)
    proxy.throttle = MiB // 2  # per connection: a large download has a few ranges in flight
    try:
        res = subprocess.run(_stores("cp", f"s3://{bucket}/p.bin", str(tmp_path) + "/", "--part-size", "256KiB",
                                     "--progress-interval", "0.5"),
                             env=_env(proxy.url), capture_output=True, text=True, timeout=120)
    finally:
        proxy.close()
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if "files" in ln and "/s" in ln]
    assert len(lines) >= 2, res.stderr
    assert "\r" not in res.stderr and "\x1b" not in res.stderr  # plain lines, no bar
