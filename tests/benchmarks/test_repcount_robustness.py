"""benchmarks.repcount_robustness: the changes it makes to a recording, and the counter
counting a synthetic set alike under each."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.repcount_data import RepSequence
from benchmarks.repcount_robustness import (
    between_reps,
    camera_cut,
    dropped,
    every_other_frame,
    jittered,
    mirrored,
    stability,
    with_cards,
)
from exercises.analysis import analyze
from exercises.counting import count_repetitions
from exercises.spec import get_spec
from tests.factories import make_window, rep_frames


def _curls():
    return make_window(rep_frames(get_spec("bicep_curl"), reps=3))


def test_mirrored_flips_x_swaps_sides_and_undoes_itself():
    window = _curls()
    names = tuple(window.skeleton.joint_names)
    left, right = names.index("left_wrist"), names.index("right_wrist")
    flipped = mirrored(window)
    np.testing.assert_allclose(
        flipped.xyz[:, right, 0], 1.0 - window.xyz[:, left, 0], atol=1e-6
    )
    np.testing.assert_array_equal(flipped.xyz[:, right, 1], window.xyz[:, left, 1])
    twice = mirrored(flipped)
    np.testing.assert_allclose(twice.xyz, window.xyz, atol=1e-6)
    np.testing.assert_array_equal(twice.visibility, window.visibility)


def test_half_rate_drops_and_jitter():
    window = _curls()
    half = every_other_frame(window)
    assert len(half) == (len(window) + 1) // 2
    np.testing.assert_array_equal(half.timestamp_ms, window.timestamp_ms[::2])

    lossy = dropped(window, 0.5, seed=1)
    lost = np.isnan(lossy.xyz).all(axis=(1, 2))
    assert 0.3 < lost.mean() < 0.7
    assert (lossy.visibility[lost] == 0).all()
    np.testing.assert_array_equal(lossy.xyz[~lost], window.xyz[~lost])

    noisy = jittered(window, 0.01)
    moved = noisy.xyz[..., :2] - window.xyz[..., :2]
    assert 0.005 < float(np.nanstd(moved)) < 0.02
    np.testing.assert_array_equal(noisy.xyz[..., 2], window.xyz[..., 2])


def test_title_cards_and_a_camera_cut():
    window = _curls()
    step = int(np.median(np.diff(window.timestamp_ms)))
    carded = with_cards(window, 50, 1.0)
    card = len(carded) - len(window)
    assert card % 2 == 0 and abs(card // 2 * step - 1000) <= step
    half = card // 2
    gone = np.isnan(carded.xyz).all(axis=(1, 2))
    np.testing.assert_array_equal(np.flatnonzero(gone)[:half], np.arange(half))
    np.testing.assert_array_equal(
        np.flatnonzero(gone)[half:], np.arange(half + 50, card + 50)
    )
    np.testing.assert_array_equal(carded.xyz[~gone], window.xyz)
    assert (np.diff(carded.timestamp_ms) > 0).all()
    # The recording's own frame intervals are kept.
    np.testing.assert_array_equal(
        np.diff(carded.timestamp_ms[~gone][:50]), np.diff(window.timestamp_ms[:50])
    )

    cut = camera_cut(window, 40, 0.75, (0.08, 0.05))
    np.testing.assert_array_equal(cut.xyz[:40], window.xyz[:40])
    np.testing.assert_allclose(
        cut.xyz[40:, :, 0], 0.5 + 0.75 * (window.xyz[40:, :, 0] - 0.5) + 0.08, atol=1e-6
    )
    assert float(np.nanmax(cut.xyz[..., :2])) <= 1.0


def test_the_boundary_between_reps_nearest_the_middle(tmp_path):
    seq = RepSequence("squat", "x.mp4", 3, ((0, 30), (30, 60), (60, 90)), tmp_path)
    assert between_reps(seq, 100) == 60  # not 90: the end of the last rep
    assert between_reps(RepSequence("squat", "y.mp4", 0, (), tmp_path), 100) == 50


def test_stability_against_the_recorded_counts():
    assert stability([3, 5, 7, 7], [3, 4, 7, 9]) == {
        "changed": 0.5,
        "mean_abs_change": 0.75,
    }


@pytest.mark.parametrize("template_id", ["bicep_curl", "lunge", "squat"])
def test_a_set_counts_alike_mirrored_at_half_rate_and_with_frames_lost(template_id):
    """Eight repetitions from the template's own reference: 8 with the template and
    template-free, seen from the other side, at 15 frames a second, and with a tenth
    of the frames lost."""
    window = make_window(rep_frames(get_spec(template_id), reps=8))
    for seen in (
        window,
        mirrored(window),
        every_other_frame(window),
        dropped(window, 0.1, seed=0),
        with_cards(window, len(window) // 2, 3.0),
        camera_cut(window, len(window) // 2, 0.75, (0.08, 0.05)),
    ):
        assert analyze(seen, template_id).summary.reps == 8
        assert count_repetitions(seen).count == 8
