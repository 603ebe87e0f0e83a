"""Where a command's values come from, the way helm takes them.

``-f/--values FILE`` (repeatable; ``-`` is standard input) and ``--set key.path=value``
(repeatable) build one values document exactly as ``helm install -f a.yaml -f b.yaml --set ...``
does: later files win, mappings are merged key by key, anything else (a list, a scalar, null) is
replaced whole; then each ``--set`` is applied in order.  A command's positional FILE, where it
has one, is the first values file.  With no file and no ``--set``, the bundled example is used
and a note on stderr says so.

``--set`` takes helm's basic syntax: ``a.b=v`` (nested keys), ``a[0].b=v`` (list items),
``a=v1,b=v2`` (several pairs), ``a={x,y}`` (a list), ``\\.`` and ``\\,`` for a literal dot or
comma.  Values are read as YAML scalars (``true``, ``3``, ``null``, ``text``); ``a=`` is the empty
string.  Unlike helm, an index may not skip items: ``a[5]`` needs a list of at least 5 items.

Problems of a merged document name the file and line each value came from (``--set`` for a
value set on the command line).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

__all__ = ["add_values_argument", "add_values_flags", "load_catalog", "merge_values", "apply_set", "SetError"]

STDIN = "-"
STDIN_NAME = "standard input"
SET_ORIGIN = "--set"


def add_values_argument(parser: argparse.ArgumentParser, dest: str, metavar: str) -> None:
    """The optional positional values file of the commands that read one."""
    parser.add_argument(dest, metavar=metavar, nargs="?",
                        help="values file, merged first when -f is given too ('-': standard input; "
                        "default: the bundled example, with a note on stderr)")


def add_values_flags(parser: argparse.ArgumentParser, *, with_set: bool = True) -> None:
    parser.add_argument(
        "-f", "--values", action="append", default=[], metavar="FILE", dest="values_files",
        help="a helm values file ('-': standard input); repeat to merge several, later files win "
        "(mappings merged key by key, lists replaced), as helm does",
    )
    if with_set:
        parser.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", dest="set_values",
            help="set one value on top of the files, helm's syntax: a.b=v, a[0].b=v, a=v1,b=v2 "
            "(repeatable; values read as YAML scalars)",
        )


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


# -- merging --------------------------------------------------------------------------------------

Origins = dict[tuple[Any, ...], Any]  # path tuple -> (source name, line or None)


def merge_values(dst: Any, src: Any) -> Any:
    """helm's merge of two values documents (``mergeMaps``): ``src`` wins; two mappings are
    merged key by key; anything else is replaced whole.  ``dst`` is not modified."""
    merged, _ = _merge(dst, src, {}, {}, ())
    return merged


def _merge(dst: Any, src: Any, origins: Origins, src_origins: Origins, path: tuple[Any, ...]) -> tuple[Any, Origins]:
    if isinstance(dst, dict) and isinstance(src, dict):
        out = dict(dst)
        for key, value in src.items():
            sub = path + (key,)
            if key in out and isinstance(out[key], dict) and isinstance(value, dict):
                out[key], origins = _merge(out[key], value, origins, src_origins, sub)
                if sub in src_origins:
                    origins[sub] = src_origins[sub]
            else:
                out[key] = value
                origins = _replace_origins(origins, src_origins, sub)
        return out, origins
    return src, _replace_origins(origins, src_origins, path)


def _replace_origins(origins: Origins, src_origins: Origins, path: tuple[Any, ...]) -> Origins:
    n = len(path)
    kept = {p: o for p, o in origins.items() if p[:n] != path}
    kept.update({p: o for p, o in src_origins.items() if p[:n] == path})
    return kept


# -- --set ----------------------------------------------------------------------------------------


class SetError(ValueError):
    pass


def _split(text: str, seps: str) -> tuple[str, str, str]:
    """``text`` up to the first unescaped char of ``seps`` (escapes kept), that char, the rest."""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            i += 2
            continue
        if c in seps:
            return text[:i], c, text[i + 1 :]
        i += 1
    return text, "", ""


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _scalar(text: str) -> Any:
    """A YAML scalar: ``true`` -> True, ``3`` -> 3, ``null`` -> None; ``''`` and anything that
    YAML would read as a list, a mapping or not at all stay text."""
    if text == "":
        return ""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (dict, list)):
        return text
    if value is None and text.strip() not in ("null", "Null", "NULL", "~"):
        return text  # a comment ("#x") or other text YAML reads as nothing
    return value


def _parse_key(key: str, flag: str) -> list[Any]:
    """``a.b[0].c`` -> ``["a", "b", 0, "c"]`` (``\\.`` is a literal dot)."""
    parts: list[Any] = []
    rest = key
    while True:
        name, sep, rest = _split(rest, ".[")
        if not name:
            raise SetError(f"{flag}: empty key name in {key!r}")
        parts.append(_unescape(name))
        while sep == "[":
            index_text, close, rest = rest.partition("]")
            if not close or not index_text.isdigit():
                raise SetError(f"{flag}: bad list index in {key!r}; write a[0], with a number from 0")
            parts.append(int(index_text))
            sep, rest = rest[:1], rest[1:]
            if sep not in ("", ".", "["):
                raise SetError(f"{flag}: expected '.' or '[' after ']' in {key!r}")
        if sep == "":
            return parts


def parse_set(text: str) -> list[tuple[list[Any], Any]]:
    """One ``--set`` argument -> ``[(key parts, value), ...]``.  Messages quote the key, never
    the value (a ``--set`` may carry a credential)."""
    flag = SET_ORIGIN
    pairs = []
    rest = text
    while rest:
        key, sep, rest = _split(rest, "=,")
        if sep != "=":
            raise SetError(f"{flag}: expected KEY=VALUE, got a key {key!r} with no '='")
        parts = _parse_key(key, flag)
        if rest.startswith("{"):
            body, close, rest = _split(rest[1:], "}")
            if not close:
                raise SetError(f"{flag}: the list value of {key!r} has no closing '}}'")
            items = []
            while body:
                item, _, body = _split(body, ",")
                items.append(_scalar(_unescape(item)))
            value: Any = items
            if rest and not rest.startswith(","):
                raise SetError(f"{flag}: expected ',' after the list value of {key!r}")
            rest = rest[1:]
        else:
            raw, _, rest = _split(rest, ",")
            value = _scalar(_unescape(raw))
        pairs.append((parts, value))
    if not pairs:
        raise SetError(f"{flag}: expected KEY=VALUE, got an empty argument")
    return pairs


def apply_set(doc: Any, parts: list[Any], value: Any, origins: Origins | None = None) -> Any:
    """``doc`` with ``value`` at ``parts`` (helm's ``--set``: missing mappings and lists are
    created, a scalar in the way is replaced).  Returns the new document; ``origins`` (path ->
    where the value came from) is updated in place."""
    from ..errors import format_path

    root = doc if isinstance(doc, dict) else {}
    node: Any = root
    path: tuple[Any, ...] = ()
    created: list[tuple[Any, ...]] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = None if last else parts[i + 1]
        fresh: Any = value if last else ([] if isinstance(nxt, int) else {})
        if isinstance(part, int):
            if part > len(node):
                raise SetError(f"{SET_ORIGIN}: index {part} is past the end of the list {format_path(path)} "
                               f"({len(node)} items); use {len(node)} to add one")
            child = node[part] if part < len(node) else None
        else:
            child = node.get(part)
        keep = not last and isinstance(child, (dict, list)) and isinstance(child, list) == isinstance(nxt, int)
        path += (part,)
        if not keep:
            if isinstance(part, int) and part == len(node):
                node.append(fresh)
            else:
                node[part] = fresh
            created.append(path)
        if last:
            break
        node = node[part]
    if origins is not None:
        n = len(created[0]) if created else len(path)
        for p in [p for p in origins if p[:n] == path[:n]]:
            del origins[p]
        for p in created:
            origins[p] = (SET_ORIGIN, None)
    return root


# -- loading --------------------------------------------------------------------------------------


def _read_source(path: str) -> tuple[Any, dict[Any, Any]]:
    from ..errors import Problem, ValuesError
    from ..reader import read_file, read_stdin
    from ..yamlsrc import load_yaml

    name = STDIN_NAME if path == STDIN else path

    def error(message: str) -> ValuesError:
        return ValuesError([Problem((), message, name)])

    if path == STDIN:
        raw = read_stdin(what="values file", error=error)
    else:
        raw = read_file(path, what="values file", error=error)
    return load_yaml(raw, name)


def values_sources(args: argparse.Namespace, positional: Sequence[str] = ()) -> list[str]:
    """The command's values files in merge order: its positional FILE(s), then ``-f`` files."""
    files = [*positional, *getattr(args, "values_files", [])]
    if files.count(STDIN) > 1:
        from ..errors import StoresError

        raise StoresError("standard input ('-') can be read once; give it as one values file only")
    return files


