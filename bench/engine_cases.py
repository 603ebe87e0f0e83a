"""The engine case of ``run_all.py``: each operation with the native client (obstore, the
default where a kind has one) next to the same command with ``STORES_ENGINE=fsspec`` (every
request through s3fs / adlfs), per kind, on its emulator: moto's S3 server and Azurite.  This is
what docs/guides/transfer-engine.md's decision rests on.

Whole processes (``stores cp`` / ``stores sync``), start-up included: an upload of ``COUNT`` files
of 4 KiB into a fresh prefix, a download of them into a fresh folder, a no-op sync up.  GCS has
no native client (its rows would compare fsspec with itself; the guide says why).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from _common import ROOT, STORES_BIN, VENV_BIN, MotoServer, clean_env, free_port, interleaved, row, run_process, wait_http
from transfer_cases import make_tree

__all__ = ["bench_engines"]

#: Azurite's well-known development account and key (public, documented by Microsoft)
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Azurite:
    """Azurite's blob service, in memory, as a process of its own; None when not installed
    (``bash scripts/test.sh`` installs it under .tools/azurite)."""

    def __init__(self, exe: str) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/{AZ_ACCOUNT}"
        self.work = Path(tempfile.mkdtemp(prefix="azurite-"))
        self.proc = subprocess.Popen([exe, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                                      "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
                                      "--silent"], cwd=self.work, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_http(self.endpoint + "?comp=list", self.proc):
            self.stop()
            raise SystemExit("Azurite did not start")
        self.conn = (f"DefaultEndpointsProtocol=http;AccountName={AZ_ACCOUNT};AccountKey={AZ_KEY};"
                     f"BlobEndpoint={self.endpoint};")

    def container(self, name: str) -> str:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.conn).create_container(name)
        return f"wasbs://{name}@{AZ_ACCOUNT}.blob.core.windows.net/data/"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def _azurite_exe() -> str | None:
    exe = os.environ.get("AZURITE_BLOB") or str(ROOT / ".tools/azurite/node_modules/.bin/azurite-blob")
    return exe if os.path.exists(exe) else None


def _names() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"eng-{os.getpid()}-{n}"


def _kind_rows(kind: str, rounds: int, work: Path, src: Path, env: dict[str, str],
               fresh: Callable[[], str]) -> None:
    stores = str(STORES_BIN / "stores")
    engines = {"native": env, "fsspec": {**env, "STORES_ENGINE": "fsspec"}}

    def up(engine: str) -> Callable[[], float]:
        return lambda: run_process([stores, "cp", "-q", str(src), fresh()], engines[engine]).seconds

    seeded = fresh()
    run_process([stores, "cp", "-q", str(src), seeded], env)

    def down(engine: str) -> Callable[[], float]:
        def go() -> float:
            dst = Path(tempfile.mkdtemp(prefix="dl-", dir=work))
            try:
                return run_process([stores, "cp", "-q", seeded, str(dst) + "/"], engines[engine]).seconds
            finally:
                shutil.rmtree(dst, ignore_errors=True)
        return go

    def noop(engine: str) -> Callable[[], float]:
        return lambda: run_process([stores, "sync", "-q", str(src), seeded], engines[engine]).seconds

    count = sum(1 for _ in src.rglob("*") if _.is_file())
    for case, make in ((f"upload {count} x 4 KiB", up), (f"download {count} x 4 KiB", down),
                       (f"no-op sync up, {count} files", noop)):
        o, p = interleaved(rounds, make("native"), make("fsspec"))
        row(f"engine {kind}: {case}", "stores (native client)", "stores, STORES_ENGINE=fsspec", o, p,
            note="whole process")


def bench_engines(rounds: int, work: Path, count: int, server: MotoServer) -> None:
    print("engines (native client vs fsspec)", flush=True)
    src = make_tree(work / "engine-src", count, 4096)
    names = _names()

    def s3_bucket() -> str:
        name = next(names)
        server.create_bucket(name)
        return f"s3://{name}/data/"

    _kind_rows("s3", rounds, work, src, clean_env(**server.env()), s3_bucket)
    exe = _azurite_exe()
    if exe is None:
        print("  (Azurite not installed, Azure rows left out: `bash scripts/test.sh --co -q` installs it)")
        return
    azurite = Azurite(exe)
    try:
        _kind_rows("azure", rounds, work, src, clean_env(AZURE_STORAGE_CONNECTION_STRING=azurite.conn),
                   lambda: azurite.container(next(names)))
    finally:
        azurite.stop()
