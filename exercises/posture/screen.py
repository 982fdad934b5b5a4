# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The guided standing posture screen: a sans-I/O state machine.

    screen = PostureScreen(ScreenOptions(aspect_wh=16 / 9, stature_cm=158.0))
    events = screen.feed(frame)          # -> list[Event]; time is frame.timestamp_ms
    screen.result                        # PostureResult once done

Steps, one per view (front, then back by default), then "done":

1. `PostureStepChanged` with the instruction to show and speak.
2. Every frame is judged: nobody in view, joints cut off ("step_back"), too small
   ("step_closer"), side on or the wrong way round ("face_camera" / "turn_back"), arms
   raised ("arms_down"); the verdict is announced by `PostureGuidanceChanged` when it
   changes (a new verdict must last `guidance_debounce_ms` before it replaces a spoken
   one).
3. In position, frames join a window that keeps the longest run of recent frames in
   which no key joint (shoulders, hips, ears) strays more than `steady_tol_pct`
   of the body's height from the run's mean position ("hold_still" while the run was
   broken less than `moved_recently_ms` ago). `PostureHoldProgressed` reports the
   run's length. Once it spans `hold_ms` with at least `min_frames`, the view is
   measured (`measure_view`) and captured.
4. After the last view: `PostureScreenCompleted` with the result and its reading.

Front or back: facing the camera the face is seen (nose and eyes visible). The back
view is accepted once the person has been seen to turn since the previous step: the
shoulders seen side on (narrow) and then square again, the face no longer visible, or
the model's left/right shoulder labels swapped on the image. None of these is trusted
alone to mean "back" at the first frame of a screen; see docs/posture.md for what was
not checked on real back views.

The image's aspect (width / height) is an option until `PoseFrame` carries it.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.debounce import Debouncer
from exercises.events import Event, LocalizedText
from exercises.posture.events import (
    PostureGuidanceChanged,
    PostureHoldProgressed,
    PostureScreenCompleted,
    PostureStepChanged,
    PostureViewCaptured,
)
from exercises.posture.measures import (
    REQUIRED_JOINTS,
    View,
    ViewMeasurement,
    measure_view,
    stature,
)
from exercises.posture.report import DEFAULT_THRESHOLDS, Threshold, assess
from exercises.posture.result import PostureResult, combine_views
from vision.clock import VideoClock
from vision.types import PoseFrame, Skeleton

__all__ = [
    "GUIDANCE_MESSAGES",
    "STEP_MESSAGES",
    "PostureScreen",
    "ScreenOptions",
    "ScreenStep",
]

F64 = npt.NDArray[np.float64]


class ScreenStep(enum.IntEnum):
    FRONT = 0
    BACK = 1
    DONE = 2

    @property
    def key(self) -> str:
        return self.name.lower()


STEP_MESSAGES: Final[dict[str, LocalizedText]] = {
    "front": {
        "en": "Stand facing the camera, feet slightly apart, arms relaxed at your "
        "sides, with your whole body in the picture. Then hold still.",
        "zh-CN": "请面对摄像头站好，双脚稍微分开，双臂自然下垂，"
        "让全身都在画面里，然后保持不动。",
    },
    "back": {
        "en": "Now turn around slowly and stand with your back to the camera, arms "
        "relaxed at your sides. Then hold still.",
        "zh-CN": "现在请慢慢转身，背对摄像头站好，双臂自然下垂，然后保持不动。",
    },
    "done": {
        "en": "Thank you, the measurement is done. You can relax now.",
        "zh-CN": "谢谢，测量完成了，您可以放松了。",
    },
}

