"""Shared test setup.  Server fixtures (moto S3, GCS emulator, Azurite) live in tests/support/servers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def seed_values_path() -> Path:
    return EXAMPLES / "seed-004-values.yaml"
pytest_plugins = ["support.servers"]  # real S3 / GCS / Azure servers, see tests/support/servers.py
