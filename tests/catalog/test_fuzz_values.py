"""Fuzzing the values parser and the renderer (issue 8, item 1).

The property lives in ``tools/reliability/fuzzing.py`` (``check_document``): every document is
either refused with our ``ValuesError`` whose every problem names a path, a file and a line, or
accepted and rendered (default selection, a fixed run) into a patch that strict
kubernetes-validate accepts for 1.25 and 1.37 and that breaks none of the API server's own rules
(``tools/reliability/apiserver.py``), or refused by the renderer with our own error.

Here it runs on a bounded number of documents: hypothesis-drawn seeds for the mutation engine,
hypothesis-built trees, and hypothesis-built connections.  ``STORES_LONG=1`` raises the counts;
the 100k-document run is ``python -m tools.reliability.fuzzing`` (see its docstring).  Every bug
these found is kept as an input in ``tests/data/regressions/``.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8s import render_patch
from tools.reliability.fuzzing import (
    BUCKETS,
    HOSTILE_PATHS,
    NAMES,
    REGRESSIONS,
    TEMPLATES,
    UNICODE,
    PropertyViolation,
    check_document,
    generate,
    generate_plausible,
    render_alone,
    seeds,
)
from pydantic import ValidationError

from stores.errors import RenderError, ValuesError
from stores.models import EnvVarSource, parse_connection
from stores.policy import connection_problems
from stores.catalog import Catalog
from stores.contract.runinfo import RunInfo
from stores.values import catalog_from_yaml
from stores.yamlsrc import MAX_DEPTH, MAX_NODES
from support.paths import ROOT

LONG = os.environ.get("STORES_LONG") == "1"
FUZZ = settings(
    max_examples=3000 if LONG else 60,
    deadline=None,  # one document may validate against two schema versions: seconds, not ms
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    derandomize=not LONG,  # the normal suite is reproducible; the long mode explores
)
RUN = RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0", owner="acme", project="vision", name="train")


# ---- the regression inputs ----------------------------------------------------------------------------

_HEADER = re.compile(r"^# (outcome|expect-message): (.+)$", re.MULTILINE)


def _regressions() -> list[Path]:
    return sorted(p for p in REGRESSIONS.glob("*.yaml") if b"# outcome: " in p.read_bytes()[:2000])


def _header(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in _HEADER.findall(path.read_bytes()[:2000].decode("utf-8", "replace")):
        out.setdefault(key, []).append(value.strip())
    return out


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: p.stem)
def test_regression_input(path: Path) -> None:
    header = _header(path)
    doc = path.read_bytes()
    assert check_document(doc) == header["outcome"][0]
    for expected in header.get("expect-message", []):
        with pytest.raises(ValuesError) as info:
            catalog_from_yaml(doc, file=path.name)
        assert any(expected in p.message for p in info.value.problems), info.value


def test_there_are_regression_inputs() -> None:
    assert len(_regressions()) >= 8


# ---- the examples themselves, and the engine's inputs ----------------------------------------------------


def test_every_seed_document_keeps_the_property() -> None:
    outcomes = {name: check_document(text) for name, text, _ in seeds()}
    # the real examples are accepted and render; the bad corpus is refused
    for name in ("current-values.yaml", "seed-004-values.yaml", "legacy-defaults-values.yaml", "default-values.yaml"):
        assert outcomes[name] == "accepted", name
    assert sum(1 for o in outcomes.values() if o == "rejected") >= 60


def test_the_engine_reaches_every_outcome() -> None:
    """A fuzzer that only ever produces rejected documents tests nothing downstream."""
    outcomes: dict[str, int] = {}
    for i in range(150):
        outcome = check_document(generate(random.Random(f"reach-{i}")))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("accepted", 0) >= 10, outcomes
    assert outcomes.get("rejected", 0) >= 50, outcomes


# ---- hypothesis ---------------------------------------------------------------------------------------------


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_mutated_examples(seed: int) -> None:
    check_document(generate(random.Random(seed)))


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_plausible_documents(seed: int) -> None:
    rng = random.Random(seed)
    check_document(yaml.safe_dump(generate_plausible(rng), allow_unicode=True, sort_keys=False))


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
    st.sampled_from(HOSTILE_PATHS + NAMES + BUCKETS + TEMPLATES + UNICODE),
)
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(["name", "kind", "schema", "secret",
                                                                          "mountPath", "hostPath", "bucket"])),
                        children, max_size=4),
    ),
    max_leaves=25,
)


@FUZZ
@given(root=st.one_of(
    _trees,
    st.builds(lambda t: {"connections": t}, _trees),
    st.builds(lambda t: {"connections": [t]}, _trees),
    st.builds(lambda t: {"artifactsStore": t}, _trees),
    st.builds(lambda t: {"persistence": t}, _trees),
    st.builds(lambda t: {"persistence": {"data": t}}, _trees),
    st.builds(lambda t: {"persistence": {"data": {"d1": t}}}, _trees),
))
def test_arbitrary_trees(root: Any) -> None:
    check_document(yaml.safe_dump(root, allow_unicode=True))


_kinds = st.sampled_from(["host_path", "volume_claim", "s3", "gcs", "wasb"])
_paths = st.one_of(st.sampled_from(HOSTILE_PATHS), st.text(min_size=1, max_size=30).map(lambda t: "/" + t))
_connection = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(NAMES), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)),
        "kind": _kinds,
        "schema": st.fixed_dictionaries({}, optional={
            "hostPath": _paths, "mountPath": _paths, "volumeClaim": st.sampled_from(NAMES + ["pvc", "a.b"]),
            "subPath": st.one_of(st.text(max_size=20), st.sampled_from(["..", "a/../b", "/abs", "ok/sub"])),
            "bucket": st.sampled_from(BUCKETS), "readOnly": st.sampled_from([True, False, "true", None]),
        }),
    },
    optional={
        "secret": st.fixed_dictionaries({"name": st.sampled_from(NAMES + ["creds", "a.b"])}, optional={
            "mountPath": _paths,
            "items": st.lists(st.one_of(st.sampled_from(["key.json", "a", "..", "A_B"]),
                                        st.fixed_dictionaries({"key": st.sampled_from(["k", "key.json", "a b"])},
                                                              optional={"path": st.text(max_size=10),
                                                                        "mode": st.integers(-1, 1000)})),
                              max_size=3),
            "defaultMode": st.integers(-1, 1000),
        }),
        "env": st.lists(st.fixed_dictionaries({"name": st.text(max_size=12)}, optional={
            "value": st.text(max_size=20), "valueFrom": st.dictionaries(st.sampled_from(["secretKeyRef", "fieldRef", "x"]),
                                                                       st.one_of(st.none(), st.just({"name": "s", "key": "k"}),
                                                                                 st.just({"fieldPath": "metadata.name"})),
                                                                       max_size=2)}), max_size=3),
        "annotations": st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3),
        # a bucket's CSI mount (stores.mounts): any driver's keys on any kind
        "mount": st.fixed_dictionaries({}, optional={
            "mountPath": _paths, "readOnly": st.sampled_from([True, False, "true", None]),
            "driver": st.sampled_from(["s3.csi.aws.com", "gcsfuse.csi.storage.gke.io", "blob.csi.azure.com", "x"]),
            "mountOptions": st.lists(st.one_of(st.text(max_size=12), st.sampled_from(
                ["allow-other", "a,b", "prefix x/", "-o uid=1", "only-dir=..", "--subdirectory=/"])), max_size=3),
            "region": st.sampled_from(["us-east-1", "US", ""]), "uid": st.integers(-2, 2**31),
            "allowDelete": st.booleans(), "cache": st.sampled_from(["emptyDir", "ephemeral", "x"]),
            "implicitDirs": st.booleans(), "metadataCacheTTLSeconds": st.integers(-3, 100),
            "sidecarResources": st.dictionaries(st.sampled_from(["cpuLimit", "memoryLimit", "x"]),
                                                st.sampled_from(["1", "4Gi", "lots", ""]), max_size=2),
            "secretName": st.sampled_from(NAMES + ["azure-secret"]), "protocol": st.sampled_from(["fuse", "fuse2", "nfs"]),
        }),
    },
)


@FUZZ
@given(conns=st.lists(_connection, min_size=1, max_size=4), spelling=st.sampled_from(["connections", "artifacts"]))
def test_built_connections(conns: list[dict[str, Any]], spelling: str) -> None:
    doc: dict[str, Any] = {"connections": conns} if spelling == "connections" else {
        "artifactsStore": conns[0], "connections": conns[1:]}
    check_document(yaml.safe_dump(doc, allow_unicode=True))


# ---- validate is a complete gate: it accepts exactly what render accepts ------------------------------------
#
# check_document holds the document-level half (an accepted document renders, or fails only on a
# clash between connections selected together).  Here, connection by connection: the loader's
# checks (the models, then stores.policy) pass exactly when the renderer renders it on its own.

GATE_SEEN: dict[str, int] = {}


def _gate_agrees(doc: Any) -> None:
    try:
        conn = parse_connection(doc)
    except ValidationError:
        GATE_SEEN["model"] = GATE_SEEN.get("model", 0) + 1
        return
    problems = connection_problems(conn)
    refusal = render_alone(conn)
    assert (not problems) == (refusal is None), f"validate: {problems}; render: {refusal}; {doc!r:.500}"
    key = "refused" if problems else "rendered"
    GATE_SEEN[key] = GATE_SEEN.get(key, 0) + 1


@FUZZ
@given(conn=_connection)
def test_gate_agrees_on_built_connections(conn: dict[str, Any]) -> None:
    _gate_agrees(conn)


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_gate_agrees_on_plausible_connections(seed: int) -> None:
    doc = generate_plausible(random.Random(seed))
    for conn in [doc.get("artifactsStore"), *doc.get("connections", [])]:
        if conn is not None:
            _gate_agrees(conn)


def test_the_gate_property_sees_both_sides() -> None:
    """Not vacuous: plausible connections are refused by the policy and rendered, both."""
    GATE_SEEN.clear()
    for i in range(300):
        doc = generate_plausible(random.Random(f"gate-{i}"))
        for conn in [doc.get("artifactsStore"), *doc.get("connections", [])]:
            if conn is not None:
                _gate_agrees(conn)
    assert GATE_SEEN.get("refused", 0) >= 5 and GATE_SEEN.get("rendered", 0) >= 50, GATE_SEEN


_selectors = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["s", "a.b", "", "A"]), st.integers(), st.none()),
    "key": st.one_of(st.sampled_from(["k", "a/b", "", "0"]), st.integers(), st.none(), st.just({"a": 1})),
    "optional": st.one_of(st.booleans(), st.sampled_from(["true", 1]), st.none()),
    "fieldPath": st.one_of(st.sampled_from(["metadata.name", ""]), st.integers()),
    "apiVersion": st.sampled_from(["v1", 1]),
    "resource": st.sampled_from(["limits.cpu", "", 2]),
    "divisor": st.one_of(st.sampled_from(["1m", "1", ""]), st.integers(), st.floats(), st.just({"a": 1}), st.booleans()),
    "containerName": st.sampled_from(["main", 3]),
    "bogus": st.just(1),
})
_value_from = st.dictionaries(
    st.sampled_from(["secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef", "fileKeyRef", "x"]),
    st.one_of(st.none(), _selectors, st.integers(), st.text(max_size=3)), max_size=2)


@FUZZ
@given(value_from=_value_from)
def test_value_from_is_no_laxer_than_the_kubernetes_models(value_from: dict[str, Any]) -> None:
    """What the loader accepts as a valueFrom, the renderer's V1EnvVarSource takes as it is."""
    from kubernetes.client import V1EnvVarSource

    try:
        ours = EnvVarSource.model_validate(value_from)
    except ValidationError:
        return
    V1EnvVarSource.model_validate(ours.to_dict())


