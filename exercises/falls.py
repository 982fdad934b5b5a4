# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Fall detection for everyone in view: a fast drop of the hips from an upright stance
to a horizontal (or floor-level) body that does not get up again raises an alert for
staff; getting up clears it. Core module: stdlib and numpy; no clock, no I/O.

    monitor = FallMonitor()
    events = monitor.update(tracked_poses)     # FallDetected / FallCleared per track

What separates a fall from lying down on purpose (sit-ups, push-ups, bridges, planks,
getting onto a mat), each a named constant below with its reasoning:

1. A preceding upright stance: the torso within `UPRIGHT_MAX_DEG` of vertical. Lying
   exercises start on the floor; their top positions (a sit-up's) have the hips on the
   floor already, so no drop follows.
2. Speed of the hip drop relative to body size: from the last upright frame the hips
   fall at least `DROP_MIN_TORSO` torso lengths within `DROP_MAX_S`. Body size is the
   torso length measured while upright, so it is independent of the distance to the
   camera and of the foreshortening during the fall. People lower themselves to the
   floor in steps (kneel, hands down) taking several seconds, and while kneeling the
   torso is upright again, which moves the reference down with them. Time in which the
   person was not seen does not count against the drop (`UNSEEN_DROP_SPAN_S`): the
   pose model loses people mid-fall, and a loaded machine processes 1-2 frames a
   second, so a person last seen standing may reappear already lying.
3. The end posture: torso at least `DOWN_MIN_DEG` from vertical, or the hips at the
   level of the ankles (`FLOOR_HIP_TORSO`), reached within `DOWN_WITHIN_S` of the drop.
   Squats and sitting down keep the torso upright.
4. No recovery and no rhythm: the person stays down for `CONFIRM_S` without standing up
   and without the repeated movement of an exercise (`RHYTHM_*`: a burpee goes down
   fast, but comes straight back up; push-ups and sit-ups move rhythmically).
5. The exercise's posture when known: for lying exercises (`posture="supine"` or
   `"prone"`) the confirmation waits `LYING_CONFIRM_S`.

Coordinates: `PoseFrame` x/y are normalized by image width and height; the frames'
`aspect_wh` (stamped where the image was decoded) makes angles true
(`vision.geometry.isotropic`). With an unknown aspect (1.0) tilted torsos on a wide
picture look more upright than they are, so the detector errs towards not firing.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from exercises.events import Event, LocalizedText
from vision.geometry import isotropic
from vision.types import PoseFrame, Poses, Skeleton

__all__ = [
    "CONFIRM_S",
    "DOWN_MIN_DEG",
    "DROP_MAX_S",
    "DROP_MIN_TORSO",
    "FALL_MESSAGES",
    "MAX_GAP_S",
    "UNSEEN_DROP_SPAN_S",
    "UPRIGHT_MAX_DEG",
    "FallCleared",
    "FallDetected",
    "FallDetector",
    "FallMonitor",
    "FallState",
]

# --- thresholds ----------------------------------------------------------------------

UPRIGHT_MAX_DEG: Final[float] = 35.0
"""Torso (hips -> shoulders) within this of vertical is upright: standing, sitting,
kneeling. Standing trunk lean in daily activity and in squats stays under ~30-40 deg
near the top; 35 keeps a brisk forward lean from counting as 'not upright'."""

DOWN_MIN_DEG: Final[float] = 60.0
"""Torso at least this far from vertical is lying. Far from the upright limit (a gap
of 25 deg), so noise cannot flip a person between the two; a deep squat or a sit-to-
stand forward lean stays under ~50 deg."""

DROP_MIN_TORSO: Final[float] = 1.0
"""Hip drop, in upright torso lengths, that a fall must have. Standing hip height is
about 1.7 torso lengths (hips at ~0.53 of body height, torso ~0.3); a fall to the floor
drops the hips 1.3-1.7 after the trunk has left upright, a fall to sitting about 1.2."""

