"""The kinds table is the one place a storage kind is switched on.

Every other module of ``stores`` and ``k8s`` looks the kind's row up (``stores.kinds.row``); a
comparison with a storage kind's name, or of a connection's / handle's ``.kind`` with a string,
outside ``stores/kinds.py`` is a new switch that the table would not know about.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from stores.contract import read as runenv
from stores.kinds import ALL_KINDS, KINDS, OTHER_KINDS, KindRow, resolve, row

from support.paths import ROOT
SOURCES = sorted(p for d in ("stores", "k8s") for p in (ROOT / d).rglob("*.py"))
KINDS_PY = ROOT / "stores" / "kinds.py"
#: the names a storage kind goes by: the kinds and the legacy spelling's store values
KIND_NAMES = set(KINDS) | {r.legacy_store for r in KINDS.values() if r.legacy_store}
CODE_FIELDS = ("volume", "backend", "fs_options", "lister", "uploader", "after_write", "deleter", "first_part_size")


def _strings(node: ast.AST) -> list[str]:
    """String constants of an operand: itself, or the items of a literal tuple / list / set."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def _is_kind_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "kind"


def kind_comparisons(source: str, filename: str = "<source>") -> list[str]:
    """``line: text`` of every comparison that switches on a storage kind: an operand that is a
    storage kind's name, or a ``.kind`` attribute compared with a string."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        named = any(s in KIND_NAMES for o in operands for s in _strings(o))
        attribute = any(_is_kind_attribute(o) for o in operands) and any(_strings(o) for o in operands)
        if named or attribute:
            found.append(f"{filename}:{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_checker_sees_the_switches() -> None:
    assert kind_comparisons('if kind == "s3": pass')
    assert kind_comparisons('if conn.kind in ("gcs", "wasb"): pass')
    assert kind_comparisons('x = "an" if tag == "s3" else "a"')
    assert kind_comparisons('if handle.kind != "service": pass')
    assert kind_comparisons('if store == "azure": pass')
    assert not kind_comparisons("if kind in KINDS: pass")
    assert not kind_comparisons('if run_kind == "service": pass')


def test_no_kind_switch_outside_the_table() -> None:
    found = [hit for path in SOURCES if path != KINDS_PY
             for hit in kind_comparisons(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], "switch on the kinds table instead:\n" + "\n".join(found)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_row_resolves_its_code(kind: str) -> None:
    entry = row(kind)
    assert isinstance(entry, KindRow) and entry.kind == kind
    for field in CODE_FIELDS:
        ref = getattr(entry, field)
        if ref is None:
            continue
        module, sep, attr = ref.partition(":")
        assert sep and module and attr, f"{kind}.{field}: {ref!r} is not 'module:function'"
        fn = resolve(ref)
        assert callable(fn), f"{kind}.{field}: {ref!r} is not callable"
        assert entry.code(field) is fn


@pytest.mark.parametrize("kind", list(KINDS))
def test_rows_are_complete(kind: str) -> None:
    entry = row(kind)
    assert entry.volume is None if entry.is_bucket else entry.volume is not None
    if entry.is_bucket:
        assert entry.schemes and entry.example and entry.bucket_name and entry.bucket_pattern
        assert entry.credential_vars and entry.required_keys and entry.known_keys and entry.fs_options
        assert entry.example.startswith(entry.schemes[0] + "://")
    for setting_pair in [entry.paired_settings] if entry.paired_settings else []:
        assert set(setting_pair) <= set(entry.credential_table)


def test_fs_option_factories_share_one_signature() -> None:
    shapes = {tuple(inspect.signature(r.code("fs_options")).parameters) for r in KINDS.values() if r.fs_options}
    assert shapes == {("creds", "opts", "timeout", "account")}


def test_in_run_url_schemes_are_the_bucket_schemes() -> None:
    # stores.contract.read cannot import the table (the in-run tier loads no dataclasses): it repeats them
    bucket = {s for r in KINDS.values() if r.is_bucket for s in (*r.schemes, *r.scheme_aliases)}
    assert set(runenv.URL_SCHEMES) == bucket


def test_kinds_and_other_kinds_are_disjoint() -> None:
    assert not set(KINDS) & set(OTHER_KINDS)
    assert ALL_KINDS[: len(KINDS)] == tuple(KINDS)


def test_table_imports_only_the_stdlib() -> None:
    import subprocess
    import sys

    code = ("import sys; before = set(sys.modules); import stores.kinds; "
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['stores', 'stores.errors', 'stores.keyfile', 'stores.kinds']"
