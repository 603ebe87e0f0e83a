"""Fuzzing the values parser and the renderer: document generators and the one property.

The property (``check_document``): a document is either

- **rejected** by ``catalog_from_yaml`` with our ``ValuesError``, every ``Problem`` naming a path
  (a tuple of keys and indexes), a message, the file and a line; or
- **accepted**, then rendered with the default selection and a fixed ``RunInfo`` into a patch
  that strict ``kubernetes-validate`` accepts (wrapped in a Pod) for every version of
  ``VERSIONS``, and that the API server's own checks the schemas lack (``apiserver``) accept; or
- accepted and then **refused by the renderer** with one of our own errors whose message says
  something, and only for a clash between connections the default selection takes together
  (two mounts on one path, two GCS keys for one SDK variable, annotations over the pod's limit)
  or for a run-dependent template (``RUN_DEPENDENT``): every connection of an accepted document
  renders on its own (``render_alone``), since ``stores validate`` runs every check the renderer
  makes of one connection (``stores.policy``).

Anything else (another exception, a document taking longer than ``TIME_LIMIT``, a manifest
Kubernetes would refuse) is a failure.

Documents come from ``generate(rng)``: the real example files (and the bad-document corpus)
mutated structurally (dropped keys, wrong types, unicode, huge and empty strings, deep nesting,
shared nodes dumped as anchors/aliases, non-mapping roots, hostile paths and names) and textually
(duplicated or dropped lines, merge keys, truncation, stray bytes, other encodings).

Long mode (by hand; figures go in the report)::

    .venv/bin/python -m tools.reliability.fuzzing --count 100000 --procs 2 --seed 1
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml

from .apiserver import pod_problems

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
REGRESSIONS = ROOT / "tests" / "data" / "regressions"
BAD_DIR = ROOT / "tests" / "data" / "bad"
VERSIONS: tuple[str, ...] = ("1.25", "1.37")
#: a document that takes longer than this (parse + render + validation) counts as a hang
TIME_LIMIT = 10.0
FILE = "fuzz.yaml"


def _run_info() -> Any:
    from stores.contract.runinfo import RunInfo

    return RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0", owner="acme", project="vision", name="train",
                   namespace="ml", created_at="2024-01-01T00:00:00Z")


class PropertyViolation(AssertionError):
    """A document broke the property; ``document`` is what to keep as a regression input."""

    def __init__(self, message: str, document: str | bytes):
        super().__init__(message)
        self.document = document


def _check_problems(exc: Any, doc: str | bytes) -> None:
    from stores.errors import format_path

    if not exc.problems:
        raise PropertyViolation("ValuesError without any problem", doc)
    for p in exc.problems:
        if not isinstance(p.path, tuple) or not all(isinstance(part, (str, int, float, bool)) or part is None
                                                   for part in p.path):
            raise PropertyViolation(f"problem path is not a tuple of keys: {p!r}", doc)
        if not format_path(p.path):
            raise PropertyViolation(f"problem names no path: {p!r}", doc)
        if not isinstance(p.message, str) or not p.message.strip():
            raise PropertyViolation(f"problem without a message: {p!r}", doc)
        if p.file != FILE:
            raise PropertyViolation(f"problem does not name the file: {p!r}", doc)
        # only whole-file refusals (too big, not UTF-8) come before any line is known
        if p.line is None and not (p.path == () and ("bytes" in p.message or "UTF-8" in p.message)):
            raise PropertyViolation(f"problem without a line: {p!r}", doc)
        if "Traceback" in p.message or "pydantic" in p.message.lower():
            raise PropertyViolation(f"problem message leaks internals: {p!r}", doc)


#: TemplateErrors that depend on the run (its plugins, its name), which validate cannot know
RUN_DEPENDENT = ("is not available for this run", "has no value for this run")


def render_alone(conn: Any, allowed: tuple[str, ...] = ()) -> str | None:
    """Why the renderer refuses ``conn`` selected on its own (default settings, the fixed run),
    or ``None``; refusals that depend on the run are not counted."""
    from k8s import render_patch
    from stores.catalog import Catalog
    from stores.errors import RenderError, TemplateError
    from stores.selection import Selection

    from stores.policy import template_problem

    for attempt in range(2):
        catalog = Catalog(connections=(conn,), allowed_host_paths=allowed)
        selection = (Selection((conn,), None, catalog) if conn.is_storage
                     else Selection((), None, catalog, others=(conn,)))
        try:
            render_patch(catalog, selection, _run_info()).to_dict()
        except TemplateError as exc:
            if attempt or not any(m in str(exc) for m in RUN_DEPENDENT):
                return f"TemplateError: {exc}"
            # a run-dependent reference stops the render before the other checks: once more
            # without the env values validate finds nothing wrong with
            env = tuple(v for v in conn.env if not (isinstance(v.value, str) and "{{" in v.value
                                                     and template_problem(v.value) is None))
            conn = conn.model_copy(update={"env": env})
            continue
        except RenderError as exc:
            return f"RenderError: {exc}"
        return None
    return None


def check_document(doc: str | bytes, versions: tuple[str, ...] = VERSIONS) -> str:
    """Apply the property to one document; returns its outcome (``rejected``, ``accepted`` or
    ``render:<ErrorType>``) or raises ``PropertyViolation``."""
    from k8s import render_patch
    from k8s.validate import validate_manifest, wrap_patch
    from stores.errors import RenderError, StoresError, TemplateError, ValuesError
    from stores.values import catalog_from_yaml

    start = time.monotonic()
    try:
        try:
            catalog = catalog_from_yaml(doc, file=FILE)
        except ValuesError as exc:
            _check_problems(exc, doc)
            return "rejected"
        try:
            patch = render_patch(catalog, None, _run_info())
            manifest = patch.to_dict()
        except (RenderError, TemplateError) as exc:
            if not str(exc).strip():
                raise PropertyViolation(f"{type(exc).__name__} without a message", doc) from exc
            # `stores validate` is the gate: what it accepts, the renderer takes connection by
            # connection; only clashes between connections a run selects together remain
            for conn in catalog:
                refusal = render_alone(conn, catalog.allowed_host_paths)
                if refusal is not None:
                    raise PropertyViolation(f"validate accepted connection {conn.name!r}, which render refuses "
                                            f"on its own: {refusal}", doc) from exc
            return f"render:{type(exc).__name__}"
        except StoresError as exc:
            raise PropertyViolation(f"accepted document fails to render: {type(exc).__name__}: {exc}", doc) from exc
        pod = wrap_patch(manifest, "Pod")
        for version in versions:
            try:
                validate_manifest(pod, version)
                for obj in patch.object_dicts():  # a CSI driver's PersistentVolume and claim
                    validate_manifest(obj, version)
            except RenderError as exc:
                raise PropertyViolation(f"rendered patch rejected by Kubernetes {version}: {exc}", doc) from exc
        problems = pod_problems(pod)
        if problems:
            raise PropertyViolation(f"rendered patch would be refused by an API server: {problems[:3]}", doc)
        return "accepted"
    except PropertyViolation:
        raise
    except RecursionError as exc:
        raise PropertyViolation("RecursionError", doc) from exc
    except Exception as exc:
        raise PropertyViolation(f"unexpected {type(exc).__name__}: {exc}"[:2000], doc) from exc
    finally:
        elapsed = time.monotonic() - start
        if elapsed > TIME_LIMIT:
            raise PropertyViolation(f"document took {elapsed:.1f}s (limit {TIME_LIMIT}s)", doc)


# ---- seeds --------------------------------------------------------------------------------------


def seed_texts() -> list[tuple[str, str]]:
    """The real example files, then the bad-document corpus (whose expectations the mutations
    break anyway)."""
    paths = sorted(EXAMPLES.glob("*-values.yaml")) + [ROOT / "stores" / "examples" / "default-values.yaml"]
    paths += sorted(p for p in BAD_DIR.glob("*.yaml") if p.name != "billion-laughs.yaml")
    return [(p.name, p.read_text()) for p in paths if p.exists()]


_SEEDS: list[tuple[str, str, Any]] | None = None


#: seeds nested deeper than this (the deep-nesting corpus documents) are mutated as text only
_MAX_TREE_DEPTH = 200


def _depth(value: Any) -> int:
    """Nesting depth of a parsed tree, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > _MAX_TREE_DEPTH:
            return deepest
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def seeds() -> list[tuple[str, str, Any]]:
    """``(name, text, data)``; ``data`` is ``None`` for seeds that do not parse."""
    global _SEEDS
    if _SEEDS is None:
        out = []
        for name, text in seed_texts():
            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, RecursionError):
                data = None
            if data is not None and _depth(data) > _MAX_TREE_DEPTH:
                data = None  # mutated as text only: copying the tree would exhaust the stack
            out.append((name, text, data))
        _SEEDS = out
    return _SEEDS


