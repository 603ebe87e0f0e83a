"""Faults during transfers: a moto server process that can be killed and restarted, the
invariants every interrupted transfer must keep, and the killed-sync round.

Invariants (``check_bucket`` / ``check_local``):

- no partial object: every object visible under the destination prefix is byte-identical to the
  source file of the same key (an upload that broke is not committed);
- no half-written local file: every file in a local destination is byte-identical to its source,
  and no temporary download (``*.stores-tmp-*``) is left behind;
- a transfer that returns (success) leaves the destination byte-identical to the source; one that
  fails raises ``TransferError`` (the CLI: exit code 1 and ``error:`` on stderr).

Long mode (by hand; counts go in the report)::

    .venv/bin/python -m tools.reliability.faults --kills 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MotoProcess", "make_tree", "read_local", "check_bucket", "check_local", "bucket_objects",
           "killed_sync_round", "store_env", "KilledRound"]

TMP_MARK = ".stores-tmp-"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoProcess:
    """``moto_server`` in its own process, on a fixed port, so it can be killed (SIGKILL: no
    goodbye to its clients) and started again at the same address (empty: moto keeps nothing)."""

    def __init__(self, port: int | None = None, log: Path | None = None):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30.0) -> None:
        exe = Path(sys.executable).with_name("moto_server")
        cmd = [str(exe) if exe.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(self.port)]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode} (port {self.port})")
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                self.starts += 1
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"moto_server did not answer on {self.url} within {timeout}s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")


def store_env(endpoint: str, timeout: float = 1.0) -> dict[str, str]:
    """What a client needs to reach ``endpoint``; small timeouts so faults surface fast."""
    # moto accepts any key pair: placeholders, not secrets
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1", "POLYAXON_TIMEOUT": str(timeout)}


def make_tree(root: Path, rng: random.Random, files: int = 12, big: int = 0) -> dict[str, bytes]:
    """Random files (empty ones, small ones, a few hundred KB) in nested folders; ``big`` adds
    one file that goes up in several parts."""
    out: dict[str, bytes] = {}
    for i in range(files):
        size = rng.choice([0, 1, 100, 4096, 70_000, 300_000, rng.randrange(600_000)])
        key = f"{rng.choice(['', 'a/', 'a/b/', 'c/'])}f{i}.bin"
        out[key] = rng.randbytes(size)
    if big:
        out["big/part.bin"] = rng.randbytes(big)
    for key, data in out.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return out


def read_local(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """``(files, temporaries)`` under ``root``."""
    files: dict[str, bytes] = {}
    temps: list[str] = []
    if not root.exists():
        return files, temps
    for p in root.rglob("*"):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            (temps.append(rel) if TMP_MARK in p.name else files.__setitem__(rel, p.read_bytes()))
    return files, temps


def bucket_objects(client: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix/`` (key relative to it) and its bytes, read directly from
    the server (never through the faulty path)."""
    out: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix) + 1:]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def check_bucket(client: Any, bucket: str, prefix: str, source: dict[str, bytes], complete: bool) -> dict[str, bytes]:
    """No partial object; with ``complete``, exactly the source.  Returns what is there."""
    there = bucket_objects(client, bucket, prefix)
    for key, data in there.items():
        assert key in source, f"object {key!r} is not in the source"
        assert data == source[key], f"object {key!r} is partial or wrong: {len(data)} bytes, source {len(source[key])}"
    if complete:
        assert set(there) == set(source), f"missing objects: {sorted(set(source) - set(there))}"
    return there


def check_local(root: Path, source: dict[str, bytes], complete: bool) -> dict[str, bytes]:
    """No half-written or leftover temporary file; with ``complete``, exactly the source."""
    files, temps = read_local(root)
    assert not temps, f"temporary files left behind: {temps}"
    for key, data in files.items():
        assert key in source, f"file {key!r} is not in the source"
        assert data == source[key], f"file {key!r} is truncated or wrong: {len(data)} bytes, source {len(source[key])}"
    if complete:
        assert set(files) == set(source), f"missing files: {sorted(set(source) - set(files))}"
    return files