# ---- explicit hostile documents -----------------------------------------------------------------------------

_VALID = textwrap.dedent("""\
    connections:
      - name: data
        kind: host_path
        schema: {hostPath: /mnt/data, mountPath: /data}
""")


@pytest.mark.parametrize("doc, outcome", [
    pytest.param("- 1\n- 2\n", "rejected", id="root-list"),
    pytest.param("just text\n", "rejected", id="root-scalar"),
    pytest.param("", "rejected", id="empty"),
    pytest.param("# only a comment\n", "rejected", id="comments-only"),
    pytest.param(_VALID + "---\n" + _VALID, "rejected", id="two-documents"),
    pytest.param("connections: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", "rejected", id="deep-flow"),
    pytest.param(_VALID.replace("name: data", "name: data\n    name: data2"), "rejected", id="duplicate-key"),
    # longer than PATH_MAX (4096): no pod can mount it (hardening issue: it used to be accepted)
    pytest.param(_VALID.replace("/mnt/data", "/mnt/" + "d" * 1_000_000), "rejected", id="huge-host-path"),
    pytest.param(_VALID.replace("/mnt/data", "/mnt/" + "d" * (4096 - 5)), "accepted", id="host-path-of-path-max"),
    pytest.param(_VALID.replace("/mnt/data", "/mnt/" + "d" * (4096 - 4)), "rejected", id="host-path-over-path-max"),
    pytest.param(_VALID.replace("/mnt/data", ""), "rejected", id="empty-host-path"),
    pytest.param(_VALID.replace("/mnt/data", "/mnt/données/日本"), "accepted", id="unicode-host-path"),
    pytest.param(_VALID.replace("name: data", "name: dátá"), "rejected", id="unicode-name"),
    pytest.param("\ufeff" + _VALID, "accepted", id="byte-order-mark"),
    pytest.param(_VALID.encode("utf-16"), "rejected", id="utf-16"),
    pytest.param(b"\xff\xfe" + _VALID.encode(), "rejected", id="not-utf-8"),
    pytest.param("connections: !!python/object/apply:os.system ['true']\n", "rejected", id="python-tag"),
    pytest.param("connections: !!set {a, b}\n", "rejected", id="set-tag"),
    pytest.param("? [a, b]\n: 1\nconnections: []\n", "rejected", id="complex-key"),
    pytest.param("connections:\n  - &c {name: a, kind: s3, schema: {bucket: 's3://abc'}}\n  - *c\n", "rejected",
                 id="alias-duplicates-a-name"),
    pytest.param("x: &s {hostPath: /mnt/a, mountPath: /a}\nconnections:\n  - {name: a, kind: host_path, schema: *s}\n",
                 "accepted", id="alias-shares-a-schema"),
])
def test_hostile_document(doc: str | bytes, outcome: str) -> None:
    assert check_document(doc) == outcome


