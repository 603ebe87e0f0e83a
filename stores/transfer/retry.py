"""Which errors are worth retrying, which mean the store cannot be reached (the circuit
breaker), and the retry loop with exponential backoff."""

from __future__ import annotations

import errno
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..errors import IntegrityError, StoresError, TransferError

if TYPE_CHECKING:
    from ..handles import StoreHandle
    from .options import TransferOptions

_log = logging.getLogger("stores.transfer.retry")

_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, StoresError)
_TRANSIENT_NAMES = ("timeout", "connection", "throttl", "slowdown", "serverdisconnected",
                    "incompleteread", "readerror", "protocolerror", "serviceunavailable",
                    "clientpayloaderror", "responsestreamingerror")


class SourceChangedError(IntegrityError):
    """The object changed while it was read: that file fails (retrying would copy a version the
    listing never saw), nothing is put in place."""


def _status(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(code, int):
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: timeouts, dropped connections, throttling, 5xx, a checksum mismatch."""
    if isinstance(exc, SourceChangedError):
        return False
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    status = _status(exc)
    if status is not None and (status == 429 or 500 <= status < 600):
        return True
    chain: BaseException | None = exc
    while chain is not None:
        name = type(chain).__name__.lower()
        if any(t in name for t in _TRANSIENT_NAMES) or any(t in str(chain).lower() for t in ("slow down", "throttl", "timed out", "connection reset")):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


_CONNECTION_ERRNOS = frozenset(getattr(errno, n) for n in (
    "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
    "ENETDOWN", "EHOSTDOWN", "EPIPE") if hasattr(errno, n))


def _is_connection_failure(exc: BaseException) -> bool:
    """The store could not be reached or talked to at all: a refused, reset or closed connection,
    a timeout, an unreachable endpoint (anywhere in the exception chain).  Not an error status the
    store answered (429, 5xx, 4xx), not an integrity error, not a body cut short mid-answer."""
    chain: BaseException | None = exc
    seen: set[int] = set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, StoresError) or _status(chain) is not None:
            return False  # the store answered (or the data is wrong): it is there
        if isinstance(chain, (ConnectionError, TimeoutError)):
            return True
        if isinstance(chain, OSError) and chain.errno in _CONNECTION_ERRNOS:
            return True
        names = [c.__name__.lower() for c in type(chain).__mro__]
        if any("connect" in n or "timeout" in n for n in names):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


class _Breaker:
    """Counts files in a row that failed to reach the store; open (tripped) at ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.streak = 0
        self.tripped = threading.Event()
        self._lock = threading.Lock()

    def record(self, exc: BaseException | None) -> None:
        """One file's outcome: ``None`` (sent) or the error it failed with after its retries."""
        with self._lock:
            if exc is not None and _is_connection_failure(exc):
                self.streak += 1
                if self.limit and self.streak >= self.limit and not self.tripped.is_set():
                    self.tripped.set()
                    _log.warning("%d file(s) in a row could not reach the store: starting no more files "
                               "(the store looks unreachable)", self.streak,
                               extra={"fields": {"breaker": "tripped", "streak": self.streak}})
            else:
                self.streak = 0


#: what stores answer a request signed with a key that was just rotated away or expired
_CREDENTIAL_CODES = ("invalidaccesskeyid", "expiredtoken", "signaturedoesnotmatch", "invalidtoken",
                     "requestexpired", "tokenrefreshrequired", "authenticationfailed", "invalid_grant")


def is_credential_error(exc: BaseException) -> bool:
    """The store refused the request's credentials (a rotated, deleted or expired key)."""
    chain: BaseException | None = exc
    seen: set[int] = set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        text = f"{type(chain).__name__} {chain}".lower().replace(" ", "")
        if any(code in text for code in _CREDENTIAL_CODES):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def _with_retries(fn: Callable[[], int], opts: TransferOptions, stop: threading.Event | None = None,
                  what: str = "", redact: Callable[[str], str] | None = None,
                  credentials: Callable[[], Any] | None = None) -> int:
    """``fn()``, retried with backoff on transient errors; not retried once ``stop`` is set (the
    circuit breaker: the store looks unreachable).  Each retry is logged (``what``: the file or
    listing; ``redact``: scrubs the error text of the credentials' secrets).  ``credentials()``
    tells what the handles' credentials were read from (``StoreHandle.credentials_signature``): a
    request refused for its credentials while they changed underneath it (a key file rotated
    mid-transfer, the old key deleted) is sent again with the new ones, without counting as a retry."""
    attempt = 0
    rotations = 0
    while True:
        before = credentials() if credentials is not None else None
        try:
            return fn()
        except Exception as exc:
            if (credentials is not None and rotations < 3 and is_credential_error(exc)
                    and credentials() != before):
                rotations += 1
                continue
            if attempt >= opts.retries or not is_transient(exc) or (stop is not None and stop.is_set()):
                raise
            delay = min(opts.max_backoff, opts.backoff * (2 ** attempt)) * (0.5 + random.random() / 2)
            detail = f"{type(exc).__name__}: {exc}"
            _log.warning("retrying %s in %.1fs (attempt %d of %d): %s", what or "a request", delay, attempt + 2,
                         opts.retries + 1, redact(detail) if redact is not None else detail,
                         extra={"fields": {"key": what, "attempt": attempt + 2, "delay": round(delay, 2)}})
            time.sleep(delay)
            attempt += 1


def _listed(fn: Callable[[], Any], handle: StoreHandle, opts: TransferOptions) -> Any:
    """``fn()`` (a listing), retried like a file; its failure is a TransferError naming the store."""
    try:
        return _with_retries(fn, opts, what=f"the listing of {handle.url}", redact=handle.credentials.redact)
    except StoresError:
        raise
    except Exception as exc:
        msg = handle.credentials.redact(f"{type(exc).__name__}: {exc}")
        raise TransferError(f"cannot list {handle.url}: {msg}") from exc
