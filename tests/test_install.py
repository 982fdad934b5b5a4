"""The README's first command on a fresh clone: `make run` installs from
constraints.txt into a new venv and starts a server that answers /health as ready.

It clones the committed tree (as CI does: uncommitted changes are not in it), so the
install sees exactly what a centre would get. pip's own cache keeps it to about a
minute when the wheels were downloaded before (by `make test`'s own set-up in CI).
Also checked: running installs nothing for development or Ray, a single OpenCV
(mediapipe brings opencv-contrib-python; a second cv2 provider would overwrite it),
exactly the constrained versions, and every system library its compiled modules load
is one `make run-deps` installs or one every Debian has.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED_DATA, need_tool
from tests.live_server import ServerProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.model]

INSTALL_TIMEOUT_S = 900.0  # a cold pip cache downloads ~400 MB of wheels
NOT_FOR_RUNNING = ("pytest", "playwright", "ray", "hypothesis", "ruff", "mypy")
IN_EVERY_DEBIAN = frozenset(  # libc6, libgcc-s1, libstdc++6 (apt needs it), zlib1g
    {
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libdl.so.2",
        "libm.so.6",
        "libpthread.so.0",
        "librt.so.1",
        "libresolv.so.2",
        "libutil.so.1",
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libz.so.1",
    }
)
OPTIONAL_LIBRARIES = {  # loaded only when asked for; absent, numba uses its workqueue
    "libtbb.so.12": "numba/np/ufunc/tbbpool",
    "libgomp.so.1.0.0": "numba/np/ufunc/omppool",
}


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_canonical(name)] = version
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_pin_every_dependency_once() -> None:
    lines = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", x) for x in lines)
    pins = _constraints()
    assert len(pins) == len(lines)  # no name twice
    assert "movecoach" not in pins  # the project itself is installed editable
    assert [n for n in pins if n.startswith("opencv")] == ["opencv-contrib-python"]
    for name in ("mediapipe", "onnxruntime", "fastapi", "cryptography", "ray"):
        assert name in pins


def test_make_run_from_a_fresh_clone(tmp_path: Path) -> None:
    git = need_tool("git", "apt-get install git")
    make = need_tool("make", "apt-get install make")
    clone = tmp_path / "movecoach"
    subprocess.run(
        [git, "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        timeout=120,
    )
    port = free_port()
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env["MOVECOACH_PORT"] = str(port)
    env["MOVECOACH_DB_URL"] = f"sqlite:///{tmp_path / 'records.db'}"
    video = SHARED_DATA / "video" / "mrpose_air_squat.mp4"
    argv = [make, "-C", str(clone), "run", f"DEMO_VIDEO={video}"]
    started = time.monotonic()
    server = ServerProcess([], port, tmp_path / "make-run.log", argv=argv, env=env)
    try:
        health = server.wait_ready(INSTALL_TIMEOUT_S)
        took_s = time.monotonic() - started
        demo = json.loads(_get(server, "/api/demo"))
    finally:
        server.stop()
    print(f"make run on a fresh clone: ready in {took_s:.0f} s")
    assert health["ready"] and health["backend"]
    assert demo["available"] is video.exists()

    python = clone / ".venv" / "bin" / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    installed = {_canonical(p["name"]): p["version"] for p in json.loads(listed)}
    assert not [name for name in NOT_FOR_RUNNING if name in installed]
    assert [n for n in installed if n.startswith("opencv")] == ["opencv-contrib-python"]
    pins = _constraints()
    off = {
        name: (version, pins[name])
        for name, version in installed.items()
        if name in pins and version != pins[name]
    }
    assert not off, f"installed (version, constrained): {off}"
    unpinned = set(installed) - set(pins) - {"movecoach", "setuptools", "wheel"}
    assert not unpinned, f"installed but not in constraints.txt: {unpinned}"
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    if shutil.which("readelf") is not None:
        wanted = _system_libraries(clone / ".venv") - IN_EVERY_DEBIAN
        assert wanted - set(OPTIONAL_LIBRARIES) <= _make_run_libs(clone / "Makefile")


def _system_libraries(venv: Path) -> set[str]:
    """Shared libraries the venv's compiled modules need and do not bring along."""
    files = [
        p
        for p in venv.rglob("*.so*")
        if p.is_file() and re.search(r"\.so(\.|$)", p.name)
    ]
    needed: set[str] = set()
    for start in range(0, len(files), 200):
        out = subprocess.run(
            ["readelf", "-d", *map(str, files[start : start + 200])],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out))
    return needed - {p.name for p in files}


def _make_run_libs(makefile: Path) -> set[str]:
    text = makefile.read_text().replace("\\\n", " ")
    match = re.search(r"^RUN_LIBS := (.*)$", text, re.MULTILINE)
    assert match, "no RUN_LIBS in the Makefile"
    return set(match.group(1).split())


def _get(server: ServerProcess, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{server.url}{path}", timeout=10) as response:
        return str(response.read().decode())
