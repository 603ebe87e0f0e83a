"""The transfer cases of ``run_all.py``: uploads, downloads and scale, ours next to every peer.

All against one ``moto_server`` process on 127.0.0.1.  Whole-process figures (``stores cp`` /
``stores sync`` against ``aws``, ``s5cmd``, ``rclone``; see ``peers.py`` for their flags) include
each tool's start-up, as a user or an init container pays it; the in-process rows (ours, s3fs,
the raw boto3 ceiling) time the transfer alone.  A download always goes into a fresh folder,
an upload into a fresh bucket; a no-op sync runs against a destination each tool filled itself.
Peak memory is each client process's ``ru_maxrss``.

Scale: ``COUNT`` files of 1 KiB seeded once, then listing (``stores ls -r`` against
``aws s3 ls --recursive``) and a no-op sync per tool, with the cost per file printed next to the
1,000-file figure so growth shows.  10,000 by default; ``--scale 100000`` by hand.
"""

from __future__ import annotations

import json
import sys
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from _common import MotoServer, Sample, clean_env, interleaved, row, run_process
from peers import PEERS, Tool, available, tool_env

__all__ = ["bench_downloads", "bench_scale", "bench_uploads", "make_tree"]

HERE = Path(__file__).resolve().parent


def make_tree(root: Path, count: int, size: int) -> Path:
    for i in range(count):
        d = root / f"d{i % 10:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(size))
    return root


def _big_file(folder: Path, mb: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.bin"
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(os.urandom(1 << 20))
    return path


class S3Bench:
    def __init__(self, server: MotoServer, work: Path) -> None:
        self.server = server
        self.env = tool_env(clean_env(**server.env()))
        self.work = work
        self.n = 0
        self.tools = [PEERS[name]() for name in PEERS if available(name)]
        missing = [name for name in PEERS if not available(name)]
        if missing:
            print(f"  (peers not installed or not selected, left out: {', '.join(missing)}; `bash bench/run.sh` installs them)")

    @property
    def peers(self) -> list[Tool]:
        return [t for t in self.tools if t.name != "stores"]

    def fresh_bucket(self) -> str:
        """A new, empty bucket (the previous one emptied, so moto's memory stays flat)."""
        if self.n:
            self.server.empty_bucket(f"bench-{self.n}")
        self.n += 1
        self.server.create_bucket(f"bench-{self.n}")
        return f"s3://bench-{self.n}/data/"

    def fresh_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="dl-", dir=self.work))

    def inproc(self, tool: str, src: Path, mem: Sample | None = None) -> Callable[[], float]:
        def go() -> float:
            cmd = [sys.executable, str(HERE / "transfer_bench.py"), tool, str(src), self.fresh_bucket()]
            res = run_process(cmd, self.env)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return json.loads(res.stdout)["seconds"]
        return go

    def upload(self, tool: Tool, src: Path, mem: Sample | None = None) -> Callable[[], float]:
        def go() -> float:
            res = run_process(tool.copy(str(src), self.fresh_bucket()), self.env)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return res.seconds
        return go

    def download(self, tool: Tool, url: str, mem: Sample | None = None) -> Callable[[], float]:
        def go() -> float:
            dst = self.fresh_dir()
            try:
                res = run_process(tool.copy(url, str(dst) + "/"), self.env)
            finally:
                shutil.rmtree(dst, ignore_errors=True)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return res.seconds
        return go

    def sync(self, tool: Tool, src: str, dst: str, mem: Sample | None = None) -> Callable[[], float]:
        run_process(tool.sync(src, dst), self.env)  # fill it once; the timed runs have nothing to do
        def go() -> float:
            res = run_process(tool.sync(src, dst), self.env)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return res.seconds
        return go


