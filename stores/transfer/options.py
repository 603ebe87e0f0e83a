"""What a transfer is asked to do (:class:`TransferOptions`, its :class:`Hooks`) and what it did
(:class:`TransferResult`, with its account of every source entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..handles import StoreHandle

#: bytes read and written per call
CHUNK_SIZE = 8 * 1024 * 1024
_MAX_PARTS = 9000  # S3 allows 10000 parts; keep a margin
_BATCH_VERIFY_MIN = 8  # more files than this into a bucket: verified by one listing
_PART_WORKERS = 2  # parts of one S3 file read from a stream in flight (memory: this many parts)
_HASHED_PUT_MIN = 1024 * 1024  # objects this big go through backends.s3_upload_fs
_FILE_PART_WORKERS = 4  # parts of one local file in flight (streamed; 8 measured no faster, +20 MB)
_MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last (a multiple of GCS's 256 KiB)

#: default of ``TransferOptions.stall_timeout``: a store that answers nothing for this long
#: (each SDK request times out after 20 s and is retried at most a few times) ends the transfer
STALL_TIMEOUT = 60.0
#: default of ``TransferOptions.resume_min``: downloads of objects at least this big into a local
#: folder keep their partial file and a state file when they fail, and continue from there
RESUME_MIN = 16 * 1024 * 1024


@dataclass(frozen=True)
class Hooks:
    """Seams where a caller (a test injecting failures, a program counting work) steps into a
    transfer without patching its internals.  Each hook wraps the real step, which it is handed
    as a function of no arguments; it may call it (once), skip it, or raise instead.

    - ``copy_file(key, size, send) -> bytes sent``: every attempt at copying one file (each retry
      again); ``key`` is the source key, ``size`` its listed size, ``send()`` the real copy.  An
      exception raised here is that attempt's failure (retried, counted by the circuit breaker).
    - ``list_store(handle, list_now) -> listing``: every listing the engine takes of a side (the
      source, the destination before and after); ``list_now()`` lists.
    """

    copy_file: Callable[[str, int, Callable[[], int]], int] | None = None
    list_store: Callable[["StoreHandle", Callable[[], Any]], Any] | None = None


@dataclass(frozen=True)
class TransferOptions:
    workers: int = 8
    retries: int = 4
    backoff: float = 0.25  # first retry delay in seconds; doubles each time, with jitter
    max_backoff: float = 8.0
    verify: bool = True
    #: compare and verify by content: ``sync`` compares a same-size pair by its checksums (MD5,
    #: S3 multipart ETags, GCS crc32c), never by times; every download is checked against every
    #: checksum the store gives (an S3 multipart ETag part by part, a GCS crc32c): a mismatch fails
    #: that file, naming it
    checksum: bool = False
    delete: bool = False  # sync: remove destination files the source does not have
    missing_ok: bool = False  # a source that does not exist is empty, not an error
    #: the part size: bytes read and written per call, the size of a ranged GET of a download and
    #: (at least 5 MiB) of an S3 multipart part.  Memory per file is about two of these.
    chunk_size: int = CHUNK_SIZE
    #: downloads of objects at least this big (into a local folder, from a store that gives the
    #: object's version) resume: a failed or killed download leaves its partial file and a state
    #: file (version, verified length, MD5 of that prefix); the next attempt, this run's retry or a
    #: later run, checks the prefix and the version, then asks only for the rest (a ranged GET).
    #: None: never
    resume_min: int | None = RESUME_MIN
    #: stop starting files after this many files in a row failed to reach the store (connection
    #: refused/reset, timeouts): the store looks unreachable.  None: ``max(3, workers)``; 0: never
    unreachable_after: int | None = None
    #: plan only: list what would be sent, skipped, failed and deleted; change nothing
    dry_run: bool = False
    #: seconds without any progress after which the transfer fails as stalled, naming the files
    #: that made none: the whole run (no byte moved, no file finished, no listing answered), and
    #: each file in flight on its own (no byte of it moved for this long, even while other files
    #: move).  The bound on how long a dead store or one hung request can hold a transfer.
    #: None: ``STALL_TIMEOUT``; 0: no bound
    stall_timeout: float | None = None
    #: steps a caller wraps (:class:`Hooks`); None: none
    hooks: Hooks | None = None

    def breaker_threshold(self) -> int:
        """Consecutive connection failures that stop a transfer (0: never)."""
        if self.unreachable_after is None:
            return max(3, self.workers)
        return max(0, self.unreachable_after)


@dataclass
class TransferResult:
    """What a transfer did; keys are relative to the source/destination roots.

    Every source entry ends in exactly one of: ``transferred`` (sent), ``skipped`` (unchanged:
    the destination already had it), ``excluded`` (skipped by a named rule: a special file, a
    folder marker, a file gone before it could be read, ...; key -> reason) or ``failed`` (key ->
    reason).  :meth:`account` lists them; a transfer with a failure raises TransferError, whose
    ``result`` is this account."""

    transferred: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: source files listed, then gone before they could be read (a writer's temporary files):
    #: not an error, there is nothing left to copy (also in ``excluded``)
    vanished: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    #: dry run: what would be sent and deleted
    planned: list[str] = field(default_factory=list)
    planned_deletes: list[str] = field(default_factory=list)
    #: remarks on the whole run (e.g. pairs that --checksum could only compare by time)
    notes: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.transferred)

    @property
    def unchanged(self) -> list[str]:
        return self.skipped

    def account(self) -> list[dict[str, Any]]:
        """One row per source entry (and per deletion): key, fate, size, reason."""
        rows: list[dict[str, Any]] = []
        def add(key: str, fate: str, reason: str | None = None) -> None:
            rows.append({"key": key, "fate": fate, "size": self.sizes.get(key), "reason": reason})
        for key in self.transferred:
            add(key, "sent")
        for key in self.planned:
            add(key, "would-send")
        for key in self.skipped:
            add(key, "unchanged")
        for key, why in self.excluded.items():
            add(key, "skipped", why)
        for key, why in self.failed.items():
            add(key, "failed", why)
        for key in self.deleted:
            add(key, "deleted")
        for key in self.planned_deletes:
            add(key, "would-delete")
        return sorted(rows, key=lambda r: (r["key"], r["fate"]))

    def summary(self) -> str:
        from ..progress import human_bytes

        rate = self.bytes / self.seconds if self.seconds > 0 else 0.0
        out = f"{self.count} file(s) sent, {len(self.skipped)} unchanged, {human_bytes(self.bytes)} in {self.seconds:.1f}s ({human_bytes(rate)}/s)"
        out += f", {len(self.deleted)} deleted" if self.deleted else ""
        rules = len(self.excluded) - len(self.vanished)
        out += f", {rules} skipped by rule" if rules else ""
        out += f", {len(self.vanished)} vanished from the source" if self.vanished else ""
        return out + (f", {len(self.failed)} failed" if self.failed else "")
