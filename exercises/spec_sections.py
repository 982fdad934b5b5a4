"""The template's sections, each read and checked: angles, phases and the cycle, the
reference, form rules, the hold, moves, elder overrides and partial reps. Internal to
`exercises.spec` (`spec_from_dict` puts them together).

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from typing import Any

from exercises.metrics import METRICS, VIEWS
from exercises.spec_checks import (
    _ID_RE,
    _KEYS,
    _check_keys,
    _choice,
    _choices,
    _Ctx,
    _ident,
    _int,
    _join,
    _joint_name,
    _names,
    _number,
    _str,
    _str_list,
    _table,
    _text,
    _type,
)
from exercises.spec_model import (
    PSEUDO_PHASES,
    SEVERITIES,
    SIDED,
    SIDES,
    TIMINGS,
    AngleDef,
    Condition,
    ElderOverrides,
    FormRule,
    HoldSpec,
    Move,
    PartialSpec,
    Phase,
    Reference,
)

_MIN_SAMPLES, _MAX_SAMPLES = 5, 101
# Adjacent phases of a cycle must be this far apart on some channel (hysteresis): deg
# for angles, the same number of hundredths for ratio metrics.
_MIN_PHASE_GAP_DEG = 5.0
_MIN_PHASE_GAP_RATIO = 0.05


def _angles(ctx: _Ctx, data: Any) -> tuple[AngleDef, ...]:
    table = _table(ctx, "angles", data)
    out = []
    for name, value in table.items():
        path = _join("angles", name)
        if not _ID_RE.match(name):
            raise ctx.fail(
                path, "expected an angle name of lowercase letters, digits, _"
            )
        if name in METRICS:
            raise ctx.fail(
                path, f"{name!r} is a metric name; give the angle another name"
            )
        if isinstance(value, list):
            joints, side, view = value, None, "any"
            jpath = path
        else:
            spec = _table(ctx, path, value)
            _check_keys(ctx, path, spec, "angle")
            if "joints" not in spec:
                raise ctx.fail(_join(path, "joints"), "missing required key")
            joints = spec["joints"]
            side = (
                _choice(ctx, _join(path, "side"), spec["side"], SIDES)
                if "side" in spec
                else None
            )
            view = _choice(ctx, _join(path, "view"), spec.get("view", "any"), VIEWS)
            jpath = _join(path, "joints")
        names = _str_list(ctx, jpath, joints)
        if len(names) != 3:
            raise ctx.fail(
                jpath,
                f"expected 3 joint names (angle at the middle one), got {len(names)}",
            )
        for i, n in enumerate(names):
            _joint_name(ctx, _join(jpath, i), n, sided=side is not None)
        if side is not None and not any(
            n in SIDED or n.startswith("other_") for n in names
        ):
            raise ctx.fail(_join(path, "side"), "side is set but no joint has a side")
        out.append(AngleDef(name, (names[0], names[1], names[2]), side, view))
    return tuple(out)


def _conditions(
    ctx: _Ctx, path: str, data: Any, angles: set[str]
) -> tuple[Condition, ...]:
    table = _table(ctx, path, data)
    if not table:
        raise ctx.fail(path, "expected at least one condition")
    out = []
    for key, value in table.items():
        cpath = _join(path, key)
        if key in angles:
            kind, lo, hi = "condition_angle", "min_deg", "max_deg"
        elif key in METRICS:
            kind, lo, hi = "condition_metric", "min", "max"
        else:
            raise ctx.fail(
                cpath,
                f"unknown angle or metric {key!r}; angles: {_names(angles)}; "
                f"metrics: {_choices(METRICS)}",
            )
        bounds = _table(ctx, cpath, value)
        _check_keys(ctx, cpath, bounds, kind)
        if lo not in bounds and hi not in bounds:
            raise ctx.fail(cpath, f"expected {lo} and/or {hi}")
        mn = _number(ctx, _join(cpath, lo), bounds[lo]) if lo in bounds else None
        mx = _number(ctx, _join(cpath, hi), bounds[hi]) if hi in bounds else None
        if mn is not None and mx is not None and mn >= mx:
            raise ctx.fail(cpath, f"expected {lo} < {hi}, got {mn} >= {mx}")
        out.append(Condition(key, mn, mx))
    return tuple(out)


def _phases(ctx: _Ctx, path: str, data: Any, angles: set[str]) -> tuple[Phase, ...]:
    table = _table(ctx, path, data)
    out = []
    for name, value in table.items():
        ppath = _join(path, name)
        if not _ID_RE.match(name) or name in PSEUDO_PHASES:
            raise ctx.fail(
                ppath,
                "expected a phase name of lowercase letters, digits and _ "
                f"(not {_choices(PSEUDO_PHASES)})",
            )
        out.append(Phase(name, _conditions(ctx, ppath, value, angles)))
    return tuple(out)


def _gap(a: Condition, b: Condition) -> float:
    """How far apart two conditions' ranges are (<= 0: they overlap)."""
    lo_a = -math.inf if a.min is None else a.min
    hi_a = math.inf if a.max is None else a.max
    lo_b = -math.inf if b.min is None else b.min
    hi_b = math.inf if b.max is None else b.max
    return max(lo_b - hi_a, lo_a - hi_b)