DROP_MAX_S: Final[float] = 1.0
"""...within this time from the last upright frame: falls take 0.5-1 s from loss of
balance to impact (hip speed 1.5-3 m/s, i.e. 3-6 torso lengths per second);
deliberately getting down to the floor takes several seconds, in stages."""

STANDING_HIP_TORSO: Final[float] = 1.3
"""The upright stance a fall starts from is standing: hips at least this many torso
lengths above the ankles (standing ~1.6-1.7, seated on a chair or bench ~0.8-1.0).
Lying back from a bench or a chair, or a sit-up's top position, is not a fall start.
Without visible ankles the stance is taken as standing."""

DOWN_WITHIN_S: Final[float] = 1.5
"""The lying (or floor) posture must be reached this soon after the drop (after missed
frames: timed to the last frame before them, see `UNSEEN_DROP_SPAN_S`)."""

UNSEEN_DROP_SPAN_S: Final[float] = 2.5
"""Missed frames: when frames of the person were missed (`MISSED_FRAME_RATIO`) and
they reappear down (lying, or on the floor) after last being seen not down, their hips
reached the new height at some moment between the last frame they were seen in and
this one, so the drop is timed up to that last frame (the least time it can have
taken) for `DROP_MAX_S` and `DOWN_WITHIN_S`, provided what was seen of it until then
went down at a fall's speed (`DROP_MIN_TORSO` per `DROP_MAX_S`: not someone kneeling
first); the whole span from the upright frame, unseen time included, is at most this.
Someone who reappears half-way (kneeling, leaning) gets no allowance: the rest of
their way down is seen. Measured offline (tests/exercises/fall_video.py: the group
screen's fall video through the real pose model and tracker, 4 phases of the frame
grid per rate): the model loses the falling man while he is tilted and re-finds him
lying, 1.33-2.0 s after he was last seen standing (or sinking) at 1.5 processed frames
per second, 2.0-2.5 s at 2 (re-finding takes it a frame or two); 2.5 s covers these.
At 1 frame per second it was 3-4 s: not covered. Getting down on purpose mostly takes
longer, in stages (kneel, sit, hands down; older adults 5 s or more), and the end
posture and `CONFIRM_S` still apply; but young people in the RepCount sit-up
sequences lie down within 1-2 s, and with just the wrong frames missed (every run of
1-3 missed frames tried at 1.5 and 2 frames per second) 2 of ~17,000 runs became an
alert that was not one before (runs at these rates that already alerted: ~200)."""

MISSED_FRAME_RATIO: Final[float] = 1.5
"""Frames of a person were missed when the time since their last frame is over this
many times their usual interval (the median of the last `INTERVAL_HISTORY`): the
server processes frames at a steady rate (1-4 a second on a kiosk), so a doubled
interval is a frame in which the model did not find them. Regular low-rate frames get
no allowance: each sees the person, so a descent in stages stays visible (a sit-up
sequence that starts with sitting down onto the mat within 1.5 s was an alert at 2
frames per second when every interval counted as unseen)."""

INTERVAL_HISTORY: Final[int] = 8
"""Intervals of the person's frames in the median (a few seconds at kiosk rates)."""

UNSEEN_MIN_S: Final[float] = 0.3
"""Intervals shorter than this are never unseen time: over ~3 frames a second see a
fall's drop (0.5-1 s) in several frames."""

FLOOR_HIP_TORSO: Final[float] = 0.35
"""Hips no higher than this many torso lengths above the ankles: sitting on the floor
(a fall onto the buttocks keeps the trunk upright). On a chair the hips are a shin's
length (~1.4 torso lengths) above the ankles."""

CONFIRM_S: Final[float] = 4.0
"""Time down without getting up before the alert: a stumble, a burpee or a quick sit
on the floor resolves within a couple of seconds; staff want to know within seconds
about a person who stays down."""

LYING_CONFIRM_S: Final[float] = 8.0
"""`CONFIRM_S` during a lying exercise (posture supine/prone): getting down onto the
mat quickly is then expected, so only a longer motionless stay down alerts."""

