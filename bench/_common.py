"""What the benchmark scripts share: timing a process (wall time, peak memory), line-protocol
workers (so two long-lived processes can take turns), moto's S3 server as a separate process,
medians with their spread, and the results table.  Standard library only."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
#: where ``stores`` is installed as users install it (a wheel; ``bench/run.sh`` makes it): the
#: development venv's editable install adds an import hook to every start (12 ms measured), which
#: no user has; without it, the development venv
_INSTALLED = ROOT / ".bench" / "stores-venv" / "bin"
STORES_BIN = _INSTALLED if (_INSTALLED / "stores").exists() else VENV_BIN


# ---- processes ---------------------------------------------------------------------------------


@dataclass
class ProcResult:
    seconds: float
    maxrss_mb: float
    stdout: str


def run_process(cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | str = ROOT,
                check: bool = True) -> ProcResult:
    """Run ``cmd`` to completion: wall time and the child's own peak RSS (``wait4``'s
    ``ru_maxrss``, so other children do not count)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=dict(env) if env is not None else None, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # read both pipes without deadlocking, then reap the child ourselves to get its rusage
    import threading

    chunks: dict[str, bytes] = {}

    def drain(name: str, pipe: Any) -> None:
        chunks[name] = pipe.read()

    threads = [threading.Thread(target=drain, args=(n, p)) for n, p in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{chunks['err'].decode(errors='replace')[-3000:]}")
    return ProcResult(seconds, usage.ru_maxrss / 1024, chunks["out"].decode(errors="replace"))


def wall(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    return run_process(cmd, env).seconds


class Worker:
    """A long-lived process speaking one JSON line per request (``polyaxon_render.py``,
    ``render_bench.py --serve``): it prints ``{"ready": ...}`` once, then answers each line."""

    def __init__(self, cmd: Sequence[str], env: Mapping[str, str] | None = None):
        self.cmd = list(cmd)
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=dict(env) if env is not None else None, cwd=ROOT, bufsize=1)
        self.ready = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"worker {' '.join(self.cmd)} exited with {self.proc.wait()} (its stderr is above)")
        return json.loads(line)

    def ask(self, request: Any) -> dict:
        self.proc.stdin.write(f"{request}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any run/store context, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "STORES_", "AWS_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


# ---- moto's S3 server as its own process --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> bool:
    """Whether the server ``proc`` answers ``url`` (any HTTP status) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


class MotoServer:
    """``moto_server -H 127.0.0.1 -p PORT`` in a separate process (DESIGN.md: the S3 server
    benchmarks run against)."""

    def __init__(self) -> None:
        exe = shutil.which("moto_server", path=str(VENV_BIN)) or shutil.which("moto_server")
        if exe is None:
            raise SystemExit("moto_server not found: install the test extras (pip install -e '.[test]')")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        if not wait_http(self.url + "/moto-api/", self.proc):
            self.stop()
            raise SystemExit(f"moto_server did not start at {self.url}")

    def env(self) -> dict[str, str]:
        # moto accepts any key pair; placeholders, not secrets
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_ENDPOINT_URL": self.url, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}

    def reset(self) -> None:
        """Drop every bucket (``POST /moto-api/reset``): the large-file runs would fill memory."""
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).close()

    def client(self) -> Any:
        import boto3

        env = self.env()
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_REGION"])

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def empty_bucket(self, name: str) -> None:
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "MotoServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- figures -----------------------------------------------------------------------------------


@dataclass
class Sample:
    """Several runs of one measurement (seconds, or MB for memory)."""

    values: list[float] = field(default_factory=list)

    def add(self, v: float) -> None:
        self.values.append(v)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def as_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": min(self.values), "max": max(self.values), "runs": self.values}


def interleaved(runs: int, *measures: Any) -> list[Sample]:
    """Call each measure once per round, rotating which goes first, ``runs`` rounds."""
    samples = [Sample() for _ in measures]
    for r in range(runs):
        order = list(range(len(measures)))
        k = r % len(order)
        for i in order[k:] + order[:k]:
            samples[i].add(measures[i]())
    return samples


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.3g} {unit}"


def spread(s: Sample, unit: str) -> str:
    return f"{fmt(min(s.values), unit)}..{fmt(max(s.values), unit)}"


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    rows = list(rows)
    widths = [max(len(title), *(len(str(r.get(key, ""))) for r in rows)) for key, title in columns]
    line = "| " + " | ".join(t.ljust(w) for (_, t), w in zip(columns, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")).ljust(w) for (k, _), w in zip(columns, widths)) + " |")


# ---- the results table: one row per case, shared by every case module --------------------------

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


