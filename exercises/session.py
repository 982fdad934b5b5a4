# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""One person doing one exercise: frames in, events out (a sans-I/O state machine).

    session = Session(get_spec("squat"))
    events = session.feed(frame)        # -> list[Event]; deterministic given the frames
    summary = session.summary()

Per frame, in this order:
1. Time is `frame.timestamp_ms`; it must increase strictly (ValueError otherwise).
2. Placement: is the person there, are the template's required joints in the picture,
   big enough, in the view the template needs? `PlacementChanged` only when the verdict
   changes and has held for `placement_debounce_ms`. Counting runs only while the
   required joints are visible (OK, or the advisory STEP_CLOSER / TURN_SIDEWAYS /
   FACE_CAMERA).
3. One-Euro smoothing and the template's angles (`vision.geometry.Kinematics`), the side
   to use, and the registered metrics the template reads. An angle with a segment
   shorter than `min_segment` torso lengths in the image (hip to hip seen from the side,
   a forearm pointing at the camera) is NaN: its value would be noise. Scoring and form
   rules also skip channels declared for the other camera view.
4. Phases: the first phase whose conditions hold for `phase_confirm_frames` consecutive
   frames becomes current (`PhaseChanged`). Between phases nothing changes: the gap
   the template leaves between adjacent phases is the hysteresis. NaN values satisfy no
   condition, so frames without a person never move the phase or make a rep.
5. The rep cycle (e.g. up -> down -> up): a rep starts at the last frame in the start
   phase and completes on entering the final phase (`RepCompleted`), if it lasted at
   least the minimum rep time and had no gap longer than `max_gap_ms`; it is scored by
   DTW against the reference (`exercises.scoring`). Sequences score each move
   (`MoveCompleted`) and a round of moves is a rep.
6. Form rules: a fault must persist for the rule's `min_duration_ms`; it is recorded in
   the rep's `cue_ids` and spoken (`CueIssued`) if the person has not heard a cue within
   the cooldown, the same cue not within `repeat_cue_cooldown_ms`, and (in elder mode)
   it is at least `elder_min_severity`. A cue repeated within `escalate_within_ms` uses
   the rule's firmer wording; elder mode uses its gentle wording. Too-fast reps get the
   built-in "slow_down" cue.
7. Holds: time in position accumulates; `HoldProgressed` on entering and leaving
   position and once per `hold_tick_ms` held, `HoldCompleted` once at the target.

Core module: stdlib, numpy, vision.{types,geometry,config} and exercises.*; no clocks,
no I/O.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.events import (
    CueIssued,
    Event,
    HoldCompleted,
    HoldProgressed,
    LocalizedText,
    MoveCompleted,
    PhaseChanged,
    Placement,
    PlacementChanged,
    RepCompleted,
    Severity,
)
from exercises.metrics import METRICS, Body, compute_metric, detect_view, in_frame
from exercises.scoring import RepScore, phase_span, score_static, score_trajectory
from exercises.spec import AngleDef, ExerciseSpec, FormRule, Phase, Reference
from vision import config
from vision.geometry import Kinematics, angle_triples, isotropic, joint_angles
from vision.types import PoseFrame, Skeleton

__all__ = [
    "ACTIVE_PLACEMENTS",
    "PARTIAL_REP",
    "PLACEMENT_MESSAGES",
    "SLOW_DOWN",
    "Session",
    "SessionOptions",
    "SessionSummary",
]

F32 = npt.NDArray[np.float32]

ACTIVE_PLACEMENTS: Final[frozenset[Placement]] = frozenset(
    {
        Placement.OK,
        Placement.STEP_CLOSER,
        Placement.TURN_SIDEWAYS,
        Placement.FACE_CAMERA,
    }
)
"""Placements in which reps are counted (the others hide required joints)."""

PLACEMENT_MESSAGES: Final[dict[str, LocalizedText]] = {
    "ok": {"en": "Great, I can see you.", "zh-CN": "很好，我能看到您了。"},
    "not_visible": {
        "en": "Please step into view of the camera.",
        "zh-CN": "请走到摄像头前。",
    },
    "step_back_feet": {
        "en": "Step back a little, I can't see your feet.",
        "zh-CN": "请往后退一点，我看不到您的脚。",
    },
    "step_back": {
        "en": "Step back a little so your whole body is in the picture.",
        "zh-CN": "请往后退一点，让全身都在画面里。",
    },
    "step_closer": {"en": "Please come a little closer.", "zh-CN": "请再走近一点。"},
    "turn_sideways": {
        "en": "Please turn sideways to the camera.",
        "zh-CN": "请侧身对着摄像头。",
    },
    "face_camera": {"en": "Please face the camera.", "zh-CN": "请正面对着摄像头。"},
    "show_arms": {
        "en": "Make sure the camera can see your arms.",
        "zh-CN": "请让摄像头能看到您的手臂。",
    },
    "show_legs": {
        "en": "Make sure the camera can see your legs.",
        "zh-CN": "请让摄像头能看到您的腿。",
    },
    "show_head": {
        "en": "Make sure the camera can see your head.",
        "zh-CN": "请让摄像头能看到您的头部。",
    },
    "show_body": {
        "en": "I can't see all of you yet; please adjust your position.",
        "zh-CN": "我还看不到您的全身，请调整一下位置。",
    },
}
"""Every placement message, in both languages."""

SLOW_DOWN: Final[FormRule] = FormRule(
    id="slow_down",
    severity=Severity.MINOR,
    text={
        "en": "Slow down and move with control.",
        "zh-CN": "放慢速度，动作要有控制。",
    },
    firm={
        "en": "Too fast. Count to three on the way down and up.",
        "zh-CN": "太快了，下去和起来都默数三下。",
    },
    gentle={"en": "Take your time, nice and slow.", "zh-CN": "慢慢来，不着急。"},
    timing="after_rep",
)
"""The built-in pace cue: a rep much faster than the template's pace (MAJOR in elder
mode, where a hurried movement is a fall risk)."""