DOWN_FRACTION: Final[float] = 0.7
"""Share of the observed confirmation frames that must be down."""

RECOVER_S: Final[float] = 1.0
"""Upright (standing or seated, hips off the floor) this long clears a fall."""

RECOVER_HIP_TORSO: Final[float] = 0.8
"""Hips at least this many torso lengths above the ankles count as off the floor."""

RHYTHM_ANGLE_DEG: Final[float] = 25.0
RHYTHM_SHOULDER_TORSO: Final[float] = 0.3
"""Swings of the torso angle (sit-ups) or of the shoulders' height over the hips
(push-ups) at least this large are exercise movements; `RHYTHM_REVERSALS` of them
(one full cycle) during the confirmation window cancel the alert."""
RHYTHM_REVERSALS: Final[int] = 2

MAX_GAP_S: Final[float] = UNSEEN_DROP_SPAN_S
"""A person unseen (no frame with shoulders and hips) longer than this breaks the drop
sequence: what happened meanwhile is unknown (see `UNSEEN_DROP_SPAN_S`)."""

REFERENCE_S: Final[float] = 2.0
"""Upright torso length is the median over this much recent upright time."""

MIN_VISIBILITY: Final[float] = 0.5

FALL_MESSAGES: Final[dict[str, LocalizedText]] = {
    "detected": {
        "en": (
            "Possible fall: someone is down and has not got up. Please check on them."
        ),
        "zh-CN": "可能有人跌倒：有人倒地后没有起身，请立即查看。",
    },
    "cleared": {
        "en": "They are back up.",
        "zh-CN": "对方已经起身。",
    },
}


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FallDetected(Event):
    """A person fell and has stayed down for the confirmation time (staff alert).

    Attributes:
        track_id: Who (the tracker's ID; -1 for a single-person detector).
        message: Staff alert text, en and zh-CN.
        fall_ms: When the drop was seen (the first frame down after it).
        drop_torso_lengths: Hip drop in upright torso lengths.
        drop_duration_ms: Time from the last upright frame to the drop.
    """

    track_id: int
    message: LocalizedText
    fall_ms: int
    drop_torso_lengths: float
    drop_duration_ms: int


@dataclass(frozen=True, slots=True)
class FallCleared(Event):
    """The person from a `FallDetected` is up again.

    Attributes:
        track_id: Who.
        message: en and zh-CN.
        down_ms: Time from the fall to getting up.
    """

    track_id: int
    message: LocalizedText
    down_ms: int


class FallState(enum.IntEnum):
    OK = 0
    PENDING = 1  # dropped and down; waiting `CONFIRM_S` for a recovery
    FALLEN = 2  # alert raised; waiting to see them up


# --- per-person detector ----------------------------------------------------------


@dataclass(slots=True)
class _Sample:
    t: int
    hip_y: float
    torso_len: float
    angle_deg: float
    shoulder_over_hip: float  # in torso lengths, + = shoulders above hips
    hip_over_ankle: float  # in torso lengths; NaN without ankles


@dataclass(slots=True)
class _Pending:
    fall_ms: int
    drop: float
    drop_duration_ms: int
    ref_len: float
    samples: list[_Sample] = field(default_factory=list)


def _mid(xyz: np.ndarray, vis: np.ndarray, rows: tuple[int, int]) -> np.ndarray | None:
    ok = [r for r in rows if vis[r] >= MIN_VISIBILITY and np.isfinite(xyz[r, :2]).all()]
    if not ok:
        return None
    return np.asarray(xyz[ok, :2].mean(axis=0), np.float64)


