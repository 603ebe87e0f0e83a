"""Helm values -> Catalog, both spellings, every problem reported at once (tier 1).

Accepted top-level sections (anything else in a helm values file is left alone, except keys that
look like a misspelling of ours)::

    persistence:       legacy: data, outputs, logs, repos, upload     (see stores.legacy)
    artifactsStore:    current: one connection
    connections:       current: a list of connections
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from .catalog import Catalog
from .errors import Problem, ValuesError
from .kinds import KINDS
from .legacy import DEFAULTS, choose_model
from .models import connection_adapter
from . import names
from .yamlsrc import Lines, load_yaml

__all__ = ["catalog_from_values", "catalog_from_yaml", "catalog_from_file", "SECTIONS"]

SECTIONS = ("persistence", "artifactsStore", "connections")
LEGACY_KEYS = ("data", "outputs", "logs", "repos", "upload")
_MULTI = ("data", "outputs")

# every key our models know: the source of "did you mean" suggestions
_KNOWN_KEYS = sorted(
    {
        "name", "kind", "schema", "secret", "configMap", "env", "annotations", "description",
        "tags", "hostPath", "mountPath", "readOnly", "volumeClaim", "subPath", "bucket", "items",
        "defaultMode", "key", "path", "mode", "value", "valueFrom", "existingClaim", "store",
        "secretKey", "type", *SECTIONS, *LEGACY_KEYS,
    }
)


def catalog_from_file(path: str | Path) -> Catalog:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ValuesError([Problem((), "no such file", str(path))]) from None
    except IsADirectoryError:
        raise ValuesError([Problem((), "is a directory, not a values file", str(path))]) from None
    except OSError as exc:
        raise ValuesError([Problem((), f"cannot read: {exc.strerror}", str(path))]) from None
    return catalog_from_yaml(raw, file=str(path))


def catalog_from_yaml(text: str | bytes, *, file: str | None = None) -> Catalog:
    data, lines = load_yaml(text, file)
    return catalog_from_values(data, file=file, lines=lines)


def catalog_from_values(values: Any, *, file: str | None = None, lines: Lines | None = None) -> Catalog:
    parser = _Parser(file, lines or {})
    catalog = parser.parse(values)
    if parser.problems:
        raise ValuesError(parser.problems)
    assert catalog is not None
    return catalog


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _suggest(key: object, choices: Iterable[str]) -> str:
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Parser:
    def __init__(self, file: str | None, lines: Lines):
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    # -- reporting -------------------------------------------------------------------------

    def line_of(self, path: tuple[object, ...]) -> int | None:
        for n in range(len(path), -1, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return line
        return None

    def add(self, path: tuple[object, ...], message: str) -> None:
        self.problems.append(Problem(path, message, self.file, self.line_of(path)))

    def add_validation(self, exc: ValidationError, prefix: tuple[object, ...], strip_tag: bool = False) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            kind = err["type"]
            if kind == "union_tag_invalid":
                self.add(prefix + ("kind",), f"unknown kind {_short(err['input'].get('kind') if isinstance(err['input'], dict) else err['input'])}; expected one of {', '.join(KINDS)}")
                continue
            if kind == "union_tag_not_found":
                self.add(prefix + ("kind",), f"required key missing; expected one of {', '.join(KINDS)}")
                continue
            tag = None
            if strip_tag and loc:
                tag, loc = loc[0], loc[1:]
            # pydantic points at the wrapping type for Annotated / tuple items; keep only document keys
            loc = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in ("tagged-union", "str", "is-instance[KeyToPath]", "[key]"))))
            message = self._message(err, loc)
            if kind == "extra_forbidden" and loc and loc[-1] in _KNOWN_KEYS:
                article = "an" if tag == "s3" else "a"
                owner = f"{article} {tag} connection's {loc[-2]}" if tag and len(loc) > 1 else (f"{article} {tag} connection" if tag else "this entry")
                message = f"key {loc[-1]!r} does not belong in {owner}"
            self.add(prefix + loc, message)

    @staticmethod
    def _message(err: dict[str, Any], loc: tuple[object, ...]) -> str:
        kind, msg, value = err["type"], err["msg"], err.get("input")
        if kind == "missing":
            return "required key missing"
        if kind == "extra_forbidden":
            return f"unknown key {_short(loc[-1] if loc else value)}" + _suggest(loc[-1] if loc else None, _KNOWN_KEYS)
        if kind == "value_error":
            return msg.removeprefix("Value error, ")
        if kind in ("string_type", "bool_type", "bool_parsing", "int_type", "int_parsing", "dict_type",
                    "model_type", "tuple_type", "list_type", "model_attributes_type"):
            want = {
                "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
                "int_type": "an integer", "int_parsing": "an integer", "dict_type": "a mapping",
                "model_type": "a mapping", "model_attributes_type": "a mapping",
                "tuple_type": "a list", "list_type": "a list",
            }[kind]
            return f"expected {want}, got {_short(value)}"
        if kind == "string_pattern_mismatch":
            return f"does not match the required pattern, got {_short(value)}"
        if kind == "literal_error":
            return f"{msg[0].lower()}{msg[1:]}, got {_short(value)}"
        return f"{msg[0].lower()}{msg[1:]}, got {_short(value)}"

    # -- sections ----------------------------------------------------------------------------

    def parse(self, values: Any) -> Catalog | None:
        if values is None:
            self.add((), "empty document; expected a mapping with persistence, artifactsStore or connections")
            return None
        if not isinstance(values, dict):
            self.add((), f"expected a mapping at the top of the document, got {type(values).__name__}")
            return None
        for key in values:
            if key not in SECTIONS:
                hint = _suggest(key, SECTIONS)
                if hint:
                    self.add((key,), f"unknown section {_short(key)}{hint}")
        if not any(k in values for k in SECTIONS):
            self.add((), f"no {', '.join(SECTIONS[:-1])} or {SECTIONS[-1]} section found")
            return None

        roles: dict[str, Any] = {}
        if "persistence" in values:
            roles.update(self.persistence(values["persistence"]))
        if "artifactsStore" in values:
            store = self.connection(values["artifactsStore"], ("artifactsStore",))
            if store is not None:
                roles["artifacts_store"] = store
        if "connections" in values:
            conns = values["connections"]
            if conns is None:
                conns = []
            if not isinstance(conns, list):
                self.add(("connections",), f"expected a list of connections, got {type(conns).__name__}")
            else:
                parsed = [self.connection(c, ("connections", i)) for i, c in enumerate(conns)]
                roles["connections"] = tuple(c for c in parsed if c is not None)
        self.check_unique(roles)
        if self.problems:
            return None
        try:
            return Catalog(**roles)
        except ValidationError as exc:  # pragma: no cover - every rule is checked above with a path
            self.add_validation(exc, ())
            return None

    def persistence(self, section: Any) -> dict[str, Any]:
        path: tuple[object, ...] = ("persistence",)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            self.add(path, f"expected a mapping, got {type(section).__name__}")
            return {}
        for key in section:
            if key not in LEGACY_KEYS:
                self.add(path + (key,), f"unknown key {_short(key)}; expected one of {', '.join(LEGACY_KEYS)}" + _suggest(key, LEGACY_KEYS))
        out: dict[str, Any] = {}
        for role in _MULTI:
            entries = section.get(role)
            if not entries:
                # the old chart's documented defaults: default-data on /data, default-outputs on /outputs
                if entries is None or entries == {}:
                    entries = DEFAULTS[role]
            if not isinstance(entries, dict):
                self.add(path + (role,), f"expected a mapping of name -> volume, got {type(entries).__name__}")
                continue
            conns = []
            for name, entry in entries.items():
                conn = self.legacy_entry(name, entry, path + (role, name))
                if conn is not None:
                    conns.append(conn)
            out[role] = tuple(conns)
        for role in ("logs", "repos", "upload"):
            if section.get(role) is not None:
                conn = self.legacy_entry(role, section[role], path + (role,))
                if conn is not None:
                    out[role] = conn
        return out

    def legacy_entry(self, name: Any, entry: Any, path: tuple[object, ...]) -> Any:
        try:
            names.check_name(name, "volume name")
        except ValueError as exc:
            self.add(path, str(exc))
            return None
        if not isinstance(entry, dict):
            self.add(path, f"expected a mapping, got {_short(entry)}")
            return None
        model, where, problem = choose_model(entry)
        if model is None:
            self.add(path + where, problem)
            return None
        try:
            return model.model_validate(entry).to_connection(name)  # type: ignore[attr-defined]
        except ValidationError as exc:
            self.add_validation(exc, path)
            return None

    def connection(self, doc: Any, path: tuple[object, ...]) -> Any:
        if not isinstance(doc, dict):
            self.add(path, f"expected a connection mapping, got {_short(doc)}")
            return None
        try:
            return connection_adapter.validate_python(doc)
        except ValidationError as exc:
            self.add_validation(exc, path, strip_tag=True)
            return None

    def check_unique(self, roles: dict[str, Any]) -> None:
        seen: dict[str, str] = {}
        for role, value in roles.items():
            conns = value if isinstance(value, tuple) else (value,)
            for i, conn in enumerate(conns):
                where = self._path_of(role, conn, i)
                if conn.name in seen:
                    self.add(where, f"connection name {conn.name!r} is already used by {seen[conn.name]}; names must be unique")
                else:
                    seen[conn.name] = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in where)

    @staticmethod
    def _path_of(role: str, conn: Any, index: int) -> tuple[object, ...]:
        if role in _MULTI:
            return ("persistence", role, conn.name)
        if role in ("logs", "repos", "upload"):
            return ("persistence", role)
        if role == "artifacts_store":
            return ("artifactsStore", "name")
        return ("connections", index, "name")
