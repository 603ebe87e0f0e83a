"""Every benchmark next to its peer, in one run: one table, and ``bench-results.json``.

    bash bench/run.sh            # sets up .venv and Polyaxon's venv, then runs this
    .venv/bin/python bench/run_all.py [--rounds N] [--transfer-rounds N] [--out FILE]

Every figure is the median of several runs; ours and the peer's runs are interleaved (each
round runs every tool once, the first tool rotating), so a ratio compares runs taken under the
same load.  ``ratio`` is always *peer / ours*: above 1 means ours is faster (or, for memory,
smaller); for the "server ceiling" row it is the share of the ceiling's throughput we reach.

Cases (what is timed):

- in-run lookup: ``python -c "import stores.run; stores.run.get_data_paths()"`` as a whole process,
  against ``python -c pass`` and Polyaxon 2.18's ``import polyaxon.tracking`` (its own venv).
- render N: ``render_patch(...).to_dict()`` in-process for N mixed connections, against Polyaxon's
  converter (``get_pod_volumes`` + the main container's mounts/env/envFrom, serialised); two
  long-lived workers answering one size at a time (``render_bench.py --serve``,
  ``polyaxon_render.py``).
- CLI cold start: ``stores render`` on the bundled example against ``stores --help``.
- small files / large file / no-op sync: against ``moto_server`` run as its own process;
  ``transfer_bench.py`` (timed in-process, after imports) for ours, s3fs and the raw boto3
  ceiling; ``stores cp`` / ``stores sync`` against ``aws s3 sync`` as whole processes.
  Peak memory is each client process's own ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import ROOT, VENV_BIN, MotoServer, Sample, Worker, clean_env, fmt, interleaved, print_table, run_process, spread  # noqa: E402
from inrun_import import LOOKUP, lookup_env  # noqa: E402

PY = sys.executable
POLYAXON_PY = ROOT / ".bench" / "polyaxon-venv" / "bin" / "python"
SIZES = (1, 100, 1000, 10000)

ROWS: list[dict[str, Any]] = []


def row(case: str, ours: str, peer: str, o: Sample, p: Sample, unit: str = "s",
        target: str = "", met: bool | None = None, ratio: float | None = None, note: str = "") -> None:
    ratio = p.median / o.median if ratio is None else ratio
    ROWS.append({
        "case": case, "ours": ours, "peer": peer, "unit": unit,
        "ours_median": o.median, "peer_median": p.median, "ratio": ratio,
        "ours_spread": [min(o.values), max(o.values)], "peer_spread": [min(p.values), max(p.values)],
        "ours_runs": o.values, "peer_runs": p.values, "target": target, "met": met, "note": note,
        # the printed table's cells
        "_ours": fmt(o.median, unit), "_peer": fmt(p.median, unit), "_ratio": f"{ratio:.2f}x",
        "_os": spread(o, unit), "_ps": spread(p, unit),
        "_target": target + ("" if met is None else (": met" if met else ": MISSED")),
    })
    print(f"  {case}: ours {fmt(o.median, unit)}, {peer} {fmt(p.median, unit)}, ratio {ratio:.2f}", flush=True)


def proc(cmd: list[str], env: dict[str, str]) -> Callable[[], float]:
    return lambda: run_process(cmd, env).seconds


# ---- cases ---------------------------------------------------------------------------------------


def bench_inrun(rounds: int) -> None:
    print("in-run lookup", flush=True)
    env = lookup_env()
    ours = [PY, "-c", LOOKUP]
    bare = [PY, "-c", "pass"]
    poly = [str(POLYAXON_PY), "-c", "import polyaxon.tracking"]
    for cmd in (ours, bare, poly):
        run_process(cmd, env)  # warm the file cache
    o, b, p = interleaved(rounds, proc(ours, env), proc(bare, env), proc(poly, env))
    delta = (o.median - b.median) * 1000
    row("in-run lookup vs bare python", "import stores.run + lookup (process)", "python -c pass", o, b,
        target="within 5 ms of bare", met=delta <= 5.0, note=f"difference {delta:.1f} ms")
    row("in-run lookup vs polyaxon.tracking", "import stores.run + lookup (process)", "import polyaxon.tracking (2.18)", o, p)


def bench_render(rounds: int, sizes: tuple[int, ...]) -> None:
    print("render", flush=True)
    ours = Worker([PY, str(HERE / "render_bench.py"), "--serve", str(max(sizes))])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(ours.ready["connections"], fh)  # the very same connections for the peer
    try:
        peer = Worker([str(POLYAXON_PY), str(HERE / "polyaxon_render.py"), fh.name])
        try:
            results: dict[int, tuple[Sample, Sample]] = {}
            for n in sizes:
                o, p = interleaved(rounds, lambda: ours.ask(n)["seconds"], lambda: peer.ask(n)["seconds"])
                results[n] = (o, p)
        finally:
            peer.close()
    finally:
        ours.close()
        os.unlink(fh.name)
    per_conn = {n: o.median / n for n, (o, _) in results.items()}
    for n, (o, p) in results.items():
        target, met, note = "", None, f"{per_conn[n] * 1e6:.0f} us/connection"
        if n == 1000:
            target, met = ">= 5x faster than Polyaxon", p.median / o.median >= 5
        if n == max(sizes) and 1000 in per_conn:
            growth = per_conn[n] / per_conn[1000]
            target, met = "linear to 10000 (us/conn within 1.5x of 1000's)", growth <= 1.5
            note += f"; {growth:.2f}x the per-connection cost at 1000"
        row(f"render {n} connections", "render_patch + to_dict", "Polyaxon converter", o, p, target=target, met=met, note=note)


def bench_cli(rounds: int) -> None:
    print("CLI cold start", flush=True)
    env = clean_env()
    stores = str(VENV_BIN / "stores")
    render, help_ = [stores, "render"], [stores, "--help"]
    run_process(render, env)
    o, p = interleaved(rounds, proc(render, env), proc(help_, env))
    row("CLI cold start", "stores render (bundled example)", "stores --help", o, p,
        target="stores render under 1 s", met=o.median < 1.0)


def make_tree(root: Path, count: int, size: int) -> Path:
    for i in range(count):
        d = root / f"d{i % 10:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(size))
    return root


class S3Bench:
    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.env = clean_env(**server.env())
        self.n = 0

    def fresh(self) -> str:
        """A fresh, empty destination: a new bucket (after emptying the previous one, so moto's
        memory stays flat through the large-file runs; its ``/moto-api/reset`` under load made
        it answer 500 for a while)."""
        if self.n:
            self.server.empty_bucket(f"bench-{self.n}")
        self.n += 1
        bucket = f"bench-{self.n}"
        self.server.create_bucket(bucket)
        return f"s3://{bucket}/data"

    def inproc(self, tool: str, src: Path, mem: Sample | None = None, threads: int | None = None) -> Callable[[], float]:
        def go() -> float:
            url = self.fresh()
            cmd = [PY, str(HERE / "transfer_bench.py"), tool, str(src), url] + ([str(threads)] if threads else [])
            res = run_process(cmd, self.env)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return json.loads(res.stdout)["seconds"]
        return go

    def cli(self, cmd: list[str], src: Path, mem: Sample | None = None) -> Callable[[], float]:
        def go() -> float:
            url = self.fresh() + "/"
            res = run_process([*cmd, str(src), url], self.env)
            if mem is not None:
                mem.add(res.maxrss_mb)
            return res.seconds
        return go


def bench_transfers(rounds: int, work: Path, small_count: int, large_mb: int) -> None:
    stores = str(VENV_BIN / "stores")
    aws = shutil.which("aws", path=str(VENV_BIN)) or "aws"
    stores_cp = [stores, "cp", "-q"]
    aws_sync = [aws, "s3", "sync", "--quiet", "--no-progress"]
    with MotoServer() as server:
        s3 = S3Bench(server)
        print(f"small files ({small_count} x 4 KiB)", flush=True)
        small = make_tree(work / "small", small_count, 4096)
        o, ceil, fs = interleaved(rounds, s3.inproc("ours", small), s3.inproc("ceiling", small), s3.inproc("s3fs", small))
        rate = ceil.median / o.median
        row("small files vs server ceiling", "upload() in-process", "raw boto3 put_object, 32 threads", o, ceil,
            target=">= 95% of the ceiling", met=rate >= 0.95,
            note=f"ours {small_count / o.median:.0f} files/s, ceiling {small_count / ceil.median:.0f} files/s")
        row("small files vs s3fs", "upload() in-process", "s3fs put(recursive=True)", o, fs)
        o, p = interleaved(rounds, s3.cli(stores_cp, small), s3.cli(aws_sync, small))
        row("small files vs aws (process)", "stores cp", "aws s3 sync", o, p)

        print("no-op sync", flush=True)
        url = s3.fresh() + "/"
        run_process([stores, "sync", "-q", str(small), url], s3.env)
        aws_url = url.rstrip("/") + "-aws/"
        run_process([*aws_sync, str(small), aws_url], s3.env)
        o, p = interleaved(rounds + 2, proc([stores, "sync", "-q", str(small), url], s3.env),
                           proc([*aws_sync, str(small), aws_url], s3.env))
        row("no-op sync (1000 files)", "stores sync (process)", "aws s3 sync (process)", o, p,
            target=">= 3x faster than aws", met=p.median / o.median >= 3)

        print(f"large file (1 x {large_mb} MiB)", flush=True)
        large = work / "large"
        large.mkdir()
        with open(large / "big.bin", "wb") as fh:
            for _ in range(large_mb):
                fh.write(os.urandom(1 << 20))
        big = large / "big.bin"
        om, pm, fm, cm = Sample(), Sample(), Sample(), Sample()
        o, p, fs, oc = interleaved(rounds, s3.cli(stores_cp, big, om), s3.cli(aws_sync, large, pm),
                                   s3.inproc("s3fs", big, fm), s3.inproc("ours", big, cm))
        row(f"large file vs aws (process)", f"stores cp ({large_mb} MiB)", "aws s3 sync", o, p,
            target="at least as fast as aws", met=p.median / o.median >= 1.0,
            note=f"{large_mb / o.median:.0f} MiB/s vs {large_mb / p.median:.0f} MiB/s")
        row("large file peak memory", "stores cp ru_maxrss", "aws s3 sync ru_maxrss", om, pm, unit="MB",
            target="< 150 MB", met=om.median < 150)
        row("large file vs s3fs", "upload() in-process", "s3fs put", oc, fs)
        row("large file peak memory vs s3fs", "upload() process ru_maxrss", "s3fs put process ru_maxrss", cm, fm, unit="MB")


# ---- main ------------------------------------------------------------------------------------------


COLUMNS = [("case", "case"), ("_ours", "ours (median)"), ("peer", "peer"), ("_peer", "peer (median)"),
           ("_ratio", "ratio peer/ours"), ("_os", "ours min..max"), ("_ps", "peer min..max"),
           ("_target", "target"), ("note", "note")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs per figure for the quick cases (default 7)")
    parser.add_argument("--transfer-rounds", type=int, default=3, help="runs per figure for transfers (default 3)")
    parser.add_argument("--small-files", type=int, default=1000)
    parser.add_argument("--large-mb", type=int, default=256)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--only", default="inrun,render,cli,transfers", help="comma-separated subset")
    parser.add_argument("--out", default=str(ROOT / "bench-results.json"))
    args = parser.parse_args()
    if not POLYAXON_PY.exists():
        raise SystemExit(f"{POLYAXON_PY} is missing: run `bash bench/run.sh`, which creates it")
    only = set(args.only.split(","))
    start = time.monotonic()
    if "inrun" in only:
        bench_inrun(args.rounds * 2)
    if "render" in only:
        bench_render(args.rounds, tuple(int(s) for s in args.sizes.split(",")))
    if "cli" in only:
        bench_cli(args.rounds * 2)
    if "transfers" in only:
        work = Path(tempfile.mkdtemp(prefix="stores-bench-"))
        try:
            bench_transfers(args.transfer_rounds, work, args.small_files, args.large_mb)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - start
    print()
    print_table(ROWS, COLUMNS)
    result = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "seconds": elapsed,
        "rounds": args.rounds, "transfer_rounds": args.transfer_rounds,
        "ratio": "peer median / ours median (above 1: ours faster or smaller)",
        "cases": [{k: v for k, v in r.items() if not k.startswith("_")} for r in ROWS],
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{len(ROWS)} rows in {elapsed:.0f} s; written to {args.out}")


if __name__ == "__main__":
    main()