def _check_separated(ctx: _Ctx, path: str, a: Phase, b: Phase) -> None:
    for ca in a.conditions:
        for cb in b.conditions:
            if ca.key != cb.key:
                continue
            need = (
                _MIN_PHASE_GAP_RATIO
                if ca.key in METRICS and METRICS[ca.key].unit == "ratio"
                else _MIN_PHASE_GAP_DEG
            )
            if _gap(ca, cb) >= need:
                return
    raise ctx.fail(
        path,
        f"phases {a.name!r} and {b.name!r} follow each other but no angle or metric "
        f"separates them by at least {_MIN_PHASE_GAP_DEG:g} deg (or "
        f"{_MIN_PHASE_GAP_RATIO:g} for a ratio): counting needs that gap as hysteresis",
    )


def _cycle(
    ctx: _Ctx, path: str, data: Any, phases: dict[str, Phase]
) -> tuple[str, ...]:
    names = _str_list(ctx, path, data)
    if len(names) < 2:
        raise ctx.fail(path, f"expected at least 2 phases, got {len(names)}")
    for i, n in enumerate(names):
        if n not in phases:
            raise ctx.fail(
                _join(path, i),
                f"unknown phase {n!r}; valid phases: {_names(phases)}",
            )
        if i and names[i - 1] == n:
            raise ctx.fail(
                _join(path, i), f"phase {n!r} repeats; consecutive phases must differ"
            )
    for i in range(1, len(names)):
        _check_separated(ctx, path, phases[names[i - 1]], phases[names[i]])
    return tuple(names)


