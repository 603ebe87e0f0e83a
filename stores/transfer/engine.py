"""The engine: plan (list the source, then the destination; apply the incremental rule), execute
(each file on a bounded pool, retried, under the circuit breaker), verify (a batch of bucket
uploads against one listing), delete (``sync`` with ``delete``), the whole watched for stalls."""

from __future__ import annotations

import copy as copy_module
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Union

from ..errors import StoresError, TransferError
from ..handles import StoreHandle
from ..kinds import KINDS
from ..progress import Progress, as_progress, human_bytes
from .listing import _join, _key_problem, _side, _vanished, escape_key
from .local import _TEMPS
from .onefile import _copy_one
from .options import _BATCH_VERIFY_MIN, STALL_TIMEOUT, TransferOptions, TransferResult
from .plan import _early_listing, _list_destination, _list_source, _Plan, _plan
from .retry import _Breaker, _with_retries

if TYPE_CHECKING:
    from fsspec.callbacks import Callback

#: what ``progress=`` takes (:func:`stores.progress.as_progress`)
ProgressArg = Union[Progress, "Callback", bool, None]

_log = logging.getLogger("stores.transfer")


def _run(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions,
         progress: ProgressArg) -> TransferResult:
    """The transfer in a thread of its own, watched: a run that makes no progress (no byte, no
    file, no listing) for ``stall_timeout`` seconds fails, and so does one with a file in flight
    none of whose bytes moved for that long (even while other files move): the error names those
    files, whatever an SDK is blocked in, and the temporary files are removed (a resumable
    download's partial file stays; its threads end when their requests time out)."""
    dst.check_writable(f"copy into it from {src.url}")
    bar = as_progress(progress)
    beats = [0]
    box: dict[str, Any] = {}
    active: dict[str, float] = {}  # file in flight -> when a byte of it last moved

    def target() -> None:
        try:
            box["result"] = _run_watched(src, dst, incremental, opts, bar, beats, active)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name="stores-transfer-run", daemon=True)
    worker.start()
    limit = STALL_TIMEOUT if opts.stall_timeout is None else opts.stall_timeout
    seen, last = (-1, -1), time.monotonic()
    while worker.is_alive():
        worker.join(0.2)
        bar.tick()
        now, clock = (bar.bytes_done + bar.files_done, beats[0]), time.monotonic()
        if now != seen:
            seen, last = now, clock
        stuck = sorted(k for k, t in list(active.items()) if clock - t > limit) if limit else []
        if limit and worker.is_alive() and (stuck or clock - last > limit):
            bar.close()
            for tmp in list(_TEMPS):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            what = (f"no byte of {', '.join(escape_key(k) for k in stuck[:5])}"
                    f"{f' (and {len(stuck) - 5} more)' if len(stuck) > 5 else ''} moved for {limit:g}s"
                    if stuck else f"no progress for {limit:g}s")
            err = TransferError(f"the transfer stalled: {what} ({src.url} -> {dst.url}); "
                                "the store looks unreachable (--stall-timeout sets the bound)")
            err.stalled = True
            err.stalled_keys = stuck
            raise err
    if "error" in box:
        raise box["error"]
    result: TransferResult = box["result"]
    return result


class _FileProgress:
    """The run's progress as one file's copy sees it: every byte also marks the file alive (the
    per-file stall watch of :func:`_run`)."""

    def __init__(self, bar: Progress, key: str, active: dict[str, float]) -> None:
        self.bar, self.key, self.active = bar, key, active

    def advance(self, nbytes: int) -> None:
        self.active[self.key] = time.monotonic()
        self.bar.advance(nbytes)

    def rewind(self, nbytes: int) -> None:
        self.bar.rewind(nbytes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bar, name)


