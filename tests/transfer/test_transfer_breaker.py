"""The transfer circuit breaker: after ``unreachable_after`` files in a row failed to reach the
store (connection refused/reset, timeouts), no new file is started and the TransferError says the
store looks unreachable.  Here the copy of each file is replaced by a fake (``Hooks.copy_file``),
so the counts are exact; the same against a real dead endpoint is in tests/transfer/test_faults_transfer.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest

import stores.transfer as transfer
from stores.errors import IntegrityError, TransferError
from stores.transfer import Hooks, TransferOptions, copy, sync

FILES = 40


class _HTTPError(Exception):
    """What an SDK raises for an error status the store answered."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class EndpointConnectionError(Exception):
    """Named like botocore's: the class name says what it is, the base class does not."""


class ReadTimeoutError(Exception):
    pass


def _tree(root: Path, n: int = FILES) -> None:
    for i in range(n):
        (root / f"f{i:02d}.bin").parent.mkdir(parents=True, exist_ok=True)
        (root / f"f{i:02d}.bin").write_bytes(b"x" * (i + 1))


def _fake(outcome: Callable[[str, int], BaseException | None]) -> tuple[list[str], Hooks]:
    """Hooks replacing the one-file copy: ``outcome(key, attempt)`` is raised, or the file
    "arrives" (nothing is sent); and the list of attempts, filled as the transfer runs."""
    attempts: list[str] = []
    lock = threading.Lock()

    def fake_copy_file(skey: str, size: int, send: Callable[[], int]) -> int:
        with lock:
            attempts.append(skey)
            n = attempts.count(skey)
        exc = outcome(skey, n)
        if exc is not None:
            raise exc
        return size

    return attempts, Hooks(copy_file=fake_copy_file)


def test_consecutive_connection_failures_stop_the_run(tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: ConnectionRefusedError(111, "Connection refused"))
    opts = TransferOptions(workers=4, retries=2, backoff=0.001, hooks=hooks)
    with pytest.raises(TransferError) as info:
        copy(tmp_path / "src", tmp_path / "dst", options=opts, progress=False)
    err = info.value
    tried = set(attempts)
    assert 4 <= len(tried) < 2 * 4, f"{len(tried)} files tried"
    assert set(err.failures) == tried  # every file tried is listed as failed
    assert len(err.not_attempted) == FILES - len(tried)
    assert not set(err.not_attempted) & tried
    message = str(err)
    assert f"{len(tried)} of {FILES} file(s) failed" in message.splitlines()[0]
    assert (f"stopped after 4 consecutive connection failures; {FILES - len(tried)} file(s) not attempted: "
            "the store looks unreachable") in message
    assert err.result.transferred == []


def test_the_default_threshold_is_at_least_three(tmp_path: Path) -> None:
    assert TransferOptions(workers=1).breaker_threshold() == 3
    assert TransferOptions(workers=8).breaker_threshold() == 8
    assert TransferOptions(workers=8, unreachable_after=2).breaker_threshold() == 2
    assert TransferOptions(unreachable_after=0).breaker_threshold() == 0
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: EndpointConnectionError("Could not connect to the endpoint URL"))
    with pytest.raises(TransferError, match="store looks unreachable") as info:
        copy(tmp_path / "src", tmp_path / "dst", options=TransferOptions(workers=1, retries=0, hooks=hooks),
             progress=False)
    assert len(attempts) == 3 and len(info.value.not_attempted) == FILES - 3


def test_zero_disables_the_breaker(tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: ConnectionResetError(104, "Connection reset by peer"))
    with pytest.raises(TransferError) as info:
        copy(tmp_path / "src", tmp_path / "dst",
             options=TransferOptions(workers=4, retries=0, unreachable_after=0, hooks=hooks), progress=False)
    assert len(set(attempts)) == FILES and len(info.value.failures) == FILES
    assert info.value.not_attempted == [] and "unreachable" not in str(info.value)


def test_successes_in_between_reset_the_count(tmp_path: Path) -> None:
    """Two failed files, one sent, two failed ...: never N in a row, so every file is tried."""
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: None if int(key[1:3]) % 3 == 2 else TimeoutError("timed out"))
    with pytest.raises(TransferError) as info:
        sync(tmp_path / "src", tmp_path / "dst",
             options=TransferOptions(workers=1, retries=1, backoff=0.001, hooks=hooks), progress=False)
    err = info.value
    assert len(set(attempts)) == FILES and err.not_attempted == [] and "unreachable" not in str(err)
    assert len(err.failures) == FILES - len(err.result.transferred)
    assert len(err.result.transferred) == FILES // 3


@pytest.mark.parametrize("error", [
    pytest.param(_HTTPError(503), id="503-from-a-live-server"),
    pytest.param(_HTTPError(429), id="throttled"),
    pytest.param(IntegrityError("MD5 differs"), id="integrity"),
    pytest.param(PermissionError("denied"), id="permanent"),
])
def test_answers_from_a_live_store_never_trip_it(tmp_path: Path, error: BaseException) -> None:
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: error)
    with pytest.raises(TransferError) as info:
        copy(tmp_path / "src", tmp_path / "dst", options=TransferOptions(workers=4, retries=0, hooks=hooks),
             progress=False)
    assert len(set(attempts)) == FILES and info.value.not_attempted == []
    assert "unreachable" not in str(info.value)


def test_in_flight_files_are_not_retried_once_it_trips(tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    attempts, hooks = _fake(lambda key, n: ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(TransferError, match="store looks unreachable"):
        copy(tmp_path / "src", tmp_path / "dst",
             options=TransferOptions(workers=1, retries=3, backoff=0.001, hooks=hooks), progress=False)
    assert len(attempts) == 3 * 4  # three files, each with its retries; nothing after


def test_connection_failures_are_told_from_answers() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed")
    wrapped = EndpointConnectionError("Could not connect to the endpoint URL")
    wrapped.__cause__ = refused
    for exc in (refused, wrapped, ReadTimeoutError("Read timeout on endpoint URL"), TimeoutError(),
                ConnectionResetError(104, "reset"), OSError(113, "No route to host")):
        assert transfer._is_connection_failure(exc), exc
    answered = OSError(5, "Service Unavailable")
    answered.__cause__ = _HTTPError(503)
    for exc in (_HTTPError(503), _HTTPError(500), answered, IntegrityError("size differs"), PermissionError(),
                FileNotFoundError(), ValueError("bad")):
        assert not transfer._is_connection_failure(exc), exc


def test_a_tripped_sync_deletes_nothing(tmp_path: Path) -> None:
    """``delete`` does not run against a store that is not answering; files sent before it
    stopped answering are reported sent."""
    _tree(tmp_path / "src")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "stale.bin").write_bytes(b"old")

    def outcome(key: str, n: int) -> BaseException | None:
        return None if int(key[1:3]) < 10 else ConnectionRefusedError(111, "Connection refused")

    attempts, hooks = _fake(outcome)
    opts = TransferOptions(workers=1, retries=0, delete=True, hooks=hooks)
    with pytest.raises(TransferError, match="store looks unreachable") as info:
        sync(tmp_path / "src", tmp_path / "dst", options=opts, progress=False)
    assert len(attempts) == 13
    assert (tmp_path / "dst" / "stale.bin").exists()
    assert info.value.result.deleted == []
    assert len(info.value.result.transferred) == 10