def _reference(ctx: _Ctx, path: str, data: Any, angles: set[str]) -> Reference:
    table = _table(ctx, path, data)
    channels = [k for k in table if k not in _KEYS["reference"]]
    for key in channels:
        if key not in angles and key not in METRICS:
            raise ctx.fail(
                _join(path, key),
                f"unknown angle or metric {key!r}; valid keys: "
                f"{_choices(_KEYS['reference'])}, angles: {_names(angles)}, "
                f"metrics: {_choices(METRICS)}",
            )
    if not channels:
        raise ctx.fail(path, "expected at least one angle or metric trajectory")
    first = table[channels[0]]
    n = len(first) if isinstance(first, list) else 0
    if "t" in table:
        tpath = _join(path, "t")
        if not isinstance(table["t"], list):
            raise ctx.fail(
                tpath, f"expected an array of numbers, got {_type(table['t'])}"
            )
        t = [_number(ctx, _join(tpath, i), v) for i, v in enumerate(table["t"])]
        if not (_MIN_SAMPLES <= len(t) <= _MAX_SAMPLES):
            raise ctx.fail(
                tpath, f"expected {_MIN_SAMPLES}..{_MAX_SAMPLES} samples, got {len(t)}"
            )
        if t[0] != 0.0 or t[-1] != 1.0:
            raise ctx.fail(
                tpath, f"expected to start at 0 and end at 1, got {t[0]:g}..{t[-1]:g}"
            )
        for i in range(1, len(t)):
            if not t[i] > t[i - 1]:
                raise ctx.fail(
                    _join(tpath, i),
                    "expected strictly increasing times, "
                    f"got {t[i]:g} after {t[i - 1]:g}",
                )
    else:
        if not (_MIN_SAMPLES <= n <= _MAX_SAMPLES):
            raise ctx.fail(
                _join(path, channels[0]),
                f"expected {_MIN_SAMPLES}..{_MAX_SAMPLES} samples, got {n}",
            )
        t = [i / (n - 1) for i in range(n)]
    values = []
    for key in channels:
        cpath = _join(path, key)
        row = table[key]
        if not isinstance(row, list):
            raise ctx.fail(cpath, f"expected an array of numbers, got {_type(row)}")
        vals = [_number(ctx, _join(cpath, i), v) for i, v in enumerate(row)]
        if len(vals) != len(t):
            raise ctx.fail(
                cpath, f"expected {len(t)} samples (one per t), got {len(vals)}"
            )
        if key in angles and any(not 0.0 <= v <= 180.0 for v in vals):
            raise ctx.fail(cpath, "expected angles in [0, 180] degrees")
        values.append(tuple(vals))
    tol_path = _join(path, "tolerance")
    if "tolerance" not in table:
        raise ctx.fail(
            tol_path,
            f"missing required key (a tolerance per channel: {_choices(channels)})",
        )
    tol_table = _table(ctx, tol_path, table["tolerance"])
    for key in tol_table:
        if key not in channels:
            raise ctx.fail(
                _join(tol_path, key),
                f"not a channel of this reference; valid: {_choices(channels)}",
            )
    tol = []
    for key in channels:
        if key not in tol_table:
            raise ctx.fail(_join(tol_path, key), "missing tolerance for this channel")
        tol.append(_number(ctx, _join(tol_path, key), tol_table[key], positive=True))
    return Reference(tuple(t), tuple(channels), tuple(values), tuple(tol))


def _check_reference_phases(
    ctx: _Ctx,
    path: str,
    ref: Reference,
    cycle: tuple[str, ...],
    phases: dict[str, Phase],
) -> None:
    """The reference must start in cycle[0], pass through each phase in order and end in
    cycle[-1], judged on the conditions whose channel the reference carries."""

    def holds(phase: Phase, i: int) -> bool | None:
        conds = [c for c in phase.conditions if c.key in ref.channels]
        if not conds:
            return None
        return all(c.holds(ref.values[ref.channels.index(c.key)][i]) for c in conds)

    r = len(ref.t)
    first, last = phases[cycle[0]], phases[cycle[-1]]
    if holds(first, 0) is False:
        raise ctx.fail(
            path, f"the reference must start in phase {first.name!r} (at t=0)"
        )
    if holds(last, r - 1) is False:
        raise ctx.fail(path, f"the reference must end in phase {last.name!r} (at t=1)")
    i = 0
    for name in cycle[1:-1]:
        phase = phases[name]
        while i < r and holds(phase, i) is False:
            i += 1
        if i == r:
            raise ctx.fail(
                path,
                f"the reference never reaches phase {name!r} "
                f"(in cycle order {_choices(cycle)})",
            )


