"""The requests that set a transfer's pace, through a native client (obstore: the Rust
``object_store`` crate behind a Python API) where one serves the kind and the handle.

Why: with many small files, the client's own CPU per request decides the speed (aiobotocore
spends several milliseconds of Python per request; the benchmark in the README measured 4.4 s of
CPU for 1000 uploads of 4 KiB through s3fs, 0.8 s through obstore, on the same server), and a
listing needs neither botocore's start-up nor its parsing.  Which operations go this way, per
kind, and the figures: docs/guides/transfer-engine.md.

What stays exact (a key is an identity, ``stores.transfer``'s accounting):

- object_store's ``Path`` refuses some keys (empty or ``.``/``..`` segments, control
  characters) and silently drops a leading or trailing ``/``: a key is sent this way only when it
  is one ``Path`` keeps as it is (:func:`plain_key`), any other through the fsspec client;
- a listing is used only when it cannot have folded a key: no entry of size 0 (a folder marker
  ``a/`` comes back as ``a``), no key twice, nothing at the root's own name; otherwise the exact
  listing of the fsspec client is taken instead;
- errors are re-raised as the exceptions the engine's retry rules and circuit breaker know
  (``FileNotFoundError``, ``PermissionError``, ``ConnectionError``, ``TimeoutError``, an error
  carrying its HTTP ``status``), and obstore retries a request once, as the fsspec clients are
  configured to, so ``TransferOptions.retries`` stays the policy.

``STORES_ENGINE=fsspec`` turns the native client off (everything through fsspec); so does a
``fork`` after it was used (obstore's runtime does not survive one: the child goes through fsspec).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..kinds import KINDS

if TYPE_CHECKING:
    from ..credentials import Credentials
    from ..handles import StoreHandle

__all__ = ["NativeClient", "native_client", "plain_key", "ENGINE_ENV"]

#: ``fsspec`` turns the native client off
ENGINE_ENV = "STORES_ENGINE"

_BAD_SEGMENT = re.compile(r"[\x00-\x1f\x7f]")


def plain_key(key: str) -> bool:
    """Whether object_store's ``Path`` holds ``key`` exactly: non-empty segments, none ``.`` or
    ``..``, no control character (``Path::parse`` refuses those, and drops a leading or trailing
    ``/``)."""
    if not key or _BAD_SEGMENT.search(key):
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


class NativeHTTPError(Exception):
    """A status the store answered (the engine retries 429 and 5xx, as for the SDKs)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NativeConnectionError(ConnectionError):
    """The store could not be reached or the connection broke (the circuit breaker counts it)."""


class NativeResponseStreamingError(Exception):
    """An answer cut short or garbled mid-body: retried, but not a sign the store is gone (the
    engine's rules, as for botocore's ``ResponseStreamingError``)."""


_STATUS = re.compile(r"(?:status code: |status: )(\d{3})")
#: object_store's ``HttpErrorKind`` in the error's debug text
_HTTP_KIND = re.compile(r"HttpError \{\s*kind: (\w+)")


def _translate(exc: BaseException, path: str) -> BaseException:
    """obstore's exception as one the engine's rules know (the message kept, first line only:
    obstore appends a debug dump of the request)."""
    from obstore import exceptions as ob

    full = str(exc)
    text = full.split("\n\nDebug source:", 1)[0].strip()
    if isinstance(exc, ob.NotFoundError):
        return FileNotFoundError(f"{path}: not found ({text})")
    if isinstance(exc, (ob.PermissionDeniedError, ob.UnauthenticatedError)):
        return PermissionError(f"{path}: {text}")
    found = _STATUS.search(full)
    if found:
        return NativeHTTPError(text, int(found.group(1)))
    kind = _HTTP_KIND.search(full)
    if kind is not None:
        if kind.group(1) == "Timeout":
            return TimeoutError(text)
        if kind.group(1) in ("Connect", "Request"):
            return NativeConnectionError(text)
        return NativeResponseStreamingError(text)  # Interrupted, Decode, Unknown
    return exc


