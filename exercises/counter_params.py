"""The rep counter's settings and what it reports (`exercises.rep_counter` counts).

Core module: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["COUNTER_NOMINAL_FPS", "CountedRep", "CounterParams"]

COUNTER_NOMINAL_FPS: Final[float] = 30.0
"""Frame rate assumed until the timestamps show the real one."""


@dataclass(frozen=True, slots=True)
class CounterParams:
    """Settings of the rep counter (times in seconds, converted with the frame rate
    the timestamps show). See the module docstring for what each step does.

    Attributes:
        min_period_s / max_period_s: Fastest and slowest repetition considered.
        num_components: Principal components offered as candidate signals.
        first_peak_fraction: The period is the first autocorrelation peak at least
            this strong relative to the strongest (multiples of the period lose).
        detrend_periods: Window of the drift removal, in periods.
        smooth_periods: Time constant of the smoothing, in periods.
        range_periods: Window of the running range, in periods.
        range_tail: Share of that window's frames left out at each end of the range
            once the window is full (its low and high are then quantiles, not the
            extremes): a few frames unlike the repetitions around them (a glitch,
            one deeper dip) do not set the levels of the repetitions after them.
        range_floor: Least range relative to the window's typical range.
        threshold: Hysteresis levels, in half ranges around the range's middle.
        min_joint_fraction: A frame with fewer visible body joints is a gap.
        min_body_range: Least range of a principal-component signal, in body radii.
        min_angle_range_deg: The same for an angle signal, in degrees.
        guide_strength: A template channel this periodic relative to the best
            candidate is the one counted.
        min_strength: Least periodicity to start or switch counting on a signal.
        adopt_periods: Periods of footage needed before a signal is adopted.
        evidence: A signal of periodicity s must agree over `evidence / s` refits in
            a row (at least 3) before it is adopted: weaker periodicity must hold
            longer.
        switch_ratio: A different signal replaces the counted one when this many
            times as periodic on the same window.
        window_s: Frames kept and analysed.
        refit_s: How often the signal is re-chosen.
        max_gap_s: A repetition interrupted longer than this (no valid frame) is
            dropped: the next one must start from rest.
        max_rep_periods: A repetition whose frames with a person span more than
            this many periods of the counted signal, from leaving rest to coming
            back, is a transition (getting down to the floor or up from it, walking
            to the bar), not a repetition (0: no limit).
        max_rep_durations: The same against the set's own repetitions, once two
            are counted: more frames with a person than this many times their
            median (the period includes the rests between repetitions, long in a
            short set with pauses; 0: no limit).
    """

    min_period_s: float = 0.4
    max_period_s: float = 10.0
    num_components: int = 5
    first_peak_fraction: float = 0.7
    detrend_periods: float = 1.0
    smooth_periods: float = 0.06
    range_periods: float = 2.5
    range_tail: float = 0.05
    range_floor: float = 0.4
    threshold: float = 0.3
    min_joint_fraction: float = 0.5
    min_body_range: float = 0.5
    min_angle_range_deg: float = 30.0
    guide_strength: float = 0.8
    min_strength: float = 0.2
    adopt_periods: float = 4.0
    evidence: float = 1.2
    switch_ratio: float = 1.25
    window_s: float = 60.0
    refit_s: float = 0.5
    max_gap_s: float = 1.5
    max_rep_periods: float = 2.5
    max_rep_durations: float = 4.0

    def __post_init__(self) -> None:
        if not 0 < self.min_period_s < self.max_period_s:
            raise ValueError(
                "need 0 < min_period_s < max_period_s, got "
                f"{self.min_period_s}, {self.max_period_s}"
            )
        if self.num_components < 1:
            raise ValueError(f"num_components must be >= 1, got {self.num_components}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if not 0.0 < self.guide_strength <= 1.0:
            raise ValueError(
                f"guide_strength must be in (0, 1], got {self.guide_strength}"
            )
        for name in (
            "detrend_periods",
            "range_periods",
            "range_floor",
            "smooth_periods",
            "refit_s",
            "max_gap_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.range_tail < 0.5:
            raise ValueError(f"range_tail must be in [0, 0.5), got {self.range_tail}")
        for name in ("max_rep_periods", "max_rep_durations"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.window_s >= 2 * self.max_period_s:
            raise ValueError(
                f"window_s must be >= 2 * max_period_s, got {self.window_s}"
            )


@dataclass(frozen=True, slots=True)
class CountedRep:
    """One counted repetition.

    Attributes:
        count: Its number in the set (1, 2, ...).
        start_ms / turn_ms / end_ms: Where it left rest, its turning point, where it
            was back (for a two-phase template, end = turn).
        start_frame / end_frame: The same as frame numbers since the counter started.
        fixed: Counted between a template's own rest and turning thresholds (before
            any signal showed its period), not relative to the signal's range.
    """

    count: int
    start_ms: int
    turn_ms: int
    end_ms: int
    start_frame: int
    end_frame: int
    fixed: bool = False