PARTIAL_REP: Final[FormRule] = FormRule(
    id="partial_rep",
    severity=Severity.MINOR,
    text={"en": "Try to move a little further.", "zh-CN": "动作幅度再大一点。"},
    timing="after_rep",
)
"""The built-in cue after a partial rep (a template's `partial.cue` replaces it)."""

_ARMS = ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")
_LEGS = ("hip", "knee")
_FEET = ("ankle", "heel", "foot_index")


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Tunable behaviour of a session (times in ms).

    Attributes:
        cue_cooldown_ms: At most one cue per this interval (elder mode:
            `elder_cue_cooldown_ms`).
        repeat_cue_cooldown_ms: The same cue id not again within this interval.
        escalate_within_ms: A cue repeated within this uses its firmer wording.
        min_severity / elder_min_severity: Cues below are recorded, not spoken.
        phase_confirm_frames: Consecutive frames a new phase must hold.
        min_rep_ms: Shorter reps are noise (a template's `min_rep_s` wins).
        max_rep_ms / elder_max_rep_ms: A rep taking longer is abandoned.
        max_gap_ms: Longer without valid data abandons the rep and forgets the phase.
        placement_debounce_ms: A new placement verdict must hold this long.
        side_switch_margin: Visibility lead the other side needs to take over ("best").
        hold_tick_ms / hold_debounce_ms: Hold progress interval; in/out-of-position
            changes must hold this long.
        elder_pace_factor: Elder mode expects reps this much slower (unless the
            template gives `elder.pace_s`).
        too_fast_fraction: A rep under this fraction of the expected time is too fast.
        smoothing: One-Euro smoothing before the angles (`min_cutoff_hz`, `beta`:
            None = `vision.config` defaults).
        min_visibility: Joint visibility threshold (None = `vision.config`).
        min_body_size: Person smaller than this (bounding-box side, image fraction)
            is asked to come closer.
        rom_lookback_ms: How far back into the start phase the range of motion looks.
        count_partial_reps: Count reps that reach only the template's partial turning
            point (flagged `partial`, cued); False ignores them.
        min_segment: Angles with a segment shorter than this many torso lengths in
            the image are NaN.
    """

    cue_cooldown_ms: int = 4000
    elder_cue_cooldown_ms: int = 8000
    repeat_cue_cooldown_ms: int = 8000
    escalate_within_ms: int = 60000
    min_severity: Severity = Severity.INFO
    elder_min_severity: Severity = Severity.MAJOR
    phase_confirm_frames: int = 2
    min_rep_ms: int = 400
    max_rep_ms: int = 30000
    elder_max_rep_ms: int = 60000
    max_gap_ms: int = 1500
    placement_debounce_ms: int = 500
    side_switch_margin: float = 0.15
    hold_tick_ms: int = 1000
    hold_debounce_ms: int = 300
    elder_pace_factor: float = 1.5
    too_fast_fraction: float = 0.5
    smoothing: bool = True
    min_cutoff_hz: float | None = None
    beta: float | None = None
    min_visibility: float | None = None
    min_body_size: float = 0.2
    rom_lookback_ms: int = 1000
    count_partial_reps: bool = True
    min_segment: float = 0.15

    def __post_init__(self) -> None:
        if self.phase_confirm_frames < 1:
            raise ValueError(
                f"phase_confirm_frames must be >= 1, got {self.phase_confirm_frames}"
            )
        for name in (
            "cue_cooldown_ms",
            "elder_cue_cooldown_ms",
            "repeat_cue_cooldown_ms",
            "min_rep_ms",
            "max_gap_ms",
            "placement_debounce_ms",
            "hold_debounce_ms",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.hold_tick_ms <= 0 or self.max_rep_ms <= 0 or self.elder_max_rep_ms <= 0:
            raise ValueError(
                "hold_tick_ms, max_rep_ms and elder_max_rep_ms must be > 0"
            )


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a session amounted to.

    Attributes:
        reps: Completed reps (rounds, for a sequence).
        mean_score / best_score / worst_score: Over the reps; None without reps.
        duration_ms: First to last frame fed.
        active_ms: Time in a counting placement (required joints visible).
        cues_by_id: Cues spoken, by id.
        faults_by_id: Reps (or holds) in which each fault was detected, by id.
        hold_ms / hold_target_ms / hold_completed / hold_score: Holds only.
        moves_completed: Sequence moves completed.
        partial_reps: Reps (included in `reps`) that reached only the partial depth.
    """

    exercise_id: str
    kind: str
    elder_mode: bool
    reps: int
    mean_score: float | None
    best_score: float | None
    worst_score: float | None
    duration_ms: int
    active_ms: int
    mean_rep_duration_ms: float | None
    cues_by_id: dict[str, int] = field(default_factory=dict)
    faults_by_id: dict[str, int] = field(default_factory=dict)
    hold_ms: int = 0
    hold_target_ms: int | None = None
    hold_completed: bool = False
    hold_score: float | None = None
    moves_completed: int = 0
    partial_reps: int = 0


@dataclass
class _RuleState:
    since_ms: int | None = None
    last_issued_ms: int | None = None
    issued: int = 0


@dataclass
class _Segment:
    """A move (or a whole rep) under way: where its window starts in the trace."""

    start_idx: int
    move: int  # index into moves (-1 for a plain rep)


@dataclass
class _PendingHold:
    move: int
    start_idx: int
    end_idx: int
    entered_ms: int
    held_ms: int = 0
    lost_since_ms: int | None = None


class Session:
    """Feed one person's frames; get coaching events. See the module docstring."""

    def __init__(
        self,
        spec: ExerciseSpec,
        *,
        elder_mode: bool = False,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        options: SessionOptions | None = None,
    ) -> None:
        """
        Args:
            spec: The exercise template.
            elder_mode: Slower pace, easier thresholds (template `elder`), fewer and
                calmer cues, longer cooldown.
            skeleton: Joint layout of the frames that will be fed.
            options: Behaviour knobs; None = `SessionOptions()`.

        Raises:
            ValueError: the skeleton lacks joints the template needs (listed).
        """
        self.spec = spec
        self.elder_mode = bool(elder_mode)
        self.skeleton = skeleton
        self.options = options or SessionOptions()
        o = self.options
        self._min_vis = (
            config.MIN_VISIBILITY if o.min_visibility is None else o.min_visibility
        )
        self._phases: dict[str, Phase] = spec.phases_for(self.elder_mode)
        self._partial_phases: dict[str, Phase] = (
            {p.name: p for p in spec.partial.phases}
            if spec.partial is not None and self.options.count_partial_reps
            else {}
        )
        self._partial_rule = (
            dataclasses.replace(
                PARTIAL_REP, text=dict(spec.partial.cue), gentle=dict(spec.partial.cue)
            )
            if spec.partial is not None
            else PARTIAL_REP
        )
        self._cooldown_ms = (
            o.elder_cue_cooldown_ms if self.elder_mode else o.cue_cooldown_ms
        )
        self._voice_min = o.elder_min_severity if self.elder_mode else o.min_severity
        self._max_rep_ms = o.elder_max_rep_ms if self.elder_mode else o.max_rep_ms
        self._min_rep_ms = (
            int(spec.min_rep_s * 1000) if spec.min_rep_s is not None else o.min_rep_ms
        )
        pace_s = spec.pace_s
        if self.elder_mode:
            pace_s = spec.elder.pace_s or spec.pace_s * o.elder_pace_factor
        self._pace_ms = pace_s * 1000.0
        self._slow_down = (
            dataclasses.replace(SLOW_DOWN, severity=Severity.MAJOR)
            if self.elder_mode
            else SLOW_DOWN
        )

        # Cycle: reps give it; sequences chain their moves.
        if spec.kind == "sequence":
            self._cycle: tuple[str, ...] = (
                spec.moves[0].start,
                *(m.end for m in spec.moves),
            )
        else:
            self._cycle = spec.cycle

        # Where the reference crosses the phase thresholds, for cropping and pace.
        self._spans: dict[int, tuple[float, float] | None] = {}
        if spec.reference is not None:
            self._spans[-1] = phase_span(
                spec.reference, [self._phases[p] for p in self._cycle]
            )
        for i, m in enumerate(spec.moves):
            self._spans[i] = phase_span(
                m.reference, [self._phases[m.start], self._phases[m.end]]
            )
        self._resolve_joints()
        self._metric_keys = spec.metric_names
        self._angle_names = tuple(a.name for a in spec.angles)
        # Trace columns: every angle (for the range of motion) then metric channels.
        self._trace_keys = self._angle_names + tuple(
            c for c in spec.channels if c not in self._angle_names
        )
        self._rule_state = {
            r.id: _RuleState()
            for r in (*spec.rules, self._slow_down, self._partial_rule)
        }
        self._reset_state()

    # --- setup -----------------------------------------------------------------

    def _resolve_joints(self) -> None:
        sk, spec = self.skeleton, self.spec
        missing: list[str] = []
        triples: list[tuple[str, str, str]] = []
        self._columns: list[tuple[AngleDef, dict[str, int]]] = []
        best_rows: dict[str, list[int]] = {"left": [], "right": []}
        for a in spec.angles:
            cols: dict[str, int] = {}
            sides = (
                (None,)
                if a.side is None
                else (a.side,)
                if a.side in ("left", "right")
                else ("left", "right")
            )
            for s in sides:
                names = a.resolve(s)
                missing += [n for n in names if not sk.has(n)]
                cols[s or "fixed"] = len(triples)
                triples.append(names)
                if a.side == "best" and s is not None:
                    best_rows[s] += [sk.index(n) for n in names if sk.has(n)]
            self._columns.append((a, cols))
        self._fixed_required: list[int] = []
        self._sided_required: dict[str, list[tuple[str, int]]] = {
            "left": [],
            "right": [],
        }
        for name in spec.required_joints:
            if Skeleton.BLAZEPOSE_33.has(name):  # a full joint name
                if sk.has(name):
                    self._fixed_required.append(sk.index(name))
                else:
                    missing.append(name)
                continue
            for s in ("left", "right"):  # sideless: either side will do
                full = f"{s}_{name}"
                if sk.has(full):
                    self._sided_required[s].append((full, sk.index(full)))
                else:
                    missing.append(full)
        if missing:
            raise ValueError(
                f"exercise {spec.id!r} needs joints that skeleton {sk.value} lacks: "
                f"{', '.join(sorted(set(missing)))}"
            )
        self._triples = (
            angle_triples(sk, triples) if triples else np.zeros((0, 3), np.int64)
        )
        self._best_rows = {
            s: np.array(sorted(set(r)), np.int64) for s, r in best_rows.items()
        }
        self._has_best = any(a.side == "best" for a in spec.angles)
        self._minmax = next((a for a in spec.angles if a.side in ("min", "max")), None)

    def _reset_state(self) -> None:
        o = self.options
        if o.smoothing:
            self._kin: Kinematics | None = Kinematics(
                self.skeleton,
                self._triples,
                min_visibility=self._min_vis,
                min_cutoff_hz=o.min_cutoff_hz,  # type: ignore[arg-type]
                beta=o.beta,  # type: ignore[arg-type]
            )
        else:
            self._kin = None
        self._last_ts: int | None = None
        self._values_last: dict[str, float] = {}
        self._first_ts: int | None = None
        self._active_ms = 0
        # placement
        self._placement: Placement | None = None
        self._pending_placement: tuple[Placement, int] | None = None
        self._side: str | None = None
        # phases and cycle
        self._phase: str | None = None
        self._candidate: str | None = None
        self._candidate_count = 0
        self._candidate_idx = 0
        self._pos = -1
        self._cycle_start_ms = 0
        self._partial_now: set[str] = set()
        self._rep_partial = False
        self._last_in_phase_idx: int | None = None
        self._segment: _Segment | None = None
        self._rep_start_idx: int | None = None
        self._last_valid_ms: int | None = None
        self._pending_hold: _PendingHold | None = None
        self._pending_completion: int | None = None
        self._round_moves: list[MoveCompleted] = []
        # trace (index = self._base + position in the lists)
        self._base = 0
        self._tr_ts: list[int] = []
        self._tr_vals: list[F32] = []
        self._tr_side: list[str | None] = []
        self._tr_view: list[str | None] = []
        # reps and cues
        self._reps: list[RepCompleted] = []
        self._moves_done = 0
        self._faults: dict[str, None] = {}
        self._fault_counts: Counter[str] = Counter()
        self._cue_counts: Counter[str] = Counter()
        self._last_cue_ms: int | None = None
        for st in self._rule_state.values():
            st.since_ms, st.last_issued_ms, st.issued = None, None, 0
        # holds
        hold = self.spec.hold
        target_s = (
            self.spec.elder.hold_target_s
            if self.elder_mode and self.spec.elder.hold_target_s is not None
            else (hold.target_s if hold is not None else 0.0)
        )
        self._hold_target_ms = round(target_s * 1000)
        self._in_position = False
        self._hold_pending_since: int | None = None
        self._hold_total_ms = 0
        self._streak_start_ms = 0
        self._hold_ticks = 0
        self._hold_completed = False
        self._hold_values: dict[str, list[float]] = {}
        self._hold_faults_counted: set[str] = set()

    # --- public ----------------------------------------------------------------

    @property
    def reps(self) -> int:
        return len(self._reps)

    @property
    def phase(self) -> str | None:
        return self._phase

    @property
    def placement(self) -> Placement | None:
        return self._placement

    @property
    def values(self) -> dict[str, float]:
        """The last frame's channel values: every angle and metric the template reads
        (NaN when missing or while counting is gated)."""
        return dict(self._values_last)

    @property
    def side(self) -> str | None:
        """Side used for "best" angles ("left"/"right"); None before it is known."""
        return self._side

    def feed(self, frame: PoseFrame) -> list[Event]:
        """Process one frame.

        Args:
            frame: The subject at `frame.timestamp_ms` (PoseFrame.missing when nobody).

        Returns:
            The events this frame caused, in order (possibly none).

        Raises:
            ValueError: timestamp not after the previous frame's, or another skeleton.
        """
        if frame.skeleton is not self.skeleton:
            raise ValueError(
                f"session expects {self.skeleton.value} frames, "
                f"got {frame.skeleton.value}"
            )
        ts = int(frame.timestamp_ms)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(
                f"timestamps must increase: got {ts} ms after {self._last_ts} ms"
            )
        events: list[Event] = []
        prev_ts = self._last_ts
        self._last_ts = ts
        if self._first_ts is None:
            self._first_ts = ts

        picture = frame  # as the camera normalised it, for the in-picture checks
        frame = isotropic(frame)  # angles and ratios in true proportions
        raw_body = Body(frame, self._min_vis)
        view = detect_view(raw_body)
        self._update_placement(picture, raw_body, view, ts, events)
        counting = self._placement in ACTIVE_PLACEMENTS
        if counting and prev_ts is not None:
            self._active_ms += ts - prev_ts

        if self._kin is not None:
            smoothed, raw_angles = self._kin.update_with_angles(frame)
        else:
            smoothed = frame
            raw_angles = (
                joint_angles(frame, self._triples, min_visibility=self._min_vis)
                if len(self._triples)
                else np.zeros(0, np.float32)
            )
        self._update_side(frame, raw_angles)
        body = Body(smoothed, self._min_vis)
        values, active_side = self._values(raw_angles, body)
        if not counting:
            values = {k: math.nan for k in values}
        self._values_last = values
        position_ok = all(
            c.holds(values.get(c.key, math.nan)) for c in self.spec.position
        )

        idx = self._append_trace(ts, values, active_side, view)
        valid = (
            counting
            and position_ok
            and any(
                not math.isnan(values.get(c.key, math.nan))
                for p in self._phases.values()
                for c in p.conditions
            )
        )
        if valid:
            self._last_valid_ms = ts
        elif (
            self._last_valid_ms is not None
            and ts - self._last_valid_ms > self.options.max_gap_ms
        ):
            self._forget_phase()

        if self._cycle:
            self._step_phases(values if position_ok else {}, ts, idx, events)
            self._check_timeouts(ts)
        live_cues = self._check_rules(body, values, view, active_side, ts, counting)
        self._issue(live_cues, ts, events)
        if self._cycle:
            self._complete(ts, idx, values, events)
        if self.spec.kind == "hold":
            self._step_hold(values, ts, counting and position_ok, events)
        self._trim(ts)
        return events

    def summary(self) -> SessionSummary:
        """Totals so far (call any time; typically after the last frame)."""
        scores = [r.score for r in self._reps]
        duration = (
            0 if self._first_ts is None else int(self._last_ts or 0) - self._first_ts
        )
        hold_score: float | None = None
        if self.spec.hold is not None and self.spec.hold.target:
            s = self._hold_score()
            hold_score = None if math.isnan(s.score) else s.score
        return SessionSummary(
            exercise_id=self.spec.id,
            kind=self.spec.kind,
            elder_mode=self.elder_mode,
            reps=len(self._reps),
            mean_score=round(sum(scores) / len(scores), 1) if scores else None,
            best_score=max(scores) if scores else None,
            worst_score=min(scores) if scores else None,
            duration_ms=duration,
            active_ms=self._active_ms,
            mean_rep_duration_ms=(
                sum(r.duration_ms for r in self._reps) / len(self._reps)
                if self._reps
                else None
            ),
            cues_by_id=dict(self._cue_counts),
            faults_by_id=dict(self._fault_counts),
            hold_ms=self._held_now(self._last_ts or 0),
            hold_target_ms=self._hold_target_ms if self.spec.kind == "hold" else None,
            hold_completed=self._hold_completed,
            hold_score=hold_score,
            moves_completed=self._moves_done,
            partial_reps=sum(1 for r in self._reps if r.partial),
        )

    # --- placement -------------------------------------------------------------

    def _judge_placement(
        self, frame: PoseFrame, body: Body, view: str | None
    ) -> tuple[Placement, tuple[str, ...], str]:
        vis = frame.visibility >= self._min_vis
        finite = np.isfinite(frame.xyz[:, :2]).all(axis=1)
        seen = vis & finite
        if not seen.any():
            return Placement.NOT_VISIBLE, (), "not_visible"

        def ok(row: int) -> bool:
            return bool(seen[row]) and in_frame(frame.xyz[row, :2].astype(np.float64))

        names = self.skeleton.joint_names
        fixed_missing = [names[r] for r in self._fixed_required if not ok(r)]
        options = []
        for s in ("left", "right"):
            miss = [n for n, r in self._sided_required[s] if not ok(r)]
            options.append(
                (len(miss), 0 if s == self._side else 1, s, fixed_missing + miss)
            )
        missing = min(options)[3]
        if missing:
            rows = [self.skeleton.index(n) for n in missing]
            outside = any(
                np.isfinite(frame.xyz[r, :2]).all()
                and not in_frame(frame.xyz[r, :2].astype(np.float64))
                for r in rows
            )
            parts = {_part(n) for n in missing}
            if outside or parts <= {"feet", "legs"}:
                key = "step_back_feet" if parts & {"feet"} else "step_back"
                return Placement.STEP_BACK, tuple(missing), key
            key = f"show_{parts.pop()}" if len(parts) == 1 else "show_body"
            if key == "show_feet":
                key = "step_back_feet"
            return Placement.SHOW_JOINTS, tuple(missing), key
        xy = frame.xyz[seen, :2]
        size = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))
        if size < self.options.min_body_size:
            return Placement.STEP_CLOSER, (), "step_closer"
        if self.spec.view == "side" and view == "front":
            return Placement.TURN_SIDEWAYS, (), "turn_sideways"
        if self.spec.view == "front" and view == "side":
            return Placement.FACE_CAMERA, (), "face_camera"
        return Placement.OK, (), "ok"

    def _update_placement(
        self,
        frame: PoseFrame,
        body: Body,
        view: str | None,
        ts: int,
        events: list[Event],
    ) -> None:
        verdict, missing, key = self._judge_placement(frame, body, view)
        if verdict == self._placement:
            self._pending_placement = None
            return
        if self._placement is not None:
            if self._pending_placement is None or self._pending_placement[0] != verdict:
                self._pending_placement = (verdict, ts)
            if ts - self._pending_placement[1] < self.options.placement_debounce_ms:
                return
        self._placement = verdict
        self._pending_placement = None
        events.append(
            PlacementChanged(ts, verdict, dict(PLACEMENT_MESSAGES[key]), missing)
        )

    # --- channels --------------------------------------------------------------

    def _update_side(self, frame: PoseFrame, raw: F32) -> None:
        if not self._has_best:
            return
        score = {
            s: float(frame.visibility[rows].mean()) if len(rows) else 0.0
            for s, rows in self._best_rows.items()
        }
        usable = {s: self._side_usable(raw, s) for s in ("left", "right")}
        if self._side is None:
            if usable["left"] or usable["right"]:
                ranked = sorted(
                    ("left", "right"), key=lambda s: (not usable[s], -score[s])
                )
                self._side = ranked[0]
            return
        other = "right" if self._side == "left" else "left"
        if not usable[self._side] and usable[other]:
            self._side = other
        elif (
            self._pos <= 0
            and usable[other]
            and score[other] > score[self._side] + self.options.side_switch_margin
        ):
            self._side = other

    def _side_usable(self, raw: F32, side: str) -> bool:
        return any(
            a.side == "best" and not math.isnan(float(raw[cols[side]]))
            for a, cols in self._columns
        )

    def _degenerate(self, raw: F32, body: Body) -> F32:
        """The angle columns with a segment too short to measure set to NaN."""
        torso = body.torso_length()
        if not torso > 0:
            return raw
        limit = self.options.min_segment * torso
        xy = body.frame.xyz[:, :2]
        a = xy[self._triples[:, 0]] - xy[self._triples[:, 1]]
        c = xy[self._triples[:, 2]] - xy[self._triples[:, 1]]
        short = (np.hypot(a[:, 0], a[:, 1]) < limit) | (
            np.hypot(c[:, 0], c[:, 1]) < limit
        )
        if not short.any():
            return raw
        out = raw.copy()
        out[short] = np.nan
        return out

    def _values(self, raw: F32, body: Body) -> tuple[dict[str, float], str | None]:
        values: dict[str, float] = {}
        active: str | None = None
        if len(raw):
            raw = self._degenerate(raw, body)
        for a, cols in self._columns:
            if "fixed" in cols:
                v = float(raw[cols["fixed"]])
            elif a.side in ("left", "right"):
                v = float(raw[cols[a.side]])
            elif a.side == "best":
                v = float(raw[cols[self._side]]) if self._side else math.nan
            else:
                lv, rv = float(raw[cols["left"]]), float(raw[cols["right"]])
                if math.isnan(lv) or math.isnan(rv):
                    v = rv if math.isnan(lv) else lv
                    pick = (
                        None
                        if math.isnan(v)
                        else ("right" if math.isnan(lv) else "left")
                    )
                elif a.side == "both":
                    v, pick = (lv + rv) / 2.0, None
                elif a.side == "min":
                    v, pick = (lv, "left") if lv <= rv else (rv, "right")
                else:
                    v, pick = (lv, "left") if lv >= rv else (rv, "right")
                if a is self._minmax:
                    active = pick
            values[a.name] = v
        side = self._metric_side(active)
        for name in self._metric_keys:
            if name not in values:
                values[name] = compute_metric(name, body, side)
        return values, active

    def _metric_side(self, active: str | None) -> str | None:
        # The visible side for "best" templates; otherwise both sides (metrics combine
        # them: the mean, or the worse side for fault metrics).
        return self._side if self._has_best else None

    # --- trace -----------------------------------------------------------------

    def _append_trace(
        self, ts: int, values: dict[str, float], active: str | None, view: str | None
    ) -> int:
        self._tr_ts.append(ts)
        self._tr_vals.append(
            np.array([values.get(k, math.nan) for k in self._trace_keys], np.float32)
        )
        self._tr_side.append(active if self._minmax is not None else self._side)
        self._tr_view.append(view)
        return self._base + len(self._tr_ts) - 1

    def _trim(self, ts: int) -> None:
        keep_from = self._base + len(self._tr_ts) - 1
        for idx in (self._last_in_phase_idx, self._rep_start_idx):
            if idx is not None:
                keep_from = min(keep_from, idx)
        if self._segment is not None:
            keep_from = min(keep_from, self._segment.start_idx)
        if self._pending_hold is not None:
            keep_from = min(keep_from, self._pending_hold.start_idx)
        # Keep the lead-in the range of motion looks back over.
        i = keep_from - self._base
        lookback = self._tr_ts[i] - self.options.rom_lookback_ms
        while i > 0 and self._tr_ts[i - 1] >= lookback:
            i -= 1
        if i > 0:
            del self._tr_ts[:i], self._tr_vals[:i], self._tr_side[:i], self._tr_view[:i]
            self._base += i

    def _window(self, start: int, end: int) -> tuple[npt.NDArray[np.int64], F32]:
        a, b = start - self._base, end - self._base + 1
        return (
            np.array(self._tr_ts[a:b], np.int64),
            np.stack(self._tr_vals[a:b]).astype(np.float32),
        )

    # --- phases and reps --------------------------------------------------------------

    def _forget_phase(self) -> None:
        """A long gap (nobody, or required joints hidden): abandon the rep, and start
        over from the start phase when the person is back."""
        self._phase = None
        self._candidate = None
        self._candidate_count = 0
        self._pos = -1
        self._segment = None
        self._rep_start_idx = None
        self._pending_hold = None
        self._pending_completion = None
        self._round_moves = []
        self._last_in_phase_idx = None
        self._last_valid_ms = None
        self._partial_now = set()
        self._rep_partial = False

    def _step_phases(
        self, values: dict[str, float], ts: int, idx: int, events: list[Event]
    ) -> None:
        holding = [name for name, ph in self._phases.items() if ph.holds(values)]
        partial = [
            name
            for name, ph in self._partial_phases.items()
            if name not in holding and ph.holds(values)
        ]
        if self._phase is not None and self._phase in holding:
            self._candidate, self._candidate_count = None, 0
            self._last_in_phase_idx = idx
            self._partial_now.discard(self._phase)
            return
        if self._phase is not None and self._phase in partial:
            self._candidate, self._candidate_count = None, 0
            self._last_in_phase_idx = idx
            return
        new = holding[0] if holding else (partial[0] if partial else None)
        if new is None:
            self._candidate, self._candidate_count = None, 0
            return
        if new == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count, self._candidate_idx = new, 1, idx
        if self._candidate_count < self.options.phase_confirm_frames:
            return
        previous = self._phase
        self._phase = new
        self._candidate, self._candidate_count = None, 0
        if new in holding:
            self._partial_now.discard(new)
        else:
            self._partial_now.add(new)
        events.append(PhaseChanged(ts, new, previous))
        self._advance(new, self._candidate_idx, previous, ts, events)
        self._last_in_phase_idx = idx

    def _advance(
        self,
        phase: str,
        first_idx: int,
        previous: str | None,
        ts: int,
        events: list[Event],
    ) -> None:
        cycle, pos = self._cycle, self._pos
        if previous is not None and previous in self._partial_now and pos >= 1:
            # Left a turning phase that never got past its partial version.
            self._rep_partial = True
        if previous is not None:
            self._partial_now.discard(previous)
        last = len(cycle) - 1
        # A move that holds at its end is over once the person leaves for the next move.
        self._finish_hold(ts, events)
        if pos == -1:
            if phase == cycle[0]:
                self._pos = 0
                self._cycle_start_ms = ts
            return
        if pos < last and phase == cycle[pos + 1]:
            start = (
                self._last_in_phase_idx
                if self._last_in_phase_idx is not None
                else first_idx
            )
            if pos == 0:
                self._rep_start_idx = start
                self._round_moves = []
                self._rep_partial = False
            self._pos = pos + 1
            if self.spec.kind == "sequence":
                self._end_move(pos, start, first_idx, ts, events)
            if self._pos == last:
                self._pending_completion = first_idx
            return
        if phase == cycle[0] and pos > 0:
            self._pos = 0
            self._cycle_start_ms = ts
            self._rep_start_idx = None
            self._round_moves = []

    def _check_timeouts(self, ts: int) -> None:
        if self._pos >= 1 and self._rep_start_idx is not None:
            start_ts = self._tr_ts[self._rep_start_idx - self._base]
            if ts - start_ts > self._max_rep_ms:
                self._pos = 0 if self._phase == self._cycle[0] else -1
                self._rep_start_idx = None
                self._round_moves = []
                self._pending_hold = None

    def _complete(
        self, ts: int, idx: int, values: dict[str, float], events: list[Event]
    ) -> None:
        self._step_move_hold(values, ts, events)
        end = self._pending_completion
        if end is None or self._pending_hold is not None:
            return
        self._pending_completion = None
        start = self._rep_start_idx
        cycle = self._cycle
        self._pos = 0 if cycle[-1] == cycle[0] else -1
        period_ms = ts - self._cycle_start_ms
        self._cycle_start_ms = ts
        self._rep_start_idx = None
        if start is None:
            return
        times, _ = self._window(start, end)
        duration = int(times[-1] - times[0])
        moves = self._round_moves
        self._round_moves = []
        if self.spec.kind == "sequence":
            duration = sum(m.duration_ms for m in moves)
            if len(moves) != len(self.spec.moves):
                return
            score = round(sum(m.score for m in moves) / len(moves), 1)
            breakdown = _mean_breakdown([m.breakdown for m in moves])
            expected_ms = 0.0  # moves are paced by their holds, not checked for speed
        else:
            # Noise guard on the whole cycle (start phase to start phase): the window
            # between the phase thresholds can be short for a shallow, brisk rep.
            if period_ms < self._min_rep_ms:
                return
            assert self.spec.reference is not None
            result = self._score(self.spec.reference, start, end, self._spans[-1])
            score = 0.0 if math.isnan(result.score) else result.score
            breakdown = result.breakdown
            expected_ms = self._pace_ms * (result.span[1] - result.span[0])
        rom = self._rom(start, end)
        partial = self._rep_partial
        self._rep_partial = False
        if partial:
            self._faults.setdefault(self._partial_rule.id, None)
        faults = tuple(self._faults)
        for f in faults:
            self._fault_counts[f] += 1
        self._faults = {}
        rep = RepCompleted(
            ts,
            count=len(self._reps) + 1,
            score=score,
            breakdown=breakdown,
            duration_ms=duration,
            range_of_motion_deg=rom,
            cue_ids=faults,
            side=self._rep_side(start, end),
            partial=partial,
        )
        self._reps.append(rep)
        events.append(rep)
        self._after_rep(rep, expected_ms, ts, events)

    def _score(
        self,
        reference: Reference,
        start: int,
        end: int,
        span: tuple[float, float] | None,
    ) -> RepScore:
        times, vals = self._window(start, end)
        views = Counter(
            v for v in self._tr_view[start - self._base : end - self._base + 1] if v
        )
        view = views.most_common(1)[0][0] if views else None
        channels = tuple(c for c in reference.channels if _sees(self.spec, c, view))
        if not channels:
            channels = reference.channels
        cols = [self._trace_keys.index(c) for c in channels]
        return score_trajectory(
            reference, channels, times, np.ascontiguousarray(vals[:, cols]), span=span
        )

    def _rom(self, start: int, end: int) -> dict[str, float]:
        a = start - self._base
        lookback = self._tr_ts[a] - self.options.rom_lookback_ms
        while a > 0 and self._tr_ts[a - 1] >= lookback:
            a -= 1
        vals = np.stack(self._tr_vals[a : end - self._base + 1])
        out = {}
        for k, name in enumerate(self._angle_names):
            col = vals[:, k]
            col = col[~np.isnan(col)]
            if col.size:
                out[name] = round(float(col.max() - col.min()), 1)
        return out

    def _rep_side(self, start: int, end: int) -> str | None:
        if self._minmax is not None:
            k = self._angle_names.index(self._minmax.name)
            seg = np.stack(self._tr_vals[start - self._base : end - self._base + 1])[
                :, k
            ]
            if np.isnan(seg).all():
                return None
            i = int(
                np.nanargmin(seg) if self._minmax.side == "min" else np.nanargmax(seg)
            )
            return self._tr_side[start - self._base + i]
        if self._has_best:
            return self._side
        sides = {a.side for a in self.spec.angles}
        if "both" in sides:
            return "both"
        fixed = {s for s in sides if s in ("left", "right")}
        return fixed.pop() if len(fixed) == 1 else None

    # --- sequences -------------------------------------------------------------

    def _end_move(
        self, pos: int, start: int, end: int, ts: int, events: list[Event]
    ) -> None:
        move = self.spec.moves[pos]
        if move.hold_s > 0:
            self._pending_hold = _PendingHold(pos, start, end, ts)
            return
        self._emit_move(pos, start, end, 0, ts, events)

    def _step_move_hold(
        self, values: dict[str, float], ts: int, events: list[Event]
    ) -> None:
        ph = self._pending_hold
        if ph is None:
            return
        move = self.spec.moves[ph.move]
        if self._phases[move.end].holds(values):
            ph.lost_since_ms = None
            ph.held_ms = ts - ph.entered_ms
            if ph.held_ms >= move.hold_s * 1000:
                self._finish_hold(ts, events)
        else:
            if ph.lost_since_ms is None:
                ph.lost_since_ms = ts
            if ts - ph.lost_since_ms >= self.options.hold_debounce_ms:
                self._finish_hold(ts, events)

    def _finish_hold(self, ts: int, events: list[Event]) -> None:
        ph = self._pending_hold
        if ph is None:
            return
        self._pending_hold = None
        self._emit_move(ph.move, ph.start_idx, ph.end_idx, ph.held_ms, ts, events)

    def _emit_move(
        self, pos: int, start: int, end: int, held_ms: int, ts: int, events: list[Event]
    ) -> None:
        move = self.spec.moves[pos]
        result = self._score(move.reference, start, end, self._spans[pos])
        score = 0.0 if math.isnan(result.score) else result.score
        if move.hold_s > 0:
            # Holding only part of the requested time costs up to half the score.
            score = round(
                score * (0.5 + 0.5 * min(1.0, held_ms / (move.hold_s * 1000))), 1
            )
        times, _ = self._window(start, end)
        done = MoveCompleted(
            ts,
            move_id=move.id,
            index=pos,
            round=len(self._reps) + 1,
            name=dict(move.name),
            score=score,
            breakdown=result.breakdown,
            duration_ms=int(times[-1] - times[0]) + held_ms,
            held_ms=held_ms,
        )
        self._moves_done += 1
        self._round_moves.append(done)
        events.append(done)

    # --- cues ------------------------------------------------------------------

    def _rule_applies(self, rule: FormRule) -> bool:
        if not rule.during:
            return True
        for d in rule.during:
            if d == "rep" and self._pos >= 1:
                return True
            if d == "in_position" and self._in_position:
                return True
            if d == self._phase:
                return True
        return False

    def _check_rules(
        self,
        body: Body,
        values: dict[str, float],
        view: str | None,
        active: str | None,
        ts: int,
        counting: bool,
    ) -> list[tuple[FormRule, float | None]]:
        live: list[tuple[FormRule, float | None]] = []
        side = self._metric_side(active)
        for rule in self.spec.rules:
            st = self._rule_state[rule.id]
            if (
                not counting
                or not self._rule_applies(rule)
                or not _sees(self.spec, rule.key, view, strict=True)
            ):
                st.since_ms = None
                continue
            if rule.key in values:
                value = values[rule.key]
            else:
                value = compute_metric(rule.key, body, side)
            if not rule.violated(value):
                st.since_ms = None
                continue
            if st.since_ms is None:
                st.since_ms = ts
            if ts - st.since_ms < rule.min_duration_ms:
                continue
            self._faults.setdefault(rule.id, None)
            if self.spec.kind == "hold" and rule.id not in self._hold_faults_counted:
                self._hold_faults_counted.add(rule.id)
                self._fault_counts[rule.id] += 1
            if rule.timing == "live":
                live.append((rule, value))
        return live

    def _issue(
        self,
        candidates: list[tuple[FormRule, float | None]],
        ts: int,
        events: list[Event],
    ) -> None:
        if self._last_cue_ms is not None and ts - self._last_cue_ms < self._cooldown_ms:
            return
        best: tuple[FormRule, float | None] | None = None
        for rule, value in candidates:
            if rule.severity < self._voice_min:
                continue
            st = self._rule_state[rule.id]
            if (
                st.last_issued_ms is not None
                and ts - st.last_issued_ms < self.options.repeat_cue_cooldown_ms
            ):
                continue
            if best is None or rule.severity > best[0].severity:
                best = (rule, value)
        if best is None:
            return
        rule, value = best
        st = self._rule_state[rule.id]
        if self.elder_mode:
            text = rule.gentle or rule.text
        elif (
            rule.firm is not None
            and st.last_issued_ms is not None
            and ts - st.last_issued_ms <= self.options.escalate_within_ms
        ):
            text = rule.firm
        else:
            text = rule.text
        st.last_issued_ms = ts
        st.issued += 1
        self._last_cue_ms = ts
        self._cue_counts[rule.id] += 1
        events.append(
            CueIssued(
                ts,
                rule.id,
                rule.severity,
                dict(text),
                None if value is None or math.isnan(value) else round(float(value), 3),
            )
        )

    def _after_rep(
        self, rep: RepCompleted, expected_ms: float, ts: int, events: list[Event]
    ) -> None:
        candidates: list[tuple[FormRule, float | None]] = [
            (r, None)
            for r in self.spec.rules
            if r.timing == "after_rep" and r.id in rep.cue_ids
        ]
        if rep.partial:
            candidates.append((self._partial_rule, None))
        if rep.duration_ms < self.options.too_fast_fraction * expected_ms:
            candidates.append((self._slow_down, float(rep.duration_ms)))
        self._issue(candidates, ts, events)

    # --- holds -----------------------------------------------------------------

    def _held_now(self, ts: int) -> int:
        if self._in_position:
            return self._hold_total_ms + ts - self._streak_start_ms
        return self._hold_total_ms

    def _hold_score(self) -> RepScore:
        hold = self.spec.hold
        assert hold is not None
        return score_static(dict(hold.target), dict(hold.tolerance), self._hold_values)

    def _step_hold(
        self, values: dict[str, float], ts: int, usable: bool, events: list[Event]
    ) -> None:
        hold = self.spec.hold
        assert hold is not None
        raw_in = usable and all(
            c.holds(values.get(c.key, math.nan)) for c in hold.in_position
        )
        if raw_in != self._in_position:
            if self._hold_pending_since is None:
                self._hold_pending_since = ts
            if ts - self._hold_pending_since >= self.options.hold_debounce_ms:
                since = self._hold_pending_since
                self._hold_pending_since = None
                if raw_in:
                    self._in_position = True
                    self._streak_start_ms = since
                else:
                    self._hold_total_ms += since - self._streak_start_ms
                    self._in_position = False
                held = self._held_now(ts)
                self._hold_ticks = held // self.options.hold_tick_ms
                events.append(
                    HoldProgressed(
                        ts,
                        held,
                        self._hold_target_ms,
                        self._in_position,
                        self._hold_extra(),
                    )
                )
        else:
            self._hold_pending_since = None
        if not self._in_position:
            return
        for name, _ in hold.target:
            self._hold_values.setdefault(name, []).append(values.get(name, math.nan))
        held = self._held_now(ts)
        ticks = held // self.options.hold_tick_ms
        if ticks > self._hold_ticks:
            self._hold_ticks = ticks
            events.append(
                HoldProgressed(ts, held, self._hold_target_ms, True, self._hold_extra())
            )
        if not self._hold_completed and held >= self._hold_target_ms:
            self._hold_completed = True
            s = self._hold_score()
            events.append(
                HoldCompleted(
                    ts,
                    held,
                    self._hold_target_ms,
                    0.0 if math.isnan(s.score) else s.score,
                )
            )

    def _hold_extra(self) -> dict[str, float]:
        if not self._hold_values:
            return {}
        s = self._hold_score()
        return {} if math.isnan(s.score) else {"score": s.score}


def _part(joint: str) -> str:
    base = joint.split("_", 1)[1] if joint.startswith(("left_", "right_")) else joint
    if base in _ARMS:
        return "arms"
    if base in _LEGS:
        return "legs"
    if base in _FEET:
        return "feet"
    return "head"


def _sees(
    spec: ExerciseSpec, key: str, view: str | None, *, strict: bool = False
) -> bool:
    """Whether a channel is meaningful in the detected view. An oblique or unknown view
    passes for scoring; `strict` (form rules: a wrong cue is worse than none) needs
    the channel's own view, or a channel meant for any view."""
    if key in METRICS:
        need = METRICS[key].view
    else:
        need = next((a.view for a in spec.angles if a.name == key), "any")
    if need == "any":
        return True
    if view not in ("front", "side"):
        return not strict
    return need == view


def _mean_breakdown(parts: list[dict[str, float]]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for p in parts:
        for k, v in p.items():
            sums.setdefault(k, []).append(v)
    return {k: round(sum(v) / len(v), 1) for k, v in sums.items()}