def _run_watched(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions, bar: Progress,
                 beats: list[int], active: dict[str, float] | None = None) -> TransferResult:
    """Plan, then (unless a dry run) execute, verify and delete; the account, or its TransferError."""
    start = time.monotonic()
    redact = src.credentials.redact
    early = _early_listing(src, dst, incremental, opts, beats)
    try:
        listing = _list_source(src, incremental, opts, beats)
        if listing is None:
            result = TransferResult(seconds=time.monotonic() - start)
            bar.close()
            return result
        plan = _plan(src, dst, incremental, opts, listing, beats, early)
    finally:
        if early is not None:
            early.wait()
    if opts.dry_run:
        plan.result.planned = [plan.name(k) for k, _ in plan.todo]
        plan.result.planned_deletes = plan.extra
        plan.result.seconds = time.monotonic() - start
        bar.close()
        return plan.result
    total = sum(plan.sources[s].size for s, _ in plan.todo)
    _log.debug("%s -> %s: %d file(s) to send (%s), %d unchanged%s", src.url, dst.url, len(plan.todo),
              human_bytes(total), len(plan.result.skipped),
              f", {len(plan.extra)} to delete" if plan.extra else "",
              extra={"fields": {"source": src.url, "destination": dst.url, "to_send": len(plan.todo),
                                "bytes": total, "unchanged": len(plan.result.skipped), "to_delete": len(plan.extra)}})
    bar.add_total(len(plan.todo), total)
    run = _Execution(plan, opts, bar, beats, {} if active is None else active)
    try:
        run.execute()
        if run.breaker.tripped.is_set():
            run.unverify()  # no listing to check the batch against, no deletion: the store is not answering
        elif run.deferred:
            run.verify()
        if not run.breaker.tripped.is_set():
            run.delete()
    finally:
        bar.close()
    return run.finish(start, redact)


# ---- execute, verify, delete ------------------------------------------------------------------


