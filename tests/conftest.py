"""Paths and fakes shared by the tests (build data with tests/factories.py instead)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_data_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the calling test, with a reason, when
    absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()
