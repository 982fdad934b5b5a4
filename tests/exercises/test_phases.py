"""exercises/phases.py: phase confirmation and the rep cycle, fed channel values
directly; the exact outputs (websockets style)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from exercises.events import PhaseChanged
from exercises.phases import Advanced, Completed, PhaseCycle
from exercises.spec import Condition, Phase

UP = Phase("up", (Condition("knee", min=160.0),))
DOWN = Phase("down", (Condition("knee", max=110.0),))
SHALLOW = Phase("down", (Condition("knee", max=140.0),))
ONE_REP = [175, 175, 150, 120, 100, 95, 100, 120, 150, 175, 175]


def cycle(**kw: object) -> PhaseCycle:
    return PhaseCycle({"up": UP, "down": DOWN}, ("up", "down", "up"), **kw)  # type: ignore[arg-type]


def run(
    c: PhaseCycle, knees: Sequence[float], *, step_ms: int = 100, first: int = 0
) -> list[object]:
    """Every output, each frame's completed round included (index i at i * step)."""
    out: list[object] = []
    for i, knee in enumerate(knees, start=first):
        ts = i * step_ms
        out += c.step({"knee": float(knee)}, i, ts)
        if c.expire(ts):
            out.append(("expired", ts))
        done = c.complete(ts)
        if done is not None:
            out.append(done)
    return out


def test_one_rep_exact_outputs() -> None:
    c = cycle()
    assert run(c, ONE_REP) == [
        PhaseChanged(100, "up", None),  # two frames confirm: 0 and 1
        PhaseChanged(500, "down", "up"),
        Advanced(0, 1, 4, 500),  # from the last frame up (1) to the first down (4)
        PhaseChanged(1000, "up", "down"),
        Advanced(1, 6, 9, 1000),
        Completed(1, 9, 900, False),  # period: from arming at 100 ms
    ]
    assert (c.phase, c.position, c.under_way) == ("up", 0, False)


def test_one_frame_confirms_with_confirm_frames_1() -> None:
    outputs = run(cycle(confirm_frames=1), ONE_REP)
    assert outputs[:3] == [
        PhaseChanged(0, "up", None),
        PhaseChanged(400, "down", "up"),
        Advanced(0, 1, 4, 400),
    ]


@pytest.mark.parametrize(
    "knees",
    [
        pytest.param([175, 175, 150, 150, 150, 175, 175], id="never-down"),
        pytest.param([175, 175, 100, 150, 100, 150, 175], id="down-never-confirmed"),
        pytest.param([float("nan")] * 4 + [100, 100], id="nobody-then-down"),
    ],
)
def test_no_step_without_a_confirmed_phase(knees: list[float]) -> None:
    outputs = run(cycle(), knees)
    assert not any(isinstance(o, Advanced | Completed) for o in outputs), outputs


def test_reentering_the_start_phase_starts_over() -> None:
    c = PhaseCycle(
        {"up": UP, "down": DOWN, "mid": Phase("mid", (Condition("knee", 120, 130),))},
        ("up", "down", "mid", "up"),
    )
    # up -> down -> up again before "mid": no round; then a full one.
    knees = [175, 175, 100, 100, 175, 175, 100, 100, 125, 125, 175, 175]
    assert run(c, knees) == [
        PhaseChanged(100, "up", None),
        PhaseChanged(300, "down", "up"),
        Advanced(0, 1, 2, 300),
        PhaseChanged(500, "up", "down"),  # back to the start: no step
        PhaseChanged(700, "down", "up"),
        Advanced(0, 5, 6, 700),
        PhaseChanged(900, "mid", "down"),
        Advanced(1, 7, 8, 900),
        PhaseChanged(1100, "up", "mid"),
        Advanced(2, 9, 10, 1100),
        Completed(5, 10, 1100 - 500, False),
    ]


def test_a_round_taking_too_long_is_abandoned() -> None:
    c = cycle(max_rep_ms=600)
    slow = [175, 175, 100, 100, 100, 100, 100, 100, 100, 175, 175]
    assert run(c, slow) == [
        PhaseChanged(100, "up", None),
        PhaseChanged(300, "down", "up"),
        Advanced(0, 1, 2, 300),
        ("expired", 800),  # 800 - 100 (the rep's first frame) > 600
        PhaseChanged(1000, "up", "down"),  # not armed in "down": no step
    ]
    assert c.position == 0  # armed again by reaching "up"


def test_a_partial_turn_counts_flagged() -> None:
    c = PhaseCycle(
        {"up": UP, "down": DOWN}, ("up", "down", "up"), partial_phases={"down": SHALLOW}
    )
    outputs = run(c, [175, 175, 130, 130, 175, 175, 100, 100, 175, 175])
    assert [o for o in outputs if isinstance(o, Completed)] == [
        Completed(1, 4, 400, True),
        Completed(5, 8, 400, False),
    ]


def test_forget_starts_over_and_oldest_idx_follows_the_round() -> None:
    c = cycle()
    run(c, [175, 175, 150, 100, 100])
    assert c.oldest_idx == 1 and c.under_way  # the rep's first frame
    c.forget()
    assert (c.phase, c.position, c.oldest_idx) == (None, -1, None)
    assert run(c, [100, 100, 175, 175], first=5) == [
        PhaseChanged(600, "down", None),
        PhaseChanged(800, "up", "down"),  # arms the cycle: no round yet
    ]