# ---- values worth trying ---------------------------------------------------------------------------

HOSTILE_PATHS = [
    "", "/", "relative", "./x", "../x", "/a/../b", "/..", "/plx-context", "/plx-context/x", "/plx-context/..",
    "//plx-context", "/plx-context/", "/proc", "/proc/1", "/sys", "/sys/fs", "/etc", "/etc/passwd",
    "/var/run/docker.sock", "/run/docker.sock", "/var/run", "/var", "//etc", "/./etc", "/etc/", "/data//x/",
    "/data/./x", "/a\x00b", "/ünïcødé", "/with space", "/\u202eevil", "/" + "x" * 300, "/a:b", "/a\nb",
    "/~", "/dev", "/dev/sda", "/tmp", "/data/1", "/outputs/1",
]
NAMES = ["", "a", "A", "-a", "a-", "a_b", "a.b", "x" * 63, "x" * 64, "default-data", "data1", "outputs1",
         "ñ", "0", "a--b", "plx-context", "store-x", "secret-x"]
BUCKETS = ["s3://b", "s3://bucket", "s3://bucket/", "s3://bucket/p/q", "s3://bucket/../x", "s3://bucket//x",
           "s3://Bucket", "s3://bu", "gs://bucket", "gs://a.b_c", "gs://bucket/./x", "wasbs://c@acct.blob.core.windows.net/",
           "wasbs://c0n@acct.blob.core.windows.net/p", "wasb://$root@acct.blob.core.windows.net",
           "wasbs://a--b@acct.blob.core.windows.net/", "wasbs://cont@ACCT.blob.core.windows.net/", "s3:/bucket",
           "http://bucket", "s3://" + "a" * 64, "gs://" + "a" * 222, "s3://bucket/ü", "s3://bucket/a b"]
