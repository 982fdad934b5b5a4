"""`movecoach admin`: init-db, create-centre, create-staff, create-kiosk, and their
errors (exit status 2 with one line on stderr)."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

from pathlib import Path

import pytest

from server import auth
from server.cli import main
from server.store import Store, current_revision, head_revision, repository
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    sqlite_template,
    store,
)

pytestmark = pytest.mark.usefixtures("fast_hasher")


def test_init_db_creates_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'records.db'}"
    assert main(["admin", "init-db", "--db", url]) == 0
    assert current_revision(url) == head_revision()
    assert head_revision() in capsys.readouterr().out


def test_db_defaults_to_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("MOVECOACH_DB_URL", url)
    assert main(["admin", "init-db"]) == 0
    assert current_revision(url) == head_revision()


def test_setup_from_scratch(
    db_url: str,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MC_PW", "a-long-password")
    assert main(["admin", "create-centre", "Riverside", "--db", db_url]) == 0
    assert (
        main(
            [
                "admin",
                "create-staff",
                "root",
                "--role",
                "admin",
                "--password-env",
                "MC_PW",
                "--db",
                db_url,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "admin",
                "create-staff",
                "mei",
                "--role",
                "coach",
                "--centre",
                "Riverside",
                "--display-name",
                "Coach Mei",
                "--password-env",
                "MC_PW",
                "--db",
                db_url,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["admin", "create-kiosk", "Hall", "--centre", "1", "--db", db_url]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with store.session() as db:
        mei = repository.find_staff(db, "mei")
        root = repository.find_staff(db, "root")
        assert mei is not None and root is not None
        assert (mei.role, mei.display_name, root.centre_id) == (
            "coach",
            "Coach Mei",
            None,
        )
        assert mei.centre_id == repository.find_centre(db, "Riverside").id  # type: ignore[union-attr]
        assert auth.verify_password(mei.password_hash, "a-long-password")
        assert "a-long-password" not in mei.password_hash
        assert repository.find_kiosk_by_token(db, token) is not None


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param(["create-centre", "Riverside"], {}, "exists", id="centre-exists"),
        pytest.param(
            ["create-kiosk", "K", "--centre", "Nowhere"],
            {},
            "unknown centre 'Nowhere'; centres: Riverside",
            id="unknown-centre",
        ),
        pytest.param(
            ["create-staff", "c", "--role", "coach", "--password-env", "PW"],
            {"PW": "long-enough"},
            "expected --centre",
            id="coach-without-centre",
        ),
        pytest.param(
            ["create-staff", "c", "--role", "admin", "--password-env", "PW"],
            {"PW": "short"},
            "at least 8",
            id="short-password",
        ),
        pytest.param(
            ["create-staff", "c", "--role", "admin", "--password-env", "PW"],
            {},
            "expected a password in $PW",
            id="no-password",
        ),
        pytest.param(
            ["create-staff", "taken", "--role", "admin", "--password-env", "PW"],
            {"PW": "long-enough"},
            "taken",
            id="username-taken",
        ),
        pytest.param(
            ["create-staff", "c", "--role", "admin"],
            {},
            "use --password-env",
            id="no-terminal",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    monkeypatch.setenv("PW", "long-enough")
    assert main(["admin", "create-centre", "Riverside", "--db", db_url]) == 0
    assert (
        main(
            [
                "admin",
                "create-staff",
                "taken",
                "--role",
                "admin",
                "--password-env",
                "PW",
                "--db",
                db_url,
            ]
        )
        == 0
    )
    monkeypatch.delenv("PW")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    capsys.readouterr()
    assert main(["admin", *argv, "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("movecoach admin: error: ") and err.count("\n") == 1
    assert message in err


def test_a_bad_url_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["admin", "init-db", "--db", "mysql://u:secret@h/db"]) == 2
    err = capsys.readouterr().err
    assert "expected a sqlite" in err and "secret" not in err
