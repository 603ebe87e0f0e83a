"""Azure Blob Storage (the kinds table's ``lister``, ``uploader``, ``after_write`` and
``deleter`` of the ``wasb`` kind): names read and deleted exactly through the SDK, a small blob
put in one request through the native client, and the Content-MD5 of a blob committed block by
block."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Callable

from ..handles import StoreHandle
from .blocks import _check, _read_whole
from .generic import _write_streamed
from .listing import _entry, _Entry, _native_for, _object_info

if TYPE_CHECKING:
    from ..progress import ByteProgress
    from .options import TransferOptions

#: blobs per listing page: the service's maximum (fewest requests); each page is a beat
_PAGE = 5000


def _azure_container(handle: StoreHandle) -> Any:
    """A synchronous client of the handle's container (adlfs' own listing folds ``t/`` into
    ``t`` and loses control characters: names are read exactly from the SDK instead): from
    static keys directly, else with the credential of the handle's adlfs filesystem."""
    from ..backends import azure_container_client, azure_static_container_client
    from .native import _account

    container = handle.root.split("/", 1)[0]
    client = azure_static_container_client(handle.credentials, container, _account(handle))
    return client if client is not None else azure_container_client(handle.fs, container)


def _azure_name(handle: StoreHandle, key: str) -> str:
    prefix = handle.root.partition("/")[2].rstrip("/")
    return f"{prefix}/{key}" if prefix and key else (prefix or key)


def _azure_set_md5(handle: StoreHandle, key: str, digest: bytes) -> None:
    """Record the Content-MD5 of a blob we committed block by block (Azure computes none then):
    later downloads are verified against it and syncs compare content by it."""
    from azure.storage.blob import ContentSettings

    blob = _azure_container(handle).get_blob_client(_azure_name(handle, key))
    blob.set_http_headers(ContentSettings(content_type="application/octet-stream", content_md5=bytearray(digest)))


def _list_azure(handle: StoreHandle, beat: Callable[[], None] | None = None) -> dict[str, dict[str, Any]]:
    """Every blob under the root with its Content-MD5; ``beat()`` after each page (a long
    listing is progress for the stall watch)."""
    container, _, prefix = handle.root.partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    out = {}
    pages = _azure_container(handle).list_blobs(name_starts_with=prefix or None, results_per_page=_PAGE).by_page()
    for page in pages:
        for blob in page:
            out[blob.name[len(prefix):]] = _blob_info(blob)
        if beat is not None:
            beat()
    return out


def _blob_info(blob: Any) -> dict[str, Any]:
    return {"size": blob.size, "last_modified": blob.last_modified, "etag": blob.etag, "type": "file",
            "content_settings": {"content_md5": blob.content_settings.content_md5}}


def _stat_azure(handle: StoreHandle, path: str) -> dict[str, Any]:
    """One blob's properties as the listing gives them (the kinds table's ``stat``).  A folder
    of a hierarchical-namespace account (Data Lake Gen2) is a blob too, marked
    ``hdi_isfolder``: it is a directory, as adlfs says, not an empty file."""
    from azure.core.exceptions import ResourceNotFoundError

    name = path.partition("/")[2]
    try:
        props = _azure_container(handle).get_blob_client(name).get_blob_properties()
    except ResourceNotFoundError:
        raise FileNotFoundError(f"{path}: no such blob") from None
    info = _blob_info(props)
    if str((props.metadata or {}).get("hdi_isfolder", "")).lower() == "true":
        info["type"] = "directory"
    return info


def _rm_azure(handle: StoreHandle, key: str) -> None:
    _azure_container(handle).delete_blob(_azure_name(handle, key))



def _azure_upload(src: StoreHandle, dst: StoreHandle, dkey: str, dpath: str, spath: str, reader: Any,
                  sentry: _Entry, part: int, opts: TransferOptions, progress: ByteProgress, md5: Any,
                  deferred: dict[str, tuple[int, str]] | None) -> int:
    """A file to Azure (the kinds table's ``uploader``).  A plain name of at most one part: one
    Put Blob through the native client; the service stores the MD5 of what it received as the
    blob's Content-MD5, which the listing afterwards (``deferred``) or the blob's properties are
    checked against.  Anything else: one streamed write through adlfs, blocks then commit."""
    name = dpath.partition("/")[2]
    native = _native_for(dst, name)
    if native is None or sentry.size > part:
        return _write_streamed(dst, dkey, dpath, spath, reader, sentry, part, opts, progress, md5, deferred)
    data = _read_whole(reader, sentry.size, spath)
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    native.put(name, data)
    sent = len(data)
    del data
    if deferred is not None:
        deferred[dkey] = (sent, digest)
    elif opts.verify:
        got = _entry(_object_info(dst, dpath))
        _check(sent, digest, sentry, got.size, got.md5, dpath, opts)
    progress.advance(sent)
    return sent
