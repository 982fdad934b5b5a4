# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The breathing rhythm read from the arms, and its comparison with the prescribed pace.

1. `ArmHeight`: per frame, (shoulder y - wrist y) / arm length for each arm seen,
   averaged: -1 hanging, 0 level with the shoulders, +1 straight up. The arm length is
   the longest shoulder-elbow-wrist length (isotropic image units) seen so far for that
   arm, because a raised arm pointing at the camera looks short. Only y is compared, so
   the signal works in front and side views alike, seated or standing.
2. `MoveDetector`: the arms' rises and falls between their holds. An extreme is
   confirmed once the signal has come back `HYSTERESIS` from it; the move into it runs
   from the moment the signal last left the previous extreme's band (`PLATEAU` of the
   swing) to the moment it first entered this one's (level crossings interpolated
   between frames), so holds at the top or bottom, and jitter within them, are not
   counted as movement. `finish()` reports the last move when the arms came to rest.
3. `breaths_from_moves`: a rise then a fall is one breath. Rise and fall times are
   divided by 1 - 2 * PLATEAU (the bands take that share of the swing off each end),
   and the moves' ends extrapolated likewise: exact for a steady movement; one that
   eases in and out reads about a quarter shorter, rise and fall alike, so their
   ratio holds. The breath's period runs from one rise's start to the next's (holds
   included).
4. `summarise`: the breaths against the programme: mean period against the prescribed
   one, out/in ratio (total fall / total rise), regularity (coefficient of variation of
   the periods), mean lag of the top against the end of the cued in-breath, and the
   one thing to say.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.breathing.programme import BreathingProgramme
from exercises.events import LocalizedText
from vision.types import PoseFrame

__all__ = [
    "HYSTERESIS",
    "PACE_TOLERANCE",
    "PLATEAU",
    "RATIO_TOLERANCE",
    "REGULAR_CV",
    "SETTLE_MS",
    "SUMMARY_MESSAGES",
    "ArmHeight",
    "Breath",
    "Move",
    "MoveDetector",
    "RhythmSummary",
    "breaths_from_moves",
    "detect_moves",
    "summarise",
]

HYSTERESIS: Final[float] = 0.25
"""A turn counts once the arms come back a quarter of an arm length from it: BlazePose's
wrist jitters about 0.01-0.02 arm lengths on a still arm; an arm raised only to chest
height still swings about 0.5."""

PLATEAU: Final[float] = 0.1
"""Share of the swing, from a top or bottom, that counts as being there (a hold)."""

SETTLE_MS: Final[float] = 300.0
"""At the end, the arms must have been at rest this long for the last move to count."""

PACE_TOLERANCE: Final[float] = 0.15
"""A mean breath within +-15 % of the prescribed one is on pace (our choice, no
published source: about one count in a 6-8 s breath)."""

RATIO_TOLERANCE: Final[float] = 0.25
"""The out-breath is long enough when the out/in ratio is at least 75 % of the
prescribed one (pursed-lip breathing asks for "4 or more counts" out: longer is
fine)."""

REGULAR_CV: Final[float] = 0.15
"""Breaths are even when their periods' coefficient of variation is at most 0.15 (our
choice)."""