class _Execution:
    """The sending of a plan's files, the check of a batch of them, the deletions; collects
    every outcome into the plan's result (``finish`` completes it, or raises its TransferError)."""

    def __init__(self, plan: _Plan, opts: TransferOptions, bar: Progress, beats: list[int],
                 active: dict[str, float] | None = None) -> None:
        self.plan, self.opts, self.bar, self.beats = plan, opts, bar, beats
        self.active: dict[str, float] = {} if active is None else active
        self.result = plan.result
        self.failures: dict[str, BaseException] = {}
        self.lock = threading.Lock()
        self.breaker = _Breaker(opts.breaker_threshold())
        self.not_attempted: list[str] = []
        self.unverified: list[str] = []  # sent into a bucket, not checked: the breaker tripped before the listing
        # many files into a bucket: one listing afterwards checks them all, instead of a HEAD each
        self.deferred: dict[str, tuple[int, str]] | None = (
            {} if opts.verify and not plan.dst.is_local and not plan.single and len(plan.todo) > _BATCH_VERIFY_MIN
            else None)

    def credentials(self) -> tuple[Any, Any]:
        """What both sides' refreshable credentials were read from, as it is now."""
        return self.plan.src.credentials_signature(), self.plan.dst.credentials_signature()

    def execute(self) -> None:
        """Every planned file, on a pool of ``workers`` threads (one by one for one worker or file)."""
        todo = self.plan.todo
        if self.opts.workers <= 1 or len(todo) <= 1:
            for pair in todo:
                self.send(pair)
        else:
            with ThreadPoolExecutor(max_workers=self.opts.workers, thread_name_prefix="stores-transfer") as pool:
                list(pool.map(self.send, todo))

    def send(self, pair: tuple[str, str], batched: bool = True) -> None:
        """One file, retried; its outcome recorded (and counted by the circuit breaker)."""
        skey, dkey = pair
        name = self.plan.name
        batch = self.deferred if batched else None
        self.beats[0] += 1
        if self.breaker.tripped.is_set():  # the store looks unreachable: start nothing more
            with self.lock:
                self.not_attempted.append(name(dkey))
            return
        try:
            n = _with_retries(lambda: self._attempt(skey, dkey, batch), self.opts, self.breaker.tripped,
                              what=escape_key(name(skey)), redact=self._redact, credentials=self.credentials)
        except Exception as exc:  # collected and raised by finish, with every other failure
            if isinstance(exc, FileNotFoundError) and _vanished(self.plan.src, skey):
                _log.info("skipped %s: vanished from the source after it was listed", escape_key(name(skey)))
                with self.lock:
                    self.result.vanished.append(name(skey))
                    self.result.excluded[name(skey)] = "vanished: removed from the source after it was listed"
                return
            self.breaker.record(exc)
            _log.warning("failed %s: %s: %s", escape_key(name(dkey)), type(exc).__name__, self._redact(str(exc)),
                         extra={"fields": {"key": name(dkey), "fate": "failed"}})
            with self.lock:
                self.failures[name(dkey)] = exc
            return
        self.breaker.record(None)
        with self.lock:
            self.result.transferred.append(name(dkey))
            self.result.bytes += n
        _log.debug("sent %s (%s)", escape_key(name(dkey)), human_bytes(n))
        self.bar.file_done()

    def _redact(self, text: str) -> str:
        return self.plan.dst.credentials.redact(self.plan.src.credentials.redact(text))

    def _attempt(self, skey: str, dkey: str, batch: dict[str, tuple[int, str]] | None) -> int:
        """One attempt at one file, through ``Hooks.copy_file`` when the options give one."""
        plan = self.plan
        name = plan.name(skey)
        bar = _FileProgress(self.bar, name, self.active)

        def copy_file() -> int:
            return _copy_one(plan.src, skey, plan.sources[skey], plan.dst, dkey, self.opts, bar, batch)
        hook = self.opts.hooks.copy_file if self.opts.hooks is not None else None
        self.active[name] = time.monotonic()
        try:
            return copy_file() if hook is None else hook(skey, plan.sources[skey].size, copy_file)
        finally:
            self.active.pop(name, None)

    def unverify(self) -> None:
        """The breaker tripped: files of the batch, sent but never checked, are not counted sent."""
        for dkey, (sent, _) in sorted((self.deferred or {}).items()):
            if dkey in self.result.transferred:
                self.unverified.append(dkey)
                self.result.transferred.remove(dkey)
                self.result.bytes -= sent

    def verify(self) -> None:
        """The batch against one listing of the destination; what does not match is sent again,
        each file then checked on its own."""
        dst, result = self.plan.dst, self.result
        # a beat per page, as the planning listings give: a long check listing is not a stall
        arrived = _list_destination(dst, self.opts, self.beats).files
        self.beats[0] += 1
        redo = []
        for dkey, (sent, md5) in sorted((self.deferred or {}).items()):
            got = arrived.get(dkey)
            if got is None or got.size != sent or (got.md5 is not None and got.md5 != md5):
                redo.append((dkey, dkey))
                result.transferred.remove(dkey)
                result.bytes -= sent
        for pair in redo:  # sent again, each checked on its own
            self.send(pair, batched=False)

    def delete(self) -> None:
        """The destination's extra keys (``sync`` with ``delete``), each exactly."""
        written = set(self.result.transferred)
        for dkey in self.plan.extra:
            if dkey in written:  # cannot happen (keys are compared raw); never risk fresh data
                continue
            try:
                _rm_exact(self.plan.dst, dkey)
                self.result.deleted.append(dkey)
                _log.info("deleted %s", escape_key(dkey), extra={"fields": {"key": dkey, "fate": "deleted"}})
            except Exception as exc:
                _log.warning("could not delete %s: %s: %s", escape_key(dkey), type(exc).__name__, self._redact(str(exc)))
                self.failures[dkey] = exc
            self.beats[0] += 1

    def finish(self, start: float, redact: Callable[[str], str]) -> TransferResult:
        """The account completed with every failure; raised as a TransferError if there is one."""
        result, plan = self.result, self.plan
        for key, exc in self.failures.items():
            result.failed[key] = f"{type(exc).__name__}: {plan.dst.credentials.redact(redact(str(exc)))}"
        for key in self.not_attempted + self.unverified:
            result.failed[key] = ("not attempted: the store looks unreachable" if key in self.not_attempted
                                  else "sent but not verified: the store stopped answering (re-run the transfer)")
        result.transferred.sort()
        result.vanished.sort()
        result.seconds = time.monotonic() - start
        if result.failed or self.breaker.tripped.is_set():
            raise _failed(result, plan.src, plan.dst, self.failures, self.breaker, self.not_attempted,
                          self.unverified, len(plan.todo))
        return result


