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
from typing import TYPE_CHECKING, Any, Iterable

from pydantic import ValidationError

from .catalog import Catalog
from .errors import Problem, ValuesError, format_path
from .kinds import ALL_KINDS, KINDS, OTHER_KINDS
from .legacy import DEFAULTS, choose_model
from .models import connection_adapter
from . import names, policy
from .reader import read_file
from .yamlsrc import Lines, load_yaml

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "catalog_from_values",
    "catalog_from_yaml",
    "catalog_from_file",
    "SECTIONS",
    "CHART_KEYS",
    "DEFAULT_ARTIFACTS_STORE",
]

SECTIONS = ("persistence", "artifactsStore", "connections")
#: the Polyaxon chart keys around the storage sections: known, so never taken for a misspelling
#: of ours (``defaultArtifactsStore`` is read as the fallback of an empty ``artifactsStore``)
CHART_KEYS = ("defaultArtifactsStore", "mountConnections")

#: the v2 chart's ``defaultArtifactsStore``: what a values file with no storage section gets
DEFAULT_ARTIFACTS_STORE: dict[str, Any] = {
    "name": "default-artifacts-store",
    "kind": "host_path",
    "schema": {"hostPath": "/tmp/artifactsStore", "mountPath": "/artifactsStore"},
}
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


def catalog_from_file(path: str | Path, *, allow_host_paths: Iterable[str] = ()) -> Catalog:
    # regular files of at most stores.reader.MAX_BYTES only: a FIFO or /dev/zero would hang us
    raw = read_file(path, what="values file", error=lambda m: ValuesError([Problem((), m, str(path))]))
    return catalog_from_yaml(raw, file=str(path), allow_host_paths=allow_host_paths)


def catalog_from_yaml(text: str | bytes, *, file: str | None = None, allow_host_paths: Iterable[str] = ()) -> Catalog:
    data, lines = load_yaml(text, file)
    return catalog_from_values(data, file=file, lines=lines, allow_host_paths=allow_host_paths)


def catalog_from_values(
    values: Any, *, file: str | None = None, lines: Lines | None = None, allow_host_paths: Iterable[str] = ()
) -> Catalog:
    """The catalog of a values document, or ``ValuesError`` with every problem: the models'
    rules and every rule the renderer applies to a connection on its own (``stores.policy``),
    so what loads renders.  ``allow_host_paths``: exact hostPaths let past the deny list; the
    catalog keeps them and ``render_patch`` honours them."""
    parser = _Parser(file, lines or {}, tuple(allow_host_paths))
    catalog = parser.parse(values)
    if parser.problems:
        raise ValuesError(parser.problems)
    assert catalog is not None
    return catalog


def _key_notes(roles: dict[str, Any]) -> list[str]:
    """What loads but will not work as the admin may expect: a key file SDKs read only from a
    file, given as env vars (Polyaxon passes such a secret as envFrom / secretKeyRef)."""
    out = []
    for value in roles.values():
        for conn in value if isinstance(value, tuple) else (value,):
            entry = KINDS.get(conn.kind)
            why = entry.key_needs_file if entry is not None else None
            if why is not None and conn.secret is not None and conn.secret.mount_path is None:
                out.append(
                    f"connection {conn.name!r}: secret {conn.secret.name!r} has no mountPath, so its "
                    f"{why}, give the secret a mountPath"
                )
    return out


