"""Benchmark (not a test): rendering cost by number of connections, and the CLI's cold start.

    .venv/bin/python bench/render_bench.py [--runs 5] [--cli-runs 10] [--sizes 1,100,1000,10000]

1. In-process: ``render_patch`` + ``to_dict()`` for 1, 100, 1000 and 10000 mixed connections
   (host_path, volume_claim, s3, gcs, wasb; the buckets with mounted secrets, some with keyed
   items), median of ``--runs`` runs each, plus the per-connection cost, which must stay flat
   (rendering is linear: every duplicate check is one dict pass).
2. Cold wall time of ``stores render`` on the bundled example next to ``stores --help``, median of
   ``--cli-runs`` fresh interpreters each.

``render_bench.py --serve MAX`` is the worker ``run_all.py`` interleaves with Polyaxon's converter.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from k8s import render_patch  # noqa: E402
from stores.catalog import Catalog  # noqa: E402
from stores.contract.runinfo import RunInfo  # noqa: E402


def connection(i: int) -> dict:
    name = f"c{i}"
    kind = ("host_path", "volume_claim", "s3", "gcs", "wasb")[i % 5]
    if kind == "host_path":
        return {"name": name, "kind": kind, "schema": {"hostPath": f"/mnt/{name}", "mountPath": f"/data/{name}", "readOnly": True}}
    if kind == "volume_claim":
        return {"name": name, "kind": kind, "schema": {"volumeClaim": f"pvc-{name}", "mountPath": f"/data/{name}", "subPath": "x"}}
    bucket = {"s3": f"s3://b-{name}", "gcs": f"gs://b-{name}", "wasb": f"wasbs://b-{name}@acct.blob.core.windows.net/"}[kind]
    if kind == "wasb":
        # keyed items: one secretKeyRef env var each (names made unique per connection)
        secret = {"name": f"sec-{name}", "items": [f"AZ_{name.upper()}_NAME", f"AZ_{name.upper()}_KEY"]}
    else:
        # every GCS connection shares one key so GOOGLE_APPLICATION_CREDENTIALS has one source
        secret_name = "gcs-shared" if kind == "gcs" else f"sec-{name}"
        secret = {"name": secret_name, "items": [{"key": "key.json", "path": "key.json"}], "mountPath": f"/plx-secrets/{name}"}
    return {"name": name, "kind": kind, "schema": {"bucket": bucket}, "secret": secret}


def catalog_of(n: int) -> Catalog:
    return Catalog.from_values({"connections": [connection(i) for i in range(n)]})


def _median_render(n: int, run: RunInfo, runs: int, collect: bool) -> tuple[float, dict]:
    """A fresh catalog of ``n`` connections per run (validated before the clock starts)."""
    times = []
    out: dict = {}
    for _ in range(runs):
        catalog = catalog_of(n)
        gc.collect()
        if not collect:
            gc.disable()
        try:
            t0 = time.perf_counter()
            out = render_patch(catalog, None, run).to_dict()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return statistics.median(times), out


def bench_render(sizes: list[int], runs: int) -> None:
    """With the garbage collector on (what callers get) and off: the collector's full passes
    grow with the number of live objects, so only the second column shows the algorithm."""
    run = RunInfo(uuid="bench")
    print(f"render_patch + to_dict, median of {runs} runs")
    print(f"{'connections':>12} {'median s':>10} {'us/conn':>9} {'gc off s':>10} {'us/conn':>9} {'volumes':>8} {'env':>6}")
    for n in sizes:
        med, out = _median_render(n, run, runs, collect=True)
        med_off, _ = _median_render(n, run, runs, collect=False)
        main = out["spec"]["containers"][0]
        print(
            f"{n:>12} {med:>10.4f} {med / n * 1e6:>9.1f} {med_off:>10.4f} {med_off / n * 1e6:>9.1f} "
            f"{len(out['spec'].get('volumes', [])):>8} {len(main.get('env', [])):>6}"
        )


def _wall(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "stores", *args], capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"stores {' '.join(args)} failed: {res.stderr.decode()}")
    return statistics.median(times)


def bench_cli(runs: int) -> None:
    print(f"\ncold wall time, median of {runs} fresh interpreters")
    for args in (["--help"], ["render"]):
        print(f"  stores {' '.join(args):<8} {_wall(args, runs):.3f} s")


def serve(max_n: int) -> None:
    """Line-protocol worker for ``run_all.py`` (``_common.Worker``): parses ``max_n`` connections
    once, prints ``{"ready": ...}``, then for each line ``N`` validates a catalog of the first N
    and times one ``render_patch`` + ``to_dict()`` of it (garbage collector on, as callers get
    it), and prints a JSON line."""
    import json

    conns = [connection(i) for i in range(max_n)]
    run = RunInfo(uuid="bench")
    render_patch(Catalog.from_values({"connections": conns[:1]}), None, run).to_dict()  # first-call costs
    print(json.dumps({"ready": True, "connections": conns}), flush=True)
    for line in sys.stdin:
        n = int(line)
        # a catalog validated afresh for every render (not timed): what a connection model
        # works out once and keeps (it is frozen) does not carry over from the previous render
        catalog = Catalog.from_values({"connections": conns[:n]})
        gc.collect()
        t0 = time.perf_counter()
        out = render_patch(catalog, None, run).to_dict()
        seconds = time.perf_counter() - t0
        main_c = out["spec"]["containers"][0]
        print(json.dumps({"n": n, "seconds": seconds, "volumes": len(out["spec"].get("volumes", [])),
                          "env": len(main_c.get("env", []))}), flush=True)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        return serve(int(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=10)
    parser.add_argument("--sizes", default="1,100,1000,10000")
    args = parser.parse_args()
    bench_render([int(s) for s in args.sizes.split(",")], args.runs)
    bench_cli(args.cli_runs)


if __name__ == "__main__":
    main()
