# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Template authoring: a coach's demonstration in, a reps template out.

    draft = propose_template(window, template_id="wall_slide",
                             name={"en": "Wall slide", "zh-CN": "靠墙滑动"})
    draft.template          # the TOML layout as a dict; spec_from_dict validates it
    draft.reps              # the repetitions found, resampled, for the coach to review

Steps (`propose_template`):
1. Repetitions: the template-free counter (`exercises.counting.count_repetitions`) on
   each demonstration window; its rep bounds run from one rest position to the next.
2. Channels: the joint angles of `ANGLE_CATALOGUE` (elbow, shoulder, hip, knee), each
   on the side the demonstration shows best. An angle whose joints are visible in too
   few of the reps' frames is left out. Angles moving at least `min_moving_deg` within
   a rep (median over reps) are "moving"; the largest mover drives the phases. The
   others are "steady": they are scored too (a different movement that happens to bend
   the same joint moves them), and each gets a "keep it steady" form rule.
3. Trajectories: each rep's angles are resampled to `samples` points over normalised
   rep time (`exercises.alignment.resample`).
4. Reference: the DTW barycentre of the reps (DBA: start from the medoid rep, align
   every rep to the current average with `dtw_align`, replace each reference sample by
   the median of the samples aligned to it, repeat), so reps done at different speeds
   within the rep do not blur the turning point as a plain mean would.
5. Tolerance band per channel: the spread of the aligned reps around the reference
   where it is widest (the largest per-sample standard deviation, usually at the
   turning point, where depth is judged) times `tolerance_spread`, never below
   `tolerance_floor_deg` (one rep, or a very consistent coach, would otherwise give a
   band nobody else can stay in).
6. Phases: on the primary channel, "rest" holds near the ends of the reference and
   "peak" near its turning point, each within `phase_fraction` of the range of motion;
   the cycle is rest -> peak -> rest. Both are checked against the reference itself.
7. Pace: the median rep duration; the shortest accepted rep is half the fastest one.

The result is a `TemplateDraft` whose `template` dict is what the coach edits (name,
thresholds, cue texts) and saves; `exercises.spec.spec_from_dict` has already accepted
it. Angles are computed from the landmarks as the live engine sees them: isotropic, by
the window's own `aspect_wh` (`vision.geometry.isotropic`).

