"""The docs' diagrams: scripts/diagrams.py draws them (the mkdocs hook does on every build); the
copies in docs/img/ are what it draws, well-formed SVG, and every one is shown by a page."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from support.paths import ROOT
IMG = ROOT / "docs" / "img"


def test_checked_in_svgs_are_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "diagrams.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_svgs_parse_and_are_used() -> None:
    names = sorted(p.name for p in IMG.glob("*.svg"))
    assert len(names) >= 2
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    for name in names:
        root = ET.parse(IMG / name).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None  # read by screen readers
        assert f"img/{name})" in pages, f"{name} is shown by no page"
