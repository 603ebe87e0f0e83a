"""fsspec filesystems per kind, built from resolved credentials (tier 2: every backend import is
inside its factory, so importing this module loads no SDK)."""

from __future__ import annotations

import importlib
import os
from typing import Any

from .credentials import Credentials
from .errors import CredentialsError, MissingExtraError
from .kinds import KINDS

__all__ = ["require", "local_fs", "s3_fs", "s3_upload_fs", "gcs_fs", "azure_fs", "fs_options",
           "s3_options", "gcs_options", "azure_options", "azure_container_client", "DEFAULT_TIMEOUT"]

#: connect and read timeout (seconds) of every bucket SDK unless the credentials set one
#: (``POLYAXON_TIMEOUT``): a dead store must fail a request, not hold it for minutes
DEFAULT_TIMEOUT = 20.0


def require(kind: str) -> None:
    """Import the modules a ``kind`` handle needs, or raise MissingExtraError naming the fix."""
    info = KINDS[kind]
    for module in ("fsspec", *info.modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            fix = f"pip install 'plx-stores[{info.extra}]'" if info.extra else "pip install fsspec"
            raise MissingExtraError(
                f"{info.article} {kind} store needs the Python package {module!r}, which is not installed "
                f"({exc.name or module}): {fix}"
            ) from None


def _verify_ssl(creds: Credentials) -> bool:
    """``verify_ssl`` through the project's one flag parser (``stores.contract.read.parse_bool``):
    unset or blank verifies, anything but a recognised yes/no is an error naming its source."""
    from .contract.read import parse_bool

    where = creds.sources.get("verify_ssl")
    return parse_bool(f"verify_ssl ({where})" if where else "verify_ssl", creds.get("verify_ssl"), True,
                      error=CredentialsError)


def _timeout(creds: Credentials) -> float:
    raw = creds.get("timeout")
    return float(raw) if raw not in (None, "") else DEFAULT_TIMEOUT


def fs_options(creds: Credentials, account: str | None = None) -> dict[str, Any]:
    """The keyword arguments of the kind's fsspec filesystem (values may be secret)."""
    timeout = _timeout(creds)
    # a transfer tool must see what is there now, not a listing cached a minute ago
    opts: dict[str, Any] = {"use_listings_cache": False}
    entry = KINDS.get(creds.kind)
    add = entry.code("fs_options") if entry is not None else None
    if add is not None:
        add(creds, opts, timeout, account)
    return opts


def s3_options(creds: Credentials, opts: dict[str, Any], timeout: float, account: str | None = None) -> None:
    """The options of an ``s3fs.S3FileSystem`` (the kinds table's ``fs_options`` of S3)."""
    for ours, theirs in (("access_key", "key"), ("secret_key", "secret"), ("token", "token"),
                         ("endpoint_url", "endpoint_url")):
        if creds.get(ours):
            opts[theirs] = creds.get(ours)
    client: dict[str, Any] = {}
    region = creds.get("region")
    # us-east-1 is the default; naming it makes s3fs send an invalid LocationConstraint
    if region and region != "us-east-1":
        client["region_name"] = region
    if not _verify_ssl(creds):
        client["verify"] = False
    elif creds.get("ca_bundle"):
        client["verify"] = creds.get("ca_bundle")
    if client:
        opts["client_kwargs"] = client
    # whole files are retried by stores.transfer; SDK-level retries on top of that multiply
    config: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 2}}
    if timeout:
        config.update(connect_timeout=timeout, read_timeout=timeout)
    opts["config_kwargs"] = config


def gcs_options(creds: Credentials, opts: dict[str, Any], timeout: float, account: str | None = None) -> None:
    """The options of a ``gcsfs.GCSFileSystem`` (the kinds table's ``fs_options`` of GCS)."""
    if creds.get("service_account"):
        opts["token"] = dict(creds.get("service_account"))
    elif creds.get("endpoint_url"):
        opts["token"] = "anon"  # an emulator takes no credentials
    if creds.get("endpoint_url"):
        opts["endpoint_url"] = creds.get("endpoint_url")
    if creds.get("project"):
        opts["project"] = creds.get("project")
    if timeout:
        opts["requests_timeout"] = timeout


