"""exercises/kinds.py: one strategy per template kind, chosen once; a sequence's moves
and holds, a rep's noise guard, a hold's faults counted once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from exercises.events import Event, MoveCompleted
from exercises.kinds import HoldKind, RepsKind, RoundScore, SequenceKind, make_kind
from exercises.phases import Advanced, Completed
from exercises.spec import get_spec
from exercises.trace import Trace
from tests.exercises.test_session import knee_spec, knees

SEQUENCE = get_spec("baduanjin_1")  # raise (hold 2 s), then lower; 4 s each


def kind_of(spec_id: str) -> type:
    spec = get_spec(spec_id)
    kind = make_kind(
        spec,
        trace=Trace(spec.channels),
        phases=spec.phases_for(False),
        elder_mode=False,
        min_rep_ms=400,
        pace_ms=1000.0 * spec.pace_s,
        hold_tick_ms=1000,
        hold_debounce_ms=300,
    )
    return type(kind)


@pytest.mark.parametrize(
    ("spec_id", "kind"),
    [
        pytest.param("squat", RepsKind, id="reps"),
        pytest.param("baduanjin_1", SequenceKind, id="sequence"),
        pytest.param("plank", HoldKind, id="hold"),
    ],
)
def test_the_kind_is_chosen_once_by_the_template(spec_id: str, kind: type) -> None:
    assert kind_of(spec_id) is kind


def moving_trace(seconds: float = 12.0, fps: float = 10.0) -> Trace:
    """The raise then the lower, each over 4 s, on the reference's own values."""
    trace = Trace(SEQUENCE.channels)
    raise_, lower = (m.reference for m in SEQUENCE.moves)
    for i in range(round(seconds * fps)):
        t_s = i / fps
        ref, u = (raise_, t_s / 4) if t_s < 4 else (lower, min(1.0, (t_s - 6) / 4))
        u = max(0.0, u)
        values = {c: ref.at(c, u) for c in ref.channels}
        trace.append(round(t_s * 1000), values, None, "front")
    return trace


def moves(events: list[Event]) -> list[tuple[str, int, int, int]]:
    return [
        (e.move_id, e.round, e.held_ms, e.duration_ms)
        for e in events
        if isinstance(e, MoveCompleted)
    ]


def test_a_sequence_holds_then_moves_on_and_a_round_is_every_move() -> None:
    trace = moving_trace()
    kind = SequenceKind(
        SEQUENCE, trace, SEQUENCE.phases_for(False), hold_debounce_ms=300
    )
    overhead = {"shoulder": 170.0, "elbow": 172.0}
    events: list[Event] = []
    kind.advanced(Advanced(0, 0, 40, 4000), events)  # reached "overhead": holds
    assert events == [] and kind.blocking and kind.oldest_idx == 0
    for ts in range(4100, 6001, 100):
        events += kind.step(overhead, ts, True)
    assert moves(events) == [("raise", 1, 2000, 6000)]  # 4 s moving + 2 s held
    assert not kind.blocking
    kind.left_phase(6100, events)  # nothing pending: nothing more
    kind.advanced(Advanced(1, 60, 100, 10_000), events)  # no hold: at once
    assert moves(events)[1:] == [("lower", 1, 0, 4000)]
    assert all(e.score > 90 for e in events if isinstance(e, MoveCompleted))
    score = kind.score_round(Completed(0, 100, 10_000, False))
    assert score is not None
    assert score.duration_ms == 10_000 and score.expected_ms == 0.0
    scores = [e.score for e in events if isinstance(e, MoveCompleted)]
    assert score.score == round(sum(scores) / 2, 1)
    assert kind.moves_completed == 2
    # The next round is round 2; one move alone is not a round.
    kind.advanced(Advanced(1, 60, 100, 11_000), events)
    assert moves(events)[-1][:2] == ("lower", 2)
    assert kind.score_round(Completed(60, 100, 1000, False)) is None


