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
- engines: the same commands with the native client and with ``STORES_ENGINE=fsspec``, on S3
  (moto) and Azure (Azurite), ``engine_cases.py``.
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

from _common import ROOT, ROWS, STORES_BIN, VENV_BIN, MotoServer, Sample, Worker, clean_env, interleaved, print_table, proc, row, run_process  # noqa: E402
from inrun_import import LOOKUP, lookup_env  # noqa: E402
from engine_cases import bench_engines  # noqa: E402
from transfer_cases import bench_downloads, bench_scale, bench_uploads  # noqa: E402

PY = sys.executable
POLYAXON_PY = ROOT / ".bench" / "polyaxon-venv" / "bin" / "python"
SIZES = (1, 100, 1000, 10000)

# ---- cases ---------------------------------------------------------------------------------------


def bench_inrun(rounds: int) -> None:
    print("in-run lookup", flush=True)
    env = lookup_env()
    py = str(STORES_BIN / "python")  # a regular install, as in a run's image
    ours = [py, "-c", LOOKUP]
    bare = [py, "-c", "pass"]
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
            target, met = "t(10000)/t(1000) <= 11 (linear)", growth <= 1.1
            note += f"; {growth:.2f}x the per-connection cost at 1000"
        row(f"render {n} connections", "render_patch + to_dict", "Polyaxon converter", o, p, target=target, met=met, note=note)


def bench_cli(rounds: int) -> None:
    print("CLI cold start", flush=True)
    env = clean_env()
    stores = str(STORES_BIN / "stores")
    render, help_ = [stores, "render"], [stores, "--help"]
    run_process(render, env)
    o, p = interleaved(rounds, proc(render, env), proc(help_, env))
    row("CLI cold start", "stores render (bundled example)", "stores --help", o, p,
        target="stores render under 1 s", met=o.median < 1.0)


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
    parser.add_argument("--only", default="inrun,render,cli,uploads,downloads,scale,engines",
                        help="comma-separated subset")
    parser.add_argument("--scale", default="1000,10000",
                        help="file counts of the scale case, the first is the base (100000 by hand: minutes)")
    parser.add_argument("--peers", default="", help="comma-separated transfer peers (aws, s5cmd, rclone); "
                        "default: every installed one (the 100,000-file scale case by hand: rclone alone takes "
                        "minutes per no-op sync there)")
    parser.add_argument("--out", default=str(ROOT / "bench-results.json"))
    args = parser.parse_args()
    if not POLYAXON_PY.exists():
        raise SystemExit(f"{POLYAXON_PY} is missing: run `bash bench/run.sh`, which creates it")
    only = set(args.only.split(","))
    if args.peers:
        import peers

        peers.SELECTED = set(args.peers.split(","))
    start = time.monotonic()
    if "inrun" in only:
        bench_inrun(args.rounds * 2)
    if "render" in only:
        bench_render(args.rounds, tuple(int(s) for s in args.sizes.split(",")))
    if "cli" in only:
        bench_cli(args.rounds * 2)
    if only & {"uploads", "downloads", "scale", "engines"}:
        work = Path(tempfile.mkdtemp(prefix="stores-bench-"))
        try:
            with MotoServer() as server:
                if "uploads" in only:
                    bench_uploads(args.transfer_rounds, work, args.small_files, args.large_mb, server)
                if "downloads" in only:
                    bench_downloads(args.transfer_rounds, work, args.small_files, args.large_mb, server)
                if "scale" in only:
                    bench_scale(args.transfer_rounds, work, tuple(int(c) for c in args.scale.split(",")), server)
                if "engines" in only:
                    bench_engines(args.transfer_rounds, work, args.small_files, server)
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