GUIDANCE_MESSAGES: Final[dict[str, LocalizedText]] = {
    "not_visible": {
        "en": "Please step into view of the camera.",
        "zh-CN": "请走到摄像头前。",
    },
    "step_back": {
        "en": "Step back a little so your whole body, feet included, is in the "
        "picture.",
        "zh-CN": "请往后退一点，让全身（包括双脚）都在画面里。",
    },
    "step_closer": {"en": "Please come a little closer.", "zh-CN": "请再走近一点。"},
    "show_body": {
        "en": "I can't see all of you yet; please stand clear of anything in front "
        "of you.",
        "zh-CN": "我还看不到您的全身，请站到没有遮挡的地方。",
    },
    "face_camera": {"en": "Please face the camera.", "zh-CN": "请正面对着摄像头。"},
    "turn_back": {
        "en": "Please turn around so your back faces the camera.",
        "zh-CN": "请转过身，背对摄像头。",
    },
    "arms_down": {
        "en": "Let your arms hang relaxed at your sides.",
        "zh-CN": "请让双臂自然下垂，放在身体两侧。",
    },
    "hold_still": {"en": "Hold still for a moment.", "zh-CN": "请保持不动。"},
    "ok": {"en": "Good, hold still.", "zh-CN": "很好，请保持不动。"},
}

_FACE: Final[tuple[str, ...]] = ("nose", "left_eye", "right_eye")
_TORSO: Final[tuple[str, ...]] = (
    "left_shoulder",
    "right_shoulder",
    "left_hip",
    "right_hip",
)
_STILL_COORDS: Final[int] = 12  # shoulders, hips, ears: x and y
_ELBOWS: Final[tuple[str, ...]] = ("left_elbow", "right_elbow")
_VIEW_OF_STEP: Final[dict[ScreenStep, View]] = {
    ScreenStep.FRONT: View.FRONT,
    ScreenStep.BACK: View.BACK,
}


@dataclass(frozen=True, slots=True)
class ScreenOptions:
    """Settings of one screen.

    Attributes:
        views: Which views to capture, in order (front and/or back).
        aspect_wh: Width / height of the camera's images.
        stature_cm: The person's stature, for distances in cm (None: %H only).
        hold_ms: Steady time to average per view.
        min_frames: Fewest frames in that time.
        steady_tol_pct: Largest stray of a key joint from the window's mean position,
            percent of body height.
        min_visibility: Visibility from which a joint counts as seen.
        min_body_height: Smallest estimated stature, image heights.
        square_span: Shoulder span / torso length (shoulders' to hips' midpoint) from
            which the person counts as square to the camera (about 0.55-0.7 square
            on in the shared footage; 0.45 is about 40 deg turned).
        side_span: ... below which the person is side on (under 0.2 side on in
            the shared footage), which a turn around passes through.
        arms_margin: Elbows must be this far below the shoulders (fraction of stature;
            hanging arms put them about 0.19 below).
        face_visibility: Mean visibility of nose and eyes from which the face is seen.
        guidance_debounce_ms: How long a new guidance verdict must last.
        moved_recently_ms: "hold_still" while the steady run was broken less than
            this long ago.
        thresholds: The referral thresholds the result is read against.
    """

    views: tuple[View, ...] = (View.FRONT, View.BACK)
    aspect_wh: float = 1.0
    stature_cm: float | None = None
    hold_ms: int = 1000
    min_frames: int = 8
    steady_tol_pct: float = 1.0
    min_visibility: float = 0.5
    min_body_height: float = 0.4
    square_span: float = 0.45
    side_span: float = 0.3
    arms_margin: float = 0.08
    face_visibility: float = 0.5
    guidance_debounce_ms: int = 500
    moved_recently_ms: int = 500
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS

    def __post_init__(self) -> None:
        if not 1 <= len(self.views) <= 2 or len(set(self.views)) != len(self.views):
            raise ValueError(f"views: expected front and/or back, got {self.views}")
        if not self.aspect_wh > 0:
            raise ValueError(f"aspect_wh must be > 0, got {self.aspect_wh}")
        if self.hold_ms <= 0 or self.min_frames < 2:
            raise ValueError(
                f"hold_ms must be > 0 and min_frames >= 2, got {self.hold_ms}, "
                f"{self.min_frames}"
            )