_ARMS: Final[tuple[tuple[str, str, str], ...]] = (
    ("left_shoulder", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow", "right_wrist"),
)
F64 = npt.NDArray[np.float64]


class ArmHeight:
    """The arm-height signal of one person's frames (see the module docstring).

    Args:
        aspect_wh: Width / height of the images.
        min_visibility: Visibility from which a joint counts as seen.
    """

    def __init__(self, aspect_wh: float = 1.0, min_visibility: float = 0.5) -> None:
        self.aspect_wh = float(aspect_wh)
        self.min_visibility = float(min_visibility)
        self._length = [0.0, 0.0]

    def update(self, frame: PoseFrame) -> float:
        """The frame's arm height; NaN when no arm is seen."""
        sk = frame.skeleton
        values = []
        for k, names in enumerate(_ARMS):
            rows = [sk.index(n) for n in names]
            p = frame.xyz[rows, :2].astype(np.float64)
            if (
                not np.isfinite(p).all()
                or (frame.visibility[rows] < self.min_visibility).any()
            ):
                continue
            p[:, 0] *= self.aspect_wh
            length = float(np.hypot(*(p[1] - p[0])) + np.hypot(*(p[2] - p[1])))
            self._length[k] = max(self._length[k], length)
            if self._length[k] > 0:
                values.append((p[0, 1] - p[2, 1]) / self._length[k])
        return float(np.mean(values)) if values else math.nan


@dataclass(frozen=True, slots=True)
class Move:
    """One rise or fall of the arms, from one hold to the next.

    Attributes:
        kind: "rise" or "fall".
        start_ms: When the arms left the hold they came from (interpolated).
        end_ms: When they reached the next one.
        from_value: The signal's extreme at the hold they left.
        to_value: ... at the hold they reached.
    """

    kind: str
    start_ms: float
    end_ms: float
    from_value: float
    to_value: float


def _crossing(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which the segment (t0, v0)-(t1, v1) crosses `level`."""
    if v1 == v0:
        return t1
    return t0 + (level - v0) * (t1 - t0) / (v1 - v0)


class MoveDetector:
    """Online rises and falls of a signal between its holds (see the module
    docstring).

    A move is reported once the hold it ends in is confirmed: the signal has come back
    `hysteresis` from that hold's extreme. Between two extremes a and b (swing
    |b - a|), the move starts when the signal last leaves the band `plateau * swing`
    around a and ends when it first enters the band around b.

    Args:
        hysteresis: How far the signal must come back from an extreme to confirm it.
        plateau: Share of the swing that counts as being at an extreme.
    """

    def __init__(
        self, hysteresis: float = HYSTERESIS, plateau: float = PLATEAU
    ) -> None:
        self.hysteresis = float(hysteresis)
        self.plateau = float(plateau)
        self._t: list[float] = []
        self._v: list[float] = []
        self._seeking: str | None = None  # "top" or "bottom"; None: not yet known
        self._anchored = False  # _t[0], _v[0] is the last confirmed extreme

    def update(self, t_ms: float, value: float) -> Move | None:
        """Take one sample (NaN is skipped); returns a move when one is confirmed."""
        if not math.isfinite(value):
            return None
        self._t.append(float(t_ms))
        self._v.append(float(value))
        v = np.asarray(self._v)
        if self._seeking is None:
            lo, hi = int(np.argmin(v)), int(np.argmax(v))
            if value - v[lo] >= self.hysteresis:
                self._anchor(lo, "top")
            elif v[hi] - value >= self.hysteresis:
                self._anchor(hi, "bottom")
            return None
        top = self._seeking == "top"
        j = int(np.argmax(v) if top else np.argmin(v))
        back = (v[j] - value) if top else (value - v[j])
        if j == 0 or back < self.hysteresis:
            return None
        band = self.plateau * abs(float(v[j] - v[0]))
        if back <= band:
            return None
        move = self._move(v, j)
        self._anchor(j, "bottom" if top else "top")
        return move

    def finish(self) -> Move | None:
        """At the end: the move into a hold the signal reached and stayed in (for
        `SETTLE_MS`, its last samples' median inside the hold's band), if any."""
        if self._seeking is None or not self._v:
            return None
        v = np.asarray(self._v)
        top = self._seeking == "top"
        j = int(np.argmax(v) if top else np.argmin(v))
        swing = abs(float(v[j] - v[0]))
        if j == 0 or swing < self.hysteresis:
            return None
        move = self._move(v, j)
        recent = v[np.asarray(self._t) >= self._t[-1] - SETTLE_MS]
        settled = abs(float(np.median(recent)) - float(v[j])) <= self.plateau * swing
        if self._t[-1] - move.end_ms < SETTLE_MS or not settled:
            return None  # still moving, or not there long enough
        self._seeking, self._t, self._v = None, [], []
        return move

    def _anchor(self, i: int, seeking: str) -> None:
        self._t, self._v = self._t[i:], self._v[i:]
        self._seeking = seeking

    def _move(self, v: F64, j: int) -> Move:
        t = self._t
        seg = v[: j + 1]
        a, b = float(v[0]), float(v[j])
        band = self.plateau * abs(b - a)
        rising = b > a
        la, lb = (a + band, b - band) if rising else (a - band, b + band)
        beyond_a = seg > la if rising else seg < la
        before_b = seg < lb if rising else seg > lb
        m = int(np.flatnonzero(~before_b)[0])  # first sample at b's level (m > 0)
        k = int(np.flatnonzero(~beyond_a[:m])[-1])  # last at a's level before it
        start = _crossing(t[k], v[k], t[k + 1], v[k + 1], la)
        end = _crossing(t[m - 1], v[m - 1], t[m], v[m], lb)
        return Move("rise" if rising else "fall", start, end, a, b)


def detect_moves(
    times_ms: Sequence[float] | F64,
    values: Sequence[float] | F64,
    *,
    hysteresis: float = HYSTERESIS,
    plateau: float = PLATEAU,
) -> list[Move]:
    """Every move of a whole signal, the last one included (`MoveDetector` run over
    it, then `finish`)."""
    detector = MoveDetector(hysteresis, plateau)
    moves = []
    for t, v in zip(times_ms, values, strict=True):
        move = detector.update(float(t), float(v))
        if move is not None:
            moves.append(move)
    last = detector.finish()
    if last is not None:
        moves.append(last)
    return moves


@dataclass(frozen=True, slots=True)
class Breath:
    """One breath read from the arms: a rise, then a fall.

    Times are the movement's own ends, extrapolated from the band crossings (each
    crossing is PLATEAU of the move's duration inside it): exact for steady moves.

    Attributes:
        start_ms: When the arms started to rise.
        top_ms: Middle of the hold at the top.
        inhale_s: Rise time (the in-breath).
        exhale_s: Fall time (the out-breath).
        top_hold_s: Time between reaching the top and leaving it.
        period_s: From this rise's start to the next one's; None for the last.
        swing: Height of the rise and the fall, averaged, arm lengths.
    """

    start_ms: float
    top_ms: float
    inhale_s: float
    exhale_s: float
    top_hold_s: float
    period_s: float | None
    swing: float


def _ends(move: Move, plateau: float) -> tuple[float, float, float]:
    """(start, end, duration) of a move, in ms, extrapolated past its band
    crossings."""
    duration = (move.end_ms - move.start_ms) / (1.0 - 2.0 * plateau)
    margin = plateau * duration
    return move.start_ms - margin, move.end_ms + margin, duration


def breaths_from_moves(moves: Sequence[Move], plateau: float = PLATEAU) -> list[Breath]:
    """The breaths of a move sequence: each rise followed by a fall (see the module
    docstring)."""
    rises = [k for k, m in enumerate(moves) if m.kind == "rise"]
    out = []
    for n, k in enumerate(rises):
        if k + 1 >= len(moves) or moves[k + 1].kind != "fall":
            continue
        up, down = moves[k], moves[k + 1]
        up0, up1, rise = _ends(up, plateau)
        down0, _, fall = _ends(down, plateau)
        nxt = rises[n + 1] if n + 1 < len(rises) else None
        period = None if nxt is None else (_ends(moves[nxt], plateau)[0] - up0) / 1000.0
        out.append(
            Breath(
                start_ms=up0,
                top_ms=0.5 * (up1 + down0),
                inhale_s=rise / 1000.0,
                exhale_s=fall / 1000.0,
                top_hold_s=(down0 - up1) / 1000.0,
                period_s=period,
                swing=0.5
                * ((up.to_value - up.from_value) + (down.from_value - down.to_value)),
            )
        )
    return out


SUMMARY_MESSAGES: Final[dict[str, LocalizedText]] = {
    "not_seen": {
        "en": "I could not see your arms rise and fall. Next time, raise your arms as "
        "you breathe in and lower them as you breathe out.",
        "zh-CN": "我没有看到您的双臂抬起和放下。下次请吸气时抬起双臂，呼气时放下双臂。",
    },
    "few": {
        "en": "I saw only a few of your breaths. Keep your arms in view of the camera "
        "and follow the pace to the end.",
        "zh-CN": "我只看到了您的几次呼吸。请让双臂保持在画面里，跟着节奏做到最后。",
    },
    "slow_down": {
        "en": "You breathed faster than the pace. Slow down and follow the count.",
        "zh-CN": "您的呼吸比节奏快了。请放慢，跟着口令做。",
    },
    "keep_up": {
        "en": "You breathed more slowly than the pace. Follow the count on the screen.",
        "zh-CN": "您的呼吸比节奏慢了。请跟着屏幕上的口令做。",
    },
    "longer_out": {
        "en": "Make the out-breath longer: breathe out slowly, lowering your arms "
        "gently.",
        "zh-CN": "呼气再长一些：慢慢呼气，双臂轻轻放下。",
    },
    "even": {
        "en": "Try to keep every breath the same length.",
        "zh-CN": "尽量让每次呼吸的长短一样。",
    },
    "well_done": {
        "en": "Well done: an even rhythm at the right pace.",
        "zh-CN": "做得很好：节奏均匀，快慢合适。",
    },
}


@dataclass(frozen=True, slots=True)
class RhythmSummary:
    """The person's rhythm against the programme's.

    Attributes:
        breaths: Every breath seen.
        prescribed_inhale_s, prescribed_exhale_s, prescribed_cycles: The programme's.
        period_s: Mean breath (NaN when fewer than two breaths were seen).
        period_error_pct: (period - prescribed) / prescribed * 100.
        ratio: Total out-breath / total in-breath (NaN without breaths).
        regularity_cv: Coefficient of variation of the periods (NaN under 3 periods).
        lag_s: Mean time from the end of a cued in-breath to the top (+ = late).
        on_pace, long_out, even: The three judgements (False when unknown).
        tip: Key of `SUMMARY_MESSAGES`, the one thing to say.
        message: Its text.
    """

    breaths: tuple[Breath, ...]
    prescribed_inhale_s: float
    prescribed_exhale_s: float
    prescribed_cycles: int
    period_s: float
    period_error_pct: float
    ratio: float
    regularity_cv: float
    lag_s: float
    on_pace: bool
    long_out: bool
    even: bool
    tip: str
    message: LocalizedText


def _lag_s(tops_ms: list[float], cue_tops_ms: Sequence[float]) -> float:
    if not tops_ms or not cue_tops_ms:
        return math.nan
    cues = np.asarray(cue_tops_ms, np.float64)
    lags = [t - cues[int(np.argmin(np.abs(cues - t)))] for t in tops_ms]
    return float(np.mean(lags)) / 1000.0


def summarise(
    breaths: Sequence[Breath],
    programme: BreathingProgramme,
    *,
    pace_scale: float = 1.0,
    cue_tops_ms: Sequence[float] = (),
) -> RhythmSummary:
    """Compare breaths with the programme (see the module docstring).

    Args:
        breaths: What was seen.
        programme: What was prescribed.
        pace_scale: The session's slowing of the programme (elder pace).
        cue_tops_ms: When each cued in-breath ended (for the lag).
    """
    inhale = programme.inhale_s * pace_scale
    exhale = programme.exhale_s * pace_scale
    periods = [b.period_s for b in breaths if b.period_s is not None]
    period = float(np.mean(periods)) if periods else math.nan
    rise = sum(b.inhale_s for b in breaths)
    fall = sum(b.exhale_s for b in breaths)
    ratio = fall / rise if rise > 0 else math.nan
    cv = (
        float(np.std(periods, ddof=1) / np.mean(periods))
        if len(periods) >= 3
        else math.nan
    )
    prescribed = inhale + exhale
    error = (period - prescribed) / prescribed * 100.0
    on_pace = bool(abs(error) <= PACE_TOLERANCE * 100.0)
    long_out = bool(ratio >= (1.0 - RATIO_TOLERANCE) * exhale / inhale)
    even = bool(cv <= REGULAR_CV)
    if not breaths:
        tip = "not_seen"
    elif len(breaths) < max(2, programme.cycles // 2):
        tip = "few"
    elif error < -PACE_TOLERANCE * 100.0:
        tip = "slow_down"
    elif error > PACE_TOLERANCE * 100.0:
        tip = "keep_up"
    elif not long_out:
        tip = "longer_out"
    elif math.isfinite(cv) and not even:
        tip = "even"
    else:
        tip = "well_done"
    return RhythmSummary(
        breaths=tuple(breaths),
        prescribed_inhale_s=inhale,
        prescribed_exhale_s=exhale,
        prescribed_cycles=programme.cycles,
        period_s=period,
        period_error_pct=error,
        ratio=ratio,
        regularity_cv=cv,
        lag_s=_lag_s([b.top_ms for b in breaths], cue_tops_ms),
        on_pace=on_pace,
        long_out=long_out,
        even=even,
        tip=tip,
        message=dict(SUMMARY_MESSAGES[tip]),
    )