TEMPLATES = ["{{ globals.uuid }}", "{{ globals.run_outputs_path }}", "{{globals.nope}}", "{{ globals.store_path }}",
             "{{", "}}", "{{ x }}", "{{ globals.uuid"]
UNICODE = ["ñ", "日本語", "💥", "\u202e", "\u200b", "e\u0301", "\ufeff", "\x7f", "\t", "\r\n", "\U0010ffff", "\\x00",
           "null", "~", "yes", "no", "on", "0o777", "0x1F", "1e3", ".inf", "-.nan", "2001-12-14"]
KEYS = ["name", "kind", "schema", "secret", "configMap", "env", "annotations", "description", "tags", "hostPath",
        "mountPath", "readOnly", "volumeClaim", "subPath", "bucket", "items", "defaultMode", "key", "path", "mode",
        "value", "valueFrom", "existingClaim", "store", "secretKey", "type", "persistence", "artifactsStore",
        "connections", "data", "outputs", "logs", "repos", "upload", "mountpath", "Name", "<<", "", "kind ",
        "host_path", 1, True, None, 1.5,
        # a bucket's CSI mount (stores.mounts)
        "mount", "mountOptions", "driver", "secretName", "region", "uid", "gid", "allowDelete", "cache",
        "protocol", "implicitDirs", "sidecarResources", "cpuLimit", "metadataCacheTTLSeconds"]
KINDS = ["host_path", "volume_claim", "s3", "gcs", "wasb", "azure", "S3", "hostPath", "", None, 1]
CSI_DRIVERS = ["s3.csi.aws.com", "gcsfuse.csi.storage.gke.io", "blob.csi.azure.com"]
STORES = ["s3", "gcs", "azure", "wasb", "S3", "", None]


def _deep(rng: random.Random, depth: int) -> Any:
    node: Any = rng.choice(["leaf", 1, None])
    for _ in range(depth):
        node = [node] if rng.random() < 0.5 else {"k": node}
    return node