The steps live beside this module: `authoring_channels` (step 2's angles),
`authoring_cuts` (step 1's rest-to-rest cuts) and `authoring_reference` (steps 4-5:
the barycentre and the spread); this module chooses and assembles.

Core module: stdlib and numpy, plus vision.{types,geometry} and exercises.*; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import resample
from exercises.authoring_channels import (
    ANGLE_CATALOGUE,
    SIDES,
    AuthoringError,
    demo_trajectories,
    side_angles,
)
from exercises.authoring_cuts import segment_reps
from exercises.authoring_reference import (
    align_buckets,
    barycentre,
    fill_ends,
    nanstd_rows,
)
from exercises.counting import CounterParams, count_repetitions
from exercises.metrics import VIEWS
from exercises.signal import bridge_gaps
from exercises.spec import (
    POSTURES,
    ExerciseSpec,
    SpecError,
    spec_from_dict,
)
from vision.types import PoseWindow

__all__ = [
    "ANGLE_CATALOGUE",
    "AuthoringError",
    "AuthoringOptions",
    "DemoRep",
    "TemplateDraft",
    "cut_repetitions",
    "demo_trajectories",
    "propose_template",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


_PART_TEXT: Final[dict[str, dict[str, str]]] = {
    "elbow": {"en": "elbow", "zh-CN": "肘部"},
    "shoulder": {"en": "upper arm", "zh-CN": "上臂"},
    "hip": {"en": "hips", "zh-CN": "髋部"},
    "knee": {"en": "knees", "zh-CN": "膝盖"},
}

_DEFAULT_DESCRIPTION: Final[dict[str, str]] = {
    "en": "An exercise your coach demonstrated.",
    "zh-CN": "教练示范的练习。",
}
_DEFAULT_INSTRUCTIONS: Final[dict[str, str]] = {
    "en": "Follow the movement your coach showed you, at an even pace.",
    "zh-CN": "按照教练示范的动作，匀速完成。",
}


@dataclass(frozen=True, slots=True)
class AuthoringOptions:
    """Settings of `propose_template`.

    Attributes:
        samples: Reference samples over normalised rep time (5..101).
        tolerance_floor_deg: Smallest tolerance band, degrees.
        tolerance_spread: Band = this many standard deviations of the reps' spread
            (at its widest sample).
        min_moving_deg: A channel moving less within a rep (median) is steady.
        min_visible_fraction: A channel needs its joints visible in this fraction of
            the reps' frames.
        phase_fraction: Phase thresholds sit this fraction of the range of motion in
            from the rest and turning values.
        steady_rule_tolerances: A steady channel's form rule fires this many
            tolerances outside the reference's range.
        dba_iterations: Most barycentre refinements.
        counter: Settings of the template-free counter.
    """

    samples: int = 21
    tolerance_floor_deg: float = 10.0
    tolerance_spread: float = 2.0
    min_moving_deg: float = 25.0
    min_visible_fraction: float = 0.8
    phase_fraction: float = 0.3
    steady_rule_tolerances: float = 2.5
    dba_iterations: int = 8
    counter: CounterParams = field(default_factory=CounterParams)

    def __post_init__(self) -> None:
        if not 5 <= self.samples <= 101:
            raise ValueError(f"samples must be in 5..101, got {self.samples}")
        if not self.tolerance_floor_deg > 0 or not self.tolerance_spread > 0:
            raise ValueError(
                "tolerance_floor_deg and tolerance_spread must be > 0, got "
                f"{self.tolerance_floor_deg}, {self.tolerance_spread}"
            )
        if not 0.05 <= self.phase_fraction <= 0.45:
            raise ValueError(
                f"phase_fraction must be in [0.05, 0.45], got {self.phase_fraction}"
            )
        if not 0 < self.min_visible_fraction <= 1:
            raise ValueError(
                "min_visible_fraction must be in (0, 1], "
                f"got {self.min_visible_fraction}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class DemoRep:
    """One repetition found in the demonstration.

    Attributes:
        demo: Index of the demonstration window it came from.
        start_frame / end_frame: Its bounds in that window's frames (inclusive).
        start_ms / end_ms: The same as capture times.
        values: (R, K) float32, the channels resampled over normalised rep time,
            degrees (K = the draft's channels, in order).
        cost: Mean DTW cost against the reference, in tolerances.
    """

    demo: int
    start_frame: int
    end_frame: int
    start_ms: int
    end_ms: int
    values: F32
    cost: float

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True, eq=False)
class TemplateDraft:
    """What `propose_template` proposes.

    Attributes:
        template: The template in the TOML layout (`spec_from_dict` accepts it).
        spec: The validated spec.
        channels: Channel names, in column order.
        primary: The channel that drives the phases.
        moving: Channels that move within a rep (the others are steady).
        sides: The side each channel was read on in the demonstration.
        reps: The repetitions found.
        t: (R,) normalised rep time of the reference samples.
        reference: (R, K) float32, degrees.
        spread: (R, K) float32, the reps' standard deviation around each reference
            sample, degrees (0 with one rep).
        tolerance: (K,) float32, degrees.
        range_of_motion_deg: Median within-rep excursion per channel.
        counter_count: What the template-free counter counted in the same windows
            (for comparison; the repetitions above are cut on the primary angle).
    """

    template: dict[str, Any]
    spec: ExerciseSpec
    channels: tuple[str, ...]
    primary: str
    moving: tuple[str, ...]
    sides: dict[str, str]
    reps: tuple[DemoRep, ...]
    t: F64
    reference: F32
    spread: F32
    tolerance: F32
    range_of_motion_deg: dict[str, float]
    counter_count: int = 0


# --- the template ---------------------------------------------------------------------


def _round(x: float, step: float = 0.5) -> float:
    return float(round(x / step) * step)


def _phases(
    ref: F32, options: AuthoringOptions
) -> tuple[dict[str, float], dict[str, float]]:
    """(rest condition, peak condition) on the primary channel, in template keys."""
    ends = (float(ref[0]), float(ref[-1]))
    high_rest = float(np.mean(ends)) >= float(np.mean(ref))
    f = options.phase_fraction
    if high_rest:  # rest is the large angle, the turn the smallest
        rest_level, turn = min(ends), float(np.min(ref))
        rom = rest_level - turn
        rest = {"min_deg": _round(rest_level - f * rom - 0.25, 0.5)}
        peak = {"max_deg": _round(turn + f * rom + 0.25, 0.5)}
        if rest["min_deg"] > rest_level:  # rounding must not lose the ends
            rest["min_deg"] = math.floor(rest_level)
    else:
        rest_level, turn = max(ends), float(np.max(ref))
        rom = turn - rest_level
        rest = {"max_deg": _round(rest_level + f * rom + 0.25, 0.5)}
        peak = {"min_deg": _round(turn - f * rom - 0.25, 0.5)}
        if rest["max_deg"] < rest_level:
            rest["max_deg"] = math.ceil(rest_level)
    return rest, peak


def _steady_rule(
    name: str, ref: F32, tolerance: float, margin: float
) -> dict[str, Any]:
    part = _PART_TEXT.get(name, {"en": name, "zh-CN": name})
    rule: dict[str, Any] = {"id": f"keep_{name}_steady", "angle": name}
    above = float(np.max(ref)) + margin * tolerance
    below = float(np.min(ref)) - margin * tolerance
    if above < 180.0:
        rule["above"] = _round(above, 1.0)
    if below > 0.0:
        rule["below"] = _round(below, 1.0)
    if "above" not in rule and "below" not in rule:
        rule["above"] = 179.0
    rule.update(
        {
            "during": ["rep"],
            "severity": "minor",
            "min_duration_ms": 300,
            "text": {
                "en": f"Keep your {part['en']} steady.",
                "zh-CN": f"保持{part['zh-CN']}稳定。",
            },
        }
    )
    return rule


def _text(
    value: Mapping[str, str] | None, default: Mapping[str, str]
) -> dict[str, str]:
    out = dict(default)
    if value:
        out.update({k: v for k, v in value.items() if isinstance(v, str) and v.strip()})
    return out


def _choose_channels(
    windows: Sequence[PoseWindow],
    per_window: Sequence[dict[str, dict[str, F32]]],
    options: AuthoringOptions,
) -> tuple[dict[str, str], dict[str, float]]:
    """(side per channel seen well enough, its 5-95th percentile span in degrees)."""
    present = [np.any(w.visibility > 0, axis=1) for w in windows]
    total = max(1, sum(int(np.count_nonzero(p)) for p in present))
    sides: dict[str, str] = {}
    spans: dict[str, float] = {}
    for angle in ANGLE_CATALOGUE:
        if not all(angle in p for p in per_window):
            continue
        seen = {
            side: sum(
                int(np.count_nonzero(~np.isnan(p[angle][side]))) for p in per_window
            )
            for side in SIDES
        }
        side = max(seen, key=lambda k: seen[k])
        if seen[side] < max(4, options.min_visible_fraction * total):
            continue
        sides[angle] = side
        values = np.concatenate([p[angle][side] for p in per_window])
        values = values[~np.isnan(values)].astype(np.float64)
        spans[angle] = float(np.percentile(values, 95) - np.percentile(values, 5))
    if not sides:
        raise AuthoringError(
            "expected a joint angle (elbow, shoulder, hip or knee) seen in at least "
            f"{options.min_visible_fraction:.0%} of the frames, got none"
        )
    return sides, spans


def cut_repetitions(
    window: PoseWindow, *, options: AuthoringOptions | None = None
) -> tuple[str, str, list[tuple[int, int]]]:
    """Rest-to-rest repetitions of whatever a window shows, cut on its largest-moving
    catalogue angle (as `propose_template` cuts a demonstration).

    Returns:
        (channel, side, [(first frame, last frame), ...]).

    Raises:
        AuthoringError: no catalogue angle is seen well enough, or the one moving
            most moves less than `options.min_moving_deg` (5th to 95th percentile).
    """
    options = options or AuthoringOptions()
    per_side = side_angles(window)
    sides, spans = _choose_channels([window], [per_side], options)
    primary = max(sides, key=lambda c: spans[c])
    if spans[primary] < options.min_moving_deg:
        # Cut on an angle that barely moves, the cuts would be noise (a press seen
        # from the side whose arms are hidden in a third of the frames: its hip sways
        # 11 deg); a demonstration gets the same rule in `propose_template`.
        raise AuthoringError(
            f"expected a joint angle moving at least {options.min_moving_deg:g} deg, "
            f"got at most {spans[primary]:.0f} deg ({primary})"
        )
    period = count_repetitions(window, params=options.counter).period_frames
    return (
        primary,
        sides[primary],
        segment_reps(per_side[primary][sides[primary]], period),
    )


def propose_template(
    demos: PoseWindow | Sequence[PoseWindow],
    *,
    template_id: str,
    name: Mapping[str, str] | None = None,
    description: Mapping[str, str] | None = None,
    instructions: Mapping[str, str] | None = None,
    view: str = "any",
    posture: str = "standing",
    options: AuthoringOptions | None = None,
) -> TemplateDraft:
    """Propose a reps template from one or more demonstrations of an exercise.

    Args:
        demos: The coach's demonstration(s): PoseWindows of one person (any skeleton
            with shoulders, elbows and wrists, or hips, knees and ankles), at least
            two full repetitions in all (the counter needs two periods to see one).
        template_id: The new template's id (lowercase letters, digits, _).
        name / description / instructions: Texts by language ("en", "zh-CN");
            missing languages get a placeholder the coach should edit (the name
            defaults to the id).
        view: Camera view the exercise needs: "front", "side" or "any".
        posture: One of `exercises.spec.POSTURES`.
        options: `AuthoringOptions`.

    Returns:
        A `TemplateDraft`; `draft.template` passes `spec_from_dict`.

    Raises:
        AuthoringError: no repetition found, no joint angle seen well enough, or the
            proposal does not validate (the message says why).
        ValueError: bad arguments (view, posture).
    """
    options = options or AuthoringOptions()
    windows = [demos] if isinstance(demos, PoseWindow) else list(demos)
    if not windows:
        raise AuthoringError("expected at least one demonstration window, got none")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    if posture not in POSTURES:
        raise ValueError(
            f"posture must be one of {', '.join(POSTURES)}, got {posture!r}"
        )

    # 1. channels: joint angles seen on the better side in enough of the frames
    per_window = [side_angles(w) for w in windows]
    sides, spans = _choose_channels(windows, per_window, options)
    primary = max(sides, key=lambda c: spans[c])
    channels = tuple(sides)

    # 2. repetitions: the counter's period, rest-to-rest cycles of the primary angle
    found: list[tuple[int, int, int]] = []  # (window, start, end)
    counted = 0
    for w, window in enumerate(windows):
        if len(window) < 2:
            continue
        count = count_repetitions(window, params=options.counter)
        counted += count.count
        bounds = segment_reps(
            per_window[w][primary][sides[primary]], count.period_frames
        )
        found += [(w, s, e) for s, e in bounds]
    if not found:
        frames = sum(len(w) for w in windows)
        raise AuthoringError(
            "expected at least one full repetition from rest and back (demonstrate "
            f"three or more), got none in {frames} frames"
        )

    # 3. trajectories over normalised rep time
    reps_raw: list[F32] = []
    timing: list[tuple[int, int, int, int, int]] = []
    for w, s, e in found:
        cols = np.stack(
            [
                bridge_gaps(per_window[w][c][sides[c]], hold_ends=False)[s : e + 1]
                for c in channels
            ],
            axis=1,
        ).astype(np.float32)
        reps_raw.append(np.ascontiguousarray(resample(cols, options.samples)))
        ts = windows[w].timestamp_ms
        timing.append((w, s, e, int(ts[s]), int(ts[e])))
    excursion = {
        c: float(
            np.median(
                [
                    np.nanmax(r[:, k]) - np.nanmin(r[:, k])
                    if np.any(~np.isnan(r[:, k]))
                    else 0.0
                    for r in reps_raw
                ]
            )
        )
        for k, c in enumerate(channels)
    }
    if excursion[primary] < options.min_moving_deg:
        raise AuthoringError(
            f"expected a joint angle moving at least {options.min_moving_deg:g} deg "
            f"within a repetition, got at most {excursion[primary]:.0f} deg "
            f"({primary})"
        )
    moving = tuple(c for c in channels if excursion[c] >= options.min_moving_deg)

    # 4-5. reference and band
    floor = np.full(len(channels), options.tolerance_floor_deg, np.float32)
    reference = fill_ends(barycentre(reps_raw, floor, options.dba_iterations))
    reference = np.ascontiguousarray(np.clip(reference, 0.0, 180.0), np.float32)
    buckets, _ = align_buckets(reps_raw, reference, floor)
    spread = np.stack([nanstd_rows(np.stack(b)) for b in buckets]).astype(np.float32)
    widest = spread.astype(np.float64).max(axis=0)
    tolerance = np.maximum(floor, options.tolerance_spread * widest).astype(np.float32)
    tolerance = np.array([_round(float(v)) for v in tolerance], np.float32)
    _, costs = align_buckets(reps_raw, reference, tolerance)

    # 6-7. phases, pace, rules
    k_primary = channels.index(primary)
    rest, peak = _phases(reference[:, k_primary], options)
    durations_s = [(end - start) / 1000.0 for *_, start, end in timing]
    pace_s = max(0.5, _round(float(np.median(durations_s)), 0.1))
    min_rep_s = max(0.3, _round(0.5 * min(durations_s), 0.1))
    rules = [
        _steady_rule(
            c,
            reference[:, k],
            float(tolerance[k]),
            options.steady_rule_tolerances,
        )
        for k, c in enumerate(channels)
        if c not in moving
    ]
    required = sorted({j for c in channels for j in ANGLE_CATALOGUE[c]})
    t = np.linspace(0.0, 1.0, options.samples)
    template: dict[str, Any] = {
        "schema": 1,
        "id": template_id,
        "kind": "reps",
        "name": _text(name, {"en": template_id, "zh-CN": template_id}),
        "description": _text(description, _DEFAULT_DESCRIPTION),
        "instructions": _text(instructions, _DEFAULT_INSTRUCTIONS),
        "view": view,
        "posture": posture,
        "pace_s": pace_s,
        "min_rep_s": min_rep_s,
        "required_joints": required,
        "angles": {
            c: {"joints": list(ANGLE_CATALOGUE[c]), "side": "best"} for c in channels
        },
        "phases": {
            "rest": {primary: rest},
            "peak": {primary: peak},
        },
        "cycle": ["rest", "peak", "rest"],
        "reference": {
            "t": [round(float(x), 4) for x in t],
            **{
                c: [round(float(v), 1) for v in reference[:, k]]
                for k, c in enumerate(channels)
            },
            "tolerance": {c: float(tolerance[k]) for k, c in enumerate(channels)},
        },
    }
    if rules:
        template["rules"] = rules
    try:
        spec = spec_from_dict(template, source=f"<authored {template_id}>")
    except SpecError as exc:
        raise AuthoringError(f"the proposed template does not validate: {exc}") from exc
    reps = tuple(
        DemoRep(w, s, e, start, end, reps_raw[i], float(costs[i]))
        for i, (w, s, e, start, end) in enumerate(timing)
    )
    return TemplateDraft(
        template=template,
        spec=spec,
        channels=channels,
        primary=primary,
        moving=moving,
        sides=sides,
        reps=reps,
        t=t,
        reference=reference,
        spread=spread,
        tolerance=tolerance,
        range_of_motion_deg={c: round(excursion[c], 1) for c in channels},
        counter_count=counted,
    )