def test_an_alias_shares_and_renders_as_the_expanded_document() -> None:
    shared = "x: &s {hostPath: /mnt/a, mountPath: /a}\nconnections:\n  - {name: a, kind: host_path, schema: *s}\n"
    expanded = "x: 1\nconnections:\n  - {name: a, kind: host_path, schema: {hostPath: /mnt/a, mountPath: /a}}\n"
    assert render_patch(catalog_from_yaml(shared), None, RUN).to_dict() == \
        render_patch(catalog_from_yaml(expanded), None, RUN).to_dict()


def test_annotations_over_the_api_servers_limit() -> None:
    # regression: a 300 KB annotation value rendered; the API server refuses annotations > 256 KiB.
    # One connection alone over the limit is refused when loading; the renderer checks the pod.
    doc = {"connections": [{"name": "a", "kind": "s3", "schema": {"bucket": "s3://abc"},
                            "annotations": {"example.com/big": "y" * 300_000}}]}
    text = yaml.safe_dump(doc)
    assert check_document(text) == "rejected"
    with pytest.raises(ValuesError, match=r"connections\[0\]\.annotations: annotations take 300015 bytes"):
        catalog_from_yaml(text)
    with pytest.raises(RenderError, match=r"more than the API server's 262144.*'example.com/big'"):
        render_patch(Catalog(connections=(parse_connection(doc["connections"][0]),)), None, RUN)


