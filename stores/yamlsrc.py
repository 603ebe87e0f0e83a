"""Safe YAML loading that remembers where every value came from (tier 1: PyYAML).

``load_yaml(text)`` returns the plain data plus a map ``path -> line`` so that a problem found
later (by pydantic or by our checks) can be reported as ``values.yaml:14: a.b.c: ...``.

Hostile input is refused with a ``ValuesError`` rather than followed: duplicate keys, non-scalar
keys, documents that expand (through aliases) past a node budget, and nesting past a depth limit.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import Problem, ValuesError
from .reader import MAX_BYTES, MAX_DEPTH, size_text

__all__ = ["Lines", "load_yaml", "load_yaml_documents", "MAX_NODES", "MAX_DEPTH", "MAX_BYTES"]

Lines = dict[tuple[object, ...], int]

#: Expanded nodes allowed in one document; a billion-laughs document hits this after a few ms.
MAX_NODES = 200_000
# MAX_DEPTH (100) and MAX_BYTES (4 MiB) are stores.reader's: JSON and YAML share one limit


class _Budget(Exception):
    pass


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


class _Loader(yaml.SafeLoader):
    """Counts nesting while composing: a deeply nested flow document (``[[[[...``) is refused at
    ``MAX_DEPTH`` with its line, instead of at Python's recursion limit, seconds later (PyYAML's
    scanner does work per open bracket for every token)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            # two more levels than the walker allows, so that the walker reports its own message
            if self._depth > MAX_DEPTH + 2:
                raise _TooDeep(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]  # types-PyYAML: peek_event unannotated
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str | bytes, file: str | None = None) -> tuple[Any, Lines]:
    """One document: its data and ``path -> line``; anything hostile is a ``ValuesError``."""
    ((data, lines),) = _load(text, file, single=True)
    return data, lines


def load_yaml_documents(text: str | bytes, file: str | None = None) -> list[Any]:
    """Every document of a stream (``---``-separated, as ``kubectl apply -f`` reads a
    manifest), each under the same limits as ``load_yaml``; empty documents are ``None``."""
    return [data for data, _ in _load(text, file, single=False)]


def _load(text: str | bytes, file: str | None, single: bool) -> list[tuple[Any, Lines]]:
    text = _as_text(text, file)
    loader = _loader(text, file)
    try:
        out: list[tuple[Any, Lines]] = []
        nodes = 0
        while True:
            node = _next_node(loader, text, file, single)
            if node is _END:
                break
            if node is None:
                # an empty (or comments-only) document: point at its first line, not nowhere
                out.append((None, {(): 1}))
            else:
                data, lines, nodes = _document(loader, node, file, nodes)
                out.append((data, lines))
            if single:
                break
        return out
    finally:
        loader.dispose()


def _as_text(text: str | bytes, file: str | None) -> str:
    """The document as text, at most ``MAX_BYTES`` long; bytes must be UTF-8."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ValuesError([Problem((), f"document is larger than {size_text(MAX_BYTES)}; refused", file)])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            # the line of the first bad byte: an editor shows where to look
            line = exc.object.count(b"\n", 0, exc.start) + 1
            raise ValuesError([Problem((), f"not UTF-8 text ({exc.reason} at byte {exc.start})", file, line)]) from None
    if len(text) > MAX_BYTES:
        raise ValuesError([Problem((), f"document is larger than {size_text(MAX_BYTES)}; refused", file)])
    return text


def _loader(text: str, file: str | None) -> _Loader:
    try:
        # the reader refuses control characters up front, before any mark exists
        return _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ValuesError([Problem((), f"not valid YAML: {_reader_reason(exc)}", file, line)]) from None


#: what ``_next_node`` returns at the end of the stream
_END = object()


def _next_node(loader: _Loader, text: str, file: str | None, single: bool) -> Any:
    """The next document's node (``None`` for an empty one, ``_END`` after the last); YAML errors
    become a ``ValuesError`` with the line."""
    try:
        if single:
            return loader.get_single_node()
        if loader.check_node():
            return loader.get_node()
        return _END
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ValuesError([Problem((), f"not valid YAML: {msg}", file, line)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ValuesError([Problem((), f"not valid YAML: {_reader_reason(exc)}", file, line)]) from None
    except yaml.YAMLError as exc:
        raise ValuesError([Problem((), f"not valid YAML: {exc}", file)]) from None
    except _TooDeep as exc:
        raise ValuesError([Problem((), f"nesting deeper than {MAX_DEPTH} levels; refused", file, exc.line)]) from None
    except RecursionError:  # pragma: no cover - _Loader stops long before
        raise ValuesError([Problem((), f"nesting deeper than {MAX_DEPTH} levels", file)]) from None


def _document(loader: _Loader, node: yaml.Node, file: str | None, nodes: int) -> tuple[Any, Lines, int]:
    """One document's data and lines, and the nodes counted so far (one budget for the stream)."""
    walker = _Walker(loader, file)
    walker.count = nodes  # one node budget for the whole stream
    try:
        data = walker.build(node, (), 0)
    except _Budget as exc:
        raise ValuesError([Problem((), str(exc), file, node.start_mark.line + 1)]) from None
    if walker.problems:
        raise ValuesError(walker.problems)
    return data, walker.lines, walker.count


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_MESSAGE = "a lone surrogate escape (\\ud800-\\udfff) is not text; refused"
_MERGE_TAG = "tag:yaml.org,2002:merge"


#: what PyYAML's scalar constructors raise besides YAMLError when an explicit tag does not fit
#: the text (``!!int abc``: ValueError, ``!!int ''``: IndexError, ``!!bool x``: KeyError,
#: ``!!timestamp x``: AttributeError)
_CONSTRUCT_ERRORS = (yaml.YAMLError, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def _reader_reason(exc: yaml.reader.ReaderError) -> str:
    return f"character #x{exc.character:04x} is not allowed in YAML"


def _reason(exc: Exception) -> str:
    # the problem alone: str(exc) adds a multi-line excerpt, and the line is reported anyway
    if not isinstance(exc, yaml.YAMLError):
        return f"the text does not fit its tag ({type(exc).__name__}: {exc})"
    return str(getattr(exc, "problem", None) or exc)


class _Walker:
    def __init__(self, loader: _Loader, file: str | None):
        self.loader = loader
        self.file = file
        self.lines: Lines = {}
        self.problems: list[Problem] = []
        self.count = 0

    def build(self, node: yaml.Node, path: tuple[object, ...], depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Budget(
                f"document expands to more than {MAX_NODES} nodes (aliases included); refused"
            )
        if depth > MAX_DEPTH:
            raise _Budget(f"nesting deeper than {MAX_DEPTH} levels; refused")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            # building the node ourselves would silently drop a tag like !!python/object/apply
            self.problems.append(Problem(path, f"unsupported tag {node.tag!r}", self.file, node.start_mark.line + 1))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: tuple[object, ...], depth: int) -> Any:
        own = {id(k) for k, _ in node.value if k.tag != _MERGE_TAG}
        try:
            self.loader.flatten_mapping(node)  # YAML merge keys ('<<'): merged pairs come first
        except yaml.MarkedYAMLError as exc:
            self.problems.append(Problem(path, f"bad merge key: {exc.problem}", self.file, node.start_mark.line + 1))
            return {}
        out: dict[Any, Any] = {}
        for key, (value_node, line, _) in self._chosen(node, path, own).items():
            self.lines[path + (key,)] = line
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def _chosen(
        self, node: yaml.MappingNode, path: tuple[object, ...], own: set[int]
    ) -> dict[Any, tuple[yaml.Node, int, bool]]:
        """key -> (value node, line, written in this mapping); a key written here overrides one
        merged in (YAML's merge rule, which helm follows), but two written here clash."""
        chosen: dict[Any, tuple[yaml.Node, int, bool]] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(path, "a mapping key must be a plain scalar", self.file, line))
                continue
            try:
                key = self.loader.construct_object(key_node, deep=True)
            except _CONSTRUCT_ERRORS as exc:
                self.problems.append(Problem(path, f"bad key: {_reason(exc)}", self.file, line))
                continue
            if isinstance(key, str) and _SURROGATE.search(key):
                self.problems.append(Problem(path, f"bad key: {_SURROGATE_MESSAGE}", self.file, line))
                continue
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            explicit = id(key_node) in own
            if key in chosen and explicit and chosen[key][2]:
                self.problems.append(
                    Problem(path + (key,), f"duplicate key {key!r} (first defined on line {chosen[key][1]})", self.file, line)
                )
                continue
            chosen[key] = (value_node, line, explicit)
        return chosen

    def _scalar(self, node: yaml.Node, path: tuple[object, ...]) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except _CONSTRUCT_ERRORS as exc:
            self.problems.append(Problem(path, f"bad value: {_reason(exc)}", self.file, node.start_mark.line + 1))
            return None
        if isinstance(value, str) and _SURROGATE.search(value):
            # "\ud800" in a double-quoted scalar: not text; printing or sending it would fail later
            self.problems.append(Problem(path, _SURROGATE_MESSAGE, self.file, node.start_mark.line + 1))
            return None
        return value
