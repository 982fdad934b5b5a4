"""`movecoach templates list | show ID | validate PATH...`: the exercise templates.

`list` prints every built-in template (id, kind, view, audience, names); `show` prints
one as TOML (or JSON with `--json`); `validate` checks template files and exits 1 when
any is malformed, printing each error (file, key, valid choices) on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from server.cli import CommandError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "templates",
        help="list, show or validate exercise templates",
        description="Exercise templates (TOML files in exercises/templates/).",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every built-in template")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", help="one template as TOML")
    show.add_argument("exercise_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="JSON instead of TOML")
    validate = actions.add_parser("validate", help="check template files")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    parser.set_defaults(func=run)


def _list(as_json: bool) -> int:
    from exercises.spec import builtin_specs

    for spec in builtin_specs().values():
        if as_json:
            print(
                json.dumps(
                    {
                        "id": spec.id,
                        "kind": spec.kind,
                        "view": spec.view,
                        "posture": spec.posture,
                        "audience": list(spec.audience),
                        "name": spec.name,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            audience = ",".join(spec.audience) or "-"
            print(
                f"{spec.id:<24} {spec.kind:<9} {spec.view:<6} {audience:<22} "
                f"{spec.name['en']} / {spec.name['zh-CN']}"
            )
    return 0


def _show(exercise_id: str, as_json: bool) -> int:
    from exercises.spec import UnknownExerciseError, dump_spec, get_spec, spec_to_dict

    try:
        spec = get_spec(exercise_id)
    except UnknownExerciseError as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        print(json.dumps(spec_to_dict(spec), ensure_ascii=False, indent=2))
    else:
        print(dump_spec(spec), end="")
    return 0


def _validate(paths: list[str]) -> int:
    from exercises.spec import SpecError, load_spec

    failed = 0
    for path in paths:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            failed += 1
            print(f"movecoach templates: error: {exc}", file=sys.stderr)
            continue
        print(f"ok: {path} ({spec.id}, {spec.kind})")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (1 when a file does not validate)."""
    if args.action == "list":
        return _list(args.json)
    if args.action == "show":
        return _show(args.exercise_id, args.json)
    return _validate(args.paths)
