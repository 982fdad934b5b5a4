"""`movecoach` command line. Each subcommand lives in `server/commands/<name>.py` and
defines `add_parser(subparsers)` (registering `run(args) -> int` as the default `func`).

Errors the user can fix (unreadable file, wrong model hash, unknown exercise) are raised
as `CommandError` and printed as one line on stderr with exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from server import commands

__all__ = ["CommandError", "main", "version"]


class CommandError(Exception):
    """A problem the user can act on; printed without a traceback."""


def version() -> str:
    """The installed package's version, else the source tree's (pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("movecoach")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movecoach", description="Camera-based movement coach."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"server.commands.{info.name}")
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError as exc:
        print(f"movecoach {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # `python -m server.cli`: run the imported module's main, so that the commands'
    # `server.cli.CommandError` is the class caught here (not a `__main__` copy).
    from server.cli import main as _main

    sys.exit(_main())