def test_annotations_split_across_connections_count_together() -> None:
    conns = [{"name": f"c{i}", "kind": "s3", "schema": {"bucket": f"s3://bucket{i}"},
              "annotations": {f"example.com/k{i}": "y" * 100_000}} for i in range(3)]
    with pytest.raises(RenderError, match="pod annotations take"):
        render_patch(catalog_from_yaml(yaml.safe_dump({"connections": conns})), None, RUN)
    assert check_document(yaml.safe_dump({"connections": conns[:2]})) == "accepted"


def test_the_property_check_itself_fails_on_a_bad_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oracle is not vacuous: a renderer that writes an invalid manifest is caught."""
    import k8s.podpatch

    real = k8s.podpatch.PodPatch.to_dict

    def broken(self: Any) -> dict[str, Any]:
        out = real(self)
        out["spec"]["containers"][0]["volumeMounts"] = [{"name": "nope", "mountPath": 1}]
        return out

    monkeypatch.setattr(k8s.podpatch.PodPatch, "to_dict", broken)
    with pytest.raises(PropertyViolation, match="rejected by Kubernetes"):
        check_document(_VALID)


# ---- the alias bomb -----------------------------------------------------------------------------------------

_BOMB_PROBE = textwrap.dedent("""\
    import json, resource, sys, time
    from stores.errors import ValuesError
    from stores.values import catalog_from_yaml
    catalog_from_yaml("connections: []\\n")  # warm up: imports and first allocations
    doc = sys.stdin.read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    try:
        catalog_from_yaml(doc, file="bomb.yaml")
        outcome = "accepted"
    except ValuesError as exc:
        outcome = str(exc)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "seconds": elapsed, "cpu_seconds": cpu, "rss_growth_kb": after - before}))
