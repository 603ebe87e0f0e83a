"""docs/architecture.md is read off the tree (scripts/architecture.py): every module of stores/
and k8s/ is on it with the heavy libraries it really loads at import, and nothing else is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.paths import ROOT


def test_architecture_page_is_current() -> None:
    res = subprocess.run([sys.executable, "scripts/architecture.py"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert res.stdout == page, "docs/architecture.md is stale: .venv/bin/python scripts/architecture.py > docs/architecture.md"


def test_the_in_run_tier_is_stdlib_only_on_the_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for module in ("stores.run", "stores.contract.read", "stores.contract.checks", "stores.contract.names",
                   "stores.errors", "stores.kinds", "stores.redact", "stores.reader"):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{module}` |"))
        assert "| stdlib only |" in row, row
