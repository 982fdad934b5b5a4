"""Template-guided repetition counting: what an exercise template knows about the
movement, with thresholds relative to the range actually observed.

    result = count_with_template(window, get_spec("squat"))
    result.count, result.rep_bounds, result.source

The session (`exercises.session`) counts a repetition when the template's channels
cross absolute thresholds (a squat is "down" below a hip height ratio of 1.65). That is
right for form coaching, but it misses repetitions whenever the channels are distorted
(poses normalised per axis, the camera at an angle) or the person moves through part of
the range (crunch-like sit-ups, half push-ups). This counter keeps from the template
what does not depend on the absolute numbers:

- which channels carry the movement: those of the rep cycle's phase conditions (the
  session's own smoothed, side-resolved values, `exercises.analysis.channel_trace`);
- which end of their range is rest: the cycle's first phase (a squat's `up` has a
  `min` on the hip height ratio, so rest is the high end and a repetition goes down
  and back);
- the smallest movement that is a repetition: half the gap between the rest phase's
  and the turning phase's thresholds (the band the session's hysteresis spans; smaller
  swings of the channel are noise, e.g. standing still, while a partial range on
  distorted poses still counts);
- the pace: periods longer than `PACE_LIMIT` (3) times the template's (or elder)
  pace are not considered.

It hands these to the template-free counter (`exercises.counting.count_repetitions`)
as `Guide`s: the template's channel is counted with the free counter's relative
hysteresis (drift removed, scaled by the local range, period from the
autocorrelation) when it is nearly as periodic as the best free candidate
(`CounterParams.guide_strength`); otherwise the best free candidate is counted,
oriented like the template's channel. Either way the free counter's period estimate
(the most periodic candidate, local periods where the pace changes) is the check on
the template's channel, and gaps without a person are bridged, never counted.

Core module: stdlib and numpy, no I/O.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.analysis import channel_trace
from exercises.counting import CounterParams, Guide, count_repetitions
from exercises.spec import ExerciseSpec, Phase, get_spec
from vision.types import PoseWindow

__all__ = [
    "PACE_LIMIT",
    "GuideChannel",
    "TemplateCount",
    "count_with_template",
    "template_guides",
]

F32 = npt.NDArray[np.float32]

# The slowest repetition considered, in template paces.
PACE_LIMIT = 3.0
# The least repetition, in rest-to-turn threshold gaps of the template.
_LEAST = 0.5


@dataclass(frozen=True, slots=True)
class GuideChannel:
    """A template channel that carries the repetition.

    Attributes:
        name: Angle or metric name.
        sign: +1 if a repetition takes it up from rest and back, -1 if down.
        min_range: Smallest excursion that is a repetition, in its unit.
    """

    name: str
    sign: float
    min_range: float


@dataclass(frozen=True, slots=True, eq=False)
class TemplateCount:
    """Result of `count_with_template`.

    Attributes:
        count: Complete repetitions.
        rep_bounds: (start_frame, end_frame) per repetition, in window frames.
        period_frames: Estimated period in frames (NaN if none).
        source: The counted signal: "guide:<channel>" for a template channel, else
            the free candidate ("pc0".., an angle name).
        signal: (T,) float32, the normalised counted signal (NaN in gaps).
        guides: The template channels that were offered.
    """

    count: int
    rep_bounds: list[tuple[int, int]]
    period_frames: float
    source: str
    signal: F32
    guides: tuple[GuideChannel, ...]


def _bound(phase: Phase, key: str) -> tuple[float | None, float | None]:
    for c in phase.conditions:
        if c.key == key:
            return c.min, c.max
    return None, None


def template_guides(spec: ExerciseSpec) -> tuple[GuideChannel, ...]:
    """The channels of a rep template's cycle, with their direction and least range.

    A channel qualifies when the rest phase (the cycle's first) and the turning phase
    (its second) bound it from opposite sides (rest `min`, turn `max` or the reverse).
    Empty for holds, sequences and cycles without such a channel."""
    if spec.kind != "reps" or len(spec.cycle) < 3:
        return ()
    phases = {p.name: p for p in spec.phases}
    rest, turn = phases[spec.cycle[0]], phases[spec.cycle[1]]
    out = []
    for cond in turn.conditions:
        rest_min, rest_max = _bound(rest, cond.key)
        if rest_min is not None and cond.max is not None:
            out.append(GuideChannel(cond.key, -1.0, _LEAST * (rest_min - cond.max)))
        elif rest_max is not None and cond.min is not None:
            out.append(GuideChannel(cond.key, 1.0, _LEAST * (cond.min - rest_max)))
    return tuple(out)


def _fps(window: PoseWindow) -> float:
    ts = np.asarray(window.timestamp_ms, np.float64)
    steps = np.diff(ts)
    steps = steps[steps > 0]
    return 1000.0 / float(np.median(steps)) if steps.size else math.nan


def count_with_template(
    window: PoseWindow,
    spec: ExerciseSpec | str,
    *,
    params: CounterParams | None = None,
    elder_mode: bool = False,
    pace_limit: float | None = PACE_LIMIT,
) -> TemplateCount:
    """Count a rep template's repetitions with thresholds relative to the observed
    range (see the module docstring).

    Args:
        window: The subject's frames (any skeleton the template's joints exist in).
        spec: A rep template or a built-in template id.
        params: Settings of the underlying free counter (its defaults otherwise; the
            slowest period is capped by the template's pace).
        elder_mode: Use the template's elder pace for the pace cap.
        pace_limit: The slowest repetition considered, in template paces (None: no
            cap beyond `params.max_period_frames`).

    Raises:
        UnknownExerciseError: `spec` is an unknown id.
        ValueError: the skeleton lacks joints the template needs.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    guides = template_guides(spec)
    params = params or CounterParams()
    n = len(window)
    values: dict[str, npt.NDArray[np.float64]] = {}
    if guides:
        trace = channel_trace(window, spec, elder_mode=elder_mode)
        # The trace skips frames repeating a timestamp: place rows by timestamp.
        rows = np.searchsorted(trace.timestamp_ms, window.timestamp_ms)
        rows = np.clip(rows, 0, max(len(trace.timestamp_ms) - 1, 0))
        for g in guides:
            column = np.full(n, np.nan)
            if g.name in trace.channels and len(trace.timestamp_ms):
                k = trace.channels.index(g.name)
                column = trace.values[rows, k].astype(np.float64)
            values[g.name] = column
    pace = spec.pace_s
    if elder_mode and spec.elder.pace_s is not None:
        pace = max(pace, spec.elder.pace_s)
    fps = _fps(window)
    if pace_limit is not None and math.isfinite(fps):
        longest = round(pace_limit * pace * fps)
        longest = max(params.min_period_frames, min(params.max_period_frames, longest))
        params = dataclasses.replace(params, max_period_frames=longest)
    result = count_repetitions(
        window,
        params=params,
        guides=tuple(
            Guide(g.name, values[g.name], g.sign, g.min_range) for g in guides
        ),
    )
    return TemplateCount(
        count=result.count,
        rep_bounds=result.rep_bounds,
        period_frames=result.period_frames,
        source=result.source,
        signal=result.signal,
        guides=guides,
    )
