"""``stores chart export``: the helm library chart ``plx-stores``, written out for vendoring."""

from __future__ import annotations

import argparse
from typing import Any

from .output import add_output_flag, print_data

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("chart", help="export a helm library chart that renders the same mounts",
                       description="The helm library chart plx-stores, shipped with this package so it "
                       "always matches `stores render`: named templates for volumes, volumeMounts, env "
                       "and envFrom, read from the chart's own persistence / artifactsStore / "
                       "connections values. `stores chart export DIR` writes it to DIR/plx-stores (an "
                       "application chart's charts/ directory, say) and prints that path.")
    p.add_argument("action", choices=["export"], help="export: write the chart to DIR/plx-stores")
    p.add_argument("directory", metavar="DIR", help="where the chart folder goes (created if missing)")
    p.add_argument("--force", action="store_true", help="replace an existing DIR/plx-stores")
    add_output_flag(p, "text")
    p.set_defaults(func=cmd_chart)


def cmd_chart(args: argparse.Namespace) -> int:
    from k8s.chart import CHART_NAME, export_chart

    from ..errors import StoresError

    try:
        target = export_chart(args.directory, overwrite=args.force)
    except OSError as exc:  # FileExistsError included
        raise StoresError(str(exc)) from None
    if args.output == "text":
        print(target)
    else:
        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        print_data({"chart": CHART_NAME, "path": str(target), "files": files}, args.output)
    return 0
