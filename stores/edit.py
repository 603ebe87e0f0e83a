"""Edit a helm values file without losing a comment: add, set, remove a connection; migrate (tier 1).

::

    from stores.edit import ValuesDocument

    doc = ValuesDocument.from_file("values.yaml")
    doc.add({"name": "scratch", "kind": "host_path",
             "schema": {"hostPath": "/mnt/scratch", "mountPath": "/scratch"}})
    doc.set("scratch", "schema.readOnly", True)
    doc.remove("old-data")
    doc.migrate()                  # persistence: -> artifactsStore: / connections:
    print(doc.diff())              # a unified diff against the file as read
    doc.write()                    # temporary file + rename: never half a file

Every edit replaces only the characters of what it changes (``stores.yamlspans``): comments,
blank lines, quotes and indentation elsewhere stay byte for byte.  Every edit is validated
(``Catalog.from_yaml``, every rule ``stores validate`` applies) before it is kept: an edit whose
result would be invalid raises ``ValuesError`` and leaves the document as it was, so an invalid
result can never be written.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from .errors import Problem, ValuesError
from .yamlspans import Spans, detect_indent, flow_text, scalar_text

__all__ = ["ValuesDocument", "write_atomic", "parse_assignment", "emit_block"]


# -- text emission -------------------------------------------------------------------------------


def _is_block(value: Any) -> bool:
    return isinstance(value, (dict, list)) and bool(value)


def emit_block(value: Any, col: int, step: int = 2, dash: int = 2) -> list[str]:
    """A mapping or list in block style, each line starting at column ``col`` (a list's dashes
    sit there); nested mappings ``step`` right of their key, nested lists' dashes ``dash`` right."""
    pad = " " * col
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{scalar_text(key)}:"
            if isinstance(item, dict) and item:
                out.append(head)
                out.extend(emit_block(item, col + step, step, dash))
            elif isinstance(item, list) and item:
                out.append(head)
                out.extend(emit_block(item, col + dash, step, dash))
            else:
                out.append(f"{head} {scalar_text(item)}")
        return out
    for item in value:
        if isinstance(item, dict) and item:
            lines = emit_block(item, col + 2, step, dash)
            out.append(f"{pad}- {lines[0][col + 2:]}")
            out.extend(lines[1:])
        else:
            out.append(f"{pad}- {scalar_text(item)}")
    return out


def parse_assignment(text: str) -> tuple[tuple[str, ...], Any]:
    """``schema.mountPath=/data`` -> ``(("schema", "mountPath"), "/data")``; the value is read
    as YAML (``true``, ``3``, ``[a, b]``, ``{k: v}``), an empty one is the empty string."""
    key, sep, raw = text.partition("=")
    path = tuple(key.split("."))
    if not sep or not key or any(not p for p in path):
        raise ValuesError([Problem((), f"expected KEY=VALUE with KEY like schema.mountPath, got {text!r}")])
    if raw == "":
        return path, ""
    from .yamlsrc import load_yaml

    value, _ = load_yaml(raw, file=f"value of {key}")
    return path, value


def _nest(path: Sequence[str], value: Any) -> Any:
    for part in reversed(path):
        value = {part: value}
    return value


def _set_path(data: Any, path: Sequence[str], value: Any) -> Any:
    data = dict(data) if isinstance(data, dict) else {}
    head, rest = path[0], path[1:]
    data[head] = _set_path(data.get(head), rest, value) if rest else value
    return data


# -- atomic write --------------------------------------------------------------------------------


def write_atomic(path: str | Path, text: str, *, before_replace: Callable[[str], None] | None = None) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old file or the new
    one, never a mix: a temporary file in the same folder, flushed to disk, given the old
    file's permission bits, then renamed over it (``os.replace``).  A symbolic link is
    followed: its target is replaced, the link stays.

    ``before_replace(temp_path)``: called after the temporary file is complete and before the
    rename; the interruption tests use it to stop the writer there.  If it raises, the
    temporary file is removed and the original is untouched."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode)
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # the rename itself on disk: best effort (some filesystems refuse to open a folder)
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# -- the document --------------------------------------------------------------------------------


