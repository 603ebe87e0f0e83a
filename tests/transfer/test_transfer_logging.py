"""Transfers report through fsspec callbacks and stdlib logging: any ``fsspec.callbacks.Callback``
(tqdm's too) is told the bytes; off a terminal a progress line is logged every ``interval``
seconds; retries, skips, breaker trips and deletions are log records of ``stores.transfer``, with
no secret value in them; the package configures no logging by itself."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fsspec.callbacks import Callback, TqdmCallback

from stores.credentials import Credentials
from stores.errors import TransferError
from stores.handles import local_store
from stores.logs import configure, reset
from stores.progress import Progress
from stores.settings import LogSettings
from stores.transfer import Hooks, TransferOptions, copy, sync, upload

SECRET = "s3cr3t-value-9f8e7d6c"


@pytest.fixture(autouse=True)
def _logging_reset():
    reset()
    yield
    reset()


def _tree(root: Path, n: int = 3, size: int = 1000) -> int:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i}.bin").write_bytes(bytes([i]) * size)
    return n * size


class Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[int] = []

    def call(self, *args, **kwargs) -> None:
        self.values.append(self.value)


def test_any_fsspec_callback_is_told_the_bytes(tmp_path: Path) -> None:
    total = _tree(tmp_path / "src", 4, 3000)
    cb = Recorder()
    result = copy(tmp_path / "src", tmp_path / "dst", progress=cb)
    assert result.count == 4
    assert cb.size == total and cb.value == total
    assert cb.values == sorted(cb.values)  # it only went forward


def test_tqdm_works_through_its_fsspec_callback(tmp_path: Path) -> None:
    total = _tree(tmp_path / "src", 3, 5000)
    out = io.StringIO()
    with TqdmCallback(tqdm_kwargs={"file": out, "mininterval": 0, "desc": "upload"}) as cb:
        upload(tmp_path / "src", local_store(tmp_path / "dst"), progress=cb)
        assert cb.tqdm.total == total and cb.tqdm.n == total
    assert "upload" in out.getvalue() and "100%" in out.getvalue()


def test_a_callback_sees_bytes_taken_back_for_a_retry() -> None:
    cb = Recorder()
    bar = Progress(enabled=False, callback=cb)
    bar.add_total(1, 100)
    bar.advance(70)
    bar.rewind(70)  # the attempt failed: its bytes will be sent again
    bar.advance(100)
    assert cb.size == 100 and cb.values[-3:] == [70, 0, 100]


def _slow(delay: float) -> Hooks:
    def copy_file(key: str, size: int, send):
        time.sleep(delay)
        return send()

    return Hooks(copy_file=copy_file)


def test_off_a_terminal_progress_lines_come_every_interval(tmp_path: Path) -> None:
    _tree(tmp_path / "src", 6, 100)
    stream = io.StringIO()
    configure(LogSettings(format="json"), stream=stream)
    bar = Progress(stream=io.StringIO(), interval=0.1)  # not a terminal: lines, not a bar
    copy(tmp_path / "src", tmp_path / "dst", progress=bar, options=TransferOptions(workers=1, hooks=_slow(0.08)))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    progress = [d for d in lines if d["logger"] == "stores.progress"]
    assert len(progress) >= 2, lines
    assert all(d["time"].endswith("Z") and d["level"] == "info" and "files" in d["message"] for d in progress)
    assert progress[-1]["files_total"] == 6 and progress[-1]["bytes_total"] == 600
    assert [d["files_done"] for d in progress] == sorted(d["files_done"] for d in progress)


def test_text_progress_lines_carry_their_time_and_a_terminal_gets_none(tmp_path: Path) -> None:
    _tree(tmp_path / "src", 4, 100)
    stream = io.StringIO()
    configure(LogSettings(), stream=stream)
    copy(tmp_path / "src", tmp_path / "a", progress=Progress(stream=io.StringIO(), interval=0.05),
         options=TransferOptions(workers=1, hooks=_slow(0.06)))
    lines = stream.getvalue().splitlines()
    assert lines and all(line[:4].isdigit() and "Z " in line and " files " in line for line in lines), lines

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream.truncate(0)
    stream.seek(0)
    tty = Tty()
    copy(tmp_path / "src", tmp_path / "b", progress=Progress(stream=tty, interval=0.05),
         options=TransferOptions(workers=1, hooks=_slow(0.06)))
    assert stream.getvalue() == "" and "4/4 files" in tty.getvalue()  # the bar, not log lines
    # interval 0: no lines at all
    copy(tmp_path / "src", tmp_path / "c", progress=Progress(stream=io.StringIO(), interval=0),
         options=TransferOptions(workers=1, hooks=_slow(0.03)))
    assert stream.getvalue() == ""


def test_retries_are_logged_without_secrets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _tree(tmp_path / "src", 1)
    src = local_store(tmp_path / "src")
    src.credentials = Credentials("s3", {"secret_key": SECRET}, {"secret_key": "test"})
    calls = {"n": 0}

    def flaky(key: str, size: int, send):
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError(f"connection reset by https://admin:{SECRET}@store.example/x (key {SECRET})")
        return send()

    stream = io.StringIO()
    configure(LogSettings(level=logging.DEBUG, format="json"), stream=stream)
    copy(src, tmp_path / "dst", options=TransferOptions(retries=3, backoff=0.01, hooks=Hooks(copy_file=flaky)))
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    retries = [r for r in records if r["logger"] == "stores.transfer.retry"]
    assert [r["attempt"] for r in retries] == [2, 3]
    assert all(r["level"] == "warning" and "retrying f0.bin" in r["message"] for r in retries)
    assert SECRET not in stream.getvalue()
    assert any(r["message"].startswith("sent f0.bin") for r in records)  # DEBUG: each file


def test_a_tripped_breaker_and_failures_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _tree(tmp_path / "src", 6)

    def refused(key: str, size: int, send):
        raise ConnectionRefusedError("connection refused")

    caplog.set_level(logging.INFO, logger="stores")
    with pytest.raises(TransferError):
        copy(tmp_path / "src", tmp_path / "dst",
             options=TransferOptions(workers=1, retries=0, unreachable_after=2, hooks=Hooks(copy_file=refused)))
    trips = [r for r in caplog.records if r.name == "stores.transfer.retry" and "in a row" in r.getMessage()]
    assert len(trips) == 1 and "could not reach the store" in trips[0].getMessage()
    failed = [r for r in caplog.records if r.name == "stores.transfer" and r.getMessage().startswith("failed ")]
    assert len(failed) == 2


def test_skips_and_deletes_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _tree(tmp_path / "src", 1)
    os.mkfifo(tmp_path / "src" / "pipe")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "old.txt").write_text("old")
    caplog.set_level(logging.INFO, logger="stores")
    sync(tmp_path / "src", tmp_path / "dst", options=TransferOptions(delete=True))
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("stores.transfer", "INFO", "skipped pipe: a FIFO: not read") in messages
    assert ("stores.transfer", "INFO", "deleted old.txt") in messages


def test_importing_the_package_configures_no_logging() -> None:
    code = ("import logging, stores.transfer, stores.handles, stores.progress\n"
            "log = logging.getLogger('stores')\n"
            "print(log.handlers, log.level, log.propagate)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[] 0 True"


def test_progress_refuses_what_it_cannot_use() -> None:
    from stores.progress import as_progress

    with pytest.raises(TypeError, match="fsspec Callback"):
        as_progress("yes")
