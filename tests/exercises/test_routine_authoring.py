"""Authoring a routine from a demonstration of a flowing form, and scoring whole
performances against it: synthetic forms built from the Baduanjin's key poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from exercises.routine import get_routine, load_routine
from exercises.routine_authoring import (
    AuthoringError,
    RoutineDraftOptions,
    cut_moves,
    dump_routine,
    form_features,
    propose_routine,
)
from exercises.routine_form import score_form
from tests.routine_performance import frames_of
from vision.types import PoseFrame

F64 = npt.NDArray[np.float64]
FPS = 10.0
NAME = {"en": "Test form", "zh-CN": "测试套路"}
MOVES = (("rest", 3.0), ("turn", 4.0), ("rest", 3.0))
"""The demonstration: from section 1's rest pose, (pose, seconds) moves in turn,
each eased in and out (half-cosine), so the body is still only where moves meet."""
CUT_TOLERANCE_S = 3 / FPS  # the tracker's One-Euro smoothing lags a frame or two


def _pose(section_id: str, name: str) -> F64:
    keys = get_routine("baduanjin").section(section_id).key_poses
    return next(k for k in keys if k.name == name).array().astype(np.float64)


def _flow(
    moves: tuple[tuple[F64, float], ...], start: F64, fps: float = FPS
) -> list[F64]:
    poses, current = [start], start
    for target, seconds in moves:
        n = round(seconds * fps)
        for i in range(1, n + 1):
            w = 0.5 - 0.5 * np.cos(np.pi * i / n)
            poses.append(current + (target - current) * w)
        current = target
    return poses


def _demo() -> list[F64]:
    """Rest -> hands up (section 1's turn) -> bow drawn (section 2's) -> rest."""
    rest = _pose("hold_up_heavens", "rest")
    return _flow(
        (
            (_pose("hold_up_heavens", "turn"), 3.0),
            (_pose("draw_the_bow", "turn"), 4.0),
            (rest, 3.0),
        ),
        rest,
    )


def _retimed(frames: list[PoseFrame], factor: float, wobble: float) -> list[PoseFrame]:
    """The same poses, shown `factor` times slower and unevenly (t + a sin)."""
    t = np.array([f.timestamp_ms for f in frames], np.float64)
    span = t[-1]
    new = factor * (t + wobble * span / (2 * np.pi) * np.sin(2 * np.pi * t / span))
    return [
        PoseFrame(f.xyz, f.visibility, round(ms), f.skeleton)
        for f, ms in zip(frames, new, strict=True)
    ]


def _author(**options: object) -> object:
    frames = frames_of(_demo(), FPS, 1.0)
    return propose_routine(
        frames,
        routine_id="test_form",
        name=NAME,
        options=RoutineDraftOptions(**options),  # type: ignore[arg-type]
    )


def test_moves_are_cut_where_the_body_is_still() -> None:
    ts, feats = form_features(frames_of(_demo(), FPS, 1.0))
    cuts = cut_moves(ts, feats)
    assert len(cuts) == 2
    assert abs(cuts[0] - 3.0) <= CUT_TOLERANCE_S
    assert abs(cuts[1] - 7.0) <= CUT_TOLERANCE_S


def test_the_draft_has_a_section_per_move() -> None:
    draft = _author()
    spec = draft.spec
    assert [s.id for s in spec.sections] == ["move_01", "move_02", "move_03"]
    assert [s.number for s in spec.sections] == [1, 2, 3]
    assert [s.rounds for s in spec.sections] == [1, 1, 1]
    assert [s.pace_s for s in spec.sections] == pytest.approx(
        [draft.cuts_s[0], draft.cuts_s[1] - draft.cuts_s[0], 10.0 - draft.cuts_s[1]]
    )
    assert spec.sections[1].name == {"en": "Move 2", "zh-CN": "第2式"}
    # move 1 lifts the hands: wrist heights move, the key poses begin at rest
    first = spec.sections[0]
    assert "wrist_height_left" in first.turning_features()
    assert [k.name for k in first.key_poses] == ["rest", "turn", "end"]
    rest = _pose("hold_up_heavens", "rest")
    start = first.key_poses[0].array()
    # in torso lengths of the whole demonstration (its 90th percentile torso)
    assert np.abs(start - (rest - (rest[15] + rest[16]) / 2)).max() < 0.05


def test_the_files_read_back_to_the_same_routine(tmp_path: Path) -> None:
    draft = _author()
    routine_text, poses_text = dump_routine(draft)
    (tmp_path / "test_form.toml").write_text(routine_text, encoding="utf-8")
    (tmp_path / "test_form.poses.toml").write_text(poses_text, encoding="utf-8")
    assert load_routine(tmp_path / "test_form.toml") == draft.spec


def test_cuts_given_by_the_coach_are_kept() -> None:
    draft = _author(cuts_s=(5.0,))
    assert draft.cuts_s == (5.0,)
    assert [s.pace_s for s in draft.spec.sections] == [5.0, 5.0]


@pytest.mark.parametrize(
    "cuts", [pytest.param((0.5,), id="too-early"), pytest.param((4.0, 4.5), id="close")]
)
def test_bad_cuts_are_refused(cuts: tuple[float, ...]) -> None:
    with pytest.raises(AuthoringError, match="at least 1 s apart"):
        _author(cuts_s=cuts)


def test_a_demonstration_too_short_is_refused() -> None:
    frames = frames_of(_demo()[:10], FPS, 1.0)
    with pytest.raises(AuthoringError, match="at least 2 s"):
        propose_routine(frames, routine_id="x", name=NAME)


# --- scoring whole performances ------------------------------------------------------


def _score(poses: list[F64], retime: tuple[float, float] = (1.0, 0.0)) -> object:
    draft = _author()
    frames = _retimed(frames_of(poses, FPS, 1.0), *retime)
    ts, feats = form_features(frames)
    return score_form(draft.spec, ts, feats)  # type: ignore[attr-defined]


def test_the_demonstration_itself_scores_full_marks() -> None:
    result = _score(_demo())
    assert result.score == 100.0  # type: ignore[attr-defined]
    assert all(s.seen for s in result.sections)  # type: ignore[attr-defined]


def test_a_slower_uneven_performance_is_followed() -> None:
    result = _score(_demo(), (1.4, 0.2))
    assert result.score >= 95.0  # type: ignore[attr-defined]
    assert result.tempo == pytest.approx(1.4, abs=0.02)  # type: ignore[attr-defined]


def test_other_movements_score_lower() -> None:
    rest = _pose("hold_up_heavens", "rest")
    other = _flow(
        (
            (_pose("raise_single_arm", "turn"), 3.0),
            (_pose("touch_the_feet", "turn"), 4.0),
            (rest, 3.0),
        ),
        rest,
    )
    own = _score(_demo(), (1.2, 0.1)).score  # type: ignore[attr-defined]
    assert _score(other).score < own - 30  # type: ignore[attr-defined]


def test_a_move_left_out_is_marked_down() -> None:
    rest = _pose("hold_up_heavens", "rest")
    skipped = _flow(
        ((_pose("hold_up_heavens", "turn"), 3.0), (rest, 3.0)), rest
    )  # the bow is never drawn
    result = _score(skipped)
    scores = [s.score for s in result.sections]  # type: ignore[attr-defined]
    assert scores[1] < 60.0
    assert result.score < 85.0  # type: ignore[attr-defined]


def test_nobody_in_view_scores_nothing() -> None:
    draft = _author()
    frames = [PoseFrame.missing(i * 100) for i in range(50)]
    ts, feats = form_features(frames)
    result = score_form(draft.spec, ts, feats)
    assert result.score == 0.0
    assert not any(s.seen for s in result.sections)
