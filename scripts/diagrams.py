"""The docs' diagrams, drawn as SVG by this script (standard library only, no network).

The mkdocs hook ``scripts/mkdocs_hooks.py`` calls ``render_all()`` on every build, so the site
always shows what this file says; the copies in ``docs/img/`` are for readers of the Markdown on
GitHub, and ``tests/docs/test_diagrams.py`` fails when they are not what this script draws:

    python3 scripts/diagrams.py            # rewrite docs/img/*.svg
    python3 scripts/diagrams.py --check    # exit 1 if a copy is stale
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
FONT = "font-family='Helvetica, Arial, sans-serif'"
CHAR_W = 6.6  # average width of a 12px character, for box sizes
COLORS = {  # fill, stroke
    "source": ("#f3f4f6", "#6b7280"),
    "volume": ("#dbeafe", "#2563eb"),
    "env": ("#dcfce7", "#16a34a"),
    "container": ("#ffedd5", "#ea580c"),
    "store": ("#ede9fe", "#7c3aed"),
}


def _text(x: float, y: float, s: str, size: int = 12, anchor: str = "start", weight: str = "normal",
          fill: str = "#111827") -> str:
    return (f"<text x='{x:.0f}' y='{y:.0f}' font-size='{size}' text-anchor='{anchor}' "
            f"font-weight='{weight}' fill='{fill}'>{escape(s)}</text>")


def _box(x: float, y: float, w: float, h: float, kind: str, lines: list[str], bold_first: bool = True) -> str:
    fill, stroke = COLORS[kind]
    out = [f"<rect x='{x:.0f}' y='{y:.0f}' width='{w:.0f}' height='{h:.0f}' rx='6' fill='{fill}' stroke='{stroke}'/>"]
    for i, line in enumerate(lines):
        out.append(_text(x + 8, y + 17 + 15 * i, line, weight="bold" if bold_first and i == 0 else "normal"))
    return "\n".join(out)


def _arrow(x1: float, y1: float, x2: float, y2: float, label: str = "", dashed: bool = False) -> str:
    dash = " stroke-dasharray='5 4'" if dashed else ""
    out = [f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' stroke='#374151' "
           f"stroke-width='1.4' marker-end='url(#arrow)'{dash}/>"]
    if label:
        out.append(_text((x1 + x2) / 2, min(y1, y2) - 5, label, size=11, anchor="middle", fill="#374151"))
    return "\n".join(out)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join([
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' {FONT}>",
        f"<title>{escape(title)}</title>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#374151'/></marker></defs>",
        "<rect width='100%' height='100%' fill='#ffffff'/>",
        *body,
        "</svg>",
        "",
    ])


# -- (a) a connection becomes pod objects ---------------------------------------------------------

#: (what the connection or run says, what the pod gets, its kind); one row each
CONNECTION_ROWS: list[tuple[list[str], list[str], str]] = [
    (["hostPath / existingClaim", "+ mountPath, readOnly"],
     ["volume (hostPath / persistentVolumeClaim)", "volumeMount at mountPath on the main container"], "volume"),
    (["bucket (s3 / gcs / wasb)", "s3://..., gs://..., wasbs://..."],
     ["env POLYAXON_RUN_DATA_PATHS / _OUTPUTS_PATH", "(the URL), POLYAXON_CONNECTIONS_CATALOG"], "env"),
    (["secret: {name, items, mountPath}"],
     ["Secret volume projecting the items, mounted read-only", "env POLYAXON_CONNECTION_<NAME>_KEY_FILE",
      "(gcs: GOOGLE_APPLICATION_CREDENTIALS too)"], "volume"),
    (["secret / configMap: {name, items}", "(no mountPath)"],
     ["env NAME from valueFrom.secretKeyRef /", "configMapKeyRef, one per item"], "env"),
    (["secret / configMap: {name}", "(no items, no mountPath)"],
     ["envFrom secretRef / configMapRef", "(the whole resource)"], "env"),
    (["env: [...] of the connection"], ["env on the main container", "(secret values only as valueFrom)"], "env"),
    (["run.init / --download-data", "(connection, paths, path)"],
     ["init container: stores cp STORE:key path", "toolkit image, the store's credentials"], "container"),
    (["artifactsStore + collectArtifacts", "(plugins)"],
     ["context volume artifacts-context, init containers,", "sidecar: stores sync ... --watch",
      "(see the next diagram)"], "container"),
]


def connection_diagram() -> str:
    left_x, left_w, right_x, right_w, top = 20, 250, 380, 360, 58
    body = [
        _text(left_x, 26, "connection (catalog entry) and run", size=14, weight="bold"),
        _text(right_x, 26, "objects of the pod-spec patch (render_patch)", size=14, weight="bold"),
        _text(left_x, 44, "a field present ...", size=11, fill="#4b5563"),
        _text(right_x, 44, "... gives the pod", size=11, fill="#4b5563"),
    ]
    y = top
    for src, dst, kind in CONNECTION_ROWS:
        h = 12 + 15 * max(len(src), len(dst))
        body.append(_box(left_x, y, left_w, h, "source", src, bold_first=True))
        body.append(_box(right_x, y, right_w, h, kind, dst, bold_first=False))
        body.append(_arrow(left_x + left_w + 2, y + h / 2, right_x - 2, y + h / 2))
        y += h + 10
    legend_y = y + 12
    x = left_x
    for kind, label in (("volume", "volumes and mounts"), ("env", "env / envFrom"), ("container", "containers")):
        fill, stroke = COLORS[kind]
        body.append(f"<rect x='{x}' y='{legend_y - 11}' width='14' height='14' rx='3' fill='{fill}' stroke='{stroke}'/>")
        body.append(_text(x + 20, legend_y, label, size=11))
        x += 40 + CHAR_W * len(label)
    return _svg(760, int(legend_y + 14), "How a connection becomes pod objects", body)


# -- (b) the run's containers and the context volume over time ------------------------------------


def timeline_diagram() -> str:
    width, height = 960, 408
    #: lane name, top, height; the sidecar sits between the volume it reads and the store it writes
    lanes = {"init": ("init containers", 66, 60), "main": ("main container", 146, 44),
             "volume": ("context volume", 210, 44), "sidecar": ("sidecar", 274, 76),
             "store": ("artifacts store", 368, 30)}
    phases = [(170, 534, "1. init containers, one after the other"), (534, 824, "2. the run"),
              (824, 944, "3. SIGTERM")]
    body = [_text(20, 24, "A run's containers and its context volume (/plx-context/artifacts) over time",
                  size=14, weight="bold")]
    for x1, x2, label in phases:
        body.append(f"<rect x='{x1}' y='36' width='{x2 - x1 - 4}' height='{height - 42}' fill='#f9fafb' "
                    "stroke='#e5e7eb'/>")
        body.append(_text(x1 + 6, 54, label, size=11, weight="bold", fill="#4b5563"))
    for name, top, h in lanes.values():
        body.append(_text(20, top + h / 2 + 4, name, size=12, weight="bold"))

    def top(lane: str) -> int:
        return lanes[lane][1]

    def bottom(lane: str) -> int:
        return lanes[lane][1] + lanes[lane][2]

    # 1. init containers: create the run's folders, then restore an earlier attempt's sync
    body.append(_box(174, top("init"), 124, lanes["init"][2], "container",
                     ["default", "creates <uuid>/", "outputs and logs"]))
    body.append(_box(304, top("init"), 224, lanes["init"][2], "container",
                     ["resume (autoResume)", "stores sync --missing-ok", "STORE:<uuid> <ctx>/<uuid>"]))
    body.append(_box(174, top("volume"), 124, 44, "volume", ["emptyDir with", "the run's folders"], bold_first=False))
    body.append(_box(304, top("volume"), 224, 44, "volume", ["what an earlier attempt", "synced is back"],
                     bold_first=False))
    body.append(_arrow(236, bottom("init") + 2, 236, top("volume") - 2))
    body.append(_arrow(440, top("store") - 2, 440, bottom("volume") + 2))
    body.append(_text(446, top("store") - 10, "restore", size=11, fill="#374151"))
    # 2. the run: main writes into the volume, the sidecar uploads it every syncInterval
    body.append(_box(538, top("main"), 282, 44, "container", ["main", "writes outputs, logs (POLYAXON_RUN_*)"]))
    body.append(_box(538, top("volume"), 282, 44, "volume", ["<uuid>/outputs, logs grow"], bold_first=False))
    body.append(_arrow(679, bottom("main") + 2, 679, top("volume") - 2))
    body.append(_box(538, top("sidecar"), 282, 76, "container",
                     ["polyaxon-sidecar", "stores sync <ctx>/<uuid> STORE:<uuid>", "--watch --interval 10",
                      "(plugins: sidecar.syncInterval)"]))
    body.append(_arrow(580, bottom("volume") + 2, 580, top("sidecar") - 2))
    for x in (600, 665, 730, 795):
        body.append(_arrow(x, bottom("sidecar") + 2, x, top("store") - 2, dashed=True))
    # 3. SIGTERM: main has exited; the sidecar syncs once more and exits 0
    body.append(_box(828, top("main"), 112, 44, "container", ["main", "has exited"]))
    body.append(_box(828, top("volume"), 112, 44, "volume", ["complete"], bold_first=False))
    body.append(_box(828, top("sidecar"), 112, 76, "container", ["sidecar", "last sync,", "then exit 0"]))
    body.append(_arrow(884, bottom("sidecar") + 2, 884, top("store") - 2))
    body.append(_box(174, top("store"), 766, 30, "store",
                     ["artifacts store (artifactsStore), folder <uuid>: s3 / gcs / wasb / claim / host path"],
                     bold_first=False))
    return _svg(width, height, "A run's containers and the context volume over time", body)


DIAGRAMS = {"connection-to-pod.svg": connection_diagram, "run-timeline.svg": timeline_diagram}


def render_all() -> dict[str, str]:
    return {name: fn() for name, fn in DIAGRAMS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, svg in render_all().items():
        path = IMG / name
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != svg:
                stale.append(name)
        else:
            IMG.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
    if stale:
        print(f"stale in docs/img: {', '.join(stale)}; run python3 scripts/diagrams.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
