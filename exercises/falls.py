"""Fall detection for everyone in view: a fast drop of the hips from an upright stance
to a horizontal (or floor-level) body that does not get up again raises an alert for
staff; getting up clears it. Core module: stdlib and numpy; no clock, no I/O.

    monitor = FallMonitor()
    events = monitor.update(tracked_poses)     # FallDetected / FallCleared per track

What separates a fall from lying down on purpose (sit-ups, push-ups, bridges, planks,
getting onto a mat), each a named constant with its reasoning in `exercises.fall_rules`:

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

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from exercises.events import Event
from exercises.fall_rules import (
    CONFIRM_S,
    DOWN_FRACTION,
    DOWN_MIN_DEG,
    DOWN_WITHIN_S,
    DROP_MAX_S,
    DROP_MIN_TORSO,
    FALL_MESSAGES,
    FLOOR_HIP_TORSO,
    INTERVAL_HISTORY,
    LYING_CONFIRM_S,
    MAX_GAP_S,
    MIN_VISIBILITY,
    MISSED_FRAME_RATIO,
    RECOVER_HIP_TORSO,
    RECOVER_S,
    REFERENCE_S,
    RHYTHM_ANGLE_DEG,
    RHYTHM_REVERSALS,
    RHYTHM_SHOULDER_TORSO,
    STANDING_HIP_TORSO,
    UNSEEN_DROP_SPAN_S,
    UNSEEN_MIN_S,
    UPRIGHT_MAX_DEG,
    FallCleared,
    FallDetected,
    FallState,
)
from vision.clock import VideoClock
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
        self._clock = VideoClock()
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
        t = self._clock.advance(int(frame.timestamp_ms))
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
