"""Any other bucket, through its fsspec filesystem: one streamed write, discarded (never
committed) on failure, then checked against the store's answer or a later listing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError
from ..handles import StoreHandle
from ..kinds import KINDS
from .blocks import _blocks, _check
from .listing import _entry, _Entry

if TYPE_CHECKING:
    from ..progress import ByteProgress
    from .options import TransferOptions


def _write_streamed(dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any, sentry: _Entry, part: int,
                    opts: TransferOptions, progress: ByteProgress, md5: Any,
                    deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file through ``dst.fs.open(..., "wb")`` in parts of ``part`` bytes; the kind's
    ``after_write`` follows it, then the check (now, or later against one listing: ``deferred``)."""
    sent = 0
    try:
        writer = dst.fs.open(dpath, "wb", block_size=part)
        try:
            for block in _blocks(reader, sentry.size, opts.chunk_size):
                writer.write(block)
                md5.update(block)
                sent += len(block)
                progress.advance(len(block))
            if sent != sentry.size:  # the source changed under us: do not commit it
                raise IntegrityError(f"{spath}: read {sent} bytes, expected {sentry.size}")
        except BaseException as exc:
            try:
                _discard(writer)
            except Exception as cleanup:  # keep the cause; report the failed clean-up with it
                exc.add_note(f"discarding the partial upload also failed: {type(cleanup).__name__}: {cleanup}")
            raise
        writer.close()
        after_write = KINDS[dst.kind].code("after_write")
        if after_write is not None:
            after_write(dst, dkey, md5.digest())
        if deferred is not None:  # checked later against one listing of the destination
            deferred[dkey] = (sent, md5.hexdigest())
        elif opts.verify:
            arrived = _entry(dst.fs.info(dpath))
            _check(sent, md5.hexdigest(), sentry, arrived.size, arrived.md5, dpath, opts)
    except BaseException:
        progress.rewind(sent)
        raise
    return sent


def _discard(writer: Any) -> None:
    """Throw away a half-written bucket file without committing it (aborts the multipart
    upload), and mark it closed so its finaliser does not commit it either."""
    try:
        writer.discard()
    finally:
        writer.closed = True
        # adlfs keeps a container client per file; close it without committing blocks
        client = getattr(writer, "container_client", None)
        loop = getattr(writer, "loop", None)
        if client is not None and loop is not None:
            import asyncio

            asyncio.run_coroutine_threadsafe(client.close(), loop)

