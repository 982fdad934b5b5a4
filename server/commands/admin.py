"""`movecoach admin ...`: set up the records database and its first accounts.

    movecoach admin init-db [--db URL]
    movecoach admin create-centre NAME
    movecoach admin create-staff USERNAME --role admin|coach [--centre NAME_OR_ID]
                                 [--display-name TEXT] [--password-env VAR]
    movecoach admin create-kiosk NAME --centre NAME_OR_ID
    movecoach admin make-cert --host NAME [--host NAME_OR_IP ...] [--out DIR]
                              [--days N] [--force]

`--db` defaults to `MOVECOACH_DB_URL` (else the SQLite file under the user's data
folder). Every command first upgrades the schema to head. A staff password is read
from the environment variable named by `--password-env`, or asked for twice on the
terminal; it never appears on the command line. `create-kiosk` prints the kiosk's token
once: only its hash is stored. `make-cert` writes a self-signed TLS certificate
(`cert.pem`, `key.pem`) for `movecoach serve --ssl-certfile/--ssl-keyfile`; it needs no
database (docs/kiosk-setup.md).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from server.cli import CommandError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["add_parser", "run"]

MIN_PASSWORD_LENGTH = 8


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "admin",
        help="set up the records database, centres, staff accounts and kiosks",
        description="Records administration (database schema, centres, staff, kiosks).",
    )
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--db", metavar="URL", help="database URL (default: MOVECOACH_DB_URL)"
        )
        return sub

    action("init-db", "create or upgrade the records database schema")
    centre = action("create-centre", "add a community centre")
    centre.add_argument("name")
    staff = action("create-staff", "add a staff account (admin or coach)")
    staff.add_argument("username")
    staff.add_argument("--role", choices=("admin", "coach"), required=True)
    staff.add_argument(
        "--centre",
        metavar="NAME_OR_ID",
        help="the centre (required for coaches; an admin without one manages all)",
    )
    staff.add_argument("--display-name", metavar="TEXT")
    staff.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable instead of a prompt",
    )
    kiosk = action("create-kiosk", "register a kiosk and print its token (once)")
    kiosk.add_argument("name")
    kiosk.add_argument("--centre", metavar="NAME_OR_ID", required=True)
    _add_make_cert(actions)


def _add_make_cert(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    from server.tls import DEFAULT_VALIDITY_DAYS

    text = (
        "write a self-signed TLS certificate (cert.pem) and key (key.pem) for the "
        "server, so that kiosks on the LAN reach it over HTTPS (browsers give the "
        "camera only to secure contexts)"
    )
    cert = actions.add_parser("make-cert", help=text, description=text)
    cert.add_argument(
        "--host",
        dest="hosts",
        action="append",
        required=True,
        metavar="NAME",
        help="DNS name or IP address kiosks use in the server's URL (repeatable)",
    )
    cert.add_argument(
        "--out", default=".", metavar="DIR", help="folder to write to (default .)"
    )
    cert.add_argument(
        "--days",
        type=int,
        default=DEFAULT_VALIDITY_DAYS,
        help=f"validity in days (default {DEFAULT_VALIDITY_DAYS})",
    )
    cert.add_argument(
        "--force", action="store_true", help="replace existing cert.pem / key.pem"
    )


def _make_cert(args: argparse.Namespace) -> int:
    from server.tls import TlsError, write_self_signed

    try:
        files = write_self_signed(
            Path(args.out), args.hosts, days=args.days, overwrite=args.force
        )
    except TlsError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"certificate {files.certfile} (for {', '.join(args.hosts)}, "
        f"valid until {files.not_after:%Y-%m-%d})"
    )
    print(f"private key {files.keyfile} (keep it on the server)")
    print(f"public key sha256 (base64) {files.spki_sha256}")
    print(
        f"serve: movecoach serve --host 0.0.0.0 --ssl-certfile {files.certfile} "
        f"--ssl-keyfile {files.keyfile}"
    )
    return 0


def _db_url(args: argparse.Namespace) -> str:
    if args.db:
        return str(args.db)
    from server.settings import Settings, SettingsError

    try:
        return Settings.from_env().db_url
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise CommandError(
                f"expected a password in ${args.password_env}, got none (unset, empty)"
            )
    else:
        if not sys.stdin.isatty():
            raise CommandError(
                "expected a terminal to ask for the password, got none; "
                "use --password-env VAR"
            )
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise CommandError("the two passwords differ")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(
            f"expected a password of at least {MIN_PASSWORD_LENGTH} characters, "
            f"got {len(password)}"
        )
    return password


def _centre_id(db: Session, ref: str) -> int:
    from server.store import repository

    centre = repository.get_centre(db, int(ref)) if ref.isdigit() else None
    centre = centre or repository.find_centre(db, ref)
    if centre is None:
        names = ", ".join(c.name for c in repository.list_centres(db)) or "(none yet)"
        raise CommandError(f"unknown centre {ref!r}; centres: {names}")
    return centre.id


def run(args: argparse.Namespace) -> int:
    if args.action == "make-cert":
        return _make_cert(args)
    from server.commands._database import database_error, prepare_database, shown
    from server.store import open_store, repository

    url = _db_url(args)
    if args.action == "init-db":
        print(f"database {shown(url)} at revision {prepare_database(url)}")
        return 0
    lines: list[str] = []
    try:
        password = _password(args) if args.action == "create-staff" else ""
        store = open_store(url)
        try:
            with store.begin() as db:
                if args.action == "create-centre":
                    if repository.find_centre(db, args.name) is not None:
                        raise CommandError(f"a centre named {args.name!r} exists")
                    centre = repository.create_centre(db, args.name)
                    lines.append(f"centre {centre.id}: {centre.name}")
                elif args.action == "create-staff":
                    from server.auth import hash_password

                    if repository.find_staff(db, args.username) is not None:
                        raise CommandError(f"username {args.username!r} is taken")
                    centre_id = _centre_id(db, args.centre) if args.centre else None
                    if args.role == "coach" and centre_id is None:
                        raise CommandError("expected --centre for a coach, got none")
                    staff = repository.create_staff(
                        db,
                        username=args.username,
                        password_hash=hash_password(password),
                        role=args.role,
                        centre_id=centre_id,
                        display_name=args.display_name,
                    )
                    scope = f"centre {centre_id}" if centre_id else "every centre"
                    lines.append(
                        f"staff {staff.id}: {staff.username} ({args.role}, {scope})"
                    )
                elif args.action == "create-kiosk":
                    centre_id = _centre_id(db, args.centre)
                    kiosk, token = repository.create_kiosk(
                        db, centre_id=centre_id, name=args.name
                    )
                    lines.append(f"kiosk {kiosk.id}: {kiosk.name} (centre {centre_id})")
                    lines.append("token (shown once; only its hash is kept):")
                    lines.append(token)
        finally:
            store.dispose()
    except (SQLAlchemyError, ValueError) as exc:
        raise database_error(url, exc) from None
    # Printed only once committed: a token shown is a token that works.
    for line in lines:
        print(line)
    return 0
