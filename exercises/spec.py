"""Exercise templates: TOML files in `exercises/templates/` -> frozen `ExerciseSpec`.

A template is data: named joint angles (angle at the middle joint, side-aware), phases
as min/max conditions on angles or registered metrics, the rep cycle through them,
a reference trajectory per scored channel over normalised rep time with a tolerance
band, form rules naming metrics from the closed registry (`exercises.metrics.METRICS`),
hold targets for isometric exercises and ordered moves for sequences. No expressions.

Every problem is a `SpecError` naming the file, the key path and the valid choices. The
format (schema 1), with the keys each table accepts, is `_KEYS` in `spec_checks.py`;
see `templates/squat.toml` for a complete example. The parts: `spec_model.py` (the
dataclasses), `spec_checks.py` (typed reads), `spec_sections.py` (each section read
and checked), `spec_dump.py` (back to data and TOML); this module puts a template
together (`spec_from_dict`) and loads the files.

Side-aware angles:
    angles.knee = ["left_hip", "left_knee", "left_ankle"]          # fixed joints
    angles.knee = { joints = ["hip", "knee", "ankle"], side = "best" }
where a sideless name X means left_X / right_X, "other_X" the opposite side's X, and
`side` is one of `SIDES`: "left"/"right" (that side), "best" (the more visible side,
switched only between reps), "both" (mean of the two), "min"/"max" (the smaller/larger
of the two: the working leg of an alternating exercise).

Core module: stdlib (tomllib) and numpy. Files are read only in `load_spec` and
`builtin_specs`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exercises.checks import parse_toml
from exercises.metrics import VIEWS
from exercises.spec_checks import (
    _check_keys,
    _choice,
    _choices,
    _Ctx,
    _ident,
    _int,
    _join,
    _number,
    _str_list,
    _table,
    _text,
    _type,
)
from exercises.spec_dump import dump_spec, spec_to_dict
from exercises.spec_model import (
    AUDIENCES,
    KINDS,
    LANGUAGES,
    POSTURES,
    SCHEMA_VERSION,
    SIDED,
    SIDES,
    TEMPLATES_DIR,
    AngleDef,
    Condition,
    ElderOverrides,
    ExerciseSpec,
    FormRule,
    HoldSpec,
    Move,
    PartialSpec,
    Phase,
    Reference,
    SpecError,
    UnknownExerciseError,
)
from exercises.spec_sections import (
    _angles,
    _check_reference_phases,
    _check_separated,
    _conditions,
    _cycle,
    _elder,
    _hold,
    _moves,
    _partial,
    _phases,
    _reference,
    _rules,
)
from vision.types import BLAZEPOSE_JOINT_NAMES

__all__ = [
    "AUDIENCES",
    "KINDS",
    "LANGUAGES",
    "POSTURES",
    "SCHEMA_VERSION",
    "SIDES",
    "TEMPLATES_DIR",
    "AngleDef",
    "Condition",
    "ElderOverrides",
    "ExerciseSpec",
    "FormRule",
    "HoldSpec",
    "Move",
    "PartialSpec",
    "Phase",
    "Reference",
    "SpecError",
    "UnknownExerciseError",
    "builtin_specs",
    "dump_spec",
    "get_spec",
    "load_spec",
    "spec_from_dict",
    "spec_to_dict",
]


def spec_from_dict(data: Mapping[str, Any], source: str = "<memory>") -> ExerciseSpec:
    """Build and validate a spec from a parsed template (the TOML layout as a dict).

    Args:
        data: The template, e.g. `tomllib.loads(text)` or one built by authoring tools.
        source: Name used in error messages (a path or "<name>").

    Returns:
        The validated, frozen `ExerciseSpec`.

    Raises:
        SpecError: anything malformed; the message names `source`, the key path and the
            valid choices.
    """
    ctx = _Ctx(source)
    top = _table(ctx, "", dict(data))
    _check_keys(ctx, "", top, "")
    if isinstance(top["schema"], bool) or top["schema"] != SCHEMA_VERSION:
        raise ctx.fail(
            "schema", f"expected {SCHEMA_VERSION}, got {_type(top['schema'])}"
        )
    kind = _choice(ctx, "kind", top["kind"], KINDS)
    angles = _angles(ctx, top.get("angles", {}))
    angle_names = {a.name for a in angles}
    if kind != "hold" and not angles:
        raise ctx.fail("angles", f"a {kind} template needs at least one angle")

    required = _str_list(ctx, "required_joints", top["required_joints"])
    if not required:
        raise ctx.fail("required_joints", "expected at least one joint")
    for i, name in enumerate(required):
        if name not in BLAZEPOSE_JOINT_NAMES and name not in SIDED:
            raise ctx.fail(
                _join("required_joints", i),
                f"unknown joint {name!r}; valid: a joint name "
                f"({_choices(BLAZEPOSE_JOINT_NAMES)}) "
                f"or a sideless one meaning either side ({_choices(sorted(SIDED))})",
            )

    phases = _phases(ctx, "phases", top.get("phases", {}), angle_names)
    by_name = {p.name: p for p in phases}
    cycle: tuple[str, ...] = ()
    if kind == "reps":
        if "cycle" not in top:
            raise ctx.fail(
                "cycle", "missing required key (a reps template needs a cycle)"
            )
        cycle = _cycle(ctx, "cycle", top["cycle"], by_name)
    elif "cycle" in top:
        raise ctx.fail(
            "cycle", f"only reps templates have a cycle, this one is {kind!r}"
        )

    position = (
        _conditions(ctx, "position", top["position"], angle_names)
        if "position" in top
        else ()
    )

    reference = None
    if kind in ("reps", "hold") and "reference" in top and kind == "hold":
        raise ctx.fail(
            "reference", "a hold template scores against hold.target instead"
        )
    if kind == "reps":
        if "reference" not in top:
            raise ctx.fail(
                "reference", "missing required key (a reps template needs a reference)"
            )
        reference = _reference(ctx, "reference", top["reference"], angle_names)
        _check_reference_phases(ctx, "reference", reference, cycle, by_name)
    elif kind == "sequence" and "reference" in top:
        raise ctx.fail("reference", "a sequence template gives a reference per move")

    hold = None
    if kind == "hold":
        if "hold" not in top:
            raise ctx.fail(
                "hold", "missing required key (a hold template needs [hold])"
            )
        hold = _hold(ctx, top["hold"], angle_names)
    elif "hold" in top:
        raise ctx.fail("hold", f"only hold templates have [hold], this one is {kind!r}")

    moves: tuple[Move, ...] = ()
    if kind == "sequence":
        if "moves" not in top:
            raise ctx.fail("moves", "missing required key (a sequence needs [[moves]])")
        moves = _moves(ctx, top["moves"], angle_names, by_name)
    elif "moves" in top:
        raise ctx.fail(
            "moves", f"only sequence templates have moves, this one is {kind!r}"
        )

    elder = (
        _elder(ctx, top["elder"], angle_names, by_name)
        if "elder" in top
        else ElderOverrides()
    )
    if elder.phases:
        eff = {**by_name, **{p.name: p for p in elder.phases}}
        if kind == "reps":
            for i in range(1, len(cycle)):
                _check_separated(ctx, "elder.phases", eff[cycle[i - 1]], eff[cycle[i]])
        for m in moves:
            _check_separated(ctx, "elder.phases", eff[m.start], eff[m.end])
    if elder.hold_target_s is not None and kind != "hold":
        raise ctx.fail("elder.hold_target_s", "only hold templates have a hold target")

    partial = None
    if "partial" in top:
        partial = _partial(ctx, top["partial"], angle_names, by_name, cycle)
        full = {**by_name, **{p.name: p for p in elder.phases}}
        for p in partial.phases:
            i = cycle.index(p.name)
            for j in (i - 1, i + 1):
                _check_separated(
                    ctx, _join("partial.phases", p.name), full[cycle[j]], p
                )

    rule_phases = set(by_name)
    rules = _rules(ctx, top.get("rules", []), angle_names, rule_phases)

    audience = tuple(
        _choice(ctx, _join("audience", i), a, AUDIENCES)
        for i, a in enumerate(_str_list(ctx, "audience", top.get("audience", [])))
    )
    return ExerciseSpec(
        id=_ident(ctx, "id", top["id"]),
        kind=kind,
        name=_text(ctx, "name", top["name"]),
        description=_text(ctx, "description", top["description"]),
        instructions=_text(ctx, "instructions", top["instructions"]),
        view=_choice(ctx, "view", top["view"], VIEWS),
        posture=_choice(ctx, "posture", top["posture"], POSTURES),
        required_joints=tuple(required),
        audience=audience,
        pace_s=_number(ctx, "pace_s", top.get("pace_s", 3.0), positive=True),
        min_rep_s=_number(ctx, "min_rep_s", top["min_rep_s"], positive=True)
        if "min_rep_s" in top
        else None,
        target_reps=_int(ctx, "target_reps", top["target_reps"], minimum=1)
        if "target_reps" in top
        else None,
        angles=angles,
        phases=phases,
        cycle=cycle,
        position=position,
        reference=reference,
        rules=rules,
        hold=hold,
        moves=moves,
        elder=elder,
        partial=partial,
        schema=SCHEMA_VERSION,
        source=source,
    )


def load_spec(path: str | Path) -> ExerciseSpec:
    """Read and validate one template file.

    Raises:
        SpecError: unreadable file, invalid TOML, or a malformed template; the id must
            also match the file name (`squat.toml` holds id "squat").
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read the template: {exc}") from exc
    spec = spec_from_dict(parse_toml(text, str(p), SpecError), source=str(p))
    if spec.id != p.stem:
        raise SpecError(f"{p}: id: expected the file name {p.stem!r}, got {spec.id!r}")
    return spec


@functools.cache
def _builtin() -> dict[str, ExerciseSpec]:
    specs = {}
    for path in sorted(TEMPLATES_DIR.glob("*.toml")):
        spec = load_spec(path)
        specs[spec.id] = spec
    return specs


def builtin_specs() -> dict[str, ExerciseSpec]:
    """Every template shipped in `exercises/templates/`, by id (loaded once)."""
    return dict(_builtin())


def get_spec(exercise_id: str) -> ExerciseSpec:
    """A built-in template by id.

    Raises:
        UnknownExerciseError: no such id (KeyError; the message lists the valid ids).
    """
    specs = _builtin()
    if exercise_id not in specs:
        raise UnknownExerciseError(
            f"unknown exercise {exercise_id!r}; "
            f"valid exercises: {_choices(sorted(specs))}"
        )
    return specs[exercise_id]
