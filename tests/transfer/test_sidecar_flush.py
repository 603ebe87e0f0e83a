"""The sidecar's last flush (issue 8, item 3): ``stores sync --watch`` on a directory a writer
keeps filling, SIGTERM at a random moment; after it exits, every file the writer finished
(temporary name, then rename) before the signal is in the store, byte for byte.

``STORES_LONG=1`` runs more rounds; ``python -m tools.reliability.sidecar --rounds N`` is the
long run on a local store.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import pytest

from tools.reliability.sidecar import flush_round
from support.servers import create_s3_bucket, s3_env, unique_bucket

LONG = os.environ.get("STORES_LONG") == "1"


def _local_reader(root: Path) -> Any:
    def read() -> dict[str, bytes]:
        if not root.exists():
            return {}
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and ".stores-tmp-" not in p.name}

    return read


def _s3(server: Any, bucket: str, prefix: str) -> dict[str, Any]:
    """``read_store`` and a cheap ``is_ready`` for ``flush_round``."""
    import boto3

    client = boto3.client("s3", endpoint_url=server.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")

    def read() -> dict[str, bytes]:
        out = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
            for obj in page.get("Contents", []):
                out[obj["Key"][len(prefix) + 1:]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out

    def ready() -> bool:
        return client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/ready.txt").get("KeyCount", 0) > 0

    return {"read_store": read, "is_ready": ready}


def _assert_flushed(r: Any, finished: set[str] | None = None) -> None:
    assert "Traceback" not in r.stderr
    if r.exit_code == 1:
        # the writer goes on after the signal (Kubernetes signals every container at once): the
        # last pass may fail on a file still being written, never on one finished before
        failed = re.findall(r"^  (\S+): ", r.stderr, re.MULTILINE)
        assert failed, f"exit 1 without naming the failed files: {r.stderr}"
        assert all(".partial" in k for k in failed), f"failed on finished files: {failed}"
    else:
        assert r.exit_code == 0, f"sidecar exited {r.exit_code}: {r.stderr}"
    assert not r.missing, f"{len(r.missing)} of {r.finished_before_signal} finished files never reached the store: {r.missing[:5]}"
    assert not r.wrong, f"stored with other bytes: {r.wrong[:5]}"
    assert r.finished_before_signal > 1  # the writer did write (else nothing was tested)


def test_sigterm_at_random_moments_local_store(tmp_path: Path) -> None:
    rng = random.Random("sidecar-local")
    for i in range(12 if LONG else 3):
        store = tmp_path / f"r{i}-store"
        _assert_flushed(flush_round(tmp_path / f"r{i}-src", str(store), _local_reader(store), rng))


def test_sigterm_at_random_moments_s3_store(tmp_path: Path, s3_server: Any) -> None:
    rng = random.Random("sidecar-s3")
    for i in range(8 if LONG else 2):
        bucket = unique_bucket("sidecar")
        create_s3_bucket(s3_server, bucket)
        # a slower writer: moto takes a few hundred PUT/s, and the last pass sends the backlog
        r = flush_round(tmp_path / f"r{i}-src", f"s3://{bucket}/outputs", rng=rng, env=s3_env(s3_server), pause=0.05,
                        **_s3(s3_server, bucket, "outputs"))
        _assert_flushed(r)


def test_sigterm_while_the_sidecar_is_still_starting(tmp_path: Path, s3_server: Any) -> None:
    """Regression: the handler was installed after the bucket's SDK was imported (about a
    second), and a SIGTERM before that killed the sidecar with nothing flushed (exit -15)."""
    rng = random.Random("sidecar-start")
    bucket = unique_bucket("sidecar")
    create_s3_bucket(s3_server, bucket)
    r = flush_round(tmp_path / "src", f"s3://{bucket}/outputs", rng=rng, env=s3_env(s3_server),
                    delay=(0.6, 0.8), ready_first=False, pause=0.05, **_s3(s3_server, bucket, "outputs"))
    _assert_flushed(r)


def _deletes_after_listing(victims: list[Path]) -> Any:
    """A progress sink that removes source files once the transfer has listed them: the
    deterministic form of a writer renaming its temporary file mid-sync."""
    from stores.progress import Progress

    class Sink(Progress):
        def add_total(self, files: int, nbytes: int) -> None:
            for victim in victims:
                victim.unlink()
            super().add_total(files, nbytes)

    return Sink(enabled=False)


def test_a_source_file_that_vanishes_mid_sync_is_not_a_failure(tmp_path: Path) -> None:
    """Regression: the writer's renamed temporary file failed the sidecar's last pass (exit 1,
    FileNotFoundError) although everything finished was flushed."""
    from stores.transfer import TransferOptions, sync

    src = tmp_path / "src"
    src.mkdir()
    (src / "done.bin").write_bytes(b"d" * 1000)
    (src / ".done2.bin.partial").write_bytes(b"p" * 1000)
    result = sync(src, tmp_path / "dst", options=TransferOptions(workers=1, retries=0),
                  progress=_deletes_after_listing([src / ".done2.bin.partial"]))
    assert result.transferred == ["done.bin"]
    assert result.vanished == [".done2.bin.partial"]
    assert "1 vanished from the source" in result.summary()
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["done.bin"]


def test_a_file_that_cannot_be_read_is_still_a_failure(tmp_path: Path) -> None:
    """The other side: only a file that is gone is forgiven, not one that is there but cannot be
    read (here: replaced by a directory after the listing)."""
    from stores.errors import TransferError
    from stores.progress import Progress
    from stores.transfer import TransferOptions, sync

    src = tmp_path / "src"
    src.mkdir()
    (src / "swapped.bin").write_bytes(b"x")

    class Swap(Progress):
        def add_total(self, files: int, nbytes: int) -> None:
            (src / "swapped.bin").unlink()
            (src / "swapped.bin").mkdir()
            super().add_total(files, nbytes)

    with pytest.raises(TransferError, match="swapped.bin"):
        sync(src, tmp_path / "dst", options=TransferOptions(workers=1, retries=0), progress=Swap(enabled=False))