class NativeClient:
    """One bucket's native store (thread-safe: obstore releases the GIL while it waits)."""

    def __init__(self, store: Any, bucket: str) -> None:
        self.store, self.bucket = store, bucket

    def _call(self, path: str, fn: Callable[[], Any]) -> Any:
        from obstore.exceptions import BaseError

        try:
            return fn()
        except BaseError as exc:
            raise _translate(exc, path) from None

    def get_range(self, key: str, start: int, end: int) -> memoryview:
        """Bytes ``[start, end)`` of ``key`` (fewer when the object is shorter), as a view of
        obstore's buffer (not copied: a range may be tens of MiB)."""
        import obstore

        return memoryview(self._call(key, lambda: obstore.get_range(self.store, key, start=start, end=end)))

    def put(self, key: str, data: bytes) -> str | None:
        """``data`` as the whole object ``key``; the ETag the store answered."""
        import obstore

        out = self._call(key, lambda: obstore.put(self.store, key, data, use_multipart=False))
        etag = out.get("e_tag")
        return str(etag) if etag else None

    def put_parts(self, key: str, parts: Iterator[bytes], part: int, in_flight: int) -> str | None:
        """``parts`` (each ``part`` bytes but the last) as the multipart upload of ``key``,
        ``in_flight`` parts at once; the ETag of the whole.  An error, the iterator's own
        included, aborts the upload (object_store's ``WriteMultipart``): nothing is committed."""
        import obstore

        out = self._call(key, lambda: obstore.put(self.store, key, parts, use_multipart=True, chunk_size=part,
                                                  max_concurrency=in_flight))
        etag = out.get("e_tag")
        return str(etag) if etag else None

    def head(self, key: str) -> dict[str, Any]:
        import obstore

        return _info(self._call(key, lambda: obstore.head(self.store, key)))

    def has_under(self, prefix: str) -> bool:
        """Whether any object's key starts with ``prefix/`` (a "directory" of the bucket): the
        first page of its listing only."""
        import obstore
        from obstore.exceptions import BaseError

        base = prefix.strip("/")
        try:
            for batch in obstore.list(self.store, prefix=base or None, chunk_size=1):
                return len(batch) > 0
        except BaseError as exc:
            raise _translate(exc, base or self.bucket) from None
        return False

    def list(self, prefix: str, beat: Callable[[], None] | None = None) -> dict[str, dict[str, Any]] | None:
        """Every object under ``prefix/`` (``prefix`` empty: the bucket), by its key relative to
        the prefix, as fsspec-style info dicts; ``None`` when the listing may have folded a key
        (module docstring) or object_store refused one: the caller lists exactly instead.
        ``beat()`` after each page: a listing of many pages is progress (the stall watch)."""
        import obstore
        from obstore.exceptions import BaseError, InvalidPathError

        base = prefix.strip("/")
        cut = len(base) + 1 if base else 0
        out: dict[str, dict[str, Any]] = {}
        try:  # the pages are fetched as the stream is read: its errors are translated too
            for batch in obstore.list(self.store, prefix=base or None, chunk_size=1000):
                for meta in batch:
                    key = meta["path"][cut:]
                    if meta["size"] == 0 or not key or key in out:
                        return None
                    out[key] = _info(meta)
                if beat is not None:
                    beat()
        except InvalidPathError:
            return None
        except BaseError as exc:
            raise _translate(exc, base or self.bucket) from None
        return out


def _info(meta: Any) -> dict[str, Any]:
    """object_store's metadata as the info dict ``stores.transfer.listing._entry`` reads."""
    return {"size": int(meta["size"]), "LastModified": meta["last_modified"], "ETag": meta.get("e_tag"),
            "type": "file"}


_CACHE: dict[tuple[Any, ...], NativeClient] = {}
_LOCK = threading.Lock()
#: obstore's runtime (its threads) does not survive ``fork``: a child of a process that used it
#: would wait forever on its first request, so such a child goes through fsspec
_STATE = {"used": False, "forked": False}


