"""The sidecar's last flush: ``stores sync --watch`` on a directory a writer keeps filling, sent
SIGTERM at a random moment.  Every file the writer *finished* (wrote under a temporary name,
then renamed) before the signal must be in the store once the sidecar has exited.

Long mode (by hand; counts go in the report)::

    .venv/bin/python -m tools.reliability.sidecar --rounds 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Writer", "FlushRound", "flush_round"]

ROOT = Path(__file__).resolve().parents[2]


class Writer(threading.Thread):
    """Writes files into ``root``: each to a temporary name first, then renamed, so a file is
    either absent or complete under its final name.  ``finished`` maps name -> (bytes, when)."""

    def __init__(self, root: Path, rng: random.Random, pause: float = 0.01):
        super().__init__(daemon=True)
        self.root = root
        self.rng = rng
        self.pause = pause
        self.finished: dict[str, tuple[bytes, float]] = {}
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            sub = self.rng.choice(["", "logs/", "ckpt/", "ckpt/step/"])
            name = f"{sub}out-{i:05d}.bin"
            data = self.rng.randbytes(self.rng.choice([0, 10, 1000, 30_000, self.rng.randrange(300_000)]))
            final = self.root / name
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.partial")
            with open(tmp, "wb") as fh:
                # written in pieces, so a sync may well catch it half-written
                for start in range(0, len(data), 8192):
                    fh.write(data[start:start + 8192])
                    fh.flush()
            os.replace(tmp, final)
            with self._lock:
                self.finished[name] = (data, time.monotonic())
            i += 1
            time.sleep(self.rng.uniform(0, self.pause))

    def finished_before(self, moment: float) -> dict[str, bytes]:
        with self._lock:
            return {k: d for k, (d, t) in self.finished.items() if t < moment}


@dataclass
class FlushRound:
    signalled_after: float
    exit_code: int
    finished_before_signal: int
    missing: list[str]
    wrong: list[str]
    stderr: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def flush_round(src: Path, dst_spec: str, read_store: Callable[[], dict[str, bytes]], rng: random.Random,
                env: dict[str, str] | None = None, delay: tuple[float, float] = (0.0, 2.0),
                interval: float = 0.3, ready_first: bool = True, pause: float = 0.01,
                is_ready: Callable[[], bool] | None = None) -> FlushRound:
    """One sidecar life: start it and the writer, SIGTERM the sidecar after a random delay, wait
    for it to exit, then compare the store (``read_store()``: key -> bytes) with what the writer
    had finished before the signal.  ``ready_first``: the random delay starts once the sidecar's
    first pass has copied ``ready.txt``; without it, from the process start."""
    src.mkdir(parents=True, exist_ok=True)
    (src / "ready.txt").write_bytes(b"ready")
    writer = Writer(src, rng, pause)
    is_ready = is_ready or (lambda: "ready.txt" in read_store())
    cmd = [sys.executable, "-m", "stores", "sync", str(src), dst_spec, "--watch", "--interval", str(interval),
           "--retries", "1", "-q"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})
    writer.start()
    if ready_first:
        # the first pass has landed: the sidecar is past its start-up (an interpreter still
        # starting cannot have a handler yet; see the report)
        while not is_ready() and proc.poll() is None and time.monotonic() - started < 60:
            time.sleep(0.02)
    ready = time.monotonic() - started
    wait = rng.uniform(*delay)
    time.sleep(wait)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        writer.stop.set()
        writer.join()
    expected = writer.finished_before(signalled)
    expected["ready.txt"] = b"ready"
    stored = read_store()
    missing = sorted(k for k in expected if k not in stored)
    wrong = sorted(k for k in expected if k in stored and stored[k] != expected[k])
    return FlushRound(wait, proc.returncode, len(expected), missing, wrong, stderr[-2000:], {"ready_after": round(ready, 2)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/stores-sidecar")
    args = parser.parse_args(argv)
    work = Path(args.workdir)
    rng = random.Random(args.seed)
    rounds = []
    for i in range(args.rounds):
        dst = work / f"r{i}-store"

        def read(dst: Path = dst) -> dict[str, bytes]:
            return {p.relative_to(dst).as_posix(): p.read_bytes() for p in dst.rglob("*") if p.is_file()}

        r = flush_round(work / f"r{i}-src", str(dst), read, rng)
        rounds.append(r)
        print(json.dumps({k: v for k, v in r.__dict__.items() if k != "stderr"}), file=sys.stderr, flush=True)
    report = {
        "rounds": len(rounds),
        "files_finished_before_signal": sum(r.finished_before_signal for r in rounds),
        "missing": sum(len(r.missing) for r in rounds),
        "wrong": sum(len(r.wrong) for r in rounds),
        "exit_codes": sorted({r.exit_code for r in rounds}),
    }
    print(json.dumps(report, indent=2))
    return 1 if report["missing"] or report["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