def _rules(
    ctx: _Ctx, data: Any, angles: set[str], phase_names: set[str]
) -> tuple[FormRule, ...]:
    if not isinstance(data, list):
        raise ctx.fail(
            "rules", f"expected an array of tables ([[rules]]), got {_type(data)}"
        )
    out: list[FormRule] = []
    seen: set[str] = set()
    valid_during = sorted(phase_names) + list(PSEUDO_PHASES)
    for i, value in enumerate(data):
        path = _join("rules", i)
        rule = _table(ctx, path, value)
        _check_keys(ctx, path, rule, "rule")
        rid = _ident(ctx, _join(path, "id"), rule["id"])
        if rid in seen:
            raise ctx.fail(_join(path, "id"), f"duplicate rule id {rid!r}")
        seen.add(rid)
        metric = angle = None
        if ("metric" in rule) == ("angle" in rule):
            raise ctx.fail(
                path, "expected exactly one of 'metric' (from the registry) or 'angle'"
            )
        if "metric" in rule:
            metric = _str(ctx, _join(path, "metric"), rule["metric"])
            if metric not in METRICS:
                raise ctx.fail(
                    _join(path, "metric"),
                    f"unknown metric {metric!r}; valid metrics: {_choices(METRICS)}",
                )
        else:
            angle = _str(ctx, _join(path, "angle"), rule["angle"])
            if angle not in angles:
                raise ctx.fail(
                    _join(path, "angle"),
                    f"unknown angle {angle!r}; valid angles: {_names(angles)}",
                )
        if "above" not in rule and "below" not in rule:
            raise ctx.fail(path, "expected 'above' and/or 'below' (the threshold)")
        above = (
            _number(ctx, _join(path, "above"), rule["above"])
            if "above" in rule
            else None
        )
        below = (
            _number(ctx, _join(path, "below"), rule["below"])
            if "below" in rule
            else None
        )
        during: tuple[str, ...] = ()
        if "during" in rule:
            raw = rule["during"]
            names = (
                [raw]
                if isinstance(raw, str)
                else _str_list(ctx, _join(path, "during"), raw)
            )
            for j, n in enumerate(names):
                if n not in valid_during:
                    raise ctx.fail(
                        _join(_join(path, "during"), j)
                        if isinstance(raw, list)
                        else _join(path, "during"),
                        f"unknown phase {n!r}; valid: {_choices(valid_during)}",
                    )
            during = tuple(names)
        severity = SEVERITIES[
            _choice(ctx, _join(path, "severity"), rule["severity"], tuple(SEVERITIES))
        ]
        out.append(
            FormRule(
                id=rid,
                severity=severity,
                text=_text(ctx, _join(path, "text"), rule["text"]),
                metric=metric,
                angle=angle,
                above=above,
                below=below,
                during=during,
                firm=_text(ctx, _join(path, "firm"), rule["firm"])
                if "firm" in rule
                else None,
                gentle=_text(ctx, _join(path, "gentle"), rule["gentle"])
                if "gentle" in rule
                else None,
                min_duration_ms=_int(
                    ctx,
                    _join(path, "min_duration_ms"),
                    rule.get("min_duration_ms", 150),
                ),
                timing=_choice(
                    ctx, _join(path, "timing"), rule.get("timing", "live"), TIMINGS
                ),
            )
        )
    return tuple(out)


def _pairs(
    ctx: _Ctx, path: str, data: Any, valid: set[str], *, positive: bool
) -> tuple[tuple[str, float], ...]:
    table = _table(ctx, path, data)
    out = []
    for key, value in table.items():
        if key not in valid:
            raise ctx.fail(
                _join(path, key),
                f"unknown angle or metric {key!r}; valid: {_names(valid)}",
            )
        out.append((key, _number(ctx, _join(path, key), value, positive=positive)))
    return tuple(out)


def _hold(ctx: _Ctx, data: Any, angles: set[str]) -> HoldSpec:
    table = _table(ctx, "hold", data)
    _check_keys(ctx, "hold", table, "hold")
    channels = angles | set(METRICS)
    target = _pairs(
        ctx, "hold.target", table.get("target", {}), channels, positive=False
    )
    tolerance = _pairs(
        ctx,
        "hold.tolerance",
        table.get("tolerance", {}),
        {k for k, _ in target},
        positive=True,
    )
    missing = [k for k, _ in target if k not in dict(tolerance)]
    if missing:
        raise ctx.fail(
            _join("hold.tolerance", missing[0]), "missing tolerance for this target"
        )
    return HoldSpec(
        target_s=_number(ctx, "hold.target_s", table["target_s"], positive=True),
        in_position=_conditions(ctx, "hold.in_position", table["in_position"], angles),
        target=target,
        tolerance=tolerance,
    )