def _against_peers(s3: S3Bench, case: str, ours: Callable[[], float], peers: dict[str, Callable[[], float]],
                   rounds: int, ours_label: str, target: str = "at least as fast", factor: float = 1.0,
                   note: Callable[[Sample], str] = lambda s: "") -> list[Sample]:
    """One interleaved measurement of ours and every peer, one row per peer."""
    samples = interleaved(rounds, ours, *peers.values())
    o = samples[0]
    for (name, _), p in zip(peers.items(), samples[1:]):
        # the no-op sync target: 3x aws, at least as fast as the others
        need = 3.0 if name == "aws" and target.startswith(">= 3x aws") else factor
        row(f"{case} vs {name}", ours_label, name, o, p, target=target, met=p.median / o.median >= need, note=note(o))
    return samples


def bench_uploads(rounds: int, work: Path, small_count: int, large_mb: int, server: MotoServer) -> None:
    s3 = S3Bench(server, work)
    stores = PEERS["stores"]()
    print(f"upload: small files ({small_count} x 4 KiB)", flush=True)
    small = make_tree(work / "small", small_count, 4096)
    o, ceil, fs = interleaved(rounds, s3.inproc("ours", small), s3.inproc("ceiling", small), s3.inproc("s3fs", small))
    row("upload small files vs server ceiling", "upload() in-process", "raw boto3 put_object, 32 threads", o, ceil,
        target=">= 95% of the ceiling", met=ceil.median / o.median >= 0.95,
        note=f"ours {small_count / o.median:.0f} files/s, ceiling {small_count / ceil.median:.0f} files/s")
    row("upload small files vs s3fs", "upload() in-process", "s3fs put(recursive=True)", o, fs)
    _against_peers(s3, f"upload {small_count} x 4 KiB", s3.upload(stores, small),
                   {t.name: s3.upload(t, small) for t in s3.peers}, rounds, "stores cp (process)")

    print("upload: no-op sync", flush=True)
    dests = {t.name: s3.fresh_bucket() for t in s3.tools}
    ours = s3.sync(stores, str(small), dests["stores"])
    _against_peers(s3, f"no-op sync up, {small_count} files", ours,
                   {t.name: s3.sync(t, str(small), dests[t.name]) for t in s3.peers}, rounds + 2,
                   "stores sync (process)", target=">= 3x aws, >= s5cmd", factor=1.0)

    print(f"upload: large file (1 x {large_mb} MiB)", flush=True)
    big = _big_file(work / "large", large_mb)
    mems = {t.name: Sample() for t in s3.tools}
    samples = _against_peers(s3, f"upload {large_mb} MiB", s3.upload(stores, big, mems["stores"]),
                             {t.name: s3.upload(t, big, mems[t.name]) for t in s3.peers}, rounds,
                             "stores cp (process)", note=lambda s: f"{large_mb / s.median:.0f} MiB/s")
    row(f"upload {large_mb} MiB peak memory", "stores cp ru_maxrss", "aws ru_maxrss", mems["stores"],
        mems.get("aws", mems["stores"]), unit="MB", target="< 150 MB", met=mems["stores"].median < 150)
    fm, cm = Sample(), Sample()
    oc, fs = interleaved(rounds, s3.inproc("ours", big, cm), s3.inproc("s3fs", big, fm))
    row(f"upload {large_mb} MiB vs s3fs", "upload() in-process", "s3fs put", oc, fs)
    del samples


def _seed(s3: S3Bench, src: Path) -> str:
    """A bucket holding ``src`` (uploaded by the fastest tool installed; the seeding is not timed)."""
    url = s3.fresh_bucket()
    seeder = next((t for t in s3.tools if t.name == "s5cmd"), PEERS["stores"]())
    run_process(seeder.copy(str(src), url), s3.env)
    return url


