"""A multi-document YAML stream in, the same stream out with its workloads patched: helm's
``--post-renderer`` contract, and a kustomize (or any pipeline) step (tier 1).

The stream is cut at its document markers (a line that is ``---``, or starts with ``--- ``, at
column 0: YAML forbids such a line inside a document, so the cut is exact).  Each piece is
parsed on its own; a piece that is not a workload to patch is written back **byte for byte**
(its ``---`` line, comments, quoting and key order untouched), and the order of the documents
is kept.  A patched document keeps its ``---`` line and the comment lines above its first key
(helm's ``# Source: chart/templates/x.yaml``); its body is written again as YAML.

Which workloads are patched (``select``):

``"all"``
    every document whose kind the table of ``k8s.workloads`` knows;
``"annotated"``
    only those carrying the opt-in annotation ``ANNOTATION_CONNECTIONS``.

The annotations, on the workload's own ``metadata.annotations``:

``plx-stores/connections: "data1,data2"``
    the data stores this workload mounts (``""``: none), instead of the caller's selection;
    the presence of this annotation is the opt-in of ``"annotated"``;
``plx-stores/outputs: outputs1``
    its outputs store;
``plx-stores/container: trainer``
    its main container.

Patches are rendered once per distinct selection by the caller's ``render(data, outputs)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from stores.errors import ManifestError

from .apply import apply_patch_dict
from .podpatch import PodPatch
from .workloads import workload_for

__all__ = [
    "ANNOTATION_CONNECTIONS",
    "ANNOTATION_OUTPUTS",
    "ANNOTATION_CONTAINER",
    "Piece",
    "split_stream",
    "post_render",
    "iter_documents",
]

ANNOTATION_CONNECTIONS = "plx-stores/connections"
ANNOTATION_OUTPUTS = "plx-stores/outputs"
ANNOTATION_CONTAINER = "plx-stores/container"

#: a document marker: ``---`` alone or followed by a space/tab (``--- # comment``, ``--- !tag``)
_MARKER = re.compile(r"---(?:[ \t].*)?")  # fullmatch, on one line without its end
_BLANK_OR_COMMENT = re.compile(r"\s*(?:#.*)?")  # fullmatch

#: renders the patch of one selection: ``(data names or None for the caller's, outputs or None)``
Render = Callable[[tuple[str, ...] | None, str | None], PodPatch]


@dataclass
class Piece:
    """One document of the stream: ``text`` exactly as read (its ``---`` line included when it
    had one)."""

    text: str

    @property
    def marker(self) -> str | None:
        first = self.text.split("\n", 1)[0].rstrip("\r")
        return first if _MARKER.fullmatch(first) else None

    @property
    def body(self) -> str:
        if self.marker is None:
            return self.text
        return self.text.split("\n", 1)[1] if "\n" in self.text else ""


def split_stream(text: str) -> list[Piece]:
    """The stream's documents, ``"".join(p.text for p in pieces) == text``."""
    pieces: list[Piece] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if _MARKER.fullmatch(line.rstrip("\r\n")) and current:
            pieces.append(Piece("".join(current)))
            current = []
        current.append(line)
    if current:
        pieces.append(Piece("".join(current)))
    return pieces


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected comma-separated connection names, got {value!r}")
    return tuple(n.strip() for n in value.split(",") if n.strip())


def _leading_comments(body: str) -> str:
    out = []
    for line in body.splitlines(keepends=True):
        if not _BLANK_OR_COMMENT.fullmatch(line.rstrip("\r\n")):
            break
        out.append(line)
    return "".join(out)


def post_render(
    text: str,
    render: Render,
    *,
    select: str = "all",
    container: str | None = None,
    file: str = "standard input",
    load: Callable[[str, str], list[Any]] | None = None,
    dump: Callable[[Any], str] | None = None,
    patched: list[dict[str, Any]] | None = None,
) -> str:
    """The stream ``text`` with its workloads patched (see the module docstring).  ``load``
    parses one piece into its documents (default: ``stores.yamlsrc.load_yaml_documents``),
    ``dump`` writes one patched document (default: block-style YAML, key order kept).
    ``patched``, when given, receives every patched document (for validation)."""
    if select not in ("all", "annotated"):
        raise ValueError(f"select must be 'all' or 'annotated', got {select!r}")
    load = load or _load
    dump = dump or _dump
    patches: dict[tuple[tuple[str, ...] | None, str | None], PodPatch] = {}
    out: list[str] = []
    for number, piece in enumerate(split_stream(text), 1):
        where = f"{file}: document {number}"
        docs = [d for d in load(piece.body, where) if d is not None]
        if len(docs) != 1 or workload_for(docs[0]) is None:
            out.append(piece.text)
            continue
        doc = docs[0]
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        if not isinstance(annotations, dict):
            annotations = {}
        opted_in = ANNOTATION_CONNECTIONS in annotations
        if select == "annotated" and not opted_in:
            out.append(piece.text)
            continue
        name = (doc.get("metadata") or {}).get("name")
        label = f"{where} ({doc['kind']} {name!r})"
        data = _names(annotations[ANNOTATION_CONNECTIONS], f"{label}: {ANNOTATION_CONNECTIONS}") if opted_in else None
        outputs = annotations.get(ANNOTATION_OUTPUTS)
        if outputs is not None and not (isinstance(outputs, str) and outputs.strip()):
            raise ManifestError(f"{label}: {ANNOTATION_OUTPUTS} must name one outputs store, got {outputs!r}")
        key = (data, outputs.strip() if outputs else None)
        if key not in patches:
            patches[key] = render(*key)
        main = annotations.get(ANNOTATION_CONTAINER, container)
        try:
            count = apply_patch_dict(doc, patches[key], main, require=False)
        except ManifestError as exc:
            raise ManifestError(f"{label}: {exc}") from None
        if not count:
            out.append(piece.text)
            continue
        if patched is not None:
            patched.append(doc)
        head = (piece.marker + "\n") if piece.marker is not None else ""
        out.append(head + _leading_comments(piece.body) + dump(doc))
    return "".join(out)


def _load(body: str, where: str) -> list[Any]:
    from stores.yamlsrc import load_yaml_documents

    return list(load_yaml_documents(body.encode(), file=where))


def _dump(doc: Any) -> str:
    import yaml

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, default_flow_style=False)


def iter_documents(text: str) -> Iterable[Any]:
    """Every document of a stream, parsed (for tests and callers that want the data)."""
    for number, piece in enumerate(split_stream(text), 1):
        yield from (d for d in _load(piece.body, f"document {number}") if d is not None)
