"""Architecture checks: the sans-I/O core imports no edge library, and kernels keep
NaN semantics (no hard-coded fastmath)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDGE_LIBRARIES = (
    "cv2",
    "mediapipe",
    "onnxruntime",
    "fastapi",
    "websockets",
    "starlette",
    "uvicorn",
    "sqlalchemy",
)


def _core_modules() -> list[str]:
    names = [
        "vision.types",
        "vision.geometry",
        "vision.kernels",
        "vision.config",
        "vision.clock",
    ]
    for path in sorted((ROOT / "exercises").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _loaded_by(module: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` importing `module` loads (in a fresh interpreter)."""
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        f"print(json.dumps([m for m in {names!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_imports_no_edge_library(module):
    assert _loaded_by(module, EDGE_LIBRARIES) == []


WIRE_MODULES = ("server.schemas", "pydantic", "fastapi", "starlette", "server.app")


@pytest.mark.parametrize("module", ["server.store", "server.store.recorder"])
def test_the_store_imports_no_wire_schema(module):
    """The records store depends on the JSON encoder (`server.jsonable`), never on the
    wire messages or the web framework (those depend on it)."""
    assert _loaded_by(module, WIRE_MODULES) == []


def test_only_kernel_modules_import_numba():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[-2] == "tests" or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if (
            re.search(r"^\s*(from numba|import numba)", text, re.M)
            and path.name != "kernels.py"
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_hard_coded_fastmath():
    offenders = []
    for path in ROOT.glob("*/**/kernels.py"):
        if ".venv" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"fastmath\s*=\s*(True|\{)", text):
            offenders.append(str(path.relative_to(ROOT)))
        if "njit" in text and "FASTMATH_FLAGS" not in text:
            offenders.append(f"{path.relative_to(ROOT)} (no config.FASTMATH_FLAGS)")
    assert offenders == []


def test_fastmath_flags_keep_nan_semantics():
    from vision import config

    assert not {"nnan", "ninf", "fast"} & set(config.FASTMATH_FLAGS)