def _failed(result: TransferResult, src: StoreHandle, dst: StoreHandle, failures: dict[str, BaseException],
            breaker: _Breaker, not_attempted: list[str], unverified: list[str], tried: int) -> TransferError:
    """The TransferError of a run with failures: every failed key (escaped) and its reason."""
    listed = {k: v for k, v in result.failed.items() if k not in failures and k not in not_attempted
              and k not in unverified}
    lines = [f"  {escape_key(k)}: {escape_key(result.failed[k])}" for k in sorted(failures)]
    lines += [f"  {escape_key(k)}: {escape_key(v)}" for k, v in sorted(listed.items())]
    if breaker.tripped.is_set():
        not_attempted.sort()
        lines.insert(0, f"stopped after {breaker.limit} consecutive connection failures; "
                     f"{len(not_attempted)} file(s) not attempted: the store looks unreachable")
        if unverified:
            lines.insert(1, f"{len(unverified)} file(s) sent but not verified (re-run the transfer)")
    err = TransferError(
        f"{len(failures) + len(listed)} of {tried + len(listed)} file(s) failed ({src.url} -> {dst.url}):\n"
        + "\n".join(lines))
    # every failed entry, with the exception it failed with (a refused entry: a StoresError)
    err.failures = {**{k: StoresError(v) for k, v in listed.items()},
                    **{k: _redacted(exc, lambda t: dst.credentials.redact(src.credentials.redact(t)))
                       for k, exc in failures.items()}}
    err.not_attempted = list(not_attempted)
    err.unverified = list(unverified)
    err.result = result
    return err


def _redacted(exc: BaseException, redact: Callable[[str], str]) -> BaseException:
    """``exc`` as is when its text holds no credential, else a copy of the same type whose text
    is redacted (an SDK's message may quote a signed URL), or a ``StoresError`` naming the type
    when the copy would still show it: what ``TransferError.failures`` hands out is safe to log."""
    text = str(exc)
    clean = redact(text)
    if clean == text:
        return exc
    try:
        twin = copy_module.copy(exc)
        twin.args = (clean,)
        if isinstance(twin, OSError):
            twin.strerror, twin.filename, twin.filename2 = clean, None, None
        if str(twin) == clean:
            return twin
    except Exception:  # an exception type that does not copy: named, not copied
        pass
    return StoresError(f"{type(exc).__name__}: {clean}")


def _rm_exact(handle: StoreHandle, key: str) -> None:
    """Delete exactly the object ``key`` (a raw key: ``a//b`` is not ``a/b``).  Local keys are
    plain paths; S3 and Azure are addressed by the SDK with the exact name; other keys that a
    filesystem path would normalise are refused rather than risk deleting another object."""
    handle.check_writable(f"delete {escape_key(key)!r}")
    if handle.is_local:
        os.unlink(_join(handle, key))
        return
    full = f"{handle.root.rstrip('/')}/{key}"
    delete = KINDS[handle.kind].code("deleter")
    if delete is not None:
        delete(handle, key)
        return
    if _key_problem(key, handle, handle) is not None or handle.fs._strip_protocol(full) != full:
        raise StoresError(f"cannot delete {escape_key(key)!r} exactly through this store's client: left in place")
    handle.fs.rm_file(full)


def copy(src: Any, dst: Any, *, src_key: str = "", dst_key: str = "", options: TransferOptions | None = None,
         progress: ProgressArg = None) -> TransferResult:
    """Copy a file or a tree (every file under it) from ``src`` to ``dst``, always sending."""
    return _run(_side(src, src_key), _side(dst, dst_key), False, options or TransferOptions(), progress)


def upload(local_path: str | os.PathLike[str], store: StoreHandle, key: str = "", *,
           options: TransferOptions | None = None, progress: ProgressArg = None) -> TransferResult:
    """Upload a local file or directory to ``key`` in ``store``."""
    return copy(local_path, store, dst_key=key, options=options, progress=progress)


def download(store: StoreHandle, key: str, local_path: str | os.PathLike[str], *,
             options: TransferOptions | None = None, progress: ProgressArg = None) -> TransferResult:
    """Download ``key`` (a file or a prefix) from ``store`` to ``local_path``."""
    return copy(store, local_path, src_key=key, options=options, progress=progress)


def sync(src: Any, dst: Any, *, src_key: str = "", dst_key: str = "", options: TransferOptions | None = None,
         progress: ProgressArg = None) -> TransferResult:
    """Make ``dst`` hold every file of ``src``, sending only what changed (module docstring)."""
    return _run(_side(src, src_key), _side(dst, dst_key), True, options or TransferOptions(), progress)