class ValuesDocument:
    """A helm values file held as text; each edit splices the text and is validated.

    ``text``: the document now; ``original``: as read; ``diff()``: the unified diff between
    them; ``catalog()``: the ``Catalog`` of the document now.  ``allow_host_paths`` is passed to
    every validation (exact hostPaths let past the deny list, as ``stores validate --allow-host-path``)."""

    def __init__(self, text: str | bytes, *, file: str | None = None, allow_host_paths: Iterable[str] = ()):
        if isinstance(text, bytes):
            from .yamlsrc import _as_text

            text = _as_text(text, file)
        self.file = file
        self.allow_host_paths = tuple(allow_host_paths)
        Spans(text, file)  # broken or hostile YAML is refused now, with its line
        self.original = text
        self._text = text

    @classmethod
    def from_file(cls, path: str | Path, *, allow_host_paths: Iterable[str] = ()) -> "ValuesDocument":
        from .reader import read_file

        raw = read_file(path, what="values file", error=lambda m: ValuesError([Problem((), m, str(path))]))
        return cls(raw, file=str(path), allow_host_paths=allow_host_paths)

    @property
    def text(self) -> str:
        return self._text

    @property
    def changed(self) -> bool:
        return self._text != self.original

    def __str__(self) -> str:
        return self._text

    def catalog(self) -> Any:
        """The ``Catalog`` of the document now (``ValuesError`` if it is invalid)."""
        from .values import catalog_from_yaml

        return catalog_from_yaml(self._text, file=self.file, allow_host_paths=self.allow_host_paths)

    def diff(self, *, context: int = 3) -> str:
        """The unified diff from the document as read to the document now ("" when unchanged)."""
        name = self.file or "values.yaml"
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self._text.splitlines(keepends=True),
            fromfile=name, tofile=name, n=context))

    def write(self, path: str | Path | None = None, *,
              before_replace: Callable[[str], None] | None = None) -> None:
        """Write the document (to the file it was read from by default), atomically
        (``write_atomic``)."""
        target = path if path is not None else self.file
        if target is None:
            raise ValuesError([Problem((), "the document was not read from a file: give a path to write to")])
        write_atomic(target, self._text, before_replace=before_replace)

    # -- edits ---------------------------------------------------------------------------------

    def add(self, connection: Mapping[str, Any]) -> "ValuesDocument":
        """Append one connection (a mapping as written under ``connections:``) to the
        ``connections`` list, creating the list when there is none."""
        conn = _plain(connection)
        if not isinstance(conn, dict) or "name" not in conn:
            raise ValuesError([Problem(("connections",), "a connection to add is a mapping with at least 'name' and 'kind'")])
        spans = self._spans()
        step, dash = detect_indent(spans)
        nl = _newline(spans.text)
        root = spans.root
        entry = spans.get(root, "connections")
        if root is not None and not isinstance(root, yaml.MappingNode):
            raise ValuesError([Problem((), "the document is not a mapping; cannot add a connection", self.file, 1)])
        if isinstance(root, yaml.MappingNode) and root.flow_style:
            raise ValuesError([Problem((), "the document is one flow mapping ({...}); add the connection by hand",
                                       self.file, 1)])
        if entry is None:
            col = root.value[0][0].start_mark.column if isinstance(root, yaml.MappingNode) and root.value else 0
            lines = [" " * col + "connections:", *emit_block([conn], col + dash, step, dash)]
            text = spans.text
            at = len(text) if root is None or not root.value else spans.after_line(spans.content_end(root))
            prefix = "" if at == 0 or text[at - 1] == "\n" else nl
            return self._splice(spans, at, at, prefix + nl.join(lines) + nl, "connections")
        key, seq = entry
        spans.check_no_anchor(key.start_mark.index, spans.content_end(seq), "connections")
        if isinstance(seq, yaml.SequenceNode) and seq.value and not seq.flow_style:
            col = _dash_column(spans, seq.value[0])
            at = spans.after_line(spans.content_end(seq))
            prefix = "" if spans.text[at - 1] == "\n" else nl
            return self._splice(spans, at, at, prefix + nl.join(emit_block([conn], col, step, dash)) + nl, "connections")
        if isinstance(seq, yaml.SequenceNode) and seq.value:  # a flow list: written again, one line
            items = spans.data.get("connections") or []
            return self._splice(spans, seq.start_mark.index, seq.end_mark.index, flow_text([*items, conn]), "connections")
        if isinstance(seq, yaml.ScalarNode) and seq.tag != "tag:yaml.org,2002:null" or \
                isinstance(seq, yaml.MappingNode) and seq.value:
            raise ValuesError([Problem(("connections",), "expected a list of connections", self.file,
                                       spans.line_no(seq.start_mark.index))])
        # `connections:` with nothing, `~` or `[]`: the list is written in its place
        col = key.start_mark.column
        lines = ["connections:", *emit_block([conn], col + dash, step, dash)]
        return self._splice(spans, key.start_mark.index, seq.end_mark.index, nl.join(lines), "connections")

    def remove(self, name: str) -> "ValuesDocument":
        """Remove the connection ``name`` from the ``connections`` list (its own lines; the
        comments around it stay)."""
        spans = self._spans()
        where, item, seq, _ = self._locate(spans, name)
        if where != "connections":
            raise ValuesError([Problem((where,), f"{name!r} is the artifacts store, which a values file needs; "
                                       "change it with `set` instead", self.file, spans.line_no(item.start_mark.index))])
        spans.check_no_anchor(item.start_mark.index, spans.content_end(item), f"connection {name!r}")
        if seq.flow_style:
            items = [c for c in spans.data["connections"] if not (isinstance(c, dict) and c.get("name") == name)]
            return self._splice(spans, seq.start_mark.index, seq.end_mark.index, flow_text(items), "connections")
        dash = _dash_offset(spans, item)
        lo = spans.line_start(dash)
        hi = spans.after_line(spans.content_end(item))
        if spans.text[lo:dash].strip():
            raise ValuesError([Problem(("connections",), "the list item does not start its own line; remove it by hand",
                                       self.file, spans.line_no(dash))])
        return self._splice(spans, lo, hi, "", "connections")

    def set(self, name: str, key: str | Sequence[str], value: Any) -> "ValuesDocument":
        """Set ``key`` (``schema.mountPath`` or ``("schema", "mountPath")``) of the connection
        ``name`` (in ``connections`` or the ``artifactsStore``) to ``value``; missing mappings
        on the way are created."""
        path = tuple(key.split(".")) if isinstance(key, str) else tuple(key)
        if not path or any(not isinstance(p, str) or not p for p in path):
            raise ValuesError([Problem((), f"expected a key like schema.mountPath, got {key!r}")])
        value = _plain(value)
        spans = self._spans()
        where, item, _, _ = self._locate(spans, name)
        step, dash = detect_indent(spans)
        lo, hi, text = _set_in(spans, item, path, value, step, dash)
        spans.check_no_anchor(lo, hi, f"connection {name!r}")
        return self._splice(spans, lo, hi, text, where)

    def migrate(self) -> "ValuesDocument":
        """Rewrite the legacy ``persistence:`` section in the current spelling (see
        ``stores.migrate``); nothing changes when there is none."""
        from .migrate import migrate_text

        new = migrate_text(self._text, file=self.file, allow_host_paths=self.allow_host_paths)
        self._text = new
        return self

    # -- internals -----------------------------------------------------------------------------

    def _spans(self) -> Spans:
        return Spans(self._text, self.file)

    def _locate(self, spans: Spans, name: str) -> tuple[str, yaml.MappingNode, Any, int]:
        root = spans.root
        known: list[str] = []
        store = spans.get(root, "artifactsStore")
        if store is not None and isinstance(store[1], yaml.MappingNode):
            got = spans.get(store[1], "name")
            if got is not None and _value(got[1]) == name:
                return "artifactsStore", store[1], None, -1
            if got is not None:
                known.append(str(_value(got[1])))
        conns = spans.get(root, "connections")
        if conns is not None and isinstance(conns[1], yaml.SequenceNode):
            for i, item in enumerate(conns[1].value):
                got = spans.get(item, "name")
                if got is not None and _value(got[1]) == name:
                    return "connections", item, conns[1], i
                if got is not None:
                    known.append(str(_value(got[1])))
        legacy = spans.data.get("persistence") if isinstance(spans.data, dict) else None
        if isinstance(legacy, dict):
            names = [n for role in ("data", "outputs") if isinstance(legacy.get(role), dict) for n in legacy[role]]
            names += [r for r in ("logs", "repos", "upload") if legacy.get(r) is not None]
            if name in names:
                raise ValuesError([Problem(("persistence",), f"{name!r} is in the legacy persistence section; "
                                           "run `stores migrate --write` first, then edit it", self.file,
                                           spans.lines.get(("persistence",)))])
        raise ValuesError([Problem((), f"no connection named {name!r} in artifactsStore or connections; "
                                   f"known: {', '.join(known) or '(none)'}", self.file)])

    def _splice(self, spans: Spans, lo: int, hi: int, text: str, section: str) -> "ValuesDocument":
        new = spans.text[:lo] + text + spans.text[hi:]
        self._check(new, section)
        self._text = new
        return self

    def _check(self, new: str, section: str) -> None:
        from .values import catalog_from_yaml

        where = f"{self.file or 'the document'} after the edit"
        try:
            catalog_from_yaml(new, file=where, allow_host_paths=self.allow_host_paths)
        except ValuesError as exc:
            raise ValuesError([Problem(p.path, f"{p.message} (the edit was not made)", p.file, p.line)
                               for p in exc.problems]) from None