def bench_downloads(rounds: int, work: Path, small_count: int, large_mb: int, server: MotoServer) -> None:
    s3 = S3Bench(server, work)
    stores = PEERS["stores"]()
    small = work / "small" if (work / "small").is_dir() else make_tree(work / "small", small_count, 4096)
    print(f"download: small files ({small_count} x 4 KiB)", flush=True)
    url = _seed(s3, small)
    _against_peers(s3, f"download {small_count} x 4 KiB", s3.download(stores, url),
                   {t.name: s3.download(t, url) for t in s3.peers}, rounds, "stores cp (process)")

    print("download: no-op sync", flush=True)
    dirs = {t.name: str(s3.fresh_dir()) + "/" for t in s3.tools}
    _against_peers(s3, f"no-op sync down, {small_count} files", s3.sync(stores, url, dirs["stores"]),
                   {t.name: s3.sync(t, url, dirs[t.name]) for t in s3.peers}, rounds + 2, "stores sync (process)",
                   target=">= 3x aws, >= s5cmd")

    print(f"download: large file (1 x {large_mb} MiB)", flush=True)
    big = work / "large" / "big.bin"
    if not big.exists():
        _big_file(work / "large", large_mb)
    big_url = _seed(s3, big) + "big.bin"
    mems = {t.name: Sample() for t in s3.tools}
    _against_peers(s3, f"download {large_mb} MiB", s3.download(stores, big_url, mems["stores"]),
                   {t.name: s3.download(t, big_url, mems[t.name]) for t in s3.peers}, rounds,
                   "stores cp (process)", note=lambda s: f"{large_mb / s.median:.0f} MiB/s")
    row(f"download {large_mb} MiB peak memory", "stores cp ru_maxrss", "aws ru_maxrss", mems["stores"],
        mems.get("aws", mems["stores"]), unit="MB", target="< 150 MB", met=mems["stores"].median < 150)


def bench_scale(rounds: int, work: Path, counts: tuple[int, ...], server: MotoServer) -> None:
    """Listing and no-op sync of 1 KiB files, per file, for each count (the first is the base)."""
    s3 = S3Bench(server, work)
    stores = PEERS["stores"]()
    per_file: dict[str, dict[int, float]] = {}
    for count in counts:
        print(f"scale: {count} files", flush=True)
        tree = make_tree(work / f"scale-{count}", count, 1024)
        url = _seed(s3, tree)
        stores_exe = stores.copy("x", "y")[0]
        aws = PEERS["aws"]() if available("aws") else None
        ls_ours = lambda: run_process([stores_exe, "ls", "-r", "-q", "-o", "json", url], s3.env).seconds  # noqa: E731
        peers_ls = {}
        if aws is not None:
            aws_exe = aws.sync("x", "y")[0]
            peers_ls["aws"] = lambda: run_process([aws_exe, "s3", "ls", "--recursive", url], s3.env).seconds  # noqa: E731
        o, *ps = interleaved(rounds, ls_ours, *peers_ls.values())
        for name, p in zip(peers_ls, ps):
            row(f"list {count} keys vs {name}", "stores ls -r (process)", f"{name} s3 ls --recursive", o, p,
                note=f"{o.median / count * 1e6:.0f} us/key")
        mem = {t.name: Sample() for t in s3.tools}
        # no-op sync: the tree against the bucket it was seeded into (every tool sees "nothing to send")
        samples = interleaved(rounds, *[s3.sync(t, str(tree), url, mem[t.name]) for t in s3.tools])
        by_name = dict(zip([t.name for t in s3.tools], samples))
        for name, sample in by_name.items():
            per_file.setdefault(name, {})[count] = sample.median / count
        o = by_name["stores"]
        base = per_file["stores"][counts[0]]
        for name, p in by_name.items():
            if name == "stores":
                continue
            row(f"no-op sync {count} files vs {name}", "stores sync (process)", name, o, p,
                target=">= 3x aws" if name == "aws" else ">= peer", met=p.median / o.median >= (3 if name == "aws" else 1),
                note=f"ours {o.median / count * 1e6:.0f} us/file ({o.median / count / base:.2f}x the {counts[0]}-file cost)")
        row(f"no-op sync {count} files peak memory", "stores sync ru_maxrss", "aws ru_maxrss", mem["stores"],
            mem.get("aws", mem["stores"]), unit="MB",
            target="< 200 MB at 100k" if count >= 100_000 else "", met=mem["stores"].median < 200 if count >= 100_000 else None)
        server.empty_bucket(url.split("/")[2])
        shutil.rmtree(tree, ignore_errors=True)
