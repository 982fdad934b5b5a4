"""models/: the manifest lists every committed model file; `model_path` checks it."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

import models
from models import ModelIntegrityError, load_manifest, model_path

REQUIRED_FIELDS = (
    "file",
    "sha256",
    "bytes",
    "format",
    "skeleton",
    "input_wh",
    "source",
    "licence",
    "licence_source",
    "outputs",
)
SOURCE_FIELDS = ("wheel", "wheel_sha256", "paths", "paths_sha256")
# Products the build writes; each must be listed once the file is committed.
EXPECTED_FILES = {
    "pose_landmarker_full": "pose_landmarker_full.task",
    "pose_detector": "pose_detector.onnx",
    "pose_landmark_full": "pose_landmark_full.onnx",
}
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_MODEL_BYTES = 16 * 1024 * 1024  # must stay small enough to commit

MANIFEST = load_manifest()
ENTRIES = MANIFEST["models"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_schema() -> None:
    assert MANIFEST.get("schema") == 1, (
        f"expected schema = 1, got {MANIFEST.get('schema')}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES), ids=sorted(EXPECTED_FILES))
def test_every_built_file_is_listed(name: str) -> None:
    path = models.MODELS_DIR / EXPECTED_FILES[name]
    if not path.exists():
        pytest.skip(f"{path.name} not built yet")
    assert name in ENTRIES, (
        f"{path.name} exists but manifest lists only {sorted(ENTRIES)}"
    )
    assert ENTRIES[name]["file"] == EXPECTED_FILES[name]


@pytest.mark.parametrize("name", sorted(ENTRIES), ids=sorted(ENTRIES))
def test_entry_fields(name: str) -> None:
    entry = ENTRIES[name]
    missing = [f for f in REQUIRED_FIELDS if f not in entry]
    assert not missing, f"{name}: missing fields {missing}; has {sorted(entry)}"
    assert SHA256.match(entry["sha256"]), f"{name}: bad sha256 {entry['sha256']!r}"
    assert entry["licence"] == "Apache-2.0", f"{name}: licence {entry['licence']!r}"
    src = entry["source"]
    missing = [f for f in SOURCE_FIELDS if f not in src]
    assert not missing, f"{name}: source lacks {missing}; has {sorted(src)}"
    assert src["wheel"].startswith("mediapipe-0.10.21-"), src["wheel"]
    assert SHA256.match(src["wheel_sha256"]), src["wheel_sha256"]
    assert len(src["paths"]) == len(src["paths_sha256"]) >= 1, src
    for wh in entry["input_wh"]:
        assert len(wh) == 2 and all(isinstance(v, int) and v > 0 for v in wh), wh


@pytest.mark.parametrize("name", sorted(ENTRIES), ids=sorted(ENTRIES))
def test_file_exists_and_matches(name: str) -> None:
    entry = ENTRIES[name]
    path = models.MODELS_DIR / entry["file"]
    assert path.is_file(), f"{path} listed in the manifest but missing"
    size = path.stat().st_size
    assert size == entry["bytes"], (
        f"{path.name}: expected {entry['bytes']} B, got {size}"
    )
    assert size <= MAX_MODEL_BYTES, f"{path.name} is {size} B, over {MAX_MODEL_BYTES}"
    assert _sha256(path) == entry["sha256"]
    assert model_path(name) == path
    assert model_path(entry["file"]) == path  # by file name too


def _copy_models(tmp_path: Path) -> Path:
    shutil.copy(models.MODELS_DIR / "manifest.toml", tmp_path / "manifest.toml")
    for entry in ENTRIES.values():
        shutil.copy(models.MODELS_DIR / entry["file"], tmp_path / entry["file"])
    return tmp_path


def test_copied_dir_verifies(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    for name, entry in ENTRIES.items():
        assert model_path(name, folder) == folder.resolve() / entry["file"]


def test_corrupted_file_raises(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    name, entry = next(iter(ENTRIES.items()))
    path = folder / entry["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(ModelIntegrityError) as err:
        model_path(name, folder)
    msg = str(err.value)
    assert entry["file"] in msg and entry["sha256"] in msg and actual in msg, msg
    assert "rebuild" in msg and "README" in msg, msg
    assert isinstance(err.value, RuntimeError)


def test_wrong_manifest_hash_raises(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    name, entry = next(iter(ENTRIES.items()))
    manifest = folder / "manifest.toml"
    wrong = "0" * 64
    manifest.write_text(manifest.read_text().replace(entry["sha256"], wrong))
    with pytest.raises(ModelIntegrityError, match=f"expected sha256 {wrong}"):
        model_path(name, folder)


def test_missing_file_raises(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    name, entry = next(iter(ENTRIES.items()))
    (folder / entry["file"]).unlink()
    with pytest.raises(ModelIntegrityError, match="is missing") as err:
        model_path(name, folder)
    assert entry["file"] in str(err.value)


def test_unknown_name_lists_valid(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="unknown model 'nope'") as err:
        model_path("nope")
    for name in ENTRIES:
        assert name in str(err.value)


def test_missing_manifest_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match=r"manifest .* is missing"):
        load_manifest(tmp_path)


def test_models_package_imports_nothing_from_the_project() -> None:
    import subprocess
    import sys

    code = (
        "import sys, models; models.model_path(next(iter(models.load_manifest()"
        "['models']))); bad = [m for m in sys.modules if m.split('.')[0] in "
        "('vision', 'server', 'exercises', 'numpy', 'cv2', 'onnxruntime', "
        "'mediapipe')]; print(bad); sys.exit(1 if bad else 0)"
    )
    root = models.MODELS_DIR.parent
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True
    )
    assert out.returncode == 0, f"models imported {out.stdout} {out.stderr}"
