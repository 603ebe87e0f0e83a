"""Values files bundled with the package, so the main job runs with no input of one's own."""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_values_path", "EXAMPLES_DIR"]

EXAMPLES_DIR = Path(__file__).parent


def default_values_path() -> Path:
    """A legacy ``persistence:`` file with host paths and claims only: no cloud account needed."""
    return EXAMPLES_DIR / "default-values.yaml"
