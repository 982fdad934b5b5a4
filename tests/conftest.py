"""Paths and fakes shared by the tests (build data with tests/factories.py instead)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_tool(name: str, install: str) -> str:
    """The path of a program on PATH; fails the calling test in CI (where `make test`
    installs it) and skips it elsewhere, saying how to install it."""
    import shutil

    path = shutil.which(name)
    if path is None:
        message = f"needs {name}: {install}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


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