def _scalar(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.15:
        return rng.choice(HOSTILE_PATHS)
    if r < 0.25:
        return rng.choice(NAMES)
    if r < 0.33:
        return rng.choice(BUCKETS)
    if r < 0.38:
        return rng.choice(TEMPLATES)
    if r < 0.50:
        return rng.choice(UNICODE) * rng.choice([1, 1, 3])
    if r < 0.55:
        return rng.choice(["x" * 100_000, "/" + "a" * 70_000, "é" * 20_000])  # huge strings
    if r < 0.62:
        return rng.choice(["", " ", "\n"])
    if r < 0.75:
        return rng.choice([None, True, False, 0, -1, 1, 0o400, 0o777, 512, 2**31, 2**70, 1.5, float("inf"),
                           float("nan")])
    if r < 0.85:
        return rng.choice(KINDS + STORES)
    return rng.choice([[], {}, [1, 2], {"a": 1}, ["a", {"b": None}]])


def _value_for(rng: random.Random, key: Any) -> Any:
    """A plausible-but-wrong value for ``key``: the mutations that get past the first checks."""
    if key in ("mountPath", "hostPath", "subPath", "path"):
        return rng.choice(HOSTILE_PATHS)
    if key in ("name", "volumeClaim", "existingClaim", "secret", "secretKey", "key"):
        return rng.choice(NAMES)
    if key == "bucket":
        return rng.choice(BUCKETS)
    if key == "kind":
        return rng.choice(KINDS)
    if key == "store":
        return rng.choice(STORES)
    if key in ("value", "description"):
        return rng.choice(TEMPLATES + UNICODE)
    if key in ("defaultMode", "mode"):
        return rng.choice([0, 0o400, 0o777, 0o1000, -1, "0400", 1.0, True, None])
    if key == "readOnly":
        return rng.choice([True, False, "true", "yes", 1, None])
    if key == "mountOptions":
        return rng.choice([[], ["allow-other"], ["a,b"], ["prefix x/"], ["-o uid=1"], ["x\ny"], "notalist", [1]])
    if key == "driver":
        return rng.choice(CSI_DRIVERS + ["", "csi", None])
    if key in ("uid", "gid", "metadataCacheTTLSeconds"):
        return rng.choice([0, 1000, -1, -2, 2**31, "1000", 1.5, None])
    return _scalar(rng)


# ---- tree walking ----------------------------------------------------------------------------------


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) slot in a tree, containers first."""
    if isinstance(node, dict):
        for k in list(node):
            out.append((node, k))
            _slots(node[k], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, (dict, list)):
        out.append(node)
        for child in (node.values() if isinstance(node, dict) else node):
            _containers(child, out)
    return out


def _mutate_tree(rng: random.Random, root: Any) -> Any:
    """One structural mutation; returns the new root (the root itself may be replaced)."""
    slots = _slots(root, [])
    op = rng.randrange(12)
    if op == 0 or not slots:  # non-mapping roots, and roots wrapped or replaced
        return rng.choice([[root], root if not isinstance(root, dict) else list(root.values()), _scalar(rng), None, []])
    parent, key = rng.choice(slots)
    if op == 1 and isinstance(parent, dict):  # drop a key
        del parent[key]
    elif op == 2:  # a wrong type anywhere
        parent[key] = _scalar(rng)
    elif op == 3:  # a field-aware wrong value
        field = key if isinstance(parent, dict) else None
        if field is None or rng.random() < 0.3:
            dicts = [c for c in _containers(root, []) if isinstance(c, dict)]
            if dicts:
                target = rng.choice(dicts)
                field = rng.choice(KEYS[:25])
                target[field] = _value_for(rng, field)
                return root
        parent[key] = _value_for(rng, field)
    elif op == 4:  # deep nesting
        parent[key] = _deep(rng, rng.choice([5, 30, 63, 64, 65, 80, 300]))
    elif op == 5:  # a shared node: safe_dump writes it as an anchor and aliases
        others = [s for s in slots if s[0] is not parent or s[1] != key]
        if others:
            p2, k2 = rng.choice(others)
            # an ancestor of the slot would make a cycle, which YAML can write but not we read
            if not any(c is parent for c in _containers(p2[k2], [])):
                parent[key] = p2[k2]
    elif op == 6 and isinstance(parent, dict):  # rename a key (misspelling, case, unknown)
        value = parent.pop(key)
        new = rng.choice(KEYS) if rng.random() < 0.6 else (str(key)[:-1] if str(key) else "x")
        parent[new] = value
    elif op == 7 and isinstance(parent, list):  # duplicate an entry (names collide)
        parent.append(copy.deepcopy(parent[key]))
    elif op == 8 and isinstance(parent[key], str):  # edit a string
        s = parent[key]
        edits: list[Callable[[str], str]] = [
            lambda t: t + "/..", lambda t: "/" + t, lambda t: t.upper(), lambda t: t[1:], lambda t: t + rng.choice(UNICODE),
            lambda t: t.replace("/", "//"), lambda t: t + "/", lambda t: t * 50, lambda t: "",
            lambda t: t.replace("-", "_"), lambda t: " " + t, lambda t: t + "\x00",
        ]
        parent[key] = rng.choice(edits)(s)
    elif op == 9:  # swap two values
        p2, k2 = rng.choice(slots)
        try:
            parent[key], p2[k2] = copy.deepcopy(p2[k2]), copy.deepcopy(parent[key])
        except (KeyError, IndexError):
            pass
    elif op == 10:  # add an unknown or known key
        dicts = [c for c in _containers(root, []) if isinstance(c, dict)]
        if dicts:
            target = rng.choice(dicts)
            field = rng.choice(KEYS)
            target[field] = _value_for(rng, field)
    else:  # move a connection between the spellings
        if isinstance(root, dict) and isinstance(root.get("connections"), list) and root["connections"]:
            root["artifactsStore"] = copy.deepcopy(rng.choice(root["connections"]))
        elif isinstance(root, dict):
            if not isinstance(root.get("connections"), list):
                root["connections"] = []
            root["connections"].append(
                {"name": rng.choice(NAMES), "kind": rng.choice(KINDS),
                 "schema": {f: _value_for(rng, f) for f in rng.sample(["hostPath", "mountPath", "bucket",
                                                                       "volumeClaim", "subPath", "readOnly"], 2)}})
    return root


def _dump(rng: random.Random, data: Any) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=rng.random() < 0.5,
                              default_flow_style=rng.choice([False, None, True]), width=rng.choice([80, 10**6]))
    except (yaml.YAMLError, RecursionError, ValueError):
        return "{}"


# ---- text mutations ------------------------------------------------------------------------------------

_MERGE_BASE = 'x-shared: &shared {kind: s3, schema: {bucket: "s3://shared-bucket"}, readOnly: true}\n'


def _mutate_text(rng: random.Random, text: str) -> str | bytes:
    lines = text.splitlines(keepends=True)
    op = rng.randrange(12)
    if op == 0 and lines:  # duplicate a line: duplicate keys, mostly
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 1 and lines:
        del lines[rng.randrange(len(lines))]
    elif op == 2:  # merge keys into connections and legacy entries
        out = [_MERGE_BASE]
        for line in lines:
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if stripped.startswith("- name:") and rng.random() < 0.7:
                out.append(" " * indent + "- <<: *shared\n" + " " * (indent + 2) + stripped[2:])
            elif stripped.rstrip().endswith(":") and indent >= 4 and rng.random() < 0.2:
                out.append(line + " " * (indent + 2) + "<<: *shared\n")
            else:
                out.append(line)
        lines = out
    elif op == 3:  # truncate anywhere
        return text[: rng.randrange(len(text) + 1)]
    elif op == 4 and text:  # a stray character
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(["\t", ":", "-", "&", "*", "!", "|", ">", "{", "[", "'", '"', "#", "%", "@", "`",
                                      "\x00", "\x85", "\ufeff", "\u2028", "\r", "?", "<<"]) + text[i:]
    elif op == 5:  # other encodings and raw bytes
        enc = rng.choice(["utf-8-sig", "utf-16", "latin-1", "raw"])
        if enc == "raw":
            b = bytearray(text.encode())
            for _ in range(rng.randint(1, 4)):
                if b:
                    b[rng.randrange(len(b))] = rng.randrange(256)
            return bytes(b)
        return text.encode(enc, errors="replace")
    elif op == 6:  # anchors on one entry, aliases in another
        out = []
        anchored = False
        for line in lines:
            if not anchored and line.rstrip().endswith(":") and rng.random() < 0.3:
                out.append(line.rstrip("\n") + " &a\n")
                anchored = True
            elif anchored and line.rstrip().endswith(":") and rng.random() < 0.3:
                out.append(line.rstrip("\n") + " *a\n")
            else:
                out.append(line)
        lines = out
    elif op == 7:  # tags
        return text.replace(": ", rng.choice([": !!str ", ": !!binary ", ": !!python/object:os.system ", ": !custom ",
                                              ": !!int ", ": !!set ", ": !!omap "]), rng.randint(1, 3))
    elif op == 8:  # several documents
        return text + "\n---\n" + text
    elif op == 9 and rng.random() < 0.3:  # an alias bomb in a dark corner (few: each costs ~0.2 s)
        depth = rng.randint(3, 7)
        bomb = 'lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        for d in range(1, depth):
            bomb += f"lol{d}: &l{d} [" + ",".join([f"*l{d-1}"] * 9) + "]\n"
        return bomb + text
    elif op == 10:  # indentation damage
        if lines:
            i = rng.randrange(len(lines))
            lines[i] = rng.choice([" ", "  ", "\t", ""]) + lines[i]
    else:  # a huge scalar
        return text + rng.choice(["\nhuge: ", "\n# "]) + "y" * rng.choice([1000, 200_000]) + "\n"
    return "".join(lines)


# ---- plausible documents: mostly valid, so that the renderer gets exercised ------------------------


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _label(rng: random.Random, max_len: int = 20) -> str:
    n = rng.choice([1, 2, 5, 10, max_len, 63]) if rng.random() < 0.3 else rng.randint(1, max_len)
    body = "".join(rng.choice(_ALNUM + "-") for _ in range(n))
    return (rng.choice(_ALNUM) + body[1:-1] + rng.choice(_ALNUM))[:n] if n > 1 else rng.choice(_ALNUM)


def _subdomain(rng: random.Random) -> str:
    return ".".join(_label(rng, 12) for _ in range(rng.choice([1, 1, 2, 3])))


_SEGMENT = ["data", "x", "a.b", "_u", "-", "données", "日本", "with space", "...", "a:b", "@", "plx-context", "1"]


def _abs_path(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(HOSTILE_PATHS)
    return "/" + "/".join(rng.choice(_SEGMENT) for _ in range(rng.randint(1, 4))) + rng.choice(["", "", "/", "//"])


def _rel_path(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(["", "..", "../x", "/abs", "a/../b", "a//b", "./a", "a/", ".", "..."])
    return "/".join(rng.choice(_SEGMENT) for _ in range(rng.randint(1, 3)))


def _env_name(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(["", "1A", "A=B", "A B", "ñ", "-x", ".x", "_", "POLYAXON_RUN_OUTPUTS_PATH", "AWS_REGION",
                           "GOOGLE_APPLICATION_CREDENTIALS"])
    return rng.choice("ABCXYZ_") + "".join(rng.choice("ABCXYZ_019.-") for _ in range(rng.randint(0, 12)))


def _bucket(rng: random.Random, kind: str) -> str:
    if rng.random() < 0.1:
        return rng.choice(BUCKETS)
    prefix = rng.choice(["", "", "/", "/p", "/p/q/", "/ü/x"])
    if kind == "s3":
        return f"s3://{_label(rng, 30)}x{prefix}"
    if kind == "gcs":
        return f"gs://{_label(rng, 30)}x{prefix}"
    return f"wasbs://c{_label(rng, 20)}x@{''.join(rng.choice(_ALNUM) for _ in range(rng.randint(3, 24)))}.blob.core.windows.net/{prefix.lstrip('/')}"


def _items(rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        key = rng.choice(["key.json", "AWS_SECRET_ACCESS_KEY", "a.b", "-x", "x_y", "1", "..", ".", "a/b", "k" * 254])
        if rng.random() < 0.4:
            out.append(key)
        else:
            item: dict[str, Any] = {"key": key}
            if rng.random() < 0.7:
                item["path"] = _rel_path(rng)
            if rng.random() < 0.3:
                item["mode"] = rng.choice([0o400, 0o644, 0o777, 0, 0o1000, -1, "0400"])
            out.append(item)
    return out


def _resource(rng: random.Random, name: str) -> dict[str, Any]:
    res: dict[str, Any] = {"name": _subdomain(rng) if rng.random() < 0.9 else rng.choice(NAMES)}
    if rng.random() < 0.6:
        res["items"] = _items(rng)
    if rng.random() < 0.6:
        res["mountPath"] = rng.choice([f"/plx-secrets/{name}", _abs_path(rng)])
    if rng.random() < 0.3:
        res["defaultMode"] = rng.choice([0o400, 0o644, 0o777, 0o1000, 256, "0400"])
    return res


def _env(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(rng.choice([0, 1, 2, 3])):
        var: dict[str, Any] = {"name": _env_name(rng)}
        r = rng.random()
        if r < 0.5:
            var["value"] = rng.choice(TEMPLATES + UNICODE + ["plain", "", "x" * 5000])
        elif r < 0.9:
            var["valueFrom"] = rng.choice([
                {"secretKeyRef": {"name": _subdomain(rng), "key": rng.choice(["k", "a.b", "a/b"])}},
                {"configMapKeyRef": {"name": _subdomain(rng), "key": "k", "optional": True}},
                {"fieldRef": {"fieldPath": "metadata.name"}},
                {"resourceFieldRef": {"resource": "limits.cpu"}},
                {}, {"secretKeyRef": {}}, {"secretKeyRef": {"name": "s"}}, {"nope": 1},
                {"secretKeyRef": {"name": "s", "key": "k"}, "fieldRef": {"fieldPath": "metadata.name"}},
                {"fieldRef": {"fieldPath": 1}}, {"secretKeyRef": None},
            ])
        else:
            var["value"] = "v"
            var["valueFrom"] = {"fieldRef": {"fieldPath": "metadata.name"}}
        out.append(var)
    return out


def _annotations(rng: random.Random) -> dict[str, Any]:
    keys = ["iam.amazonaws.com/role", "example.com/x", "simple", "a/b/c", "ñ", "with space", "-lead", "trail-",
            "x" * 64, "p" * 254 + "/n", "UPPER.case/Name_1", "/x", "x/", "", "a.b_c-d"]
    return {rng.choice(keys): rng.choice(["v", "", "ü", "{{ globals.uuid }}", 1, None, "x" * 300_000 if rng.random() < 0.02 else "y"])
            for _ in range(rng.choice([1, 1, 2]))}


def _current_connection(rng: random.Random, names: list[str]) -> dict[str, Any]:
    kind = rng.choice(["host_path", "volume_claim", "s3", "gcs", "wasb"])
    name = rng.choice(names) if names and rng.random() < 0.05 else _label(rng)
    names.append(name)
    conn: dict[str, Any] = {"name": name, "kind": kind}
    if kind == "host_path":
        schema: dict[str, Any] = {"hostPath": _abs_path(rng), "mountPath": _abs_path(rng)}
        if rng.random() < 0.3:
            schema["type"] = rng.choice(["", "Directory", "DirectoryOrCreate", "Socket", "File", "bogus"])
    elif kind == "volume_claim":
        schema = {"volumeClaim": _subdomain(rng), "mountPath": _abs_path(rng)}
        if rng.random() < 0.4:
            schema["subPath"] = _rel_path(rng)
    else:
        schema = {"bucket": _bucket(rng, kind)}
    if kind in ("host_path", "volume_claim") and rng.random() < 0.4:
        schema["readOnly"] = rng.choice([True, False, True, "true"])
    conn["schema"] = schema
    if kind in ("s3", "gcs", "wasb") and rng.random() < 0.35:
        conn["mount"] = _csi_mount(rng, kind)
    if rng.random() < 0.5:
        conn["secret"] = _resource(rng, name)
    if rng.random() < 0.2:
        conn["configMap"] = _resource(rng, name)
    if rng.random() < 0.4:
        conn["env"] = _env(rng)
    if rng.random() < 0.3:
        conn["annotations"] = _annotations(rng)
    if rng.random() < 0.2:
        conn["description"] = rng.choice(UNICODE + ["plain words", "x" * 10_000])
    if rng.random() < 0.2:
        conn["tags"] = rng.choice([["a", "b"], [], ["ü"], "notalist"])
    return conn


def _csi_mount(rng: random.Random, kind: str) -> dict[str, Any]:
    """A bucket's ``mount:`` (stores.mounts): mostly right for its driver, now and then not."""
    mount: dict[str, Any] = {"mountPath": rng.choice([_abs_path(rng), _abs_path(rng), rng.choice(HOSTILE_PATHS)])}
    if rng.random() < 0.4:
        mount["readOnly"] = rng.choice([True, False, True, "true"])
    if rng.random() < 0.1:
        mount["driver"] = rng.choice(CSI_DRIVERS)
    if rng.random() < 0.3:
        mount["uid"] = rng.choice([0, 1000, -1])
    if rng.random() < 0.3:
        mount["mountOptions"] = rng.choice([["allow-other"], ["metadata-ttl 60"], ["a,b"], ["prefix x/"],
                                            ["-o allow_other"], ["x\ny"], [" pad"]])
    if kind == "s3":
        if rng.random() < 0.3:
            mount["region"] = rng.choice(["us-east-1", "eu-west-3", "US"])
        if rng.random() < 0.3:
            mount["allowDelete"] = rng.choice([True, False])
        if rng.random() < 0.2:
            mount["cache"] = rng.choice(["emptyDir", "ephemeral", "disk"])
            if rng.random() < 0.5:
                mount["cacheEmptyDirSizeLimit"] = rng.choice(["1Gi", "lots"])
    elif kind == "gcs":
        if rng.random() < 0.3:
            mount["implicitDirs"] = True
        if rng.random() < 0.3:
            mount["metadataCacheTTLSeconds"] = rng.choice([-1, 60, -5])
        if rng.random() < 0.3:
            mount["sidecarResources"] = {rng.choice(["cpuLimit", "memoryRequest", "gpuLimit"]): rng.choice(["1", "4Gi", "x"])}
    elif rng.random() < 0.9:
        mount["secretName"] = rng.choice([_subdomain(rng), "Bad_Name"])
        if rng.random() < 0.3:
            mount["protocol"] = rng.choice(["fuse", "fuse2", "nfs"])
    return mount


