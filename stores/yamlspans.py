"""Where each node of a YAML document sits in its text, for edits that touch nothing else (tier 1: PyYAML).

The editors (``stores.edit``, ``stores.migrate``) change a values file by splicing: they replace
the characters of the nodes they change and leave every other byte as it was, so every comment,
blank line, quote and indentation outside the change survives.  A round-trip library re-emits the
whole document with one indentation style instead (ruamel.yaml changes about one real values file
in four that way without any edit), which is why the edits are spliced.

``Spans(text)`` composes the document (after ``stores.yamlsrc`` has refused anything hostile) and
answers: the node of a path, where a node's content ends, which lines carry comments.
"""

from __future__ import annotations

import bisect
from typing import Any, Iterator

import yaml

from .errors import Problem, ValuesError
from .yamlsrc import load_yaml

__all__ = ["Spans", "scalar_text", "detect_indent"]


def scalar_text(value: Any) -> str:
    """``value`` as one YAML scalar on one line (quoted where YAML needs it)."""
    out = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True, sort_keys=False)
    out = out.rstrip("\n")
    if out.endswith("\n..."):
        out = out[: -len("\n...")]
    return out.strip()


def flow_text(value: Any) -> str:
    """A mapping or list in flow style on one line."""
    return scalar_text(value)


class Spans:
    """The composed node tree of ``text`` with character offsets; refuses hostile YAML with
    ``stores.yamlsrc``'s messages first."""

    def __init__(self, text: str, file: str | None = None):
        self.text = text
        self.file = file
        self.data, self.lines = load_yaml(text, file)
        self.root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        #: offsets of every anchor (``&a``) and alias (``*a``): an edit must not cut through one
        self.anchored: list[tuple[int, int]] = []
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            start, end = event.start_mark, event.end_mark  # the parser marks every event
            if (isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None)) and start is not None and end is not None:
                self.anchored.append((start.index, end.index))

    # -- lines ---------------------------------------------------------------------------------

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def after_line(self, index: int) -> int:
        """The offset just past the line holding ``index`` (past its newline, if any); an
        offset already at a line start stays."""
        if index == 0 or self.text[index - 1] == "\n":
            return index
        end = self.text.find("\n", index)
        return len(self.text) if end < 0 else end + 1

    def line_no(self, index: int) -> int:
        return self.text.count("\n", 0, index) + 1

    # -- nodes ---------------------------------------------------------------------------------

    def get(self, node: yaml.Node | None, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
        """``(key node, value node)`` of ``key`` in a mapping node (the last one written)."""
        if not isinstance(node, yaml.MappingNode):
            return None
        found = None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and _key_value(k) == key:
                found = (k, v)
        return found

    def content_end(self, node: yaml.Node) -> int:
        """Where the node's own text ends: the last character of its last scalar or flow
        collection (a block collection's end mark lies past the comments that follow it)."""
        if isinstance(node, yaml.ScalarNode):
            end = node.end_mark.index
            if node.style in ("|", ">"):
                # a block scalar's end mark is past its trailing blank lines
                while end > node.start_mark.index and self.text[end - 1] in " \t\r\n":
                    end -= 1
            return end
        if getattr(node, "flow_style", False) or not node.value:
            return node.end_mark.index
        last = node.value[-1]
        return self.content_end(last[1] if isinstance(last, tuple) else last)

    def walk(self, node: yaml.Node | None) -> Iterator[yaml.Node]:
        if node is None:
            return
        seen: set[int] = set()
        stack = [node]
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            yield n
            if isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    stack.extend((k, v))
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)

    def scalar_ranges(self, node: yaml.Node | None) -> list[tuple[int, int]]:
        return sorted((n.start_mark.index, n.end_mark.index) for n in self.walk(node) if isinstance(n, yaml.ScalarNode))

    def comments(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """``(offset of '#', end of line)`` of every comment between ``lo`` and ``hi``."""
        ranges = self.scalar_ranges(self.root)
        starts = [a for a, _ in ranges]
        out: list[tuple[int, int]] = []
        i = lo
        while True:
            i = self.text.find("#", i, hi)
            if i < 0:
                return out
            # scalars do not overlap: only the last one starting at or before i can hold it
            k = bisect.bisect_right(starts, i) - 1
            inside = k >= 0 and ranges[k][0] <= i < ranges[k][1]
            if not inside and (i == 0 or self.text[i - 1] in " \t\n"):
                end = self.text.find("\n", i)
                end = len(self.text) if end < 0 else end
                out.append((i, end))
                i = end
            else:
                i += 1

    def check_no_anchor(self, lo: int, hi: int, what: str) -> None:
        """Refuse an edit of ``[lo, hi)`` that would cut through an anchor or alias."""
        for a, b in self.anchored:
            if a < hi and lo < b:
                raise ValuesError([Problem(
                    (), f"{what} uses a YAML anchor or alias (& or *) here; edit it by hand, "
                    "an automatic edit could change what the alias points at", self.file, self.line_no(a))])


def _key_value(node: yaml.ScalarNode) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def detect_indent(spans: Spans) -> tuple[int, int]:
    """``(step, dash)``: how far a nested mapping's keys sit right of their parent key, and how
    far a block list's dashes sit right of their key (0: ``key:\\n- item``); 2 and 2 by default."""
    step = dash = None
    for node in spans.walk(spans.root):
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            continue
        for k, v in node.value:
            if step is None and isinstance(v, yaml.MappingNode) and not v.flow_style and v.value \
                    and v.start_mark.line > k.start_mark.line:
                step = v.value[0][0].start_mark.column - k.start_mark.column
            if dash is None and isinstance(v, yaml.SequenceNode) and not v.flow_style and v.value \
                    and v.start_mark.line > k.start_mark.line:
                dash = v.start_mark.column - k.start_mark.column
        if step is not None and dash is not None:
            break
    step = step if step and step > 0 else 2
    return step, dash if dash is not None and dash >= 0 else step
