"""Checking the values read from the in-run env contract: flags, names, paths, URLs, JSON (tier 0: stdlib only)."""

from __future__ import annotations

import posixpath
import re

from ..errors import ContractError
from ..reader import PATH_MAX, load_json
from ..redact import url_secret
from .names import ENV_RUN_INSTANCE, RUNS_SEPARATOR


#: the one spelling of an env flag, any case, surrounding blanks ignored; unset or blank is the
#: caller's default; anything else is an error naming the variable (docs/reference/environment.md)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(name: str, raw: object, default: bool = False, *, error: type[Exception] = ContractError) -> bool:
    """An env flag (or a flag from a context file): ``true/false``, ``1/0``, ``yes/no``,
    ``on/off`` in any case; ``None`` or blank is ``default``; a bool is itself; anything else
    is ``error`` naming ``name``, never a guess."""
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return default
    value = str(raw).strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise error(f"{name} must be true or false (1/0, yes/no, on/off), got {str(raw)[:40]!r}")


def parse_instance(
    instance: str,
    owner: str | None = None,
    project: str | None = None,
    *,
    error: type[Exception] = ContractError,
) -> tuple[str, str, str]:
    """``POLYAXON_RUN_INSTANCE`` (``owner.project.runs.uuid``) as ``(owner, project, uuid)``.

    The uuid follows the last ``.runs.`` and has no dot.  The head must be ``owner.project``
    (two non-empty parts) unless both ``owner`` and ``project`` are known from their own
    variables: then an owner or project with dots is fine, and the given ones win."""
    prefix, sep, uuid = instance.rpartition(RUNS_SEPARATOR)
    head = prefix.split(".")
    known = bool(owner and project)
    if not sep or not uuid or "." in uuid or not prefix or (not known and (len(head) != 2 or not all(head))):
        raise error(f"{ENV_RUN_INSTANCE} must look like owner.project.runs.uuid, got {_shown(instance)}")
    if known:
        return owner, project, uuid  # type: ignore[return-value]
    return owner or head[0], project or head[1], uuid


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 80 else raw[:77] + "...")


def json_object(name: str, raw: str | bytes, value_type: type | None = None) -> dict[str, object]:
    """A JSON object from ``name`` (a variable or a file), through ``stores.reader.load_json``:
    too deep, a key twice, a lone surrogate or bad JSON is a ``ContractError`` that names the
    variable and never quotes its value (it may hold bucket URLs or inputs)."""
    value = load_json(raw, what=name, error=ContractError)
    if not isinstance(value, dict):
        raise ContractError(f"{name} must be a JSON object, got {type(value).__name__}")
    if value_type is not None:
        bad = [k for k, v in value.items() if not isinstance(v, value_type) or not v]
        if bad:
            raise ContractError(
                f"{name} must map names to non-empty {value_type.__name__}s; bad entry {_name_shown(bad[0])}"
            )
    return value


# -- what the contract may hold -------------------------------------------------------------------

#: the URL schemes ``stores.handles.open_store`` opens (``file://`` is not a store: give the path)
URL_SCHEMES = ("s3", "s3a", "gs", "gcs", "wasb", "wasbs")
_MAX_NAME = 253  # stores.names.MAX_CONNECTION_NAME, repeated so this module imports nothing else
# patterns compiled on first use (re's cache), not at import: this module is the in-run tier
_CONTROL = r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_SCHEME = r"[a-z][a-z0-9+.-]{0,15}"


def _name_shown(name: object) -> str:
    """A name for a message: quoted when it is a short printable one, else described."""
    if isinstance(name, str) and name.isprintable() and len(name) <= 80:
        return repr(name)
    return "(a name that is not printable text)"


def check_name(var: str, name: object) -> str:
    """A store or connection name from the contract: non-empty printable text without leading or
    trailing blanks, at most 253 characters (what ``stores.names`` lets a catalog hold)."""
    if not isinstance(name, str) or not name.strip():
        raise ContractError(f"{var} has an empty or blank name")
    if not name.isprintable():
        raise ContractError(f"{var} has a name with a control or non-printable character")
    if name != name.strip() or len(name) > _MAX_NAME:
        raise ContractError(
            f"{var} has a name with leading or trailing blanks or longer than {_MAX_NAME} characters"
        )
    return name


def _path_problem(value: str) -> str | tuple[str]:
    """An absolute, normalised local path (returned in a 1-tuple), or what is wrong with it."""
    if not value.startswith("/"):
        return "is not an absolute path (it is relative)"
    if ".." in value.split("/"):
        return "contains '..'"
    norm = "/" + posixpath.normpath(value).lstrip("/")
    if norm == "/":
        return "is the root '/'"
    return (norm,)


def _url_problem(value: str) -> str | tuple[str]:
    """A bucket URL of a scheme ``open_store`` knows, without credentials, or what is wrong."""
    scheme, _, rest = value.partition("://")
    if scheme not in URL_SCHEMES:
        shown = f"a {scheme}:// URL" if re.fullmatch(_SCHEME, scheme) else "a URL of an unknown scheme"
        hint = " (give the path itself)" if scheme == "file" else ""
        return f"is {shown}{hint}; expected an absolute path or an {', '.join(s + '://' for s in URL_SCHEMES)} URL"
    authority, _, path = rest.partition("/")
    # the project's one rule for secrets in URLs (stores.redact): user-info, a password that
    # runs past a '/', signed-URL queries; Azure's container@account is not a login
    secret = url_secret(value)
    if secret is not None:
        return f"holds {secret}; pass keys through a Secret, never in the URL"
    if "?" in value or "#" in value:
        return "has a query or fragment (where a signature or token would go); pass keys through a Secret, never in the URL"
    if not authority or authority.startswith("@") or authority.endswith("@"):
        return "has no bucket"
    if any(part in (".", "..") for part in path.split("/")):
        return "contains '.' or '..' segments"
    return (value,)


def check_location(var: str, value: object, where: str = "") -> str:
    """A data or outputs location from the contract: an absolute path (normalised) or a bucket
    URL; anything else is a ``ContractError`` naming ``var`` (and ``where`` in it), not the
    value."""
    if not isinstance(value, str) or not value.strip():
        problem: str | tuple[str] = "is empty"
    elif len(value) > PATH_MAX:
        problem = f"is longer than PATH_MAX ({PATH_MAX} characters)"
    elif re.search(_CONTROL, value):
        problem = "contains a control character or bytes that are not UTF-8"
    elif "://" in value:
        problem = _url_problem(value)
    else:
        problem = _path_problem(value)
    if isinstance(problem, tuple):
        return problem[0]
    raise ContractError(f"{var}{where} {problem}")


def check_local_path(var: str, value: str) -> str:
    """An absolute local path from the contract (the context, the run's artifacts)."""
    if not value.strip():
        problem: str | tuple[str] = "is empty"
    elif len(value) > PATH_MAX:
        problem = f"is longer than PATH_MAX ({PATH_MAX} characters)"
    elif re.search(_CONTROL, value):
        problem = "contains a control character or bytes that are not UTF-8"
    else:
        problem = _path_problem(value)
        if isinstance(problem, str) and problem.startswith("is not an absolute"):
            problem = "must be an absolute path"
    if isinstance(problem, tuple):
        return problem[0]
    raise ContractError(f"{var} {problem}")
