"""The one way input is read: bounded, regular files only (tier 0: stdlib only).

Every file and JSON text the project takes from a user or from the renderer goes through here:
values files, key files (``stores secret --from-file``, credentials in a run), ``--inputs``,
``--plugins``, ``--into`` manifests, and the JSON of the in-run env contract
(``POLYAXON_RUN_DATA_PATHS``, ``POLYAXON_RUN_INPUTS[_FILE]``, ``POLYAXON_CONNECTIONS_CATALOG``).

- ``read_file`` takes regular files only: a FIFO would block the reader forever, a character
  device (``/dev/zero``) never ends, so both are refused from ``os.stat`` before the file is
  opened (and again from ``os.fstat`` on the open descriptor, which is opened non-blocking, in
  case the path was swapped in between).  At most ``limit + 1`` bytes are read, so a file that
  grows while it is read is still refused.
- ``load_json`` refuses nesting deeper than ``MAX_DEPTH`` (counted before ``json.loads`` runs,
  whose recursion would otherwise end in a ``RecursionError``), duplicate keys (``json`` keeps
  the last one silently), lone UTF-16 surrogates (``"\\ud800"`` parses, but is not text and cannot
  be printed or encoded), and bytes that are not UTF-8.

YAML nesting is capped at the same ``MAX_DEPTH`` by ``stores.yamlsrc``.  Messages say what is
wrong and where, never what the input holds (it may be a credential).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Callable

from .errors import StoresError

__all__ = [
    "MAX_BYTES",
    "MAX_SECRET_BYTES",
    "MAX_DEPTH",
    "PATH_MAX",
    "size_text",
    "read_file",
    "read_stdin",
    "load_json",
]

#: Values files, manifests, plugin files, run inputs files.  A Polyaxon values file is tens of
#: KB, and Helm keeps every release (chart and values, gzipped) in one Secret of at most 1 MiB;
#: PyYAML parses about 2 MiB a second, so the cap also bounds how long a refusal takes.
MAX_BYTES = 4 * 1024 * 1024
#: Kubernetes refuses a Secret whose data adds up to more than 1 MiB (MaxSecretSize,
#: https://kubernetes.io/docs/concepts/configuration/secret/#restriction-data-size): a key file
#: larger than that can never become one.
MAX_SECRET_BYTES = 1024 * 1024
#: Nesting of JSON and YAML documents.  Values files nest about 8 levels and Kubernetes
#: manifests about 15; Python's recursion limit (1000) is far above.
MAX_DEPTH = 100
#: Linux's PATH_MAX (limits.h): the longest path a system call takes, so the longest path a pod
#: can mount or a process open.
PATH_MAX = 4096


def size_text(n: int) -> str:
    """``1048576`` -> ``1 MiB (1048576 bytes)``: how a limit is named in messages."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit} ({n} bytes)"
    return f"{n} bytes"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_kind(special: str, what: str) -> str:
    if special == "a directory":
        return f"is a directory, not a {what}"
    return f"is {special}, not a regular file; refused"


def _too_large(what: str, limit: int) -> str:
    return f"is larger than {size_text(limit)}, the limit for a {what}; refused"


def read_file(path: str | os.PathLike[str], *, what: str = "file", limit: int = MAX_BYTES, error: Callable[[str], Exception] = StoresError) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Anything else raises ``error(message)``; the message is a phrase without the path
    (``no such file``, ``is a FIFO (named pipe), not a regular file; refused``, ``is larger than
    4 MiB (4194304 bytes), the limit for a values file; refused``) for the caller to prefix."""
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise error("no such file") from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise error(_refuse_kind(kind, what))
    if info.st_size > limit:
        raise error(_too_large(what, limit))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None
    chunks: list[bytes] = []
    total = 0
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is None:
            os.set_blocking(fd, True)
            while total <= limit:
                chunk = os.read(fd, min(limit + 1 - total, 1024 * 1024))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if kind is not None:  # swapped for a FIFO or a device after the stat above
        raise error(_refuse_kind(kind, what))
    if total > limit:  # it grew after the stat
        raise error(_too_large(what, limit))
    return b"".join(chunks)


def read_stdin(*, what: str = "document", limit: int = MAX_BYTES, error: Callable[[str], Exception] = StoresError) -> bytes:
    """Standard input (``-``), at most ``limit`` bytes: a pipe is what ``-`` is for."""
    stream = getattr(sys.stdin, "buffer", None)
    try:
        data = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1).encode("utf-8")
    except (OSError, UnicodeError) as exc:
        raise error(f"cannot read standard input: {exc}") from None
    if len(data) > limit:
        raise error(_too_large(what, limit))
    return data


# -- JSON ---------------------------------------------------------------------------------------

# a string literal (skipped whole, escapes included) or a bracket; an unterminated string runs
# to the end, where json.loads reports it.  Compiled on first use (re's cache), not at import:
# the in-run tier imports this module and must stay fast to import.
_TOKENS = r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]'


class _Duplicate(Exception):
    def __init__(self, key: str):
        self.key = key


def _surrogate_at(text: str) -> int | None:
    """Where the first lone surrogate is (UTF-8 cannot encode one), else ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether brackets (outside strings) nest deeper than ``max_depth``; stops at the first
    bracket past it, so ``[`` x 100000 costs ``max_depth`` steps."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # the common case, at C speed
    depth = 0
    for m in re.finditer(_TOKENS, text):
        char = text[m.start()]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char != '"':
            depth -= 1
    return False


def _short_key(key: str) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:56] + "...'"


def load_json(text: str | bytes, *, what: str, error: Callable[[str], Exception] = StoresError, max_depth: int = MAX_DEPTH) -> object:
    """``json.loads`` for input: a document too deep, with a key twice, with a lone surrogate or
    not UTF-8 raises ``error(message)``; messages start with ``what`` and never quote the text."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{what} is not UTF-8 text (bad byte at offset {exc.start})") from None
    bad = _surrogate_at(text)
    if bad is not None:
        # from os.environ (surrogateescape: bytes that are not UTF-8) or a str built in Python
        raise error(f"{what} is not UTF-8 text (a lone surrogate at char {bad})")
    if _too_deep(text, max_depth):
        raise error(f"{what} nests deeper than {max_depth} levels; refused")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        raise error(f"{what} has the key {_short_key(exc.key)} more than once; refused") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:  # pragma: no cover - _too_deep stops long before
        raise error(f"{what} nests deeper than {max_depth} levels; refused") from None
    if "\\u" in text and _surrogate_at(json.dumps(value, ensure_ascii=False)) is not None:
        # "\ud83d\ude00" is one character once parsed; a "\ud800" alone stays a surrogate
        raise error(f"{what} holds a lone surrogate escape (\\ud800-\\udfff), which is not text; refused")
    return value
