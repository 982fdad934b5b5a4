"""Model files (BlazePose from the mediapipe 0.10.21 wheel) and their manifest.

`model_path(name)` is the only way code should reach a model file: it checks the file's
sha256 against `manifest.toml` (once per process per file) and never downloads anything.
Stdlib only; imports nothing from the project.
"""

from __future__ import annotations

import hashlib
import threading
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["MODELS_DIR", "ModelIntegrityError", "load_manifest", "model_path"]

MODELS_DIR = Path(__file__).resolve().parent
REBUILD_HINT = (
    "restore it with `git checkout -- models/` or rebuild it as models/README.md "
    "describes (models/build.py with the mediapipe 0.10.21 wheel)"
)

_verified: dict[Path, str] = {}  # resolved path -> sha256 it had when verified
_lock = threading.Lock()


class ModelIntegrityError(RuntimeError):
    """A model file is missing, unknown to the manifest, or not matching its sha256."""


def load_manifest(models_dir: Path | None = None) -> dict[str, Any]:
    """The parsed `manifest.toml` of `models_dir` (default: this package's folder).

    Returns:
        The TOML document; `["models"][name]` has file, sha256, source, licence, ...

    Raises:
        ModelIntegrityError: the manifest is missing or has no `[models.*]` tables.
    """
    path = (models_dir or MODELS_DIR) / "manifest.toml"
    try:
        with path.open("rb") as f:
            manifest = tomllib.load(f)
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"model manifest {path} is missing; {REBUILD_HINT}"
        ) from None
    if not isinstance(manifest.get("models"), dict) or not manifest["models"]:
        raise ModelIntegrityError(
            f"model manifest {path} must have [models.<name>] tables, got keys "
            f"{sorted(manifest)}"
        )
    return manifest


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    models: dict[str, dict[str, Any]] = manifest["models"]
    if name in models:
        return models[name]
    for entry in models.values():
        if entry.get("file") == name:
            return entry
    valid = ", ".join(f"{k} ({v.get('file')})" for k, v in models.items())
    raise ModelIntegrityError(f"unknown model {name!r}; the manifest lists: {valid}")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_path(name: str, models_dir: Path | None = None) -> Path:
    """Path of a verified model file.

    Args:
        name: Manifest key (e.g. "pose_detector") or file name ("pose_detector.onnx").
        models_dir: Folder with `manifest.toml` and the files (default: this package).

    Returns:
        Absolute path of the file; its sha256 matched the manifest's in this process.

    Raises:
        ModelIntegrityError: unknown name, missing file or sha256 mismatch; the message
            names the file, the expected and actual hash, and how to restore it.
    """
    folder = (models_dir or MODELS_DIR).resolve()
    entry = _entry(load_manifest(folder), name)
    path = folder / str(entry["file"])
    expected = str(entry.get("sha256", ""))
    with _lock:
        if _verified.get(path) == expected:
            return path
        if not path.is_file():
            raise ModelIntegrityError(
                f"model file {path} is missing (expected sha256 {expected}); "
                f"{REBUILD_HINT}"
            )
        actual = _sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"model file {path} does not match the manifest: expected sha256 "
                f"{expected}, got {actual}; {REBUILD_HINT}"
            )
        _verified[path] = expected
    return path