def _legacy_entry(rng: random.Random) -> dict[str, Any]:
    shape = rng.choice(["hostPath", "existingClaim", "store"])
    if shape == "hostPath":
        entry: dict[str, Any] = {"hostPath": _abs_path(rng), "mountPath": _abs_path(rng)}
    elif shape == "existingClaim":
        entry = {"existingClaim": _subdomain(rng), "mountPath": _abs_path(rng)}
    else:
        store = rng.choice(["s3", "gcs", "azure"])
        entry = {"store": store, "bucket": _bucket(rng, {"azure": "wasb"}.get(store, store))}
        if rng.random() < 0.7:
            entry["secret"] = _subdomain(rng)
            entry["secretKey"] = rng.choice(["key.json", "secret-key", "a.b", "AWS"])
        return entry
    if rng.random() < 0.4:
        entry["readOnly"] = rng.choice([True, False])
    return entry


def generate_plausible(rng: random.Random) -> Any:
    """A document built from mostly valid parts: the renderer's input space."""
    names: list[str] = []
    doc: dict[str, Any] = {}
    if rng.random() < 0.4:
        persistence: dict[str, Any] = {}
        for role in ("data", "outputs"):
            if rng.random() < 0.85:
                persistence[role] = {_label(rng): _legacy_entry(rng) for _ in range(rng.randint(0, 4))}
        for role in ("logs", "repos", "upload"):
            if rng.random() < 0.15:
                persistence[role] = _legacy_entry(rng)
        doc["persistence"] = persistence
    if not doc or rng.random() < 0.5:
        if rng.random() < 0.6:
            doc["artifactsStore"] = _current_connection(rng, names)
        doc["connections"] = [_current_connection(rng, names) for _ in range(rng.randint(0, 5))]
    return doc


