"""Run the artifacts sidecar's command on your machine, against local folders.

In the pod, the sidecar runs

    stores sync /plx-context/artifacts/<uuid> artifacts:<uuid> --watch --interval 10

with POLYAXON_RUN_DATA_PATHS={"artifacts": "<the artifacts store's path or bucket URL>"}, so that
``artifacts`` names the store.  This script does the same with two local folders standing in
for the run's artifacts directory and the store: it starts the sync, writes files as a training
run would, stops the sync with SIGTERM (what Kubernetes sends when the pod ends) and checks that
every file reached the store, including the one written just before the stop.

    python3 examples/sync-sidecar/run_locally.py [WORKDIR]

Needs fsspec (``pip install ".[s3]"`` brings it, as does any bucket extra).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = "5f2a9c0e7b6d4c1a8e3f2b1a0c9d8e7f"


def stores_command() -> list[str]:
    exe = shutil.which("stores")
    return [exe] if exe else [sys.executable, "-m", "stores"]


def main(workdir: Path) -> int:
    artifacts = workdir / "run-artifacts"  # /plx-context/artifacts/<uuid> in the pod
    store = workdir / "artifacts-store"  # the artifacts store (a claim, or a bucket)
    (artifacts / "outputs").mkdir(parents=True, exist_ok=True)
    store.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "POLYAXON_RUN_DATA_PATHS": json.dumps({"artifacts": str(store)})}
    cmd = [*stores_command(), "sync", str(artifacts), f"artifacts:{RUN}", "--watch", "--interval", "1"]
    print("sidecar:", " ".join(["stores", *cmd[len(stores_command()):]]).replace(str(workdir) + os.sep, ""))
    sidecar = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for step in range(3):
            (artifacts / "outputs" / f"checkpoint-{step}.txt").write_text(f"step {step}\n")
            time.sleep(1.5)
        (artifacts / "outputs" / "final.txt").write_text("done\n")  # written just before the end
        sidecar.send_signal(signal.SIGTERM)
        _, err = sidecar.communicate(timeout=60)
    finally:
        if sidecar.poll() is None:
            sidecar.kill()
    print("sidecar exit code:", sidecar.returncode)
    synced = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
    for key in synced:
        print("in the store:", key)
    expected = [f"{RUN}/outputs/{n}" for n in ("checkpoint-0.txt", "checkpoint-1.txt", "checkpoint-2.txt", "final.txt")]
    if sidecar.returncode != 0 or synced != expected:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1]).resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