class PostureScreen:
    """Feed frames, get events; see the module docstring."""

    def __init__(self, options: ScreenOptions | None = None) -> None:
        self.options = options or ScreenOptions()
        self._steps = [
            ScreenStep.FRONT if v is View.FRONT else ScreenStep.BACK
            for v in self.options.views
        ]
        self._step_index = -1
        self._clock = VideoClock()
        self._window: deque[tuple[int, F64, F64]] = deque()
        self._guidance = Debouncer(self.options.guidance_debounce_ms)
        self._moved_ms: int | None = None
        self._captured: list[ViewMeasurement] = []
        self._front_order = 1.0  # sign of x(left_shoulder) - x(right_shoulder)
        self._passed_side = False
        self._turned = False
        self.result: PostureResult | None = None

    @property
    def step(self) -> ScreenStep | None:
        """The current step (None before the first frame)."""
        if self._step_index < 0:
            return None
        if self._step_index >= len(self._steps):
            return ScreenStep.DONE
        return self._steps[self._step_index]

    def feed(self, frame: PoseFrame) -> list[Event]:
        """Take one frame; returns the events it caused.

        Raises:
            ValueError: the timestamp is not later than the previous frame's.
        """
        ts = self._clock.advance(int(frame.timestamp_ms))
        events: list[Event] = []
        if self._step_index < 0:
            self._start_step(0, ts, events)
        step = self.step
        if step is ScreenStep.DONE or step is None:
            return events
        o = self.options
        view = _VIEW_OF_STEP[step]
        key, missing, coords, xy = self._judge(frame, view)
        if key == "ok":
            assert coords is not None and xy is not None
            if self._extend_window(ts, coords, xy):
                self._moved_ms = ts
            if self._moved_ms is not None and ts - self._moved_ms < o.moved_recently_ms:
                key = "hold_still"
        else:
            self._window.clear()
        self._announce(key, missing, ts, events)
        if key in ("ok", "hold_still"):
            steady_ms = self._window[-1][0] - self._window[0][0]
            events.append(PostureHoldProgressed(ts, view.value, steady_ms, o.hold_ms))
            if steady_ms >= o.hold_ms and len(self._window) >= o.min_frames:
                self._capture(view, frame, ts, events)
        return events

    # --- steps -----------------------------------------------------------------

    def _start_step(self, index: int, ts: int, events: list[Event]) -> None:
        self._step_index = index
        self._window.clear()
        self._guidance.reset()
        self._moved_ms = None
        self._passed_side = False
        self._turned = False
        step = self.step
        assert step is not None
        events.append(PostureStepChanged(ts, step.key, dict(STEP_MESSAGES[step.key])))

    def _capture(
        self, view: View, frame: PoseFrame, ts: int, events: list[Event]
    ) -> None:
        stamps = np.array([w[0] for w in self._window], np.int64)
        xyz = np.stack([w[2] for w in self._window])
        measurement = measure_view(
            xyz,
            view,
            aspect_wh=1.0,  # the window already holds isotropic coordinates
            timestamps_ms=stamps,
            skeleton=frame.skeleton,
        )
        self._captured.append(measurement)
        if view is View.FRONT:
            self._front_order = self._label_order(frame)
        events.append(PostureViewCaptured(ts, measurement))
        self._start_step(self._step_index + 1, ts, events)
        if self.step is ScreenStep.DONE:
            result = combine_views(tuple(self._captured), self.options.stature_cm)
            self.result = result
            events.append(
                PostureScreenCompleted(
                    ts, result, assess(result, self.options.thresholds)
                )
            )

    # --- judging a frame ---------------------------------------------------------

    def _label_order(self, frame: PoseFrame) -> float:
        sk = frame.skeleton
        dx = float(
            frame.xyz[sk.index("left_shoulder"), 0]
            - frame.xyz[sk.index("right_shoulder"), 0]
        )
        return 1.0 if dx >= 0 else -1.0

    def _judge(
        self, frame: PoseFrame, view: View
    ) -> tuple[str, tuple[str, ...], F64 | None, F64 | None]:
        """(guidance key, missing joints, key-joint coords (16,), all xyz isotropic)."""
        o = self.options
        sk = frame.skeleton
        xyz = np.asarray(frame.xyz, np.float64)
        finite: npt.NDArray[np.bool_] = np.all(np.isfinite(xyz[:, :2]), axis=1)
        seen: npt.NDArray[np.bool_] = finite & np.greater_equal(
            frame.visibility, o.min_visibility
        )
        if not seen.any():
            return "not_visible", (), None, None
        ratio = self._span_ratio(xyz, sk)
        if view is View.BACK and ratio <= o.side_span:
            self._passed_side = True
        inside: npt.NDArray[np.bool_] = finite & (xyz[:, 0] >= 0) & (xyz[:, 0] <= 1)
        inside &= (xyz[:, 1] >= 0) & (xyz[:, 1] <= 1)
        rows = [sk.index(n) for n in REQUIRED_JOINTS]
        missing = tuple(
            n
            for n, r in zip(REQUIRED_JOINTS, rows, strict=True)
            if not (seen[r] and inside[r])
        )
        if missing:
            cut = any(finite[r] and not inside[r] for r in rows) or all(
                "ankle" in n for n in missing
            )
            return ("step_back" if cut else "show_body"), missing, None, None
        iso = xyz.copy()
        iso[:, [0, 2]] *= o.aspect_wh
        xy = iso[:, :2]
        coords = xy[rows].reshape(-1)
        height = stature(coords)
        if not height >= o.min_body_height:
            return "step_closer", (), None, None
        face = float(np.mean([frame.visibility[sk.index(n)] for n in _FACE]))
        if view is View.FRONT:
            if not ratio >= o.square_span or face < o.face_visibility:
                return "face_camera", (), None, None
        else:
            turned_now = (
                (self._passed_side and ratio >= o.square_span)
                or face < o.face_visibility
                or self._label_order(frame) != self._front_order
            )
            self._turned = self._turned or turned_now
            if not (self._turned and ratio >= o.square_span):
                return "turn_back", (), None, None
        for elbow, shoulder in zip(
            _ELBOWS, ("left_shoulder", "right_shoulder"), strict=True
        ):
            e = sk.index(elbow)
            if (
                seen[e]
                and xy[e, 1] < xy[sk.index(shoulder), 1] + o.arms_margin * height
            ):
                return "arms_down", (), None, None
        return "ok", (), coords, iso

    def _span_ratio(self, xyz: F64, sk: Skeleton) -> float:
        """Shoulder span / torso length in isotropic units; NaN when not seen."""
        p = xyz[[sk.index(n) for n in _TORSO], :2] * np.array(
            [self.options.aspect_wh, 1]
        )
        torso = float(np.hypot(*(p[0:2].mean(0) - p[2:4].mean(0))))
        return abs(float(p[0, 0] - p[1, 0])) / torso if torso > 0 else float("nan")

    def _extend_window(self, ts: int, coords: F64, iso: F64) -> bool:
        """Add a frame; drop the oldest until the run is steady. True when any was
        dropped (the person moved)."""
        self._window.append((ts, coords, iso))
        dropped = False
        while len(self._window) > 1:
            stack = np.stack([w[1] for w in self._window])
            mean = stack.mean(axis=0)
            height = stature(mean)
            # The ankles only set the scale, and jitter most: not part of "still".
            stray = float(np.abs(stack[:, :_STILL_COORDS] - mean[:_STILL_COORDS]).max())
            if stray <= self.options.steady_tol_pct / 100.0 * height:
                break
            self._window.popleft()
            dropped = True
        return dropped

    def _announce(
        self, key: str, missing: tuple[str, ...], ts: int, events: list[Event]
    ) -> None:
        if self._guidance.update(key, ts):
            events.append(
                PostureGuidanceChanged(ts, key, dict(GUIDANCE_MESSAGES[key]), missing)
            )
