"""Helpers of the helm tests: the library chart rendered by real Helm (``helm-python-sdk``: Helm
v4 as a shared library, no binary) next to the Python renderer, for the same values and run."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import helm_python as helm  # helm-python-sdk, in the test extra: a missing SDK fails, never skips

from k8s.chart import export_chart

__all__ = ["helm", "NOT_IN_CHART", "probe_chart", "as_json", "helm_patch", "python_patch", "differences", "load_values"]

#: the env var the chart does not emit (see docs/guide/helm-library.md: Polyaxon's in-run
#: client's catalog, built by the Python renderer only)
NOT_IN_CHART = ("POLYAXON_CONNECTIONS_CATALOG",)

PROBE_TEMPLATE = '{{ include "plx-stores.patch" (dict "values" .Values.doc "run" .Values.run) }}\n'


def probe_chart(tmp: Path) -> Path:
    """An application chart with the library vendored and one template: the patch as JSON."""
    root = tmp / "probe"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(
        "apiVersion: v2\nname: probe\nversion: 0.1.0\n"
        "dependencies:\n  - name: plx-stores\n    version: 0.1.0\n    repository: file://charts/plx-stores\n"
    )
    (root / "templates" / "patch.yaml").write_text(PROBE_TEMPLATE)
    export_chart(root / "charts")
    return root


def as_json(doc: Any) -> Any:
    """What helm receives: values are JSON (string keys; what YAML gave as dates, strings)."""
    return json.loads(json.dumps(doc, default=str))


def helm_patch(chart: Any, doc: Any, run: dict[str, Any]) -> dict[str, Any]:
    """The four lists as Helm renders them (raises ``helm_python.HelmRenderError`` on ``fail``)."""
    out = chart.render({"doc": as_json(doc), "run": run}, name="probe")
    (text,) = out.values()
    return json.loads(text)


def load_values(path: Path) -> Any:
    """A values file as both renderers get it (parsed once per file and test session)."""
    return _load_cached(str(path))


@functools.lru_cache(maxsize=None)
def _load_cached(path: str) -> Any:
    from stores.yamlsrc import load_yaml

    doc, _ = load_yaml(Path(path).read_bytes(), path)
    return doc


def python_patch(doc: Any, run: dict[str, Any], catalog: Any = None) -> dict[str, Any]:
    """The same four lists from ``stores render``'s Python API (no plugins); ``catalog``: the
    document's, when already loaded."""
    from k8s import render_patch
    from stores.catalog import Catalog
    from stores.contract.runinfo import RunInfo
    from stores.selection import RunRequest

    catalog = catalog if catalog is not None else Catalog.from_values(doc)
    data = run.get("data")
    data = [data] if isinstance(data, str) else data
    request = RunRequest(tuple(data) if data is not None else None, run.get("outputs"))
    info = RunInfo(uuid=run["uuid"], owner=run.get("owner", "default"), project=run.get("project", "default"),
                   name=run.get("name"), namespace=run.get("namespace"))
    sdk = {"gcs": run["gcsDefault"]} if run.get("gcsDefault") else None
    patch = render_patch(catalog, request, info, sdk_defaults=sdk).to_dict()
    main = patch["spec"]["containers"][0]
    return {
        "volumes": patch["spec"].get("volumes", []),
        "volumeMounts": main.get("volumeMounts", []),
        "env": [v for v in main.get("env", []) if v["name"] not in NOT_IN_CHART],
        "envFrom": main.get("envFrom", []),
    }


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Every difference, list by list and item by item (names, order, values)."""
    out = []
    for key in ("volumes", "volumeMounts", "env", "envFrom"):
        a, b = ours.get(key, []), theirs.get(key, [])
        if a == b:
            continue
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else "(none)"
            y = b[i] if i < len(b) else "(none)"
            if x != y:
                out.append(f"{key}[{i}]: stores render {x!r} != helm {y!r}")
    return out