@dataclass
class KilledRound:
    direction: str
    killed_at: float
    outcome: str  # "failed" (the sync raised), or "finished-before-kill"
    files: int
    error: str = ""
    present_after_failure: int = 0
    rerun_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def killed_sync_round(server: MotoProcess, workdir: Path, rng: random.Random, direction: str = "up",
                      files: int = 60, window: float = 0.4) -> KilledRound:
    """Sync (``up``: local -> bucket, ``down``: bucket -> local) while the server is SIGKILLed at
    a random moment; then restart it and re-run the sync.  Asserts the invariants throughout."""
    from stores.errors import TransferError
    from stores.handles import open_store
    from stores.transfer import TransferOptions, sync

    bucket = f"kill-{rng.randrange(10**9)}"
    local = workdir / f"{bucket}-local"
    source_dir = workdir / f"{bucket}-src"
    source = make_tree(source_dir, rng, files=files, big=rng.choice([0, 0, 6 * 1024 * 1024]))
    opts = TransferOptions(workers=4, retries=1, backoff=0.05, max_backoff=0.2, chunk_size=5 * 1024 * 1024)

    def seed_bucket() -> None:
        client = server.client()
        client.create_bucket(Bucket=bucket)
        if direction == "down":
            for key, data in source.items():
                client.put_object(Bucket=bucket, Key=f"run/{key}", Body=data)

    if server.proc is None:
        server.start()
    seed_bucket()
    store = open_store(f"s3://{bucket}/run", environ=store_env(server.url))
    src, dst = (source_dir, store) if direction == "up" else (store, local)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = sync(src, dst, options=opts, progress=False)
            outcome["at"] = time.monotonic()
        except TransferError as exc:
            outcome["error"] = exc
        except BaseException as exc:  # anything but our error is a finding: keep it for the assert
            outcome["other"] = exc

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    # kill mid-transfer, not mid-listing: wait for the first file to arrive, then a random moment
    probe = server.client()
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        if direction == "up":
            arrived = probe.list_objects_v2(Bucket=bucket, Prefix="run/", MaxKeys=1).get("KeyCount", 0) > 0
        else:
            arrived = local.exists() and any(p.is_file() for p in local.rglob("*"))
        if arrived:
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, window))
    if not thread.is_alive():
        # finished before the kill: a success must be a full copy (checked while the server lives)
        thread.join()
        assert "other" not in outcome, repr(outcome.get("other"))
        assert "result" in outcome, f"sync failed without any fault: {outcome.get('error')}"
        if direction == "up":
            check_bucket(server.client(), bucket, "run", source, complete=True)
        else:
            check_local(local, source, complete=True)
        return KilledRound(direction, time.monotonic() - started, "finished-before-kill", len(source))
    killed_at = time.monotonic()
    server.kill()
    thread.join(timeout=120)
    assert not thread.is_alive(), "sync still running 120 s after the server died"
    surfaced = time.monotonic() - killed_at
    assert "other" not in outcome, f"not a TransferError: {outcome.get('other')!r}"
    if "result" in outcome:
        # it may have finished in the instant before the kill; never after it
        assert outcome["at"] <= killed_at + 0.05, "sync reported success after its server was killed"
        kind = "finished-before-kill"
        error = ""
    else:
        kind = "failed"
        error = str(outcome["error"]).splitlines()[0]
    present = 0
    if direction == "down":
        present = len(check_local(local, source, complete=False))
    server.start()
    seed_bucket()  # a restarted moto is empty
    t = time.monotonic()
    sync(src, dst, options=opts, progress=False)
    rerun = time.monotonic() - t
    if direction == "up":
        check_bucket(server.client(), bucket, "run", source, complete=True)
    else:
        check_local(local, source, complete=True)
    return KilledRound(direction, killed_at - started, kind, len(source), error, present, rerun,
                       {"error_after_kill_s": round(surfaced, 2), "restart_s": round(t - killed_at - surfaced, 2)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/stores-killed-syncs")
    args = parser.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    server = MotoProcess(log=work / "moto.log")
    rng = random.Random(args.seed)
    rounds: list[KilledRound] = []
    started = time.monotonic()
    try:
        while sum(r.outcome == "failed" for r in rounds) < args.kills:
            r = killed_sync_round(server, work, rng, direction=rng.choice(["up", "down"]))
            rounds.append(r)
            print(json.dumps(r.__dict__), file=sys.stderr, flush=True)
    finally:
        server.kill()
    failed = [r for r in rounds if r.outcome == "failed"]
    report = {
        "rounds": len(rounds),
        "killed_syncs": len(failed),
        "killed_up": sum(r.direction == "up" for r in failed),
        "killed_down": sum(r.direction == "down" for r in failed),
        "finished_before_kill": len(rounds) - len(failed),
        # every file of every round checked byte for byte after the re-run, plus the destination
        # of each killed sync checked for partial files right after the failure
        "files_checked": sum(r.files for r in rounds) + sum(r.files for r in failed),
        "complete_files_found_after_failed_downloads": sum(r.present_after_failure for r in failed),
        "server_starts": server.starts,
        "seconds": round(time.monotonic() - started, 1),
        "errors": {
            "files failed (N of M)": sum("file(s) failed" in r.error for r in failed),
            "cannot list": sum(r.error.startswith("cannot list") for r in failed),
            "other": sorted({r.error for r in failed if "file(s) failed" not in r.error
                             and not r.error.startswith("cannot list")}),
        },
        "slowest_error_after_kill_s": max((r.extra.get("error_after_kill_s", 0) for r in failed), default=0),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