def _moves(
    ctx: _Ctx, data: Any, angles: set[str], phases: dict[str, Phase]
) -> tuple[Move, ...]:
    if not isinstance(data, list) or not data:
        raise ctx.fail(
            "moves",
            f"expected a non-empty array of tables ([[moves]]), got {_type(data)}",
        )
    out: list[Move] = []
    for i, value in enumerate(data):
        path = _join("moves", i)
        move = _table(ctx, path, value)
        _check_keys(ctx, path, move, "move")
        mid = _ident(ctx, _join(path, "id"), move["id"])
        if any(m.id == mid for m in out):
            raise ctx.fail(_join(path, "id"), f"duplicate move id {mid!r}")
        ends = []
        for key in ("from", "to"):
            name = _str(ctx, _join(path, key), move[key])
            if name not in phases:
                raise ctx.fail(
                    _join(path, key),
                    f"unknown phase {name!r}; valid phases: {_names(phases)}",
                )
            ends.append(name)
        if ends[0] == ends[1]:
            raise ctx.fail(
                _join(path, "to"),
                "a move must go to another phase (use hold_s to hold)",
            )
        if out and out[-1].end != ends[0]:
            raise ctx.fail(
                _join(path, "from"),
                f"expected the previous move's end phase {out[-1].end!r}, "
                f"got {ends[0]!r}",
            )
        _check_separated(ctx, path, phases[ends[0]], phases[ends[1]])
        ref = _reference(ctx, _join(path, "reference"), move["reference"], angles)
        _check_reference_phases(
            ctx, _join(path, "reference"), ref, (ends[0], ends[1]), phases
        )
        out.append(
            Move(
                id=mid,
                name=_text(ctx, _join(path, "name"), move["name"]),
                start=ends[0],
                end=ends[1],
                reference=ref,
                hold_s=_number(
                    ctx, _join(path, "hold_s"), move.get("hold_s", 0.0), nonneg=True
                ),
                pace_s=_number(
                    ctx, _join(path, "pace_s"), move["pace_s"], positive=True
                )
                if "pace_s" in move
                else None,
            )
        )
    return tuple(out)


def _elder(
    ctx: _Ctx, data: Any, angles: set[str], phases: dict[str, Phase]
) -> ElderOverrides:
    table = _table(ctx, "elder", data)
    _check_keys(ctx, "elder", table, "elder")
    over: tuple[Phase, ...] = ()
    if "phases" in table:
        over = _phases(ctx, "elder.phases", table["phases"], angles)
        for p in over:
            if p.name not in phases:
                raise ctx.fail(
                    _join("elder.phases", p.name),
                    f"unknown phase {p.name!r}; valid phases: {_names(phases)}",
                )
    return ElderOverrides(
        pace_s=_number(ctx, "elder.pace_s", table["pace_s"], positive=True)
        if "pace_s" in table
        else None,
        hold_target_s=_number(
            ctx, "elder.hold_target_s", table["hold_target_s"], positive=True
        )
        if "hold_target_s" in table
        else None,
        phases=over,
    )


def _partial(
    ctx: _Ctx,
    data: Any,
    angles: set[str],
    phases: dict[str, Phase],
    cycle: tuple[str, ...],
) -> PartialSpec:
    table = _table(ctx, "partial", data)
    _check_keys(ctx, "partial", table, "partial")
    if not cycle:
        raise ctx.fail(
            "partial", "only reps templates (with a cycle) have partial phases"
        )
    turning = cycle[1:-1]
    over = _phases(ctx, "partial.phases", table["phases"], angles)
    if not over:
        raise ctx.fail("partial.phases", "expected at least one phase")
    for p in over:
        if p.name not in turning:
            raise ctx.fail(
                _join("partial.phases", p.name),
                "only the cycle's turning phases can be partial; "
                f"valid: {_names(turning)}",
            )
    return PartialSpec(phases=over, cue=_text(ctx, "partial.cue", table["cue"]))


# --- public API ----------------------------------------------------------------
