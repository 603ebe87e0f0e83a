"""The helm library chart ``plx-stores``, shipped inside this package (tier 0: stdlib only).

Its named templates (``plx-stores.volumes``, ``plx-stores.volumeMounts``, ``plx-stores.env``,
``plx-stores.envFrom``) render from a chart's own values what ``stores render`` renders, with
nothing but Helm; the chart and this renderer always come in the same version.
``stores chart export DIR`` writes it to ``DIR/plx-stores`` for vendoring into a chart's
``charts/``.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["CHART_NAME", "chart_dir", "export_chart", "schema_fragment"]

CHART_NAME = "plx-stores"


def chart_dir() -> Path:
    """Where the chart is in the installed package."""
    return Path(str(resources.files("k8s") / "charts" / CHART_NAME))


def schema_fragment() -> Path:
    """The chart's copy of ``stores schema`` (``files/values.schema.json``): what a chart using
    the library keeps as its ``values.schema.json`` (or merges into it)."""
    return chart_dir() / "files" / "values.schema.json"


def export_chart(directory: str | Path, *, overwrite: bool = False) -> Path:
    """Copy the chart to ``directory/plx-stores`` and return that path.  An existing copy is
    replaced only with ``overwrite`` (a vendored chart is updated on purpose)."""
    target = Path(directory) / CHART_NAME
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} exists; replace it with --force (overwrite=True)")
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(chart_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target