def load_catalog(args: argparse.Namespace, positional: Sequence[str] = (), *, allow_host_paths: Sequence[str] = (),
                 default_example: bool = True, notes: bool = True) -> Any:
    """The catalog of the command's values (positional files, ``-f`` files, ``--set``), its
    notes printed on stderr; the bundled example, with a note, when nothing is given (``None``
    instead when ``default_example`` is false)."""
    files = values_sources(args, positional)
    sets = list(getattr(args, "set_values", []))
    if not files and not sets:
        if not default_example:
            return None
        from ..catalog import Catalog
        from ..examples import default_values_path

        note("no values file given: using the bundled example (host paths and claims, "
             "see `stores list`); pass your own with -f FILE")
        catalog = Catalog.from_file(default_values_path(), allow_host_paths=allow_host_paths)
    else:
        catalog = catalog_of(files, sets, allow_host_paths=allow_host_paths)
    if notes:
        for text in catalog.notes:
            note(text)
    return catalog


def catalog_of(files: Sequence[str], sets: Sequence[str] = (), *, allow_host_paths: Sequence[str] = ()) -> Any:
    """The catalog of ``files`` merged in order with ``sets`` applied (no notes printed)."""
    from ..catalog import Catalog
    from ..errors import ValuesError

    if len(files) == 1 and not sets and files[0] != STDIN:
        return Catalog.from_file(files[0], allow_host_paths=allow_host_paths)
    doc, origins = _merged(files, sets)
    try:
        return Catalog.from_values(doc, allow_host_paths=allow_host_paths)
    except ValuesError as exc:
        raise ValuesError([_locate(p, origins, files, bool(sets)) for p in exc.problems]) from None