def _after_fork_in_child() -> None:
    _CACHE.clear()
    if _STATE["used"]:
        _STATE["forked"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def native_client(handle: StoreHandle) -> NativeClient | None:
    """The native client of ``handle``'s bucket, or ``None``: not a kind with one (the kinds
    table's ``native_store``), settings it does not cover (refreshable keys, a workload identity,
    an unknown setting), obstore not installed, or ``STORES_ENGINE=fsspec``."""
    if handle.is_local or _STATE["forked"] or os.environ.get(ENGINE_ENV, "").strip().lower() == "fsspec":
        return None
    build = KINDS[handle.kind].code("native_store")
    if build is None:
        return None
    bucket, account = handle.root.split("/", 1)[0], _account(handle)
    creds = handle.credentials
    ident = (handle.kind, bucket, account, tuple(sorted((k, str(v)) for k, v in creds.settings.items())),
             tuple(sorted(creds.sources.items())))
    with _LOCK:
        if ident in _CACHE:
            return _CACHE[ident]
    try:
        store = build(creds, bucket, account)
    except ImportError:
        store = None
    client = NativeClient(store, bucket) if store is not None else None
    _STATE["used"] = _STATE["used"] or client is not None
    with _LOCK:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[ident] = client  # type: ignore[assignment]  # None is cached too: decided once
    return client


#: S3 settings the native store takes as they are (any other setting: the fsspec client)
_S3_SETTINGS = frozenset({"access_key", "secret_key", "token", "endpoint_url", "region", "verify_ssl",
                          "ca_bundle", "timeout"})


def _account(handle: StoreHandle) -> str | None:
    """The storage account a handle's URL names (kinds whose URLs name one: Azure)."""
    pattern = KINDS[handle.kind].account_url
    found = re.fullmatch(pattern, handle.url) if pattern else None
    return found.group(3) if found else None


def s3_store(creds: Credentials, bucket: str, account: str | None = None) -> Any:
    """An obstore ``S3Store`` for ``bucket`` with the handle's static keys (the kinds table's
    ``native_store`` of S3), or ``None`` when the settings need what only the SDK does: keys
    re-read from a mounted file, a web identity, the SDK's default chain (profiles, instance
    metadata)."""
    from ..backends import _timeout, _verify_ssl
    from ..refresh import key_file_of

    settings = creds.settings
    if (set(settings) - _S3_SETTINGS or not settings.get("access_key") or not settings.get("secret_key")
            or key_file_of(creds.sources, "access_key")):
        return None
    if "." in bucket and not settings.get("endpoint_url"):
        return None  # virtual-hosted style cannot name it over TLS; the SDK handles that case
    from obstore.store import S3Store

    endpoint = settings.get("endpoint_url") or None
    timeout = _timeout(creds)
    client = _client_options(timeout, endpoint)
    if not _verify_ssl(creds):
        client["allow_invalid_certificates"] = True
    elif settings.get("ca_bundle") and not (endpoint or "").startswith("http://"):
        with open(settings["ca_bundle"], "rb") as fh:
            client["root_certificate"] = fh.read()
    config: dict[str, Any] = {"access_key_id": settings["access_key"], "secret_access_key": settings["secret_key"],
                              "region": settings.get("region") or "us-east-1",
                              # an endpoint of one's own (MinIO, moto, Ceph) is addressed path-style
                              # as botocore does; AWS itself by virtual host
                              "virtual_hosted_style_request": not endpoint}
    if settings.get("token"):
        config["session_token"] = settings["token"]
    if endpoint:
        config["endpoint"] = endpoint
    return S3Store(bucket, config=config, client_options=client, retry_config=_retry(timeout))  # type: ignore[arg-type]


def _client_options(timeout: float, endpoint: str | None) -> dict[str, Any]:
    """The HTTP client's options every native store shares: the handle's timeout, plain http
    only for an endpoint that asks for it."""
    client: dict[str, Any] = {"timeout": timedelta(seconds=timeout * 2), "connect_timeout": timedelta(seconds=timeout),
                              "pool_max_idle_per_host": "64"}
    if (endpoint or "").startswith("http://"):
        client["allow_http"] = True
    return client


def _retry(timeout: float) -> dict[str, Any]:
    """One retry of a request (a broken GET body resumes where it broke), as the fsspec clients
    are configured (stores.backends): whole files are retried by stores.transfer, with its
    backoff, under its circuit breaker."""
    return {"max_retries": 1, "retry_timeout": timedelta(seconds=timeout * 2),
            "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=1), "base": 2}}


#: Azure settings the native store takes (a workload identity, the SDK's default chain: fsspec)
_AZURE_SETTINGS = frozenset({"connection_string", "account_name", "account_key", "sas_token", "blob_endpoint",
                             "timeout"})


def _connection_string(text: str) -> dict[str, str]:
    parts = (p.partition("=") for p in text.split(";") if p.strip())
    return {k.strip().lower(): v.strip() for k, _, v in parts}


def azure_store(creds: Credentials, container: str, account: str | None = None) -> Any:
    """An obstore ``AzureStore`` for ``container`` (the kinds table's ``native_store`` of
    Azure): an account key or a SAS token, given alone or in a connection string; ``None`` for
    what only the SDK does (a workload identity, the default credential chain)."""
    from ..backends import _timeout

    settings = creds.settings
    if set(settings) - _AZURE_SETTINGS:
        return None
    conn = _connection_string(settings.get("connection_string") or "")
    name = conn.get("accountname") or settings.get("account_name") or account
    key = conn.get("accountkey") or settings.get("account_key")
    sas = conn.get("sharedaccesssignature") or settings.get("sas_token")
    endpoint = conn.get("blobendpoint") or settings.get("blob_endpoint")
    if not endpoint and conn.get("endpointsuffix") and name:
        endpoint = f"{conn.get('defaultendpointsprotocol') or 'https'}://{name}.blob.{conn['endpointsuffix']}"
    if not name or not (key or sas):
        return None
    from obstore.store import AzureStore

    config: dict[str, Any] = {"account_name": name}
    if key:
        config["account_key"] = key
    else:
        config["sas_key"] = str(sas).lstrip("?")
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    timeout = _timeout(creds)
    client = _client_options(timeout, endpoint)
    return AzureStore(container, config=config, client_options=client, retry_config=_retry(timeout))  # type: ignore[arg-type]
