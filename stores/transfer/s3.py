"""S3, through its API (the kinds table's ``uploader`` and ``deleter`` of the ``s3`` kind): a
small file as one ``PutObject`` carrying its Content-MD5, a large one as a multipart upload (a
local file's parts read by ranges, several at once; a stream's parts cut as they are read), every
answer's ETag checked against our MD5s; a failed multipart upload is aborted."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import IntegrityError
from ..handles import StoreHandle
from .blocks import _b64, _blocks, _check, _read_whole, multipart_count
from .listing import _entry, _Entry, _native_for, _object_info, _remote_md5
from .native import NativeClient
from .options import _FILE_PART_WORKERS, _HASHED_PUT_MIN, _PART_WORKERS

if TYPE_CHECKING:
    from ..progress import ByteProgress
    from .options import TransferOptions


def _s3_upload(src: StoreHandle, dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any, sentry: _Entry,
               part: int, opts: TransferOptions, progress: ByteProgress, md5: Any,
               deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file to S3 (the kinds table's ``uploader``): one PUT, or a multipart upload."""
    if sentry.size > part and src.is_local:
        native = _native_for(dst, dpath.partition("/")[2])
        if native is not None:
            return _s3_multipart_native(native, dpath, spath, reader, sentry, part, opts, progress)
        return _s3_multipart_local(dst, dpath, spath, reader, sentry, part, opts, progress)
    if sentry.size <= part:
        return _s3_put(dst, dkey, dpath, spath, reader, sentry, opts, progress, deferred)
    sent = _s3_multipart(dst, dpath, reader, sentry, part, opts, progress, md5)
    try:
        if deferred is not None:
            deferred[dkey] = (sent, md5.hexdigest())
        elif opts.verify:
            arrived = _entry(dst.fs.info(dpath))
            _check(sent, md5.hexdigest(), sentry, arrived.size, arrived.md5, dpath, opts)
    except BaseException:
        progress.rewind(sent)  # what the caller would have taken back had the bytes been its own
        raise
    return sent


def _s3_put(dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any, sentry: _Entry,
            opts: TransferOptions, progress: ByteProgress, deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file of at most one part as one ``PutObject`` carrying its Content-MD5 (the store refuses
    a body that does not match it).  The ETag it answers is the MD5 of what arrived: when the store
    gives one, that is the check, with no second request; otherwise (SSE-KMS, SSE-C) the size is
    checked by a listing afterwards (``deferred``) or a HEAD."""
    data = _read_whole(reader, sentry.size, spath)
    md5 = hashlib.md5(data, usedforsecurity=False)
    key = dpath.partition("/")[2]
    native = _native_for(dst, key)
    fs: Any = None  # the fsspec filesystem, built only when the native client does not serve the key
    if native is not None:
        # the native client sends no Content-MD5; the ETag it answers is the MD5 of what arrived,
        # checked below, and a mismatch fails the file (retried: the next PUT replaces the object)
        out = {"ETag": native.put(key, data)}
    else:
        fs = dst.fs
        if sentry.size >= _HASHED_PUT_MIN:  # the SDK's own hashing of a large body costs more than a client
            from ..backends import s3_upload_fs

            fs = s3_upload_fs(fs)
        bucket, key, _ = fs.split_path(dpath)
        out = fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, ContentMD5=_b64(md5.digest()))
        fs.invalidate_cache(dpath)
    sent, digest = len(data), md5.hexdigest()
    del data
    if opts.verify:
        arrived = _remote_md5(out)
        if arrived is not None:  # the MD5 the store computed over the bytes it stored
            _check(sent, digest, sentry, sent, arrived, dpath, opts)
        elif deferred is not None:
            deferred[dkey] = (sent, digest)
        else:
            got = _entry(fs.info(dpath) if fs is not None else _object_info(dst, dpath))
            _check(sent, digest, sentry, got.size, got.md5, dpath, opts)
    progress.advance(sent)
    return sent


class _FileRange(io.RawIOBase):
    """``length`` bytes of a file from ``start``, read with ``pread`` (no shared position, so
    several parts of one file are sent at once); seekable, so the SDK can hash and resend it."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        super().__init__()
        self._fd, self._start, self._length, self._pos = fd, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self._length

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._length)[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        left = self._length - self._pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._start + self._pos)
        if not data:
            raise IntegrityError("the file shrank while it was sent")
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


