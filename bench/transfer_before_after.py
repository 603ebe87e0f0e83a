"""Transfers of two checkouts of this repository, interleaved against one moto server (a script,
not a test): the before/after figure a change to the transfer engine must report.

    .venv/bin/python bench/transfer_before_after.py BEFORE_DIR AFTER_DIR [ROUNDS] [CASES]

BEFORE_DIR / AFTER_DIR are checkouts (``git worktree add /tmp/base <rev>``); each timing runs
``transfer_bench.py`` with that checkout first on ``PYTHONPATH`` (imports done before the clock
starts).  CASES is a comma list of ``small-upload`` (1000 x 4 KiB), ``large-upload`` (one
128 MiB file) and ``noop-sync`` (a second sync of the 1000 files, nothing to send); the order of
the two checkouts alternates every round.  Prints each timing and, per case, the medians and
the after/before ratio.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE / "transfer_bench.py"
ALL_CASES = ("small-upload", "large-upload", "noop-sync")


def _data(work: Path) -> tuple[Path, Path]:
    small, large = work / "small", work / "large"
    if not small.is_dir():
        for i in range(1000):
            d = small / f"d{i % 20}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i}.bin").write_bytes(os.urandom(4096))
        large.mkdir(parents=True)
        (large / "big.bin").write_bytes(os.urandom(128 * 1024 * 1024))
    return small, large


def main() -> int:
    before, after = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    cases = sys.argv[4].split(",") if len(sys.argv) > 4 else list(ALL_CASES)
    small, large = _data(Path(tempfile.gettempdir()) / "stores-before-after")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="k",
                          aws_secret_access_key="s", region_name="us-east-1")
    sources = {"small-upload": (small, "ours"), "large-upload": (large, "ours"), "noop-sync": (small, "ours-sync")}
    times: dict[tuple[str, str], list[float]] = {}
    n = 0
    try:
        for r in range(rounds):
            for case in cases:
                src, tool = sources[case]
                order = [("before", before), ("after", after)]
                if r % 2:
                    order.reverse()
                for label, root in order:
                    n += 1
                    bucket = f"bench-{n:04d}"
                    client.create_bucket(Bucket=bucket)
                    run_env = {**env, "PYTHONPATH": root}
                    if case == "noop-sync":  # the first sync fills the bucket; the second is timed
                        subprocess.run([sys.executable, str(BENCH), tool, str(src), f"s3://{bucket}/p"],
                                       env=run_env, check=True, capture_output=True)
                    out = subprocess.run([sys.executable, str(BENCH), tool, str(src), f"s3://{bucket}/p"],
                                         env=run_env, check=True, capture_output=True, text=True).stdout
                    seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
                    times.setdefault((case, label), []).append(seconds)
                    print(case, label, round(seconds, 3), flush=True)
    finally:
        moto.terminate()
    for case in cases:
        b, a = statistics.median(times[(case, "before")]), statistics.median(times[(case, "after")])
        print(f"{case}: before median {b:.3f}s, after median {a:.3f}s, after/before {a / b:.3f} (n={rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
