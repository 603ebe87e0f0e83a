"""fsspec filesystems per kind, built from resolved credentials (tier 2: every backend import is
inside its factory, so importing this module loads no SDK)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

from .credentials import Credentials
from .errors import CredentialsError, MissingExtraError
from .kinds import KINDS

__all__ = ["require", "local_fs", "s3_fs", "s3_upload_fs", "gcs_fs", "azure_fs", "fs_options",
           "s3_options", "gcs_options", "azure_options", "azure_container_client", "azure_static_container_client",
           "DEFAULT_TIMEOUT"]

#: connect and read timeout (seconds) of every bucket SDK unless the credentials set one
#: (``POLYAXON_TIMEOUT``): a dead store must fail a request, not hold it for minutes
DEFAULT_TIMEOUT = 20.0


def _gcsfs_stable() -> None:
    """gcsfs' experimental zonal/HNS layer (on by default since gcsfs 2026.x, chosen once, when
    gcsfs is imported) probes gRPC on every call: a minute against an emulator or a store that
    does not answer gRPC.  The stable filesystem is used unless the user opted in explicitly;
    this must run before the first ``import gcsfs`` (``require`` imports it)."""
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def require(kind: str, load: bool = True) -> None:
    """Import the modules a ``kind`` handle needs, or raise MissingExtraError naming the fix;
    ``load=False`` only checks they are installed (a handle whose filesystem is built on first
    use imports them then)."""
    info = KINDS[kind]
    if "gcsfs" in info.modules and load:
        _gcsfs_stable()
    for module in ("fsspec", *info.modules):
        try:
            if load:
                importlib.import_module(module)
            elif importlib.util.find_spec(module) is None:
                raise ImportError(name=module)
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
    """The options of an ``s3fs.S3FileSystem`` (the kinds table's ``fs_options`` of S3).

    A workload identity (role ARN + token file) or keys read from a mounted key file give the
    filesystem an aiobotocore session with refreshable credentials (``stores.refresh``): renewed
    before they expire, re-read when Kubernetes swaps the key file."""
    from .refresh import s3_session

    client: dict[str, Any] = {}
    region = creds.get("region")
    # us-east-1 is the default; naming it makes s3fs send an invalid LocationConstraint
    if region and region != "us-east-1":
        client["region_name"] = region
    if not _verify_ssl(creds):
        client["verify"] = False
    elif creds.get("ca_bundle"):
        client["verify"] = creds.get("ca_bundle")
    session = s3_session(creds, {k: v for k, v in client.items() if k == "verify"})
    if session is not None:
        opts["session"] = session
    for ours, theirs in (("access_key", "key"), ("secret_key", "secret"), ("token", "token"),
                         ("endpoint_url", "endpoint_url")):
        if creds.get(ours) and (session is None or ours == "endpoint_url"):
            opts[theirs] = creds.get(ours)
    if client:
        opts["client_kwargs"] = client
    # whole files are retried by stores.transfer; SDK-level retries on top of that multiply
    config: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 2}}
    if timeout:
        config.update(connect_timeout=timeout, read_timeout=timeout)
    opts["config_kwargs"] = config


def gcs_options(creds: Credentials, opts: dict[str, Any], timeout: float, account: str | None = None) -> None:
    """The options of a ``gcsfs.GCSFileSystem`` (the kinds table's ``fs_options`` of GCS).

    A key read from a mounted file (a service-account key, or an external-account config of
    workload identity federation) becomes credentials that reload the file when Kubernetes swaps
    it; a workload identity without one uses google-auth's default chain (GKE's metadata
    server answers for the pod's ServiceAccount)."""
    _gcsfs_stable()  # whoever takes these options (pandas, Dask: ``storage_options``) imports gcsfs next
    from .refresh import ReloadingGoogleCredentials, key_file_of

    path = key_file_of(creds.sources, "service_account")
    info = creds.get("service_account")
    if info and path:
        from .credentials import _read_key_file

        opts["token"] = ReloadingGoogleCredentials(path, info, lambda: _read_key_file(path, "gcs")["service_account"])
    elif info and info.get("type") not in (None, "service_account") and not creds.get("endpoint_url"):
        from .refresh import google_credentials

        opts["token"] = google_credentials(info)
    elif info:
        opts["token"] = dict(info)
    elif creds.get("workload_identity") and not creds.get("endpoint_url"):
        opts["token"] = "google_default"
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
    name = creds.get("account_name") or account
    conn = _azure_connection_string(creds, name)
    if conn:
        opts["connection_string"] = conn
    else:
        opts["account_name"] = name
        if creds.get("account_key"):
            opts["account_key"] = creds.get("account_key")
        elif creds.get("sas_token"):
            opts["sas_token"] = creds.get("sas_token")
        elif creds.get("client_id") and creds.get("federated_token_file"):
            opts["credential"] = _azure_workload_identity(creds)
        else:
            opts["anon"] = False  # DefaultAzureCredential
    if timeout:
        opts.update(timeout=int(timeout), connection_timeout=int(timeout), read_timeout=int(timeout))


def _azure_connection_string(creds: Credentials, name: str | None) -> str | None:
    """The credentials' connection string; or one made of a custom ``blob_endpoint`` and a key or
    SAS token (adlfs and the SDK only build ``https://<account>.blob.core.windows.net`` URLs
    themselves); else None."""
    conn = creds.get("connection_string")
    endpoint, key, sas = creds.get("blob_endpoint"), creds.get("account_key"), creds.get("sas_token")
    if not conn and endpoint and (key or sas):
        secret = f"AccountKey={key}" if key else f"SharedAccessSignature={str(sas).lstrip('?')}"
        conn = f"BlobEndpoint={endpoint};AccountName={name};{secret}"
    return conn or None


def _azure_workload_identity(creds: Credentials, aio: bool = True) -> Any:
    """azure-identity's WorkloadIdentityCredential (``aio``: the asynchronous one adlfs uses):
    the client id's federated token file exchanged for an Entra token, the file read again at
    each exchange (the kubelet rotates it)."""
    kw = {"client_id": creds.get("client_id"), "token_file_path": creds.get("federated_token_file"),
          "tenant_id": creds.get("tenant_id"), "authority": creds.get("authority_host")}
    given = {k: v for k, v in kw.items() if v}
    if aio:
        from azure.identity.aio import WorkloadIdentityCredential as AioWorkloadIdentityCredential

        return AioWorkloadIdentityCredential(**given)
    from azure.identity import WorkloadIdentityCredential

    return WorkloadIdentityCredential(**given)


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
    _gcsfs_stable()
    import gcsfs

    return gcsfs.GCSFileSystem(**fs_options(creds, account))


def azure_fs(creds: Credentials, account: str | None = None) -> Any:
    import adlfs

    options = fs_options(creds, account)
    fs = adlfs.AzureBlobFileSystem(**options)
    fs._stores_timeout = _timeout(creds)
    if "credential" in options and getattr(fs, "sync_credential", None) is None:
        # the synchronous clients (exact listings, deletions) get the same identity
        fs.sync_credential = _azure_workload_identity(creds, aio=False)
    return fs


#: settings a container client is built from without adlfs (static keys); anything else (a
#: workload identity, the default chain) goes through the adlfs filesystem's credential
_AZURE_STATIC = frozenset({"connection_string", "account_name", "account_key", "sas_token", "blob_endpoint", "timeout"})
_STATIC_CONTAINERS: dict[tuple[Any, ...], Any] = {}


def azure_static_container_client(creds: Credentials, container: str, account: str | None = None) -> Any:
    """The synchronous client of ``container`` built from static keys (a connection string, an
    account key, a SAS token), as :func:`azure_options` gives them to adlfs, without adlfs
    itself (twice the imports of azure-storage-blob: a third of a second of every Azure
    command); ``None`` for other credentials."""
    if set(creds.settings) - _AZURE_STATIC:
        return None
    name = creds.get("account_name") or account
    key, sas = creds.get("account_key"), creds.get("sas_token")
    conn = _azure_connection_string(creds, name)
    if not conn and not (name and (key or sas)):
        return None
    timeout = int(_timeout(creds) or DEFAULT_TIMEOUT)
    ident = (conn, name, key, sas, container, timeout)
    cached = _STATIC_CONTAINERS.get(ident)
    if cached is not None:
        return cached
    from azure.storage.blob import BlobServiceClient

    kw = _azure_client_kw(timeout)
    if conn:
        service = BlobServiceClient.from_connection_string(conn, **kw)
    else:
        credential = {"account_name": name, "account_key": key} if key else str(sas)
        service = BlobServiceClient(f"https://{name}.blob.core.windows.net", credential=credential, **kw)
    if len(_STATIC_CONTAINERS) > 64:
        _STATIC_CONTAINERS.clear()
    client = _STATIC_CONTAINERS[ident] = service.get_container_client(container)
    return client


def _azure_client_kw(timeout: int) -> dict[str, Any]:
    """The SDK clients' timeouts and bounded retries (the engine retries whole files itself)."""
    return {"connection_timeout": timeout, "read_timeout": timeout, "retry_total": 2, "retry_connect": 1,
            "retry_read": 1, "retry_backoff_factor": 0.5}


def azure_container_client(fs: Any, container: str) -> Any:
    """A synchronous azure-storage-blob client of ``container`` with the credentials and the
    timeouts of the adlfs filesystem ``fs`` (built once per filesystem and container): exact
    blob names for listings and deletions, bounded retries."""
    cache = fs.__dict__.setdefault("_stores_containers", {})
    if container in cache:
        return cache[container]
    from azure.storage.blob import BlobServiceClient

    timeout = int(getattr(fs, "_stores_timeout", DEFAULT_TIMEOUT))
    kw = _azure_client_kw(timeout)
    if getattr(fs, "connection_string", None):
        service = BlobServiceClient.from_connection_string(fs.connection_string, **kw)
    else:
        credential = fs.account_key and {"account_name": fs.account_name, "account_key": fs.account_key}
        service = BlobServiceClient(fs.account_url, credential=credential or fs.sas_token or getattr(fs, "sync_credential", None) or fs.credential, **kw)
    cache[container] = service.get_container_client(container)
    return cache[container]