def test_leaving_the_end_phase_ends_a_hold_early_and_abandon_drops_it() -> None:
    trace = moving_trace()
    kind = SequenceKind(
        SEQUENCE, trace, SEQUENCE.phases_for(False), hold_debounce_ms=300
    )
    events: list[Event] = []
    kind.advanced(Advanced(0, 0, 40, 4000), events)
    events += kind.step({"shoulder": 170.0, "elbow": 172.0}, 4500, True)
    kind.left_phase(4600, events)  # the next phase was confirmed
    assert moves(events) == [("raise", 1, 500, 4500)]
    held = next(e for e in events if isinstance(e, MoveCompleted))
    kind.advanced(Advanced(0, 0, 40, 4000), events)
    kind.abandon()
    assert not kind.blocking and kind.score_round(Completed(0, 40, 1, False)) is None
    assert held.score < 90  # half a second of two held: up to half the score lost


def counted(
    angles: list[float], step_ms: int = 100, **extra: Any
) -> list[tuple[Completed, RoundScore]]:
    """A knee-bend kind (up >= 160, down <= 110) fed side-view frames."""
    spec = knee_spec(**extra)
    trace = Trace(spec.channels)
    kind = make_kind(
        spec,
        trace=trace,
        phases=spec.phases_for(False),
        elder_mode=False,
        min_rep_ms=400,
        pace_ms=1000.0,
        hold_tick_ms=1000,
        hold_debounce_ms=300,
    )
    out = []
    for frame, angle in zip(knees(angles, step_ms=step_ms), angles, strict=True):
        values = {"knee": float(angle)}
        trace.append(frame.timestamp_ms, values, "left", "side")
        out += kind.count(frame, values)
    return out + kind.finish()


PARTIAL = {
    "cue": {"en": "A little lower.", "zh-CN": "再低一点。"},
    "phases": {"down": {"knee": {"max_deg": 140.0}}},
}


@pytest.mark.parametrize(
    ("angles", "step_ms", "extra", "expected"),
    [
        # From the last frame up (1) to the first up again (9); the reference is cut
        # where it crosses the phase thresholds (0.1 to 0.9 of it): 800 ms expected.
        pytest.param(
            [175, 175, 150, 120, 100, 95, 100, 120, 150, 175, 175],
            100,
            {},
            [(1, 9, False, 800, 800.0)],
            id="one-rep",
        ),
        pytest.param(
            [175, 175, 150, 130, 130, 150, 175, 175], 100, {}, [], id="too-shallow"
        ),
        pytest.param(
            [175, 175, 150, 130, 130, 150, 175, 175],
            100,
            {"partial": PARTIAL},
            [(1, 6, True, 500, 800.0)],
            id="partial",
        ),
        # Flicker between the phases every two frames at 30 fps: 133 ms cycles,
        # under the least rep time (400 ms).
        pytest.param([175, 175] + [100, 100, 175, 175] * 10, 33, {}, [], id="jitter"),
    ],
)
def test_reps_are_the_counter_s_each_scored(
    angles: list[float],
    step_ms: int,
    extra: dict[str, Any],
    expected: list[tuple[int, int, bool, int, float]],
) -> None:
    done = counted(angles, step_ms, **extra)
    assert [
        (d.start_idx, d.end_idx, d.partial, s.duration_ms, round(s.expected_ms))
        for d, s in done
    ] == expected
    assert all(s.score >= (40.0 if d.partial else 85.0) for d, s in done)


def test_a_hold_counts_each_fault_once() -> None:
    spec = get_spec("plank")
    kind = HoldKind(spec, elder_mode=False, tick_ms=1000, debounce_ms=300)
    counts: Counter[str] = Counter()
    for faults in (["sag"], ["sag", "pike"], ["sag", "pike"]):
        kind.count_faults(faults, counts)
    assert counts == {"sag": 1, "pike": 1}
    assert kind.hold_target_ms == round(spec.hold.target_s * 1000)  # type: ignore[union-attr]
    elder = HoldKind(spec, elder_mode=True, tick_ms=1000, debounce_ms=300)
    assert elder.hold_target_ms == round(spec.elder.hold_target_s * 1000)  # type: ignore[operator]