""")


def _bomb(levels: int, width: int = 9, as_map: bool = False) -> str:
    if as_map:
        lines = ['l0: &l0 {' + ", ".join(f"k{i}: lol" for i in range(width)) + "}"]
        for d in range(1, levels):
            lines.append(f"l{d}: &l{d} {{" + ", ".join(f"k{i}: *l{d-1}" for i in range(width)) + "}")
    else:
        lines = ['l0: &l0 [' + ",".join(['"lol"'] * width) + "]"]
        for d in range(1, levels):
            lines.append(f"l{d}: &l{d} [" + ",".join([f"*l{d-1}"] * width) + "]")
    return "\n".join(lines) + f"\nconnections: *l{levels - 1}\n"


@pytest.mark.parametrize("doc, message", [
    pytest.param(_bomb(9), f"more than {MAX_NODES} nodes", id="billion-laughs-lists"),
    pytest.param(_bomb(9, as_map=True), f"more than {MAX_NODES} nodes", id="billion-laughs-maps"),
    pytest.param(_bomb(30, width=2), f"more than {MAX_NODES} nodes", id="binary-bomb-2^30"),
    pytest.param(_bomb(4, width=500), f"more than {MAX_NODES} nodes", id="wide-bomb"),
    # regression: refused only at the recursion limit, after seconds of scanning, without a line
    pytest.param("connections: " + "[" * 100_000, f"nesting deeper than {MAX_DEPTH} levels", id="deep-flow-nesting"),
])
def test_hostile_yaml_is_refused_fast_with_bounded_memory(doc: str, message: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _BOMB_PROBE], input=doc, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert message in result["outcome"]
    assert re.match(r"1 problem found:\n  bomb\.yaml:\d+: ", result["outcome"]), result["outcome"]
    # CPU time: the suite shares its machine with other jobs, so the wall clock only bounds a hang
    assert result["cpu_seconds"] < 1.0, result
    assert result["seconds"] < 10.0, result
    # ~200k small nodes are built before the budget stops a bomb; far from an expansion
    assert result["rss_growth_kb"] < 100 * 1024, result


@pytest.mark.parametrize("pod, problem", [
    ({"metadata": {"annotations": {"-bad": "v"}}}, "not a qualified name"),
    ({"metadata": {"annotations": {"a": "x" * 300_000}}}, "more than 262144"),
    ({"spec": {"volumes": [{"name": "Upper"}]}}, "not a DNS-1123 label"),
    ({"spec": {"containers": [{"name": "main", "env": [{"name": "X", "valueFrom": {}}]}]}}, "exactly one source"),
    ({"spec": {"containers": [{"name": "main", "env": [{"name": "1X", "value": "v"}]}]}}, "env name"),
    ({"spec": {"containers": [{"name": "main", "volumeMounts": [{"name": "v", "mountPath": "/a"}]}]}}, "unknown volume"),
    ({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "s", "items": [{"key": "k", "path": "../x"}]}}]}},
     "without '..'"),
    ({"spec": {"volumes": [{"name": "v", "configMap": {"name": "c", "defaultMode": 1000}}]}}, "out of range"),
])
def test_the_api_server_oracle_catches_what_the_schemas_miss(pod: dict[str, Any], problem: str) -> None:
    from tools.reliability.apiserver import pod_problems

    assert any(problem in p for p in pod_problems(pod)), pod_problems(pod)
    assert pod_problems({"metadata": {"annotations": {"example.com/ok": "v"}},
                         "spec": {"volumes": [{"name": "v", "emptyDir": {}}],
                                  "containers": [{"name": "main", "volumeMounts": [{"name": "v", "mountPath": "/a"}],
                                                  "env": [{"name": "X", "value": "1"}]}]}}) == []
