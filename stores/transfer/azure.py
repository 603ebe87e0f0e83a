"""Azure Blob Storage, through the SDK (the kinds table's ``lister``, ``after_write`` and
``deleter`` of the ``wasb`` kind): names read and deleted exactly, and the Content-MD5 of a blob
committed block by block."""

from __future__ import annotations

from typing import Any

from ..handles import StoreHandle


def _azure_container(handle: StoreHandle) -> Any:
    """A synchronous client of the handle's container (adlfs' own listing folds ``t/`` into
    ``t`` and loses control characters: names are read exactly from the SDK instead)."""
    from ..backends import azure_container_client

    return azure_container_client(handle.fs, handle.root.split("/", 1)[0])


def _azure_name(handle: StoreHandle, key: str) -> str:
    prefix = handle.root.partition("/")[2].rstrip("/")
    return f"{prefix}/{key}" if prefix and key else (prefix or key)


def _azure_set_md5(handle: StoreHandle, key: str, digest: bytes) -> None:
    """Record the Content-MD5 of a blob we committed block by block (Azure computes none then):
    later downloads are verified against it and syncs compare content by it."""
    from azure.storage.blob import ContentSettings

    blob = _azure_container(handle).get_blob_client(_azure_name(handle, key))
    blob.set_http_headers(ContentSettings(content_type="application/octet-stream", content_md5=bytearray(digest)))


def _list_azure(handle: StoreHandle) -> dict[str, dict[str, Any]]:
    container, _, prefix = handle.root.partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    out = {}
    for blob in _azure_container(handle).list_blobs(name_starts_with=prefix or None):
        out[blob.name[len(prefix):]] = {
            "size": blob.size, "last_modified": blob.last_modified, "etag": blob.etag,
            "content_settings": {"content_md5": blob.content_settings.content_md5}}
    return out


def _rm_azure(handle: StoreHandle, key: str) -> None:
    _azure_container(handle).delete_blob(_azure_name(handle, key))

