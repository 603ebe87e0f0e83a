"""The one exception tree of the project (tier 0: stdlib only).

    StoresError                  base of everything raised on purpose
    ├── ValuesError              a document (values file, dict, Python call) is invalid;
    │   │                        carries every Problem found, each with file, line and path
    │   └── MigrationError       a legacy values file has no exact current spelling
    ├── SelectionError           a run asked for a store the catalog does not have
    ├── ContractError            the in-run env contract is missing or malformed
    ├── TemplateError            a ``{{ globals.x }}`` reference cannot be resolved
    ├── ContextError             no client/run context could be resolved
    ├── RenderError              rendered Kubernetes objects clash (duplicate volume, mount path, env)
    │   └── ManifestError        a user's manifest cannot take the patch
    ├── SecretFormatError        a key file lacks what its store needs
    ├── CredentialsError         credentials for a store could not be resolved
    ├── MissingExtraError        an optional dependency is not installed (names the pip command)
    └── TransferError            an upload / download / sync failed (after retries)
        └── IntegrityError       what arrived differs from what was sent

The CLI maps ``StoresError`` to exit code 1 and usage errors to 2; nothing else escapes as a
traceback.  Messages never contain secret values: one policy, in :mod:`stores.redact`, applies at
every exit.  Validation refuses secret material where it does not belong (credentials or a SAS
token in a bucket URL, a literal value for a secret-ish env var) with a message that names the
path and never quotes the value; and, as a last net, every ``Problem`` message and path and every
``StoresError`` message passes through :func:`stores.redact.redact_text` (URL user-info and
signed-query values become ``***``).
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (this module is in-run)
if TYPE_CHECKING:
    from .transfer.options import TransferResult

__all__ = [
    "StoresError",
    "Problem",
    "ValuesError",
    "MigrationError",
    "SelectionError",
    "ContractError",
    "TemplateError",
    "ContextError",
    "RenderError",
    "ManifestError",
    "SecretFormatError",
    "CredentialsError",
    "MissingExtraError",
    "TransferError",
    "IntegrityError",
    "ReadOnlyStoreError",
    "format_path",
]


def format_path(path: Iterable[object]) -> str:
    """``("persistence", "data", "d1", "bucket")`` -> ``persistence.data.d1.bucket``; list
    indexes are written ``connections[2].schema``; the empty path is ``the document``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    # a document key can be anything, a credentialed URL too
    return _scrub(out) or "the document"


def _scrub(text: str) -> str:
    # imported on first use: the in-run tier imports this module and must stay small
    if "://" not in text and "=" not in text:
        return text
    from .redact import redact_text

    return redact_text(text)


class Problem:
    """One thing wrong in a document (immutable, compared and hashed by value)."""

    # A hand-written value class, not a dataclass: ``dataclasses`` imports ``inspect``, which
    # would add about 10 ms to every in-run ``import stores.run``.
    __slots__ = ("path", "message", "file", "line")
    __match_args__ = ("path", "message", "file", "line")

    path: tuple[object, ...]
    message: str
    file: str | None
    line: int | None

    def __init__(self, path: tuple[object, ...], message: str, file: str | None = None, line: int | None = None):
        message = _scrub(message) if isinstance(message, str) else message
        for name, value in zip(self.__slots__, (path, message, file, line)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: Problem is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: Problem is immutable")

    def _key(self) -> tuple[object, ...]:
        return (self.path, self.message, self.file, self.line)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Problem(path={self.path!r}, message={self.message!r}, file={self.file!r}, line={self.line!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (Problem, self._key())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        return f"{where}{format_path(self.path)}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "path": format_path(self.path),
            "message": self.message,
        }


class StoresError(Exception):
    """Base of every error this project raises on purpose.  Its string arguments are scrubbed
    by :func:`stores.redact.redact_text` (``str``, ``repr`` and ``args`` alike)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(_scrub(a) if isinstance(a, str) else a for a in args))


class ValuesError(StoresError, ValueError):
    """A document is invalid.  ``problems`` lists everything wrong with it, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class MigrationError(ValuesError):
    """A legacy ``persistence:`` section has no exact equivalent in the current spelling
    (``stores.migrate``); each problem says which part and why."""


class SelectionError(StoresError, LookupError):
    """A run selected a store name that the catalog does not define."""


class ContractError(StoresError, LookupError):
    """The in-run contract (``POLYAXON_RUN_*`` variables) is missing or malformed."""


class TemplateError(StoresError, KeyError):
    """A ``{{ globals.x }}`` template names an unknown or unavailable variable."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ContextError(StoresError, LookupError):
    """No client/run context could be resolved from any source."""


class RenderError(StoresError, ValueError):
    """Rendered Kubernetes objects would clash or break a policy."""


class ManifestError(RenderError):
    """A user's manifest cannot take the patch (no pod template, no such container, ...)."""


class SecretFormatError(StoresError, ValueError):
    """A credentials document lacks keys its store needs, or is not a JSON object."""


class CredentialsError(StoresError):
    """Credentials for a store could not be resolved."""


class MissingExtraError(StoresError, ImportError):
    """An optional dependency is missing; the message names the pip command that adds it."""


class TransferError(StoresError, OSError):
    """An upload, download or sync failed after its retries."""

    # what the engine (stores.transfer.engine) sets on the errors it raises; declared, not defined
    stalled: bool
    stalled_keys: list[str]
    failures: dict[str, BaseException]
    not_attempted: list[str]
    unverified: list[str]
    result: TransferResult


class IntegrityError(TransferError):
    """What arrived differs from what was sent (size or checksum)."""


class ReadOnlyStoreError(StoresError, PermissionError):
    """A write to a store whose connection is ``readOnly`` (refused before anything is sent)."""
