"""Resolving ``{{ globals.x }}`` in strings and ``globals.x`` in params (Polyaxon docs, Context > globals), tier 0.

Strings: every ``{{ globals.name }}`` (any whitespace inside the braces) is replaced by the
value, in one pass: a substituted value is never expanded again.  Other ``{{ ... }}``
expressions belong to other contexts (inputs, connections) and are left as they are; a
``globals`` expression that is not a plain name (filters, indexing, arithmetic) is an error, as
is an unknown variable (the error lists the known ones) or one this run does not have (the error
says why).  Values render as: strings as they are, booleans ``true``/``false``, numbers with
``str``, lists and mappings as compact JSON, datetimes in ISO 8601.

Params (the literal-vs-reference rule)::

    param1: {value: globals.uuid}                   # this run's uuid
    param2: {ref: runs.UUID, value: globals.uuid}   # that run's
    param3: {ref: dag, value: globals.uuid}         # the pipeline's
    param4: {ref: ops.upstream1, value: globals.uuid}  # the upstream operation's

The caller supplies ``references``: ``{"runs.UUID" | "dag" | "ops.NAME": RunInfo | Globals |
mapping}``; a param whose reference is not there is an error.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from .errors import TemplateError
from .contract.globals import Globals, compute_globals
from .contract.runinfo import RunInfo

__all__ = ["render", "template_problem", "resolve", "resolve_param", "resolve_params", "format_value", "reference_globals"]

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_GLOBALS_EXPR = re.compile(r"^\s*globals\b")
# whole-string patterns: used with fullmatch only
_PLAIN = re.compile(r"\s*globals\.([A-Za-z_][A-Za-z0-9_]*)\s*")
_LITERAL = re.compile(r"globals\.([A-Za-z_][A-Za-z0-9_]*)")
_REF = re.compile(r"dag|runs\.[A-Za-z0-9_-]+|ops\.[A-Za-z0-9_.-]+")


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _lookup(name: str, glob: Globals) -> Any:
    value = glob[name]  # TemplateError for unknown or unavailable names
    if value is None:
        raise TemplateError(f"globals.{name} has no value for this run: {glob.why_missing(name)}")
    return value


def template_problem(text: str) -> str | None:
    """What ``render`` would refuse in ``text`` whatever the run: a ``globals`` expression that
    is not a plain name, or a name no run has (``None``: nothing)."""
    import difflib

    from .contract.globals import KNOWN_NAMES

    for match in _EXPR.finditer(text):
        inner = match.group(1)
        if not _GLOBALS_EXPR.match(inner):
            continue
        plain = _PLAIN.fullmatch(inner)
        if plain is None:
            return f"unsupported template {match.group(0)!r}: only plain {{{{ globals.name }}}} references are resolved"
        name = plain.group(1)
        if name not in KNOWN_NAMES:
            close = difflib.get_close_matches(name, KNOWN_NAMES, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown variable globals.{name}{hint}"
    return None


def render(text: str, glob: Globals | Mapping[str, Any]) -> str:
    """``text`` with every ``{{ globals.x }}`` replaced."""
    glob = Globals.from_mapping(glob)

    def sub(match: re.Match[str]) -> str:
        inner = match.group(1)
        if not _GLOBALS_EXPR.match(inner):
            return match.group(0)
        plain = _PLAIN.fullmatch(inner)
        if plain is None:
            raise TemplateError(
                f"unsupported template {match.group(0)!r}: only plain {{{{ globals.name }}}} references are resolved"
            )
        return format_value(_lookup(plain.group(1), glob))

    return _EXPR.sub(sub, text)


def resolve(obj: Any, glob: Globals | Mapping[str, Any]) -> Any:
    """``render`` applied to every string inside lists, tuples and mapping values (commands,
    args, env values, paths); keys and other values are left alone."""
    glob = Globals.from_mapping(glob)
    if isinstance(obj, str):
        return render(obj, glob)
    if isinstance(obj, Mapping):
        return {k: resolve(v, glob) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(resolve(v, glob) for v in obj)
    return obj


def reference_globals(target: RunInfo | Globals | Mapping[str, Any]) -> Globals:
    if isinstance(target, RunInfo):
        return compute_globals(target, reference=True)
    return Globals.from_mapping(target)


def resolve_param(
    param: Mapping[str, Any],
    glob: Globals | Mapping[str, Any],
    references: Mapping[str, RunInfo | Globals | Mapping[str, Any]] | None = None,
    *,
    name: str = "param",
) -> Any:
    """The value of one param.  Without ``ref``, ``globals.x`` is the current run's value and
    strings have their templates rendered; with ``ref``, ``globals.x`` is the referenced run's."""
    if not isinstance(param, Mapping) or "value" not in param:
        raise TemplateError(f"{name}: a param is a mapping with a 'value', got {param!r}")
    value = param["value"]
    ref = param.get("ref")
    if ref is None:
        try:
            if isinstance(value, str) and _LITERAL.fullmatch(value):
                return Globals.from_mapping(glob)[value[len("globals."):]]
            return resolve(value, glob)
        except TemplateError as exc:
            raise TemplateError(f"{name}: {exc}") from None
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        raise TemplateError(f"{name}: ref must be 'dag', 'runs.UUID' or 'ops.NAME', got {ref!r}")
    refs = references or {}
    if ref not in refs:
        raise TemplateError(
            f"{name}: the reference {ref!r} is not available; known references: {', '.join(refs) or '(none)'}"
        )
    if not isinstance(value, str) or not _LITERAL.fullmatch(value):
        raise TemplateError(f"{name}: only globals.* values can be taken from a reference ({ref}), got {value!r}")
    target = reference_globals(refs[ref])
    try:
        return target[value[len("globals."):]]
    except TemplateError as exc:
        raise TemplateError(f"{name} (ref {ref}): {exc}") from None


def resolve_params(
    params: Mapping[str, Mapping[str, Any]],
    glob: Globals | Mapping[str, Any],
    references: Mapping[str, RunInfo | Globals | Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``{name: value}`` for every param."""
    return {name: resolve_param(p, glob, references, name=name) for name, p in params.items()}
