"""exercises.routine_tracking: round counters and the section classifier on rounds
built from the Baduanjin's key poses."""

from __future__ import annotations

import re

import numpy as np
import pytest

from exercises.routine import get_routine
from exercises.routine_features import FeatureTracker
from exercises.routine_tracking import (
    REST_DWELL_MS,
    Candidate,
    FeatureHistory,
    RoundCounter,
    SectionClassifier,
)
from tests.routine_performance import Part, frames_of, perform, round_poses
from vision.types import PoseFrame

FPS = 10.0
ROUTINE = get_routine("baduanjin")
IDS = [s.id for s in ROUTINE.sections]


def _count(frames: list[PoseFrame], section_id: str) -> list[Candidate]:
    index = IDS.index(section_id)
    counter = RoundCounter(ROUTINE.sections[index], index)
    tracker = FeatureTracker(1.0)
    out = []
    for i, f in enumerate(frames):
        cand = counter.update(i, f.timestamp_ms, tracker.update(f))
        if cand is not None:
            out.append(cand)
    return out


@pytest.mark.parametrize(
    ("section_id", "sides"),
    [
        pytest.param("hold_up_heavens", None, id="symmetric"),
        pytest.param("draw_the_bow", ("left", "right", "left"), id="alternating"),
        pytest.param("look_back", ("right", "right", "left"), id="mirrored"),
        pytest.param("heel_raises", None, id="heel-raises"),
    ],
)
def test_counter_finds_each_round_its_turn_and_side(
    section_id: str, sides: tuple[str, ...] | None
) -> None:
    frames, turns = perform(ROUTINE, [Part(section_id, 3, sides)], fps=FPS)
    found = _count(frames, section_id)
    assert [c.side for c in found] == [t.side for t in turns]
    for c, t in zip(found, turns, strict=True):
        assert frames[t.rising].timestamp_ms <= c.turning_ms
        assert c.turning_ms <= frames[t.returning].timestamp_ms
        assert c.start_ms < c.turning_ms < c.end_ms


def test_counter_waits_for_rest_before_the_first_round() -> None:
    frames, _ = perform(ROUTINE, [Part("hold_up_heavens", 2)], fps=FPS)
    # start the clip in the middle of the first round's hold at the top
    cut = next(i for i, f in enumerate(frames) if f.timestamp_ms >= 9_000)
    assert len(_count(frames[cut:], "hold_up_heavens")) == 1
    assert len(_count(frames, "hold_up_heavens")) == 2


def test_a_brief_dip_at_the_turn_does_not_split_the_round() -> None:
    section = ROUTINE.section("raise_single_arm")
    poses, (first, last) = round_poses(section, "left", 11.5, FPS, 2.0)
    rest = poses[0]
    dip = max(1, round(REST_DWELL_MS / 1000 * FPS) - 2)  # shorter than the dwell
    mid = (first + last) // 2
    poses = poses[:mid] + [rest] * dip + poses[mid:]
    frames = frames_of([rest] * 20 + poses + [rest] * 20, FPS, 1.0)
    assert len(_count(frames, "raise_single_arm")) == 1


def test_counter_rejects_bad_thresholds() -> None:
    with pytest.raises(
        ValueError, match=re.escape("expected 0 < low < high, got low 0.7, high 0.6")
    ):
        RoundCounter(ROUTINE.sections[1], 1, high=0.6, low=0.7)


@pytest.mark.parametrize("section_id", IDS)
def test_classifier_knows_every_section_by_its_round(section_id: str) -> None:
    section = ROUTINE.section(section_id)
    side = "right" if section.sides == "alternate" else None
    poses, _ = round_poses(section, side, section.pace_s, FPS, 1.0)
    frames = frames_of([poses[0]] * 30 + poses, FPS, 1.0)
    tracker = FeatureTracker(1.0)
    features = np.stack([tracker.update(f) for f in frames])[30:]
    costs = SectionClassifier(ROUTINE).costs(features)
    assert IDS[int(np.nanargmin(costs))] == section_id
    assert costs[IDS.index(section_id)] < 0.5


def test_history_keeps_the_recent_span() -> None:
    history = FeatureHistory(1000)
    for i in range(30):
        history.add(i * 100, np.full(3, i, np.float32))
    ts, rows = history.window(0, 100)
    assert ts.tolist() == list(range(1900, 3000, 100))
    assert rows[:, 0].tolist() == list(range(19, 30))
    assert history.window(0, 5)[1].shape[0] == 0
