"""deploy/: the systemd unit passes `systemd-analyze verify`, and the unit, the
Dockerfile and the compose file say only what MoveCoach understands (every MOVECOACH_*
variable is a setting the server reads, every command line parses) and copy only files
that exist in the build context. No docker engine runs here: the image is not built.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from server.cli import build_parser
from server.settings import Settings
from tests.conftest import ROOT
from tests.live_server import movecoach_command

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "movecoach.service"


def _unit_lines() -> list[str]:
    text = UNIT.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()[:1] not in "#;"]


def _unit_values(key: str) -> list[str]:
    prefix = f"{key}="
    return [line[len(prefix) :] for line in _unit_lines() if line.startswith(prefix)]


def _assert_settings(environment: dict[str, str]) -> None:
    """Each MOVECOACH_* variable is read by the server (changes the settings)."""
    for name, value in environment.items():
        if not name.startswith("MOVECOACH_"):
            continue
        assert Settings.from_env({name: value}) != Settings(), f"{name} is no setting"


def _assert_command(argv: list[str]) -> None:
    assert argv[0].endswith("movecoach"), argv
    build_parser().parse_args(argv[1:])  # exits (SystemExit 2) on an unknown option


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)
def test_the_unit_verifies(tmp_path: Path) -> None:
    exe = movecoach_command()[0]
    unit = tmp_path / UNIT.name  # verify checks that ExecStart exists: point it here
    unit.write_text(UNIT.read_text().replace("/opt/movecoach/.venv/bin/movecoach", exe))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [
        line for line in (done.stdout + done.stderr).splitlines() if unit.name in line
    ]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


def test_the_unit_runs_a_valid_command_with_valid_settings() -> None:
    (exec_start,) = _unit_values("ExecStart")
    _assert_command(shlex.split(exec_start))
    environment = dict(v.split("=", 1) for v in _unit_values("Environment"))
    _assert_settings(environment)
    assert _unit_values("User") == ["movecoach"]
    assert "2" in _unit_values("RestartPreventExitStatus")  # configuration errors
    db = environment["MOVECOACH_DB_URL"].removeprefix("sqlite:///")
    (state,) = _unit_values("StateDirectory")
    assert db.startswith(f"/var/lib/{state}/")  # writable under ProtectSystem=strict
    tls = [a for a in shlex.split(exec_start) if a.endswith(".pem")]
    assert tls and all(p.startswith(f"/var/lib/{state}/") for p in tls)


def _dockerignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    for pattern in patterns:
        anywhere = pattern.removeprefix("**/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(parts[0], pattern):
            return True
        if anywhere != pattern and any(fnmatch.fnmatch(p, anywhere) for p in parts):
            return True
    return False


def test_the_dockerfile_copies_files_that_exist_and_are_not_ignored() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied: list[str] = []
    for match in re.finditer(r"^COPY\s+(.+)$", dockerfile, re.MULTILINE):
        *sources, _ = match.group(1).split()
        copied += sources
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
        assert not _dockerignored(source.rstrip("/"), ignore), f"{source} is ignored"
    for needed in ("pyproject.toml", "constraints.txt", "Makefile", "models/"):
        assert needed in copied
    assert "make setup" in dockerfile  # the same install as `make run`
    env = dict(re.findall(r"\b(MOVECOACH_[A-Z_]+)=(\S+)", dockerfile))
    _assert_settings(env)
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    _assert_command(json.loads(cmd))


def test_compose_builds_this_tree_and_runs_a_valid_command() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app = compose["services"]["movecoach"]
    context = (DEPLOY / app["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / app["build"]["dockerfile"]).is_file()
    _assert_command(app["command"])
    environment = {
        k: re.sub(r"\$\{[^}]+\}", "secret", v) for k, v in app["environment"].items()
    }
    _assert_settings(environment)
    assert environment["MOVECOACH_DB_URL"].startswith("postgresql+psycopg://")
    assert "@db/" in environment["MOVECOACH_DB_URL"]  # the db service's name
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["db"]