def _reversals(values: list[float], amplitude: float) -> int:
    """Direction changes of a signal, each counted once it has moved back by at least
    `amplitude` from its last extreme (a zigzag filter; NaN skipped)."""
    count = 0
    direction = 0
    lo = hi = extreme = math.nan
    for v in values:
        if math.isnan(v):
            continue
        if direction == 0:
            lo = v if math.isnan(lo) else min(lo, v)
            hi = v if math.isnan(hi) else max(hi, v)
            if v - lo >= amplitude:
                direction, extreme = 1, v
            elif hi - v >= amplitude:
                direction, extreme = -1, v
        elif direction == 1:
            if v > extreme:
                extreme = v
            elif extreme - v >= amplitude:
                direction, extreme, count = -1, v, count + 1
        else:
            if v < extreme:
                extreme = v
            elif v - extreme >= amplitude:
                direction, extreme, count = 1, v, count + 1
    return count


class FallDetector:
    """Fall detection for one person (see the module docstring).

    Args:
        posture: The exercise's posture when known ("standing", "seated", "supine",
            "prone", "kneeling"), or None.
        track_id: Put into the events.
        skeleton: Joint layout of the frames.
    """

    def __init__(
        self,
        *,
        posture: str | None = None,
        track_id: int = -1,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    ) -> None:
        self.posture = posture
        self.track_id = int(track_id)
        self.skeleton = skeleton
        idx = skeleton.index
        self._shoulders = (idx("left_shoulder"), idx("right_shoulder"))
        self._hips = (idx("left_hip"), idx("right_hip"))
        self._ankles = (
            (idx("left_ankle"), idx("right_ankle"))
            if skeleton.has("left_ankle")
            else None
        )
        self.reset()

    def reset(self) -> None:
        self.state = FallState.OK
        self._upright: deque[_Sample] = deque()
        self._last: _Sample | None = None
        self._drop: tuple[int, float, int, float] | None = None  # t, drop, dur, len
        self._pending: _Pending | None = None
        self._fallen_ms = 0
        self._recover_since: int | None = None
        self._last_t: int | None = None
        self._seen: _Sample | None = None  # the last frame with a sample
        self._intervals: deque[int] = deque(maxlen=INTERVAL_HISTORY)

    @property
    def confirm_ms(self) -> int:
        lying = self.posture in ("supine", "prone")
        return round((LYING_CONFIRM_S if lying else CONFIRM_S) * 1000)

    def _sample(self, frame: PoseFrame) -> _Sample | None:
        xyz = isotropic(frame).xyz.astype(np.float64)
        vis = frame.visibility
        s = _mid(xyz, vis, self._shoulders)
        h = _mid(xyz, vis, self._hips)
        if s is None or h is None:
            return None
        d = s - h
        length = float(np.hypot(d[0], d[1]))
        if not length > 1e-6:
            return None
        angle = math.degrees(math.atan2(abs(d[0]), -d[1]))
        a = _mid(xyz, vis, self._ankles) if self._ankles else None
        hip_over_ankle = math.nan if a is None else float(a[1] - h[1])
        return _Sample(
            frame.timestamp_ms, float(h[1]), length, angle, -d[1], hip_over_ankle
        )

    def _reference_len(self) -> float:
        return float(np.median([u.torso_len for u in self._upright]))

    def _is_down(self, s: _Sample, ref_len: float) -> bool:
        floor = (
            not math.isnan(s.hip_over_ankle)
            and s.hip_over_ankle <= FLOOR_HIP_TORSO * ref_len
        )
        return s.angle_deg >= DOWN_MIN_DEG or floor

    def _is_up(self, s: _Sample, ref_len: float) -> bool:
        if s.angle_deg > UPRIGHT_MAX_DEG:
            return False
        return (
            math.isnan(s.hip_over_ankle)
            or s.hip_over_ankle >= RECOVER_HIP_TORSO * ref_len
        )

    def update(self, frame: PoseFrame) -> list[Event]:
        """Add one frame of this person; returns `FallDetected` / `FallCleared`.

        Raises:
            TypeError: not a PoseFrame.
            ValueError: a timestamp not after the previous one.
        """
        if not isinstance(frame, PoseFrame):
            raise TypeError(f"expected a PoseFrame, got {type(frame).__name__}")
        t = int(frame.timestamp_ms)
        if self._last_t is not None and t <= self._last_t:
            raise ValueError(
                f"timestamps must increase: got {t} ms after {self._last_t} ms"
            )
        self._last_t = t
        s = self._sample(frame)
        if s is None:
            return []
        previous, self._seen = self._seen, s
        unseen_after: _Sample | None = None  # last seen before missed frames
        if previous is not None:
            interval = t - previous.t
            if interval > MAX_GAP_S * 1000:
                self._upright.clear()
                self._drop = None
            elif (
                self._missed(interval)
                and self._looks_down(s)
                and not self._looks_down(previous)
            ):
                unseen_after = previous
            self._intervals.append(interval)
        events: list[Event] = []
        if self.state is FallState.FALLEN:
            self._watch_recovery(s, events)
            return events
        if self.state is FallState.PENDING:
            self._watch_pending(s, events)
            return events
        self._watch_drop(s, unseen_after)
        return events

    def _missed(self, interval_ms: int) -> bool:
        """Frames of the person were missed before this one (`MISSED_FRAME_RATIO`)."""
        if interval_ms <= UNSEEN_MIN_S * 1000 or not self._intervals:
            return False
        usual = float(np.median(self._intervals))
        return interval_ms > MISSED_FRAME_RATIO * usual

    def _looks_down(self, s: _Sample) -> bool:
        ref = self._reference_len() if self._upright else s.torso_len
        return self._is_down(s, ref)

    def _watch_drop(self, s: _Sample, unseen_after: _Sample | None) -> None:
        """`unseen_after`: the last frame before missed frames when the person
        reappears down (`UNSEEN_DROP_SPAN_S`), else None."""
        if self._upright and self._drop is None:
            ref_len = self._reference_len()
            recent = [
                u
                for u in self._upright
                if s.t - u.t <= DROP_MAX_S * 1000
                or (
                    unseen_after is not None
                    and s.t - u.t <= UNSEEN_DROP_SPAN_S * 1000
                    and self._falling_until(u, unseen_after, ref_len)
                )
            ]
            if recent:
                # From the highest upright hips of the last DROP_MAX_S: the trunk
                # may stay upright (a fall onto the buttocks) or tilt (sideways).
                top = min(recent, key=lambda u: u.hip_y)
                drop = (s.hip_y - top.hip_y) / ref_len
                if drop >= DROP_MIN_TORSO:
                    self._drop = (s.t, drop, s.t - top.t, ref_len)
        if self._drop is not None:
            t_drop, drop, duration, ref = self._drop
            since_t = s.t if unseen_after is None else max(unseen_after.t, t_drop)
            if since_t - t_drop > DOWN_WITHIN_S * 1000:
                self._drop = None
            elif self._is_down(s, ref):
                self.state = FallState.PENDING
                self._pending = _Pending(s.t, drop, duration, ref, [s])
                return
        if s.angle_deg <= UPRIGHT_MAX_DEG:
            self._upright.append(s)
            while self._upright and s.t - self._upright[0].t > REFERENCE_S * 1000:
                self._upright.popleft()
        if self._upright and not self._standing(s, self._reference_len()):
            # Seated or kneeling: the reference hips must be a standing person's.
            self._upright = deque(u for u in self._upright if u.t != s.t)

    @staticmethod
    def _falling_until(top: _Sample, last: _Sample, ref_len: float) -> bool:
        """From the upright `top` to `last` (the last frame before the person was
        missed) what was seen fits a fall under way: within `DROP_MAX_S`, the hips
        going down at least at the speed `DROP_MIN_TORSO` / `DROP_MAX_S` (a slow,
        staged descent, like kneeling first, is not)."""
        seen_s = (last.t - top.t) / 1000
        if seen_s < 0 or seen_s > DROP_MAX_S:
            return False
        return (last.hip_y - top.hip_y) / ref_len >= seen_s * (
            DROP_MIN_TORSO / DROP_MAX_S
        )

    def _standing(self, s: _Sample, ref_len: float) -> bool:
        return s.angle_deg <= UPRIGHT_MAX_DEG and (
            math.isnan(s.hip_over_ankle)
            or s.hip_over_ankle >= STANDING_HIP_TORSO * ref_len
        )

    def _watch_pending(self, s: _Sample, events: list[Event]) -> None:
        p = self._pending
        assert p is not None
        p.samples.append(s)
        if self._recent_up(p.samples, p.ref_len):
            self._to_ok()
            return
        angles = [x.angle_deg for x in p.samples]
        heights = [x.shoulder_over_hip / p.ref_len for x in p.samples]
        if (
            _reversals(angles, RHYTHM_ANGLE_DEG) >= RHYTHM_REVERSALS
            or _reversals(heights, RHYTHM_SHOULDER_TORSO) >= RHYTHM_REVERSALS
        ):
            self._to_ok()
            return
        if s.t - p.fall_ms >= self.confirm_ms:
            down = sum(self._is_down(x, p.ref_len) for x in p.samples)
            if down >= DOWN_FRACTION * len(p.samples):
                self.state = FallState.FALLEN
                self._fallen_ms = p.fall_ms
                self._recover_since = None
                events.append(
                    FallDetected(
                        s.t,
                        self.track_id,
                        dict(FALL_MESSAGES["detected"]),
                        p.fall_ms,
                        round(p.drop, 3),
                        p.drop_duration_ms,
                    )
                )
            else:
                self._to_ok()

    def _recent_up(self, samples: list[_Sample], ref_len: float) -> bool:
        """Up for the last `RECOVER_S` (at least two frames)."""
        last = samples[-1]
        run = 0
        for x in reversed(samples):
            if not self._is_up(x, ref_len):
                return False
            run += 1
            if last.t - x.t >= RECOVER_S * 1000 and run >= 2:
                return True
        return False

    def _to_ok(self) -> None:
        self.state = FallState.OK
        self._pending = None
        self._drop = None
        self._upright.clear()

    def _watch_recovery(self, s: _Sample, events: list[Event]) -> None:
        p = self._pending
        ref = p.ref_len if p is not None else s.torso_len
        if self._is_up(s, ref):
            if self._recover_since is None:
                self._recover_since = s.t
            if s.t - self._recover_since >= RECOVER_S * 1000:
                events.append(
                    FallCleared(
                        s.t,
                        self.track_id,
                        dict(FALL_MESSAGES["cleared"]),
                        s.t - self._fallen_ms,
                    )
                )
                self._to_ok()
        else:
            self._recover_since = None