def azure_options(creds: Credentials, opts: dict[str, Any], timeout: float, account: str | None = None) -> None:
    """The options of an ``adlfs.AzureBlobFileSystem`` (the kinds table's ``fs_options`` of Azure)."""
    conn = creds.get("connection_string")
    name = creds.get("account_name") or account
    endpoint = creds.get("blob_endpoint")
    if not conn and endpoint and (creds.get("account_key") or creds.get("sas_token")):
        # adlfs only builds https://<account>.blob.core.windows.net URLs itself
        secret = (f"AccountKey={creds.get('account_key')}" if creds.get("account_key")
                  else f"SharedAccessSignature={creds.get('sas_token').lstrip('?')}")
        conn = f"BlobEndpoint={endpoint};AccountName={name};{secret}"
    if conn:
        opts["connection_string"] = conn
    else:
        opts["account_name"] = name
        if creds.get("account_key"):
            opts["account_key"] = creds.get("account_key")
        elif creds.get("sas_token"):
            opts["sas_token"] = creds.get("sas_token")
        else:
            opts["anon"] = False  # DefaultAzureCredential
    if timeout:
        opts.update(timeout=int(timeout), connection_timeout=int(timeout), read_timeout=int(timeout))


def local_fs(creds: Credentials, account: str | None = None) -> Any:
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem()


def s3_fs(creds: Credentials, account: str | None = None) -> Any:
    import s3fs

    fs = s3fs.S3FileSystem(**fs_options(creds, account))
    # s3fs retries each call 5 times over botocore's attempts (fs_options): a stalled server then
    # cost 15 read timeouts per call before stores.transfer's own retries even started
    fs.retries = 1
    return fs


def s3_upload_fs(fs: Any) -> Any:
    """A sibling of the S3 filesystem ``fs`` (same options and credentials) for uploads whose
    requests all carry a Content-MD5 (``stores.transfer`` sends one with every object and part).

    The SDK otherwise hashes each body twice more (SHA-256 for the signature whenever the
    endpoint is plain http, and a CRC32) in the one event-loop thread that every request of the
    process goes through: for a large file that thread, not the network, was the limit.  Content-MD5
    is a signed header that the store checks against the body, so the body stays bound to the
    signature (what the SDK itself relies on over https); the MD5s are computed by the threads
    that read the data, in parallel.  Built once per filesystem."""
    cached = getattr(fs, "_stores_upload_fs", None)
    if cached is not None:
        return cached
    options = dict(getattr(fs, "storage_options", {}) or {})
    config = dict(options.get("config_kwargs") or {})
    config["s3"] = {**(config.get("s3") or {}), "payload_signing_enabled": False}
    config["request_checksum_calculation"] = "when_required"
    options["config_kwargs"] = config
    try:
        upload = type(fs)(**options)
    except TypeError:  # not an s3fs filesystem we know how to rebuild: use it as it is
        upload = fs
    upload.retries = getattr(fs, "retries", upload.retries)
    fs._stores_upload_fs = upload
    return upload


def gcs_fs(creds: Credentials, account: str | None = None) -> Any:
    # gcsfs' experimental zonal/HNS layer probes gRPC on every call (a minute against an
    # emulator); the stable filesystem is used unless the user opted in explicitly
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import gcsfs

    return gcsfs.GCSFileSystem(**fs_options(creds, account))


def azure_fs(creds: Credentials, account: str | None = None) -> Any:
    import adlfs

    fs = adlfs.AzureBlobFileSystem(**fs_options(creds, account))
    fs._stores_timeout = _timeout(creds)
    return fs


def azure_container_client(fs: Any, container: str) -> Any:
    """A synchronous azure-storage-blob client of ``container`` with the credentials and the
    timeouts of the adlfs filesystem ``fs`` (built once per filesystem and container): exact
    blob names for listings and deletions, bounded retries."""
    cache = fs.__dict__.setdefault("_stores_containers", {})
    if container in cache:
        return cache[container]
    from azure.storage.blob import BlobServiceClient

    timeout = int(getattr(fs, "_stores_timeout", DEFAULT_TIMEOUT))
    kw: dict[str, Any] = {"connection_timeout": timeout, "read_timeout": timeout, "retry_total": 2, "retry_connect": 1,
          "retry_read": 1, "retry_backoff_factor": 0.5}
    if getattr(fs, "connection_string", None):
        service = BlobServiceClient.from_connection_string(fs.connection_string, **kw)
    else:
        credential = fs.account_key and {"account_name": fs.account_name, "account_key": fs.account_key}
        service = BlobServiceClient(fs.account_url, credential=credential or fs.sas_token or getattr(fs, "sync_credential", None) or fs.credential, **kw)
    cache[container] = service.get_container_client(container)
    return cache[container]