def _empty(value: Any) -> bool:
    """Null, an empty mapping or list: what helm charts write for "not set"."""
    return value is None or value == {} or value == []


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _suggest(key: object, choices: Iterable[str], cutoff: float = 0.75) -> str:
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Parser:
    def __init__(self, file: str | None, lines: Lines, allow_host_paths: tuple[str, ...] = ()):
        self.file = file
        self.lines = lines
        self.allow_host_paths = allow_host_paths
        self.problems: list[Problem] = []
        #: defaults that applied (a default store added), for Catalog.notes
        self.notes: list[str] = []
        #: (path of the name, connection) of every connection read, for the uniqueness check
        self.named: list[tuple[tuple[object, ...], Any]] = []

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
            error_type = err["type"]
            if error_type == "union_tag_invalid":
                given = err["input"].get("kind") if isinstance(err["input"], dict) else err["input"]
                self.add(
                    prefix + ("kind",),
                    f"unknown kind {_short(given)}; expected one of {', '.join(KINDS)} or another of "
                    f"Polyaxon's connection kinds ({', '.join(OTHER_KINDS[:4])}, ...)" + _suggest(given, ALL_KINDS, 0.6),
                )
                continue
            if error_type == "union_tag_not_found":
                self.add(prefix + ("kind",), f"required key missing; expected one of {', '.join(KINDS)}")
                continue
            tag = None
            if strip_tag and loc:
                tag, loc = loc[0], loc[1:]
            # pydantic points at the wrapping type for Annotated / tuple items; keep only document keys
            loc = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in ("tagged-union", "str", "is-instance[KeyToPath]", "[key]"))))
            message = self._message(err, loc)
            if error_type == "extra_forbidden" and loc and loc[-1] in _KNOWN_KEYS:
                entry = KINDS.get(tag) if isinstance(tag, str) else None
                article = entry.article if entry is not None else "a"
                owner = f"{article} {tag} connection's {loc[-2]}" if tag and len(loc) > 1 else (f"{article} {tag} connection" if tag else "this entry")
                message = f"key {loc[-1]!r} does not belong in {owner}"
            self.add(prefix + loc, message)

    @staticmethod
    def _message(err: ErrorDetails, loc: tuple[object, ...]) -> str:
        error_type, msg, value = err["type"], err["msg"], err.get("input")
        if error_type == "missing":
            return "required key missing"
        if error_type == "extra_forbidden":
            return f"unknown key {_short(loc[-1] if loc else value)}" + _suggest(loc[-1] if loc else None, _KNOWN_KEYS)
        if error_type == "value_error":
            return msg.removeprefix("Value error, ")
        if error_type in ("string_type", "bool_type", "bool_parsing", "int_type", "int_parsing", "dict_type",
                    "model_type", "tuple_type", "list_type", "model_attributes_type"):
            want = {
                "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
                "int_type": "an integer", "int_parsing": "an integer", "dict_type": "a mapping",
                "model_type": "a mapping", "model_attributes_type": "a mapping",
                "tuple_type": "a list", "list_type": "a list",
            }[error_type]
            return f"expected {want}, got {_short(value)}"
        if error_type == "string_pattern_mismatch":
            return f"does not match the required pattern, got {_short(value)}"
        if error_type == "literal_error":
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
            if key not in SECTIONS and key not in CHART_KEYS:
                hint = _suggest(key, SECTIONS)
                if hint:
                    self.add((key,), f"unknown section {_short(key)}{hint}")

        roles: dict[str, Any] = {}
        notes: list[str] = []
        if "persistence" in values:
            roles.update(self.persistence(values["persistence"]))
            notes.extend(self.notes)
        store_doc, store_path = values.get("artifactsStore"), ("artifactsStore",)
        if _empty(store_doc) and "persistence" not in values:
            # the chart's own fallback: an empty artifactsStore means defaultArtifactsStore, and
            # the chart gives that one a default
            fallback = values.get("defaultArtifactsStore")
            if not _empty(fallback):
                store_doc, store_path = fallback, ("defaultArtifactsStore",)
            elif not any(not _empty(values.get(k)) for k in SECTIONS):
                # nothing of ours at all: the chart's own default is what the release will use
                store_doc = DEFAULT_ARTIFACTS_STORE
                notes.append(
                    "no storage section (persistence, artifactsStore or connections): the chart's "
                    "default artifacts store applies "
                    f"({DEFAULT_ARTIFACTS_STORE['name']!r}, host path "
                    f"{DEFAULT_ARTIFACTS_STORE['schema']['hostPath']} on {DEFAULT_ARTIFACTS_STORE['schema']['mountPath']})"
                )
        if not _empty(store_doc):
            store = self.connection(store_doc, store_path)
            if store is not None and not store.is_storage:
                # runs write their outputs there: it must be a volume or a bucket
                self.add(store_path + ("kind",), f"the artifacts store must be a storage kind ({', '.join(KINDS)}), "
                         f"got {_short(store.kind)}" + _suggest(store.kind, KINDS, cutoff=0.6))
            elif store is not None:
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
        self.check_unique()
        if self.problems:
            return None
        notes.extend(_key_notes(roles))
        try:
            return Catalog(**roles, notes=tuple(notes), allowed_host_paths=self.allow_host_paths)
        except ValidationError as exc:  # pragma: no cover - every rule is checked above with a path
            self.add_validation(exc, ())
            return None

    def persistence(self, section: Any) -> dict[str, Any]:
        path: tuple[object, ...] = ("persistence",)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            hint = " (a list of connections goes under 'connections:')" if isinstance(section, list) else ""
            self.add(path, f"expected a mapping, got {type(section).__name__}{hint}")
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
                    (name, entry), = entries.items()
                    self.notes.append(
                        f"persistence.{role} is not set: the old chart's default {role} store is added "
                        f"({name!r}, host path {entry['hostPath']} on {entry['mountPath']})"
                    )
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
            names.check_connection_name(name, "volume name")
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
            conn = model.model_validate(entry).to_connection(name)  # type: ignore[attr-defined]
        except ValidationError as exc:
            self.add_validation(exc, path)
            return None
        return self.checked(conn, path, path, legacy=True)

    def connection(self, doc: Any, path: tuple[object, ...]) -> Any:
        if not isinstance(doc, dict):
            self.add(path, f"expected a connection mapping, got {_short(doc)}")
            return None
        try:
            conn = connection_adapter.validate_python(doc)
        except ValidationError as exc:
            self.add_validation(exc, path, strip_tag=True)
            return None
        return self.checked(conn, path, path + ("name",))

    def checked(self, conn: Any, path: tuple[object, ...], name_path: tuple[object, ...], legacy: bool = False) -> Any:
        """``conn`` if the renderer can render it on its own, else ``None`` with the problems
        added (``stores.policy``: the one place these rules are written)."""
        self.named.append((name_path, conn))
        found = policy.connection_problems(conn, self.allow_host_paths)
        for where, message in found:
            # a legacy entry has no `schema`: its keys sit on the entry (`existingClaim`, `hostPath`)
            if legacy and where[:1] == ("schema",):
                where = where[1:]
            elif legacy:
                where = where[:1]  # the secret the entry's secret + secretKey made
            self.add(path + where, message)
        return None if found else conn

    def check_unique(self) -> None:
        """Each name once; a repeat is reported where it repeats (the later line), naming the
        first."""
        def order(entry: tuple[tuple[object, ...], Any]) -> int:
            line = self.line_of(entry[0])
            return line if line is not None else 1 << 62

        seen: dict[str, tuple[object, ...]] = {}
        for where, conn in sorted(self.named, key=order):
            if conn.name in seen:
                first = seen[conn.name]
                at = self.line_of(first)
                self.add(where, f"connection name {conn.name!r} is already used by {format_path(first)}"
                         + (f" (line {at})" if at else "") + "; names must be unique")
            else:
                seen[conn.name] = where