@dataclass
class _FileParts:
    """The parts of one local file (``fd``) going up to the multipart upload ``upload_id``,
    ``_FILE_PART_WORKERS`` at once; ``advanced`` counts the bytes of the parts that arrived."""

    fs: Any
    bucket: str
    key: str
    upload_id: str
    fd: int
    size: int
    part: int
    block: int
    spath: str
    dpath: str
    progress: ByteProgress
    advanced: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, index: int) -> tuple[dict[str, Any], bytes]:
        """Part ``index``: hashed, then streamed from the file with its Content-MD5."""
        if self.stop.is_set():
            raise IntegrityError("cancelled")  # another part failed; never reported on its own
        start = index * self.part
        length = min(self.part, self.size - start)
        h = hashlib.md5(usedforsecurity=False)
        done = 0
        while done < length:
            data = os.pread(self.fd, min(self.block, length - done), start + done)
            if not data:
                raise IntegrityError(f"{self.spath}: the file shrank while it was read")
            h.update(data)
            done += len(data)
        out = self.fs.call_s3("upload_part", Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                              PartNumber=index + 1, Body=_FileRange(self.fd, start, length), ContentLength=length,
                              ContentMD5=_b64(h.digest()))
        arrived = _remote_md5(out)
        if arrived is not None and arrived != h.hexdigest():
            raise IntegrityError(f"{self.dpath}: part {index + 1} arrived with MD5 {arrived}, {h.hexdigest()} was sent")
        self.progress.advance(length)
        with self.lock:
            self.advanced += length
        return {"ETag": out["ETag"], "PartNumber": index + 1}, h.digest()

    def send(self, count: int) -> list[tuple[dict[str, Any], bytes]]:
        """Every part, in order; the first failure stops the parts not yet started."""
        pool = ThreadPoolExecutor(max_workers=min(_FILE_PART_WORKERS, count), thread_name_prefix="stores-part")
        try:
            futures = [pool.submit(self.put, i) for i in range(count)]
            results = [f.result() for f in futures]
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return results


def _s3_multipart_local(dst: StoreHandle, dpath: str, spath: str, reader: Any, sentry: _Entry, part: int,
                        opts: TransferOptions, progress: ByteProgress) -> int:
    """A large local file as an S3 multipart upload, ``_FILE_PART_WORKERS`` parts at once.  Each
    worker hashes its part (hashlib runs outside the GIL) and streams it from the file, so memory
    does not grow with the part size; the part's Content-MD5 makes the store refuse a body that
    differs, and the ETag answered for each part and for the whole is checked against our MD5s
    (a HEAD only when the store's ETags are not MD5s).  A file that changes while it is read
    fails; any failure aborts the upload, so no part lingers."""
    from ..backends import s3_upload_fs

    fs = s3_upload_fs(dst.fs)  # every request below carries its Content-MD5
    bucket, key, _ = fs.split_path(dpath)
    fd = reader.fileno()
    before = os.fstat(fd)
    if before.st_size != sentry.size:
        raise IntegrityError(f"{spath}: {before.st_size} bytes now, the listing said {sentry.size}")
    count = -(-sentry.size // part)
    block = max(64 * 1024, min(opts.chunk_size, 1024 * 1024))
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
    parts = _FileParts(fs, bucket, key, upload_id, fd, sentry.size, part, block, spath, dpath, progress)
    try:
        results = parts.send(count)
        after = os.fstat(fd)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise IntegrityError(f"{spath}: the file changed while it was read ({after.st_size} bytes now, "
                                 f"{sentry.size} listed)")
        out = fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                         MultipartUpload={"Parts": [r for r, _ in results]})
    except BaseException as exc:
        progress.rewind(parts.advanced)
        _abort_multipart(fs, bucket, key, upload_id, exc)
        raise
    fs.invalidate_cache(dpath)
    # the whole object's ETag is the MD5 of its parts' MD5s: equal means every byte arrived
    composite = hashlib.md5(b"".join(d for _, d in results), usedforsecurity=False).hexdigest() + f"-{count}"
    if opts.verify and str(out.get("ETag", "")).strip('"').lower() != composite:
        got = _entry(fs.info(dpath))  # the store's ETags are not MD5s: check the size at least
        if got.size != sentry.size:
            raise IntegrityError(f"{dpath}: {got.size} bytes arrived, {sentry.size} were sent")
    return sentry.size


