"""Upload, download, copy and sync between stores and local directories (tier 2).

Every side is a :class:`~stores.handles.StoreHandle` or a local path.  Files are streamed in
chunks (memory per worker is bounded by about two chunks plus one upload part), on a bounded
pool of threads; each file is retried with exponential backoff on transient errors, then checked
(size always; MD5 where the store gives one: S3 ETags, GCS ``md5Hash``).  S3 uploads carry
their Content-MD5 and are checked against the ETag the PUT itself answers (a large local file:
each part's and the whole upload's; its parts go up several at once, each streamed from the
file by its own thread, so memory does not grow with them); otherwise one by one, or, for more
than a few files into a bucket, against one listing taken afterwards (files that do not match
are sent again and checked one by one).  Local files
are written under a temporary name and renamed only when complete and checked; a failed bucket
upload is discarded (S3 multipart uploads aborted, GCS resumable uploads cancelled, Azure blocks
left uncommitted).  Failures raise :class:`~stores.errors.TransferError` listing every failed
key, after the other files have been tried.

**Circuit breaker**: when ``TransferOptions.unreachable_after`` files in a row (across workers;
``max(3, workers)`` by default) have failed, after their retries, with *connection-level*
errors (connection refused or reset, timeouts, endpoint unreachable; not an error status the
store answered, not an integrity error), no new file is started: the files in flight finish or
fail (without further retries), nothing is deleted, and the TransferError says how many files
were not attempted (the store looks unreachable; they are in its ``not_attempted``).  A file
that succeeds, or fails otherwise, resets the count; ``0`` disables the breaker.

**Accounting**: every source entry ends as exactly one of sent, unchanged, skipped by a named
rule (``TransferResult.excluded``: special files, folder markers, our temporary files, files gone
before they were read) or failed (``TransferResult.failed``, with a reason); any failure raises
TransferError after everything else was tried, its ``result`` holding the whole account.  Keys
are compared and deleted exactly as stored; a key that cannot be copied under the same name
(``_key_problem``) fails.  Local sources follow symlinks only inside their root.

**Incremental rule** (``sync``): a file is sent unless the destination already has a file at the
same key with the same size and

- a *local* destination's mtime equals the source's (every local file we write gets its
  source's mtime), or
- a *bucket* destination's modification time (its upload time) is later than the source's mtime;

and in both cases a copy made within ``_SETTLED`` (2 s) of the source's last change is compared
by content (or sent again), since one-second timestamps cannot tell it apart from a change.
With ``checksum=True`` a same-size pair is compared by content whenever a side can be hashed or
the store gives a checksum (S3 ETags, multipart ones part by part with the part size inferred;
GCS ``md5Hash`` or ``crc32c``; Azure Content-MD5), and every download is checked against every
checksum the store gives: a mismatch fails that file, naming it.

**Bound**: a run that makes no progress for ``stall_timeout`` seconds (default 60) fails, and so
does one with a file in flight that moved no byte for that long; the error names those files.

**Resume**: a download of at least ``resume_min`` bytes (16 MiB) into a local folder keeps its
partial file and a state file (the object's version, the verified length, the MD5 of that
prefix) when it fails or is killed; the next attempt continues with a ranged GET for the rest
if the object is unchanged and the prefix still hashes right, and starts over otherwise.

**Seams**: ``TransferOptions.hooks`` (:class:`Hooks`) wraps the copy of each file and each listing
the engine takes, for a caller that injects failures or counts work without patching internals.

The package: :mod:`.options` (options, hooks, the result), :mod:`.retry` (transient errors, the
circuit breaker, retries), :mod:`.listing` (entries, listings, key rules), :mod:`.compare` (the
incremental rule), the writers (:mod:`.local`, :mod:`.s3`, :mod:`.azure`, :mod:`.generic`, chosen
by :mod:`.onefile`), and :mod:`.engine` (plan, execute, verify, delete; the public functions).
"""

from __future__ import annotations

from .azure import _azure_container, _azure_name
from .engine import copy, download, sync, upload
from .listing import _entry, _Entry, _list, _Listing, escape_key
from .options import CHUNK_SIZE, STALL_TIMEOUT, Hooks, TransferOptions, TransferResult
from .retry import SourceChangedError, _is_connection_failure, is_transient

__all__ = [
    "TransferOptions",
    "TransferResult",
    "Hooks",
    "upload",
    "download",
    "copy",
    "sync",
    "is_transient",
    "CHUNK_SIZE",
    "STALL_TIMEOUT",
    "escape_key",
]