# ---- documents -----------------------------------------------------------------------------------------


def generate(rng: random.Random) -> str | bytes:
    """One fuzzed document."""
    if rng.random() < 0.4:
        return _dump(rng, generate_plausible(rng))
    name, text, data = rng.choice(seeds())
    r = rng.random()
    if data is not None and r < 0.7:
        tree = copy.deepcopy(data)
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
            tree = _mutate_tree(rng, tree)
        doc: str | bytes = _dump(rng, tree)
        if rng.random() < 0.15:
            doc = _mutate_text(rng, doc)
        return doc
    if r < 0.95:
        return _mutate_text(rng, text)
    return _dump(rng, data)  # unmodified seeds keep the accepted path exercised


# ---- long mode -----------------------------------------------------------------------------------------


def _worker(args: tuple[int, int, int, str]) -> dict[str, Any]:
    seed, start, count, failures_dir = args
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest = 0.0
    for i in range(start, start + count):
        rng = random.Random(f"{seed}-{i}")
        try:
            doc = generate(rng)
        except RecursionError:
            # the mutator nested a tree into itself past the stack (a swap of a value with one
            # of its ancestors, repeated): the generator's limit, not the toolkit's; drawn again
            outcomes["regenerated"] += 1
            doc = generate(random.Random(f"{seed}-{i}-again"))
        t = time.monotonic()
        try:
            outcomes[check_document(doc)] += 1
        except PropertyViolation as exc:
            outcomes["FAILED"] += 1
            path = Path(failures_dir) / f"failure-{seed}-{i}.yaml"
            path.write_bytes(doc if isinstance(doc, bytes) else doc.encode("utf-8", "surrogatepass"))
            if len(failures) < 50:
                failures.append(f"{path}: {str(exc)[:300]}")
        slowest = max(slowest, time.monotonic() - t)
    return {"outcomes": dict(outcomes), "failures": failures, "slowest": slowest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--failures", default="/tmp/stores-fuzz-failures")
    args = parser.parse_args(argv)
    os.makedirs(args.failures, exist_ok=True)
    from multiprocessing import get_context

    jobs = [(args.seed, s, min(args.chunk, args.count - s), args.failures) for s in range(0, args.count, args.chunk)]
    total: Counter[str] = Counter()
    failures: list[str] = []
    slowest = 0.0
    started = time.monotonic()
    with get_context("fork").Pool(args.procs) as pool:
        for n, res in enumerate(pool.imap_unordered(_worker, jobs), 1):
            total.update(res["outcomes"])
            failures.extend(res["failures"])
            slowest = max(slowest, res["slowest"])
            if n % 10 == 0 or n == len(jobs):
                done = sum(total.values())
                print(f"{done} documents, {time.monotonic() - started:.0f}s: {dict(total)}", file=sys.stderr, flush=True)
    report = {"documents": sum(total.values()), "outcomes": dict(sorted(total.items())), "seconds": round(time.monotonic() - started, 1),
              "slowest_document_s": round(slowest, 3), "failures": failures[:50]}
    print(json.dumps(report, indent=2))
    return 1 if total.get("FAILED") else 0


if __name__ == "__main__":
    sys.exit(main())
