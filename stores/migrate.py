"""The legacy ``persistence:`` section rewritten as ``artifactsStore:`` + ``connections:``, comments kept (tier 1).

What the legacy spelling means is ``stores.legacy``'s; the migration writes exactly that:

- every ``persistence.data.<name>`` becomes an entry of ``connections:``, in order (``hostPath``
  -> ``host_path``, ``existingClaim`` -> ``volume_claim`` with ``volumeClaim``, a bucket -> ``s3``,
  ``gcs`` or ``wasb`` with its ``secret`` + ``secretKey`` written out as the secret mounted at
  ``/plx-secrets/<name>`` with the key as ``key.json``);
- the one ``persistence.outputs.<name>`` becomes ``artifactsStore:``;
- an empty ``data`` / ``outputs`` is the old chart's default (``default-data`` on ``/data``,
  ``default-outputs`` on ``/outputs``), written out explicitly.

It stops with a ``MigrationError`` (every reason, each with file and line) rather than guess where
the current spelling has no exact equivalent:

- ``persistence.logs``, ``repos`` or ``upload``: the current spelling has no such stores, and as a
  connection each would become a data store every run mounts;
- more than one ``outputs`` store: the current spelling has one ``artifactsStore``, so a run could
  no longer pick the others as its outputs;
- ``persistence`` next to a non-empty ``artifactsStore``, or next to storage ``connections``: they
  would change which store is the outputs store, or which data stores a run gets by default.

After writing, the result is read back and its catalog compared with the original's (data stores
in order, the outputs store, every other connection): a difference is refused, never written.

Comments in the replaced section move with what they describe: a comment above a legacy key goes
above the line that key became, a comment at the end of a line goes to the end of the new line.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from .errors import MigrationError, Problem, ValuesError
from .legacy import DEFAULTS, choose_model
from .yamlspans import Spans, detect_indent, scalar_text

__all__ = ["migrate_text", "MigrationError", "LEGACY_ONLY"]

#: legacy keys with no current spelling
LEGACY_ONLY = ("logs", "repos", "upload")

#: new key path in a connection -> the legacy entry key it comes from
_ORIGIN = {
    ("schema", "hostPath"): "hostPath",
    ("schema", "mountPath"): "mountPath",
    ("schema", "readOnly"): "readOnly",
    ("schema", "volumeClaim"): "existingClaim",
    ("schema", "bucket"): "bucket",
    ("kind",): "store",
    ("secret", "name"): "secret",
    ("secret", "items"): "secretKey",
}


def migrate_text(text: str, *, file: str | None = None, allow_host_paths: Iterable[str] = ()) -> str:
    """``text`` with its ``persistence:`` section in the current spelling; ``text`` itself when
    it has none (so migrating twice changes nothing).  ``ValuesError`` when the document is
    invalid, ``MigrationError`` when it has no exact current spelling."""
    from .values import catalog_from_yaml

    spans = Spans(text, file)
    data = spans.data
    if not isinstance(data, dict) or "persistence" not in data:
        return text
    allow = tuple(allow_host_paths)
    before = catalog_from_yaml(text, file=file, allow_host_paths=allow)
    _refuse_inexact(spans, data, before)
    new = _Rewriter(spans).run()
    after = catalog_from_yaml(new, file=file, allow_host_paths=allow)
    _same_meaning(before, after, file)
    return new


def _refuse_inexact(spans: Spans, data: dict[str, Any], catalog: Any) -> None:
    problems: list[Problem] = []

    def add(path: tuple[object, ...], message: str) -> None:
        problems.append(Problem(path, message, spans.file, spans.lines.get(path)))

    section = data.get("persistence") or {}
    for role in LEGACY_ONLY:
        if section.get(role) is not None:
            add(("persistence", role),
                f"the current spelling has no {role} store (Polyaxon 1.x and later keep {role} in the artifacts "
                "store), and as a connection it would become a data store every run mounts; remove "
                f"persistence.{role} (or keep the legacy spelling) and migrate again")
    if len(catalog.outputs) > 1:
        names = [c.name for c in catalog.outputs]
        add(("persistence", "outputs"),
            f"{len(names)} outputs stores ({', '.join(names)}); the current spelling has one artifactsStore, so a "
            f"run could no longer choose {', '.join(names[1:])} as its outputs; keep the one that should be the "
            "artifacts store (move the others to persistence.data if runs read from them) and migrate again")
    if catalog.artifacts_store is not None:
        add(("artifactsStore",),
            "artifactsStore is set next to persistence; the legacy outputs store and this one cannot both "
            "become the artifacts store: keep one of the two and migrate again")
    storage = [c.name for c in catalog.connections if c.is_storage]
    if storage:
        add(("connections",),
            f"storage connections ({', '.join(storage)}) next to persistence: after the migration every run "
            "would get them as data stores by default (today only persistence.data); move them to "
            "persistence.data, or remove persistence, and migrate again")
    if problems:
        raise MigrationError(problems)


def _same_meaning(before: Any, after: Any, file: str | None) -> None:
    """The promise, checked: the same data stores in the same order, the same outputs store,
    the same other connections.  A difference is a bug and is never written."""
    others_before = [c for c in before.connections]
    got_data = [c for c in after.connections if c.is_storage]
    got_others = [c for c in after.connections if not c.is_storage]
    same = (list(before.data) == got_data and [before.outputs[0]] == [after.artifacts_store]
            and others_before == got_others and not (after.data or after.outputs or after.logs or after.repos or after.upload))
    if not same:  # pragma: no cover - a bug: the rewrite and stores.legacy disagree
        raise MigrationError([Problem((), "the rewritten document would not mean the same as the original; "
                                      "nothing was changed (please report this file)", file)])


class _Line:
    __slots__ = ("text", "col", "comment")

    def __init__(self, text: str, col: int):
        self.text = text
        self.col = col
        self.comment = False


class _Rewriter:
    """Builds the new section's lines, each knowing which legacy key it came from, then moves
    every comment of the old section next to the line its key became."""

    def __init__(self, spans: Spans):
        self.spans = spans
        self.text = spans.text
        self.nl = "\r\n" if "\r\n" in self.text else "\n"
        self.step, self.dash = detect_indent(spans)
        self.lines: list[_Line] = []
        #: legacy path -> index in self.lines of the line it became
        self.owner: dict[tuple[object, ...], int] = {}

    # -- building ------------------------------------------------------------------------------

    def run(self) -> str:
        spans = self.spans
        root = spans.root
        assert isinstance(root, yaml.MappingNode)
        if root.flow_style:
            raise MigrationError([Problem((), "the document is one flow mapping ({...}); write it in block style "
                                          "first", spans.file, 1)])
        key, value = spans.get(root, "persistence")  # type: ignore[misc]
        spans.check_no_anchor(key.start_mark.index, spans.content_end(value), "persistence")
        col = key.start_mark.column
        section = spans.data.get("persistence") or {}
        splices: list[tuple[int, int, str]] = []
        displaced: list[str] = []
        # an empty artifactsStore / connections key gives way to the one written here
        for name in ("artifactsStore", "connections"):
            found = spans.get(root, name)
            if found is not None and _empty(spans.data.get(name)) and name in spans.data:
                k, v = found
                lo, hi = spans.line_start(k.start_mark.index), spans.after_line(max(spans.content_end(v), k.end_mark.index))
                displaced += [self.text[a:b].strip() for a, b in spans.comments(lo, hi)]
                splices.append((lo, hi, ""))
        existing = spans.get(root, "connections")
        append_to = None
        if existing is not None and not _empty(spans.data.get("connections")):
            seq = existing[1]
            if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
                raise MigrationError([Problem(("connections",), "connections is written in flow style ([...]); "
                                              "write it as a block list first", spans.file,
                                              spans.lines.get(("connections",)))])
            append_to = seq
        order = [r for r in section if r in ("data", "outputs")]
        order += [r for r in ("data", "outputs") if r not in order]
        self.owner[("persistence",)] = 0
        for role in order:
            if role == "outputs":
                self._artifacts_store(section, col)
            elif append_to is None:
                self._connections(section, col)
        for text in displaced:
            self._comment_before(0, text)
        lo = spans.line_start(key.start_mark.index)
        hi = spans.after_line(max(spans.content_end(value), key.end_mark.index))
        self._move_comments(lo, hi)
        splices.append((lo, hi, self._render()))
        if append_to is not None:
            self.lines, self.owner = [], {}
            item_col = append_to.value[0].start_mark.column
            dash = self.text.rfind("-", 0, append_to.value[0].start_mark.index)
            item_col = dash - spans.line_start(dash) if dash >= 0 else item_col - 2
            self._items(section, item_col)
            at = spans.after_line(spans.content_end(append_to))
            body = self._render()
            splices.append((at, at, body if self.text[at - 1] == "\n" else self.nl + body))
        out = self.text
        for lo, hi, new in sorted(splices, key=lambda s: s[0], reverse=True):
            out = out[:lo] + new + out[hi:]
        return out

    def _entries(self, section: dict[str, Any], role: str) -> list[tuple[Any, dict[str, Any], tuple[object, ...] | None]]:
        entries = section.get(role)
        if entries is None or entries == {}:
            return [(name, entry, None) for name, entry in DEFAULTS[role].items()]
        return [(name, entry, ("persistence", role, name)) for name, entry in entries.items()]

    def _document(self, name: Any, entry: dict[str, Any]) -> dict[str, Any]:
        model, _, _ = choose_model(entry)
        assert model is not None  # the document validated
        document: dict[str, Any] = model.model_validate(entry).to_document(name)  # type: ignore[attr-defined]
        return document

    def _connections(self, section: dict[str, Any], col: int) -> None:
        self.owner[("persistence", "data")] = len(self.lines)
        self.lines.append(_Line(" " * col + "connections:", col))
        self._items(section, col + self.dash)

    def _items(self, section: dict[str, Any], dash_col: int) -> None:
        self.owner.setdefault(("persistence", "data"), len(self.lines))
        for name, entry, path in self._entries(section, "data"):
            self._emit(self._document(name, entry), entry, path, dash_col + 2, item=True)

    def _artifacts_store(self, section: dict[str, Any], col: int) -> None:
        self.owner[("persistence", "outputs")] = len(self.lines)
        self.lines.append(_Line(" " * col + "artifactsStore:", col))
        ((name, entry, path),) = self._entries(section, "outputs")
        if path is not None:
            self.owner[path] = len(self.lines)
        self._emit(self._document(name, entry), entry, path, col + self.step, item=False)

    def _emit(self, doc: dict[str, Any], entry: dict[str, Any], path: tuple[object, ...] | None,
              col: int, *, item: bool) -> None:
        start = len(self.lines)
        if isinstance(doc.get("schema"), dict):
            # the schema's keys in the order the legacy entry wrote them
            written = list(entry)
            where = {new[1]: written.index(old) for new, old in _ORIGIN.items()
                     if new[0] == "schema" and old in written}
            doc = {**doc, "schema": dict(sorted(doc["schema"].items(), key=lambda kv: where.get(kv[0], len(written))))}
        self._mapping(doc, (), entry, path, col)
        if item:
            first = self.lines[start]
            first.text = " " * (col - 2) + "- " + first.text[col:]
            first.col = col - 2
            if path is not None:
                self.owner[path] = start

    def _mapping(self, doc: dict[str, Any], at: tuple[str, ...], entry: dict[str, Any],
                 path: tuple[object, ...] | None, col: int) -> None:
        for key, value in doc.items():
            here = at + (key,)
            source = _ORIGIN.get(here)
            if here == ("name",) and path is not None:
                self.owner.setdefault(path, len(self.lines))
            if source is not None and path is not None and source in entry:
                self.owner[path + (source,)] = len(self.lines)
            head = " " * col + scalar_text(key) + ":"
            if isinstance(value, dict):
                self.lines.append(_Line(head, col))
                self._mapping(value, here, entry, path, col + self.step)
            elif isinstance(value, list):
                self.lines.append(_Line(head, col))
                for item in value:
                    inner = col + self.dash + 2
                    first = len(self.lines)
                    self._mapping(item, here + ("*",), entry, path, inner)
                    line = self.lines[first]
                    line.text = " " * (inner - 2) + "- " + line.text[inner:]
            else:
                raw = self._raw(path, source, value) if source is not None else None
                self.lines.append(_Line(f"{head} {raw if raw is not None else scalar_text(value)}", col))

    def _raw(self, path: tuple[object, ...] | None, source: str, value: Any) -> str | None:
        """The legacy scalar's own text (its quotes) when it says the same value on one line."""
        if path is None:
            return None
        found = self.spans.get(self._node(path), source)
        if found is None or not isinstance(found[1], yaml.ScalarNode):
            return None
        node = found[1]
        raw = self.text[node.start_mark.index:node.end_mark.index]
        if "\n" in raw or node.style in ("|", ">") or not raw:
            return None
        try:
            same = yaml.safe_load(raw) == value and type(yaml.safe_load(raw)) is type(value)
        except yaml.YAMLError:
            return None
        return raw if same else None

    def _node(self, path: tuple[object, ...]) -> yaml.Node | None:
        node = self.spans.root
        for part in path:
            found = self.spans.get(node, part)
            if found is None:
                return None
            node = found[1]
        return node

    # -- comments ------------------------------------------------------------------------------

    def _keys(self, lo: int, hi: int) -> list[tuple[int, tuple[object, ...]]]:
        """``(offset, legacy path)`` of every key in the persistence section, in text order."""
        out: list[tuple[int, tuple[object, ...]]] = []

        def walk(node: yaml.Node, path: tuple[object, ...]) -> None:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    key = yaml.SafeLoader("").construct_object(k, deep=True)
                    out.append((k.start_mark.index, path + (key,)))
                    walk(v, path + (key,))

        root = self.spans.root
        key, value = self.spans.get(root, "persistence")  # type: ignore[misc]
        out.append((key.start_mark.index, ("persistence",)))
        walk(value, ("persistence",))
        return sorted(out, key=lambda kv: kv[0])

    def _move_comments(self, lo: int, hi: int) -> None:
        spans, text = self.spans, self.text
        keys = self._keys(lo, hi)
        ranges = spans.scalar_ranges(spans.root)
        leading: list[tuple[tuple[object, ...] | None, str]] = []
        trailing: list[tuple[tuple[object, ...], str, str]] = []
        for a, b in spans.comments(lo, hi):
            start = spans.line_start(a)
            comment = text[a:b].rstrip("\r")
            if text[start:a].strip():
                on_line = [p for off, p in keys if start <= off < a]
                before = [p for off, p in keys if off < a]
                owner = on_line[-1] if on_line else (before[-1] if before else ("persistence",))
                gap = text[start:a]
                gap = gap[len(gap.rstrip()):] or " "
                trailing.append((owner, gap, comment))
            else:
                after = [p for off, p in keys if off > a]
                leading.append((after[0] if after else None, comment))
        # blank lines inside the section keep their place before the next key too
        pos = lo
        while pos < hi:
            end = text.find("\n", pos, hi)
            end = hi if end < 0 else end + 1
            if not text[pos:end].strip() and not any(x <= pos < y for x, y in ranges):
                after = [p for off, p in keys if off > pos]
                if after:
                    leading.append((after[0], ""))
            pos = end
        by_owner: dict[Any, list[str]] = {}
        order: list[Any] = []
        for owner, comment in self._in_text_order(leading, lo, hi):
            by_owner.setdefault(owner, []).append(comment)
            order.append(owner)
        for owner, comments in by_owner.items():
            for comment in comments:
                index = self._line_of(owner) if owner is not None else None
                if index is None:
                    self.lines.append(_comment_line(self.lines[-1].col if self.lines else 0, comment))
                else:
                    self._comment_before(index, comment)
        for owner, gap, comment in trailing:
            index = self._line_of(owner)
            assert index is not None
            line = self.lines[index]
            if getattr(line, "comment", False) or "#" in line.text and _has_comment(line.text):
                self._comment_before(index, comment)
            else:
                line.text += gap + comment

    def _in_text_order(self, leading: list[tuple[Any, str]], lo: int, hi: int) -> list[tuple[Any, str]]:
        # comments were collected before blank lines: put both back in the order of the text
        spans, text = self.spans, self.text
        items: list[tuple[int, Any, str]] = []
        comments = iter(spans.comments(lo, hi))
        by_comment: dict[str, list[int]] = {}
        for a, b in comments:
            start = spans.line_start(a)
            if not text[start:a].strip():
                by_comment[text[a:b].rstrip("\r")] = by_comment.get(text[a:b].rstrip("\r"), []) + [a]
        blanks = []
        pos = lo
        ranges = spans.scalar_ranges(spans.root)
        while pos < hi:
            end = text.find("\n", pos, hi)
            end = hi if end < 0 else end + 1
            if not text[pos:end].strip() and not any(x <= pos < y for x, y in ranges):
                blanks.append(pos)
            pos = end
        blank_iter = iter(blanks)
        used: dict[str, int] = {}
        for owner, comment in leading:
            if comment == "":
                items.append((next(blank_iter), owner, comment))
            else:
                n = used.get(comment, 0)
                used[comment] = n + 1
                items.append((by_comment[comment][n], owner, comment))
        return [(owner, comment) for _, owner, comment in sorted(items, key=lambda i: i[0])]

    def _line_of(self, path: tuple[object, ...]) -> int | None:
        while path:
            if path in self.owner:
                return self.owner[path]
            path = path[:-1]
        return 0 if self.lines else None

    def _comment_before(self, index: int, comment: str) -> None:
        col = self.lines[index].col if self.lines else 0
        self.lines.insert(index, _comment_line(col, comment))
        for path, i in self.owner.items():
            if i >= index:
                self.owner[path] = i + 1

    def _render(self) -> str:
        return "".join(line.text + self.nl for line in self.lines)


def _comment_line(col: int, comment: str) -> _Line:
    line = _Line((" " * col + comment) if comment else "", col)
    line.comment = True
    return line


def _has_comment(text: str) -> bool:
    return " #" in text


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []
