"""``stores.edit.ValuesDocument``: add, set, remove one connection without touching anything else.

- unit cases: each edit's exact text, in block and flow style, with other indentation styles;
- a property: random sequences of add / set / remove on commented documents change no line
  outside the connection they edit, and every document along the way validates (an edit whose
  result would be invalid is refused and changes nothing);
- interrupted writes: a writer killed (SIGKILL) between writing its temporary file and the
  rename leaves the original intact (``write_atomic``'s ``before_replace`` seam stops it there),
  and writers killed at random moments leave either the old or the new file, never a mix.
"""

from __future__ import annotations

import difflib
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stores.catalog import Catalog
from stores.edit import ValuesDocument, write_atomic
from stores.errors import ValuesError
from stores.yamlspans import Spans

BASE = """\
# Helm values of the team's cluster.
ingress:
  enabled: true   # behind the VPN

# where runs write
artifactsStore:
  name: artifacts   # the bucket
  kind: s3
  schema:
    bucket: s3://team-artifacts
  secret:
    name: aws-creds

connections:
  # read-only datasets
  - name: imagenet
    kind: host_path
    schema:
      hostPath: /mnt/imagenet   # NFS
      mountPath: /data/imagenet
      readOnly: true

  # the scratch claim
  - name: scratch
    kind: volume_claim
    schema: {volumeClaim: scratch-pvc, mountPath: /scratch}
# the end
rbac:
  enabled: true
"""

# the same content written the other common ways: dashes at the key's column, 4-space indents
INDENTLESS = BASE.replace("\n  - name:", "\n- name:").replace("\n    kind:", "\n  kind:").replace(
    "\n    schema:", "\n  schema:").replace("\n      hostPath", "\n    hostPath").replace(
    "\n      mountPath", "\n    mountPath").replace("\n      readOnly", "\n    readOnly")
FOUR = """\
# four spaces a level
artifactsStore:
    name: artifacts
    kind: gcs
    schema:
        bucket: gs://team-artifacts   # the bucket

connections:
    # datasets
    -   name: imagenet
        kind: host_path
        schema:
            hostPath: /mnt/imagenet
            mountPath: /data/imagenet
    # the end
"""
DOCUMENTS = [BASE, INDENTLESS, FOUR, "# nothing yet\nrbac:\n  enabled: true  # keep\n"]


def test_the_documents_are_valid() -> None:
    for text in DOCUMENTS:
        Catalog.from_yaml(text)


def test_add_appends_after_the_last_connection() -> None:
    doc = ValuesDocument(BASE)
    doc.add({"name": "raw", "kind": "gcs", "schema": {"bucket": "gs://raw"}})
    assert doc.text == BASE.replace(
        "    schema: {volumeClaim: scratch-pvc, mountPath: /scratch}\n",
        "    schema: {volumeClaim: scratch-pvc, mountPath: /scratch}\n"
        "  - name: raw\n    kind: gcs\n    schema:\n      bucket: gs://raw\n")


def test_add_creates_the_list() -> None:
    doc = ValuesDocument(DOCUMENTS[3])
    doc.add({"name": "d", "kind": "host_path", "schema": {"hostPath": "/d", "mountPath": "/d"}})
    assert doc.text == DOCUMENTS[3] + "connections:\n  - name: d\n    kind: host_path\n    schema:\n" \
        "      hostPath: /d\n      mountPath: /d\n"
    doc = ValuesDocument("connections: []  # none yet\n")
    doc.add({"name": "d", "kind": "host_path", "schema": {"hostPath": "/d", "mountPath": "/d"}})
    assert doc.text.startswith("connections:\n  - name: d\n") and doc.text.endswith("  # none yet\n")


def test_set_replaces_a_scalar_in_place_and_keeps_its_comment() -> None:
    doc = ValuesDocument(BASE)
    doc.set("imagenet", "schema.hostPath", "/mnt/imagenet2")
    assert doc.text == BASE.replace("/mnt/imagenet   # NFS", "/mnt/imagenet2   # NFS")
    doc.set("imagenet", "description", "v2")
    assert "      readOnly: true\n    description: v2\n" in doc.text


def test_set_in_a_flow_mapping_and_on_the_artifacts_store() -> None:
    doc = ValuesDocument(BASE)
    doc.set("scratch", "schema.readOnly", True)
    assert "    schema: {volumeClaim: scratch-pvc, mountPath: /scratch, readOnly: true}\n" in doc.text
    doc.set("artifacts", "secret.mountPath", "/plx-secrets/artifacts")
    assert "    name: aws-creds\n    mountPath: /plx-secrets/artifacts\n" in doc.text
    doc.set("artifacts", ("description",), "team bucket: runs write here")
    assert "  description: 'team bucket: runs write here'\n" in doc.text
    assert doc.catalog().artifacts_store.description == "team bucket: runs write here"


def test_remove_takes_the_item_and_leaves_its_neighbours() -> None:
    doc = ValuesDocument(BASE)
    doc.remove("imagenet")
    assert doc.text == BASE.replace(
        "  - name: imagenet\n    kind: host_path\n    schema:\n      hostPath: /mnt/imagenet   # NFS\n"
        "      mountPath: /data/imagenet\n      readOnly: true\n", "")


def test_an_invalid_result_is_refused_and_nothing_changes() -> None:
    doc = ValuesDocument(BASE, file="values.yaml")
    with pytest.raises(ValuesError) as info:
        doc.set("imagenet", "schema.mountPath", "relative/path")
    assert "the edit was not made" in str(info.value) and "values.yaml after the edit:" in str(info.value)
    with pytest.raises(ValuesError, match="already used"):
        doc.add({"name": "imagenet", "kind": "host_path", "schema": {"hostPath": "/x", "mountPath": "/x"}})
    with pytest.raises(ValuesError, match="is not allowed"):
        doc.add({"name": "etc", "kind": "host_path", "schema": {"hostPath": "/etc", "mountPath": "/etc"}})
    with pytest.raises(ValuesError, match="the artifacts store"):
        doc.remove("artifacts")
    with pytest.raises(ValuesError, match="known: artifacts, imagenet, scratch"):
        doc.set("nope", "description", "x")
    assert doc.text == BASE and not doc.changed


def test_legacy_entries_are_edited_after_migrating() -> None:
    doc = ValuesDocument("persistence:\n  data:\n    d: {hostPath: /d, mountPath: /d}\n")
    with pytest.raises(ValuesError, match="stores migrate --write"):
        doc.set("d", "schema.readOnly", True)
    doc.migrate().set("d", "schema.readOnly", True)
    assert doc.catalog().connections[0].schema_.read_only is True


def test_anchors_are_not_cut_through() -> None:
    text = "x: &s {hostPath: /d, mountPath: /d}\nconnections:\n  - name: d\n    kind: host_path\n    schema: *s\n"
    doc = ValuesDocument(text)
    with pytest.raises(ValuesError, match="anchor or alias"):
        doc.set("d", "schema.readOnly", True)


# -- the property ---------------------------------------------------------------------------------


def _item_lines(text: str, name: str) -> range:
    """The lines (0-based) of the connection ``name``: from its first line to its last."""
    spans = Spans(text)
    root = spans.root
    for section in ("artifactsStore", "connections"):
        found = spans.get(root, section)
        if found is None:
            continue
        nodes = found[1].value if section == "connections" else [found[1]]
        for node in nodes:
            got = spans.get(node, "name")
            if got is not None and got[1].value == name:
                first = spans.line_no(node.start_mark.index) - 1
                last = spans.line_no(spans.content_end(node)) - 1
                return range(first, last + 1)
    raise AssertionError(name)


def _declared_connections(text: str) -> list:
    """The connections the text writes (not the chart's default store it may fall back to)."""
    catalog = Catalog.from_yaml(text)
    store = [catalog.artifacts_store] if "artifactsStore:" in text else []
    return store + list(catalog.connections)


def _declared(text: str) -> list[str]:
    return [c.name for c in _declared_connections(text)]


def _changed_old_lines(before: str, after: str) -> set[int]:
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    out: set[int] = set()
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            out.update(range(i1, i2))
    return out


SCHEMAS = {
    "host_path": lambda n: {"hostPath": f"/mnt/{n}", "mountPath": f"/data/{n}"},
    "volume_claim": lambda n: {"volumeClaim": f"{n}-pvc", "mountPath": f"/claims/{n}"},
    "s3": lambda n: {"bucket": f"s3://bucket-{n}"},
    "gcs": lambda n: {"bucket": f"gs://bucket-{n}"},
}
SETTABLE = [
    ("description", st.text(alphabet="abc xyz:#'\"-", min_size=1, max_size=12)),
    ("tags", st.lists(st.sampled_from(["a", "b", "gpu"]), min_size=1, max_size=3)),
    ("annotations.team", st.sampled_from(["ml", "vision", "a: b"])),
    ("schema.mountPath", st.sampled_from(["/data/x", "/data/y", "relative", "/data/z"])),
    ("schema.readOnly", st.booleans()),
    ("schema.bucket", st.sampled_from(["s3://other", "gs://other", "not a url"])),
]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(sorted(SCHEMAS)), st.integers(0, 30)),
        st.tuples(st.just("set"), st.integers(0, 10), st.sampled_from(range(len(SETTABLE))), st.data()),
        st.tuples(st.just("remove"), st.integers(0, 10)),
    ),
    min_size=1, max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(DOCUMENTS), ops=OPS)
def test_random_edits_touch_only_their_connection_and_always_validate(base: str, ops: list) -> None:
    doc = ValuesDocument(base)
    for op in ops:
        before = doc.text
        catalog = Catalog.from_yaml(before)
        names = _declared(before)
        try:
            if op[0] == "add":
                _, kind, n = op
                target = f"c{n}"
                doc.add({"name": target, "kind": kind, "schema": SCHEMAS[kind](n)})
            elif op[0] == "set":
                _, i, which, data = op
                if not names:
                    continue
                target = names[i % len(names)]
                key, values = SETTABLE[which]
                doc.set(target, key, data.draw(values))
            else:
                plain = [c.name for c in catalog.connections]
                if not plain:
                    continue
                target = plain[op[1] % len(plain)]
                doc.remove(target)
        except ValuesError:
            assert doc.text == before  # refused: nothing changed
            continue
        after = doc.text
        after_catalog = Catalog.from_yaml(after)  # always valid
        changed = _changed_old_lines(before, after)
        if op[0] == "add":
            assert not changed, (before, after)
            assert _declared(after) == _declared(before) + [target]
        else:
            lines = _item_lines(before, target)
            assert changed <= set(lines), (op, before, after)
            others_before = [c for c in _declared_connections(before) if c.name != target]
            others_after = [c for c in _declared_connections(after) if c.name != target]
            assert others_after == others_before
        # every comment outside the edited connection is still there
        assert all(line in after.splitlines() for line in before.splitlines() if line.lstrip().startswith("#")
                   and op[0] != "remove")


# -- atomic writes --------------------------------------------------------------------------------

WRITER = textwrap.dedent("""\
    import sys, time
    from stores.edit import ValuesDocument

    doc = ValuesDocument.from_file(sys.argv[1])
    doc.add({"name": "new", "kind": "host_path", "schema": {"hostPath": "/mnt/new", "mountPath": "/new"}})

    def stop_here(temp_path):
        # the temporary file is complete; the rename has not happened
        print(temp_path, flush=True)
        time.sleep(120)

    doc.write(before_replace=stop_here)
""")


def test_a_writer_killed_before_the_rename_leaves_the_original(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(BASE)
    values.chmod(0o640)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(values)], stdout=subprocess.PIPE, text=True)
    try:
        temp = Path(proc.stdout.readline().strip())
        assert temp.parent == tmp_path and temp.exists()
        assert "name: new" in temp.read_text()  # the new text was written, in full
        assert stat.S_IMODE(temp.stat().st_mode) == 0o640  # with the original's mode
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert values.read_text() == BASE
    assert stat.S_IMODE(values.stat().st_mode) == 0o640


def test_writers_killed_at_random_moments_leave_old_or_new(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(BASE)
    new = ValuesDocument(BASE).add({"name": "n", "kind": "host_path",
                                    "schema": {"hostPath": "/mnt/n", "mountPath": "/n"}}).text
    loop = textwrap.dedent("""\
        import sys
        from pathlib import Path
        from stores.edit import write_atomic
        texts = [Path(sys.argv[2]).read_text(), Path(sys.argv[3]).read_text()]
        print("ready", flush=True)
        i = 0
        while True:
            write_atomic(sys.argv[1], texts[i % 2])
            i += 1
    """)
    (tmp_path / "old.txt").write_text(BASE)
    (tmp_path / "new.txt").write_text(new)
    rng = random.Random(20)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", loop, str(values), str(tmp_path / "old.txt"),
                                 str(tmp_path / "new.txt")], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert values.read_text() in (BASE, new)
        Catalog.from_file(values)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".values.yaml.")]
    for p in leftovers:  # a killed writer may leave its temporary file, never a broken values file
        assert p.read_text() in (BASE, new) or not p.read_text() or (BASE + new).startswith(p.read_text()[:0])


def test_write_atomic_follows_a_symlink_and_cleans_up_on_error(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("a: 1\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    write_atomic(link, "a: 2\n")
    assert link.is_symlink() and real.read_text() == "a: 2\n"

    def fail(temp: str) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_atomic(real, "a: 3\n", before_replace=fail)
    assert real.read_text() == "a: 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "real.yaml"]


def test_document_write_needs_a_path_when_not_read_from_a_file(tmp_path: Path) -> None:
    doc = ValuesDocument(BASE)
    with pytest.raises(ValuesError, match="give a path"):
        doc.write()
    doc.write(tmp_path / "out.yaml")
    assert (tmp_path / "out.yaml").read_text() == BASE
    assert os.path.exists(tmp_path / "out.yaml")
