"""One person doing one exercise: frames in, events out (a sans-I/O state machine).

    session = Session(get_spec("squat"))
    events = session.feed(frame)        # -> list[Event]; deterministic given the frames
    summary = session.summary()

`feed` composes small parts, each a module with its own tests, in this order per frame:
1. Time is `frame.timestamp_ms`; it must increase strictly (ValueError otherwise).
2. Placement (`exercises.placement.PlacementGate`): is the person there, are the
   template's required joints in the picture, big enough, in the view the template
   needs? `PlacementChanged` when the verdict changes and has held for
   `placement_debounce_ms`. Counting runs only while the required joints are visible
   (OK, or the advisory STEP_CLOSER / TURN_SIDEWAYS / FACE_CAMERA); before that is
   announced too when the person is placed within `max_gap_ms` of the last counted
   frame or of the first frame (after longer, someone appearing may be mid-movement).
3. Channels (`exercises.channels.Channels`): the frame made isotropic by its own
   `aspect_wh`, One-Euro smoothing and the template's angles
   (`vision.geometry.Kinematics`), the side to use, and the registered metrics the
   template reads. Each frame's values go to the trace (`exercises.trace.Trace`).
4. Phases and the cycle (`exercises.phases.PhaseCycle`): `PhaseChanged` when a new
   phase is confirmed. What counts depends on the template's kind, chosen once
   (`exercises.kinds`). A rep template's repetitions come from the rep counter
   `movecoach analyze` uses (`exercises.rep_counter.RepCounter`, fed every frame and
   the channels), each reported (`RepCompleted`) with the frame that completes it
   and scored by DTW against the reference; the first repetitions of a set whose
   movement the template's thresholds do not see (shallow ones) come together once
   the counter has confirmed the movement's period, and `finish` reports those it
   confirms only at the end. A sequence counts rounds through its cycle (no gap
   longer than `max_gap_ms` without valid data): its moves each (`MoveCompleted`)
   and the round as their mean; a hold its timer (`exercises.holds.HoldTimer`:
   `HoldProgressed`, `HoldCompleted`).
5. Form rules (`exercises.faults.FormWatch`): a fault must persist for the rule's
   `min_duration_ms`; it is recorded in the `cue_ids` of the rep it was seen in
   (a counted rep: between its start and end) and offered as a cue.
6. Cues (`exercises.cues.CueGate`): at most one per cooldown, the same one not within
   `repeat_cue_cooldown_ms`, firmer wording when repeated, gentle wording and only
   `elder_min_severity` in elder mode. Too-fast reps get the built-in "slow_down" cue,
   partial reps "partial_rep".

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

from exercises.channels import Channels
from exercises.counter_params import CountedRep, CounterParams
from exercises.cues import PARTIAL_REP, SLOW_DOWN, CueGate
from exercises.events import (
    Event,
    PhaseChanged,
    Placement,
    RepCompleted,
    Severity,
)
from exercises.faults import FormWatch
from exercises.kinds import RoundScore, make_kind
from exercises.metrics import Body, detect_view
from exercises.phases import Completed, PhaseCycle
from exercises.placement import ACTIVE_PLACEMENTS, PLACEMENT_MESSAGES, PlacementGate
from exercises.spec import ExerciseSpec, FormRule
from exercises.trace import Trace
from vision import config
from vision.clock import VideoClock
from vision.geometry import Kinematics, isotropic, joint_angles
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

_TRIM_EVERY: Final[int] = 32


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


class Session:
    """Feed one person's frames; get coaching events. See the module docstring."""

    def __init__(
        self,
        spec: ExerciseSpec,
        *,
        elder_mode: bool = False,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        options: SessionOptions | None = None,
        counter_params: CounterParams | None = None,
    ) -> None:
        """
        Args:
            spec: The exercise template.
            elder_mode: Slower pace, easier thresholds (template `elder`), fewer and
                calmer cues, longer cooldown.
            skeleton: Joint layout of the frames that will be fed.
            options: Behaviour knobs; None = `SessionOptions()`.
            counter_params: The rep counter's settings (its defaults otherwise).

        Raises:
            ValueError: the skeleton lacks joints the template needs (listed).
        """
        self.spec = spec
        self.elder_mode = bool(elder_mode)
        self.skeleton = skeleton
        self.options = o = options or SessionOptions()
        self.counter_params = counter_params
        self._min_vis = (
            config.MIN_VISIBILITY if o.min_visibility is None else o.min_visibility
        )
        self._channels = Channels(
            spec,
            skeleton,
            min_segment=o.min_segment,
            side_switch_margin=o.side_switch_margin,
        )
        self._placement = PlacementGate(
            spec,
            skeleton,
            min_visibility=self._min_vis,
            min_body_size=o.min_body_size,
            debounce_ms=o.placement_debounce_ms,
            resume_within_ms=o.max_gap_ms,
        )
        missing = self._channels.missing_joints + self._placement.missing_joints
        if missing:
            raise ValueError(
                f"exercise {spec.id!r} needs joints that skeleton {skeleton.value} "
                f"lacks: {', '.join(sorted(set(missing)))}"
            )
        self._phases = spec.phases_for(self.elder_mode)
        self._partial_phases = (
            {p.name: p for p in spec.partial.phases}
            if spec.partial is not None and o.count_partial_reps
            else {}
        )
        self._partial_rule = (
            dataclasses.replace(
                PARTIAL_REP, text=dict(spec.partial.cue), gentle=dict(spec.partial.cue)
            )
            if spec.partial is not None
            else PARTIAL_REP
        )
        self._slow_down = (
            dataclasses.replace(SLOW_DOWN, severity=Severity.MAJOR)
            if self.elder_mode
            else SLOW_DOWN
        )
        pace_s = spec.pace_s
        if self.elder_mode:
            pace_s = spec.elder.pace_s or spec.pace_s * o.elder_pace_factor
        self._pace_ms = pace_s * 1000.0
        self._min_rep_ms = (
            int(spec.min_rep_s * 1000) if spec.min_rep_s is not None else o.min_rep_ms
        )
        self._reset()

    def _reset(self) -> None:
        o, spec = self.options, self.spec
        self._kin = (
            Kinematics(
                self.skeleton,
                self._channels.triples,
                min_visibility=self._min_vis,
                min_cutoff_hz=o.min_cutoff_hz,  # type: ignore[arg-type]
                beta=o.beta,  # type: ignore[arg-type]
            )
            if o.smoothing
            else None
        )
        angles = self._channels.angle_names
        # Trace columns: every angle (for the range of motion) then metric channels.
        self._trace = Trace(angles + tuple(c for c in spec.channels if c not in angles))
        self._kind = make_kind(
            spec,
            trace=self._trace,
            phases=self._phases,
            elder_mode=self.elder_mode,
            min_rep_ms=self._min_rep_ms,
            pace_ms=self._pace_ms,
            hold_tick_ms=o.hold_tick_ms,
            hold_debounce_ms=o.hold_debounce_ms,
            skeleton=self.skeleton,
            count_partial=o.count_partial_reps,
            counter_params=self.counter_params,
        )
        self._cycle = PhaseCycle(
            self._phases,
            self._kind.cycle,
            partial_phases=self._partial_phases,
            confirm_frames=o.phase_confirm_frames,
            max_rep_ms=o.elder_max_rep_ms if self.elder_mode else o.max_rep_ms,
        )
        self._form = FormWatch(spec)
        self._cues = CueGate(
            cooldown_ms=(
                o.elder_cue_cooldown_ms if self.elder_mode else o.cue_cooldown_ms
            ),
            repeat_cooldown_ms=o.repeat_cue_cooldown_ms,
            escalate_within_ms=o.escalate_within_ms,
            min_severity=o.elder_min_severity if self.elder_mode else o.min_severity,
            elder=self.elder_mode,
        )
        self._clock = VideoClock()
        self._first_ts: int | None = None
        self._active_ms = 0
        self._last_valid_ms: int | None = None
        self._values_last: dict[str, float] = {}
        self._reps: list[RepCompleted] = []
        self._fault_counts: Counter[str] = Counter()
        self._fault_log: list[tuple[int, str]] = []  # (ms, rule id) each frame held

    # --- public ----------------------------------------------------------------

    @property
    def reps(self) -> int:
        return len(self._reps)

    @property
    def counted(self) -> tuple[CountedRep, ...]:
        """A rep template's repetitions as the rep counter timed them (left rest,
        turned, back), in order; a rep's `RepCompleted` comes with the frame that
        counted it (its latency: that frame's time minus `end_ms`)."""
        return self._kind.counted

    @property
    def phase(self) -> str | None:
        return self._cycle.phase

    @property
    def placement(self) -> Placement | None:
        return self._placement.placement

    @property
    def values(self) -> dict[str, float]:
        """The last frame's channel values: every angle and metric the template reads
        (NaN when missing or while counting is gated)."""
        return dict(self._values_last)

    @property
    def side(self) -> str | None:
        """Side used for "best" angles ("left"/"right"); None before it is known."""
        return self._channels.side

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
        prev_ts = self._clock.last_ms
        ts = self._clock.advance(int(frame.timestamp_ms))
        if self._first_ts is None:
            self._first_ts = ts
        events: list[Event] = []
        channels, cycle, kind = self._channels, self._cycle, self._kind

        picture = frame  # as the camera normalised it, for the in-picture checks
        frame = isotropic(frame)  # angles and ratios in true proportions
        view = detect_view(Body(frame, self._min_vis))
        changed = self._placement.update(picture, view, channels.side, ts)
        if changed is not None:
            events.append(changed)
        counting = self._placement.counting
        if counting and prev_ts is not None:
            self._active_ms += ts - prev_ts

        if self._kin is not None:
            smoothed, raw = self._kin.update_with_angles(frame)
        else:
            smoothed = frame
            raw = (
                joint_angles(frame, channels.triples, min_visibility=self._min_vis)
                if len(channels.triples)
                else np.zeros(0, np.float32)
            )
        channels.update_side(frame, raw, may_switch=cycle.position <= 0)
        body = Body(smoothed, self._min_vis)
        values, active = channels.values(raw, body)
        if not counting:
            values = dict.fromkeys(values, math.nan)
        self._values_last = values
        position_ok = all(
            c.holds(values.get(c.key, math.nan)) for c in self.spec.position
        )
        idx = self._trace.append(ts, values, channels.trace_side(active), view)
        self._watch_gap(ts, counting and position_ok, values)

        if cycle.cycle:
            for out in cycle.step(values if position_ok else {}, idx, ts):
                if isinstance(out, PhaseChanged):
                    events.append(out)
                    kind.left_phase(ts, events)
                else:
                    kind.advanced(out, events)
            if cycle.expire(ts):
                kind.abandon()
        now = (
            cycle.phase,
            "rep" if cycle.under_way or kind.under_way else None,
            "in_position" if kind.in_position else None,
        )
        live = self._form.check(
            body, values, view, channels.metric_side, ts, now=now, counting=counting
        )
        kind.count_faults(self._form.faults, self._fault_counts)
        if kind.counts_reps:  # the faults of a counted rep are those seen in it
            self._fault_log += [(ts, f) for f in self._form.take_faults()]
        self._say(live, ts, events)
        events += kind.step(values, ts, counting and position_ok)
        for counted, scored in kind.count(frame, values):
            self._complete(counted, ts, events, scored)
        if cycle.cycle and not kind.blocking:
            done = cycle.complete(ts)
            if done is not None:
                self._complete(done, ts, events)
        if not idx % _TRIM_EVERY:
            self._trim()
        return events

    def finish(self) -> list[Event]:
        """The set is over: the repetitions the rep counter confirms only now (a set
        too short for it to see the period while it went on), reported at the last
        frame's time. Call once, after the last frame."""
        events: list[Event] = []
        ts = self._clock.last_ms
        if ts is not None:
            for done, scored in self._kind.finish():
                self._complete(done, ts, events, scored)
        return events

    def summary(self) -> SessionSummary:
        """Totals so far (call any time; typically after the last frame)."""
        scores = [r.score for r in self._reps]
        last_ts = self._clock.last_ms
        duration = 0 if self._first_ts is None else int(last_ts or 0) - self._first_ts
        kind = self._kind
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
            cues_by_id=dict(self._cues.counts),
            faults_by_id=dict(self._fault_counts),
            hold_ms=kind.held_ms(last_ts or 0),
            hold_target_ms=kind.hold_target_ms,
            hold_completed=kind.hold_completed,
            hold_score=kind.hold_score(),
            moves_completed=kind.moves_completed,
            partial_reps=sum(1 for r in self._reps if r.partial),
        )

    # --- steps -----------------------------------------------------------------

    def _watch_gap(self, ts: int, usable: bool, values: dict[str, float]) -> None:
        """A long gap without valid data (nobody, or required joints hidden) abandons
        the rep; the cycle starts over from its start phase when the person is back."""
        valid = usable and any(
            not math.isnan(values.get(c.key, math.nan))
            for p in self._phases.values()
            for c in p.conditions
        )
        if valid:
            self._last_valid_ms = ts
        elif (
            self._last_valid_ms is not None
            and ts - self._last_valid_ms > self.options.max_gap_ms
        ):
            self._cycle.forget()
            self._kind.abandon()
            self._last_valid_ms = None

    def _say(
        self,
        candidates: list[tuple[FormRule, float | None]],
        ts: int,
        events: list[Event],
    ) -> None:
        cue = self._cues.offer(candidates, ts)
        if cue is not None:
            events.append(cue)

    def _complete(
        self,
        done: Completed,
        ts: int,
        events: list[Event],
        scored: RoundScore | None = None,
    ) -> None:
        """Report a round (or a counted rep, `scored` already) completed at `ts`."""
        trace = self._trace
        if scored is None:
            scored = self._kind.score_round(done)
            if scored is None:
                return
            faults = dict.fromkeys(self._form.take_faults())
        elif done.partial and not self.options.count_partial_reps:
            return
        else:
            start, end = (
                trace.timestamp_ms(done.start_idx),
                trace.timestamp_ms(done.end_idx),
            )
            faults = dict.fromkeys(f for t, f in self._fault_log if start <= t <= end)
        if done.partial:
            faults.setdefault(self._partial_rule.id, None)
        lead_in = trace.lead_in(done.start_idx, self.options.rom_lookback_ms)
        _, values = trace.window(lead_in, done.end_idx)
        rom = {}
        for k, name in enumerate(self._channels.angle_names):
            col = values[:, k]
            col = col[~np.isnan(col)]
            if col.size:
                rom[name] = round(float(col.max() - col.min()), 1)
        _, rep_values = trace.window(done.start_idx, done.end_idx)
        side = self._channels.rep_side(
            rep_values, trace.sides(done.start_idx, done.end_idx)
        )
        for f in faults:
            self._fault_counts[f] += 1
        rep = RepCompleted(
            ts,
            count=len(self._reps) + 1,
            score=scored.score,
            breakdown=scored.breakdown,
            duration_ms=scored.duration_ms,
            range_of_motion_deg=rom,
            cue_ids=tuple(faults),
            side=side,
            partial=done.partial,
        )
        self._reps.append(rep)
        events.append(rep)
        candidates: list[tuple[FormRule, float | None]] = [
            (r, None)
            for r in self.spec.rules
            if r.timing == "after_rep" and r.id in rep.cue_ids
        ]
        if rep.partial:
            candidates.append((self._partial_rule, None))
        if rep.duration_ms < self.options.too_fast_fraction * scored.expected_ms:
            candidates.append((self._slow_down, float(rep.duration_ms)))
        self._say(candidates, ts, events)

    def _trim(self) -> None:
        """Forget the frames no coming rep needs (every `_TRIM_EVERY` frames: the rows
        a rep reads are never older than what is kept)."""
        trace = self._trace
        kept = (trace.next_idx - 1, self._cycle.oldest_idx, self._kind.oldest_idx)
        trace.trim(min(i for i in kept if i is not None), self.options.rom_lookback_ms)
        first_ms = trace.timestamp_ms(trace.first_idx)
        self._fault_log = [(t, f) for t, f in self._fault_log if t >= first_ms]
