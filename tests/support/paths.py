"""Where things are, for every test module: one definition instead of one per file."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA", "EXAMPLES", "GOLDEN", "ROOT", "TESTS"]

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DATA = TESTS / "data"
GOLDEN = TESTS / "golden"
EXAMPLES = ROOT / "examples"
