"""Print docs/architecture.md: the packages, their tiers and each module's job, read off the tree.

    .venv/bin/python scripts/architecture.py > docs/architecture.md     (tests/docs/test_architecture.py
                                                                         fails when the page is stale)

A module's tier is measured, not declared: each module is imported alone in a fresh interpreter
and the heavy libraries it pulled in are listed (stdlib only = tier 0, the in-run tier; PyYAML /
pydantic = tier 1, the catalog; kubernetes = the renderer; fsspec backends load on first use).
A module's job is the first line of its docstring.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stores", "stores/contract", "stores/transfer", "stores/cli", "k8s")
HEAVY = ("yaml", "pydantic", "kubernetes", "fsspec")
SKIP = {"stores.__main__"}

INTRO = """# Architecture

One page, read off the tree by `scripts/architecture.py` (a test fails when it is stale). Two
packages: `stores` (everything about connections, runs and data) and `k8s` (pure functions from
those models to `kubernetes.client` objects). What a module imports decides where it may run,
so the tiers are measured: each module imported alone, and the heavy libraries it loads listed.

<!-- no-run: a picture of the layers, not a command -->
```text
             +-----------------------------------------------------------+
 in the pod  | tier 0, stdlib only: stores.run, stores.contract (read,   |
 (fast)      | names, io), errors, names, kinds, keyfile, reader, redact |
             +-----------------------------------------------------------+
                 ^ used by everything below; imports nothing of theirs
             +-----------------------------------------------------------+
 admin side  | tier 1, PyYAML + pydantic: models, legacy, values, schema, |
             | catalog, selection, plugins, contract.write                |
             +-----------------------------------------------------------+
                 ^                                   ^
 +-----------------------------------+   +-------------------------------------+
 | k8s: + kubernetes.client models   |   | tier 2, data: handles, backends,    |
 | render, connection, volumes, env, |   | credentials, transfer/ (fsspec,     |
 | plugins, podpatch, apply, checks  |   | s3fs, gcsfs, adlfs on first use)    |
 +-----------------------------------+   +-------------------------------------+
                 ^                                   ^
             +-----------------------------------------------------------+
             | stores.cli: one module per command group (argparse)        |
             +-----------------------------------------------------------+
```

Rules the tests hold: tier 0 imports nothing outside the standard library
(`tests/run/test_run_lookup.py`); only `stores/kinds.py` switches on a connection kind
(`tests/catalog/test_kinds.py`); `k8s/` has no import cycle and each module imports alone
(`tests/k8s/test_k8s_layering.py`); the transfer engine loads no backend until a store of that kind
is opened (`tests/project/test_public_api.py`).

What tier 0 means for code inside a run, checked here:

```python
import sys

import stores.run

print(sorted(m for m in ("yaml", "pydantic", "kubernetes", "fsspec") if m in sys.modules))
```

```text
[]
```
"""


def modules(package: str) -> list[tuple[str, Path]]:
    out = []
    for path in sorted((ROOT / package).glob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        if name not in SKIP:
            out.append((name, path))
    return out


def loads(module: str) -> str:
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise SystemExit(f"cannot import {module}: {res.stderr.strip()[-500:]}")
    return res.stdout.strip().replace(",", ", ") or "stdlib only"


def job(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("|", "\\|") or "-"


#: the folders around the code; every folder of tests/ must be listed (the page matches the tree)
TEST_AREAS = {
    "catalog": "values files, the schema, names, kinds, selection; the bad corpus and the fuzz property",
    "k8s": "rendering: volumes, env, secrets, plugins, checks, manifests, parity with Polyaxon 2.18",
    "transfer": "upload, download, sync against the real servers: fidelity, integrity, faults, breaker",
    "run": "the in-run contract: lookup, context, globals, credentials, Polyaxon's client reading our env",
    "cli": "the command line: exit codes, messages, outputs",
    "docs": "every docs snippet and example runs; the diagrams and this page are current",
    "project": "the public API, import tiers, secret hygiene across every output",
    "support": "shared helpers: real servers, manifest checks, the docs runner, the bad corpus, paths",
    "data": "inputs: the bad corpus, Polyaxon's own files, fuzz regressions",
    "golden": "golden files, one concern each",
    "image": "the toolkit image, built without a daemon, running the rendered init and sidecar containers",
    "benchmarks": "`run.sh`: the benchmark command under its first name (it runs `bench/run.sh`)",
}


def around() -> str:
    tests = ROOT / "tests"
    found = sorted(p.name for p in tests.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    if found != sorted(TEST_AREAS):
        raise SystemExit(f"tests/ folders {found} differ from TEST_AREAS {sorted(TEST_AREAS)}")
    parts = ["\n## Around the code\n\n| folder | what it holds |\n| --- | --- |\n"]
    for area in found:
        count = len(list((tests / area).glob("test_*.py")))
        parts.append(f"| `tests/{area}/` | {TEST_AREAS[area]}{f' ({count} test modules)' if count else ''} |\n")
    for folder in ("tools/reliability", "bench"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name != "__init__.py":
                parts.append(f"| `{folder}/{path.name}` | {job(path)} |\n")
    return "".join(parts)


def page() -> str:
    listed = [(pkg, modules(pkg)) for pkg in PACKAGES]
    names = [name for _, mods in listed for name, _ in mods]
    with ThreadPoolExecutor(4) as pool:
        tiers = dict(zip(names, pool.map(loads, names)))
    parts = [INTRO]
    for pkg, mods in listed:
        parts.append(f"\n## `{pkg.replace('/', '.')}`\n\n| module | loads at import | job |\n| --- | --- | --- |\n")
        for name, path in mods:
            parts.append(f"| `{name}` | {tiers[name]} | {job(path)} |\n")
    parts.append(around())
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(page())