def _s3_multipart_native(native: NativeClient, dpath: str, spath: str, reader: Any, sentry: _Entry, part: int,
                         opts: TransferOptions, progress: ByteProgress) -> int:
    """A large local file as a multipart upload through the native client, parts of ``part``
    bytes, ``_FILE_PART_WORKERS`` in flight.  Each part's MD5 is taken as it is read; every
    request is signed over its body's SHA-256 (the store refuses a part that differs), and the
    ETag of the whole is checked against the MD5 of our parts' MD5s.  A file that changes while
    it is read raises before the last part is handed over, and the native client aborts the
    upload, so nothing is committed (as on the SDK path)."""
    fd = reader.fileno()
    before = os.fstat(fd)
    if before.st_size != sentry.size:
        raise IntegrityError(f"{spath}: {before.st_size} bytes now, the listing said {sentry.size}")
    digests: list[bytes] = []
    advanced = [0]

    def parts() -> Iterator[bytes]:
        for start in range(0, sentry.size, part):
            data = os.pread(fd, min(part, sentry.size - start), start)
            if len(data) != min(part, sentry.size - start):
                raise IntegrityError(f"{spath}: the file shrank while it was read")
            digests.append(hashlib.md5(data, usedforsecurity=False).digest())
            if start + part >= sentry.size:  # the last part: the file must be as it was
                after = os.fstat(fd)
                if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                    raise IntegrityError(f"{spath}: the file changed while it was read ({after.st_size} bytes "
                                         f"now, {sentry.size} listed)")
            progress.advance(len(data))
            advanced[0] += len(data)
            yield data

    try:
        etag = native.put_parts(dpath.partition("/")[2], parts(), part, _FILE_PART_WORKERS)
    except BaseException:
        progress.rewind(advanced[0])
        raise
    composite = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + f"-{len(digests)}"
    if opts.verify and (etag or "").strip('"').lower() != composite:
        got = native.head(dpath.partition("/")[2])
        if multipart_count(got.get("ETag")) is not None or got["size"] != sentry.size:
            # an MD5-style ETag that differs, or the wrong size: what arrived is not what was read
            raise IntegrityError(f"{dpath}: the store's ETag {etag} differs from {composite}, the MD5 of the parts sent")
    return sentry.size


def _abort_multipart(fs: Any, bucket: str, key: str, upload_id: str, cause: BaseException) -> None:
    """Abort a failed multipart upload so no part lingers; a failed abort is noted on ``cause``
    (the error the caller re-raises), never raised in its place."""
    try:
        fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as cleanup:
        cause.add_note(f"aborting the multipart upload also failed: {type(cleanup).__name__}: {cleanup}")


def _s3_multipart(dst: StoreHandle, dpath: str, reader: Any, sentry: _Entry, part: int,
                  opts: TransferOptions, progress: ByteProgress, md5: Any) -> int:
    """One large file as an S3 multipart upload whose parts go up concurrently (at most
    ``_PART_WORKERS`` parts in memory at once); aborted on any failure, so no part lingers."""
    fs = dst.fs
    bucket, key, _ = fs.split_path(dpath)
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
    slots = threading.BoundedSemaphore(_PART_WORKERS)
    failed: list[BaseException] = []
    sent = 0

    def put(number: int, data: bytes) -> dict[str, Any]:
        try:
            out = fs.call_s3("upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
            return {"ETag": out["ETag"], "PartNumber": number}
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            slots.release()

    try:
        futures: list[Future[Any]] = []
        with ThreadPoolExecutor(max_workers=_PART_WORKERS, thread_name_prefix="stores-part") as pool:
            buf = bytearray()
            for block in _blocks(reader, sentry.size, opts.chunk_size):
                buf += block
                md5.update(block)
                sent += len(block)
                progress.advance(len(block))
                while len(buf) >= part:
                    slots.acquire()
                    futures.append(pool.submit(put, len(futures) + 1, bytes(buf[:part])))
                    del buf[:part]
                    if failed:
                        raise failed[0]  # a part failed after its SDK retries: stop reading
            if sent != sentry.size:
                raise IntegrityError(f"{dpath}: read {sent} bytes, expected {sentry.size}")
            if buf:
                slots.acquire()
                futures.append(pool.submit(put, len(futures) + 1, bytes(buf)))
            parts = [f.result() for f in futures]
        fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                   MultipartUpload={"Parts": parts})
    except BaseException as exc:
        _abort_multipart(fs, bucket, key, upload_id, exc)
        raise
    fs.invalidate_cache(dpath)
    return sent


def _rm_s3(handle: StoreHandle, key: str) -> None:
    bucket, _, prefix = handle.root.partition("/")
    handle.fs.call_s3("delete_object", Bucket=bucket, Key=f"{prefix.rstrip('/')}/{key}" if prefix else key)


def _s3_first_part_size(handle: StoreHandle, path: str) -> int | None:
    """The size of part 1 of a multipart object (``HEAD ?partNumber=1``), or None."""
    bucket, key, _ = handle.fs.split_path(path)
    size = int(handle.fs.call_s3("head_object", Bucket=bucket, Key=key, PartNumber=1).get("ContentLength") or 0)
    return size or None