def source_name(files: Sequence[str], sets: Sequence[str] = ()) -> str:
    """How a merged document is named in reports: ``a.yaml + b.yaml + --set``."""
    return " + ".join([STDIN_NAME if f == STDIN else f for f in files] + ([SET_ORIGIN] if sets else []))


# -- the run flags shared by render and env ---------------------------------------------------------


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The run a command renders or describes: the same flags and defaults for render and env."""
    # "extend": --data a --data b means a,b (argparse's default "store" kept only the last)
    p.add_argument("--data", type=_names, action="extend", default=None, metavar="A,B",
                   help="data stores to mount, comma-separated or repeated (default: all; '' for none)")
    p.add_argument("--outputs", default=None, metavar="NAME", help="outputs store (default: the first)")
    p.add_argument("--run-uuid", default=None, metavar="UUID",
                   help="the run's uuid (default: derived from owner, project and name, so the output "
                   "is the same every time; give the real uuid for a real run)")
    p.add_argument("--owner", default="default", help="the run's owner, a user or an organization (default: default)")
    p.add_argument("--project", default="default", help="the run's project (default: default)")
    p.add_argument("--name", default=None, help="the run's name (default: none)")
    p.add_argument("--inputs", default=None, metavar="JSON", help="the run's resolved inputs, a JSON object")


def run_uuid(args: argparse.Namespace) -> str:
    from k8s.naming import default_run_uuid

    return args.run_uuid or default_run_uuid(args.owner, args.project, args.name)


def _merged(files: Sequence[str], sets: Sequence[str]) -> tuple[Any, Origins]:
    from ..errors import Problem, ValuesError

    doc: Any = None
    origins: Origins = {}
    problems: list[Any] = []
    for path in files:
        try:
            data, lines = _read_source(path)
        except ValuesError as exc:
            problems.extend(exc.problems)
            continue
        name = STDIN_NAME if path == STDIN else path
        src_origins = {p: (name, line) for p, line in lines.items()}
        if data is None:
            continue  # an empty file changes nothing, as in helm
        if doc is None:
            doc, origins = data, src_origins
        else:
            doc, origins = _merge(doc, data, origins, src_origins, ())
    if problems:
        raise ValuesError(problems)
    for text in sets:
        try:
            for parts, value in parse_set(text):
                doc = apply_set(doc, parts, value, origins)
        except SetError as exc:
            raise ValuesError([Problem((), str(exc).removeprefix(f"{SET_ORIGIN}: "), SET_ORIGIN)]) from None
    return doc, origins


def _locate(problem: Any, origins: Origins, files: Sequence[str], has_set: bool) -> Any:
    """The problem of a merged document, with the file and line its value came from."""
    from ..errors import Problem

    path = tuple(problem.path)
    for n in range(len(path), 0, -1):
        origin = origins.get(path[:n])
        if origin is not None:
            return Problem(problem.path, problem.message, origin[0], origin[1])
    names = [STDIN_NAME if f == STDIN else f for f in files] + ([SET_ORIGIN] if has_set else [])
    return Problem(problem.path, problem.message, " + ".join(names) or None, None)