def _plain(value: Any) -> Any:
    """Mappings and lists as plain ``dict`` / ``list`` (a pydantic dump, a tuple...)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _value(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _dash_offset(spans: Spans, item: yaml.Node) -> int:
    """The offset of the ``-`` that starts a block list item."""
    i = item.start_mark.index - 1
    while i >= 0 and spans.text[i] in " \t\r\n":
        i -= 1
    if i < 0 or spans.text[i] != "-":
        raise ValuesError([Problem(("connections",), "cannot find the '-' of this list item; edit it by hand",
                                   spans.file, spans.line_no(item.start_mark.index))])
    return i


def _dash_column(spans: Spans, item: yaml.Node) -> int:
    dash = _dash_offset(spans, item)
    return dash - spans.line_start(dash)


def _set_in(spans: Spans, node: yaml.Node, path: Sequence[str], value: Any, step: int, dash: int) -> tuple[int, int, str]:
    """``(lo, hi, text)``: the splice that sets ``path`` under the mapping ``node`` to ``value``."""
    for i, part in enumerate(path):
        rest = path[i + 1:]
        if getattr(node, "flow_style", False):
            data = _value(node)
            return node.start_mark.index, node.end_mark.index, flow_text(_set_path(data, path[i:], value))
        found = spans.get(node, part)
        new = _nest(rest, value)
        if found is None:
            col = node.value[0][0].start_mark.column
            at = spans.after_line(spans.content_end(node))
            nl = _newline(spans.text)
            prefix = "" if spans.text[at - 1] == "\n" else nl
            return at, at, prefix + nl.join(emit_block({part: new}, col, step, dash)) + nl
        key, current = found
        if rest and isinstance(current, yaml.MappingNode) and current.value:
            node = current
            continue
        if isinstance(current, yaml.ScalarNode) and current.end_mark.index > current.start_mark.index \
                and current.style not in ("|", ">") and not _is_block(new):
            return current.start_mark.index, current.end_mark.index, scalar_text(new)
        if getattr(current, "flow_style", False) and not _is_block(new):
            return current.start_mark.index, current.end_mark.index, scalar_text(new)
        col = key.start_mark.column
        lines = emit_block({part: new}, col, step, dash)
        lines[0] = lines[0][col:]
        return key.start_mark.index, spans.content_end(current), _newline(spans.text).join(lines)
    raise AssertionError("unreachable")  # pragma: no cover