# --- everyone in view -------------------------------------------------------------


class FallMonitor:
    """One `FallDetector` per track of tracked `Poses`.

    A person's detector is kept while their track is away (an alert stays raised
    until they are seen up again); `forget(track_id)` drops it.

    Args:
        posture: The exercise's posture when known (see `FallDetector`).
        skeleton: Joint layout.
    """

    def __init__(
        self,
        *,
        posture: str | None = None,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    ) -> None:
        self.posture = posture
        self.skeleton = skeleton
        self._detectors: dict[int, FallDetector] = {}

    @property
    def fallen(self) -> tuple[int, ...]:
        """Track IDs with a raised, not yet cleared, fall alert."""
        return tuple(
            k for k, d in sorted(self._detectors.items()) if d.state is FallState.FALLEN
        )

    def forget(self, track_id: int) -> None:
        self._detectors.pop(track_id, None)

    def update(self, poses: Poses) -> list[Event]:
        """Feed one frame of tracked poses.

        Raises:
            ValueError: a pose without a track ID (-1).
        """
        events: list[Event] = []
        for i, track_id in enumerate(poses.track_ids.tolist()):
            if track_id < 0:
                raise ValueError("FallMonitor needs tracked poses (track_ids >= 0)")
            det = self._detectors.get(track_id)
            if det is None:
                det = FallDetector(
                    posture=self.posture,
                    track_id=track_id,
                    skeleton=self.skeleton,
                )
                self._detectors[track_id] = det
            events += det.update(poses[i])
        return events
