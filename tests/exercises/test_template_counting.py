"""exercises/template_counting.py (and the guides and local period of counting.py):
relative thresholds where the session's absolute ones are never reached."""

from __future__ import annotations

import numpy as np
import pytest

from exercises.analysis import analyze
from exercises.counting import CounterParams, Guide, count_repetitions
from exercises.spec import builtin_specs, get_spec
from exercises.template_counting import (
    TemplateCount,
    count_with_template,
    template_guides,
)
from tests.conftest import shared_data_path
from tests.exercises.test_counting import _bump_peaks, _profile, make_window
from vision.types import PoseWindow

# --- guides from the template ---------------------------------------------------------


@pytest.mark.parametrize("template_id", ["squat", "push_up", "sit_up", "front_raise"])
def test_guides_follow_the_rest_and_turning_phases(template_id):
    spec = get_spec(template_id)
    guides = template_guides(spec)
    assert guides
    phases = {p.name: p for p in spec.phases}
    rest, turn = phases[spec.cycle[0]], phases[spec.cycle[1]]
    for g in guides:
        (r,) = [c for c in rest.conditions if c.key == g.name]
        (t,) = [c for c in turn.conditions if c.key == g.name]
        if g.sign < 0:  # rest is the high end
            assert r.min is not None and t.max is not None
            assert g.min_range == pytest.approx(0.5 * (r.min - t.max))
        else:
            assert r.max is not None and t.min is not None
            assert g.min_range == pytest.approx(0.5 * (t.min - r.max))


def test_jumping_jack_guide_goes_up_from_rest():
    (guide,) = template_guides(get_spec("jumping_jack"))
    assert guide.name == "shoulder"
    assert guide.sign == 1.0


def test_every_builtin_rep_template_has_a_guide_or_none_for_others():
    for spec in builtin_specs().values():
        guides = template_guides(spec)
        if spec.kind != "reps":
            assert guides == ()
        for g in guides:
            assert g.sign in (1.0, -1.0)
            assert g.min_range > 0


# --- synthetic squats ---------------------------------------------------------------


def _squats(depth: float, n: int = 8, **kwargs) -> tuple[np.ndarray, PoseWindow]:
    amount = depth * _profile([45.0] * n, pause=10, lead=30)
    return amount, make_window(amount, "squat", **kwargs)


def test_full_squats_count_like_the_session():
    _, window = _squats(1.0)
    result = count_with_template(window, "squat")
    assert isinstance(result, TemplateCount)
    assert result.count == analyze(window, "squat").summary.reps == 8
    assert result.source.startswith("guide:")


def test_shallow_squats_count_where_absolute_thresholds_are_never_reached():
    amount, window = _squats(0.3)
    assert analyze(window, "squat").summary.reps == 0  # the session's thresholds
    result = count_with_template(window, "squat")
    assert result.count == 8
    peaks = _bump_peaks(amount / 0.3)
    for start, end in result.rep_bounds:
        assert ((peaks > start) & (peaks < end)).sum() == 1


def _minmax_per_axis(window: PoseWindow) -> PoseWindow:
    """As in RepCount's pose files: every frame min-max normalised per axis."""
    xyz = window.xyz.astype(np.float64)
    lo = np.nanmin(xyz, axis=1, keepdims=True)
    hi = np.nanmax(xyz, axis=1, keepdims=True)
    out = ((xyz - lo) / (hi - lo)).astype(np.float32)
    return PoseWindow(np.ascontiguousarray(out), window.visibility, window.timestamp_ms)


def test_counts_on_per_axis_normalised_poses():
    _, window = _squats(0.6)
    assert count_with_template(_minmax_per_axis(window), "squat").count == 8


def test_a_gap_without_a_person_between_repetitions_is_bridged():
    amount = _profile([45.0] * 8, pause=30, lead=30)
    missing = np.zeros(len(amount), bool)
    rest = np.flatnonzero(np.convolve(amount == 0, np.ones(27), "valid") == 27) + 1
    start = rest[np.argmin(np.abs(rest - len(amount) // 2))]
    missing[start : start + 25] = True
    window = make_window(0.5 * amount, "squat", missing=missing)
    result = count_with_template(window, "squat")
    assert result.count == 8
    assert np.isnan(result.signal[missing]).all()


def test_standing_still_counts_nothing():
    window = make_window(np.zeros(300), "squat")
    assert count_with_template(window, "squat").count == 0


def test_hold_template_falls_back_to_the_free_counter():
    _, window = _squats(1.0)
    result = count_with_template(window, "plank")
    assert result.guides == ()
    assert result.count == count_repetitions(window).count


def test_pace_limit_caps_the_period():
    _, window = _squats(1.0)
    capped = count_with_template(window, "squat", pace_limit=0.1)
    # 0.1 paces (0.3 s) is shorter than the free counter's fastest period: the cap
    # stops at min_period_frames and nothing slower is considered.
    assert capped.period_frames <= CounterParams().min_period_frames or np.isnan(
        capped.period_frames
    )


# --- guides and local periods in the free counter -----------------------------------


def test_guide_validation():
    with pytest.raises(ValueError, match="sign"):
        Guide("x", np.zeros(3), 0.5, 1.0)
    with pytest.raises(ValueError, match="min_range"):
        Guide("x", np.zeros(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="guide_strength"):
        CounterParams(guide_strength=0.0)
    _, window = _squats(1.0)
    with pytest.raises(ValueError, match="must be"):
        count_repetitions(window, guides=(Guide("x", np.zeros(5), 1.0, 1.0),))


def test_guide_sets_which_end_is_rest():
    amount = _profile([45.0] * 8, pause=10, lead=30)
    window = make_window(amount, "squat")
    # A guide that is the movement itself, declared to go up from rest.
    up = count_repetitions(window, guides=(Guide("amount", amount, 1.0, 0.1),))
    assert up.source == "guide:amount"
    assert up.count == 8
    peaks = _bump_peaks(amount)
    for start, end in up.rep_bounds:
        assert ((peaks > start) & (peaks < end)).sum() == 1
    # Declared the other way, the pauses become the excursions: rep bounds sit on
    # the bumps' turning points instead.
    down = count_repetitions(window, guides=(Guide("amount", amount, -1.0, 0.1),))
    assert down.source == "guide:amount"
    assert [b for b in down.rep_bounds] != [b for b in up.rep_bounds]


@pytest.mark.parametrize(
    ("slow", "n_slow", "fast", "n_fast", "tolerance"),
    [(75.0, 8, 25.0, 16, 0), (90.0, 5, 30.0, 14, 1)],
)
def test_pace_change_within_a_recording(slow, n_slow, fast, n_fast, tolerance):
    amount = np.concatenate(
        [_profile([slow] * n_slow, lead=30), _profile([fast] * n_fast, lead=30)]
    )
    result = count_repetitions(make_window(amount, "raise"))
    assert abs(result.count - (n_slow + n_fast)) <= tolerance


# --- real data (../shared/data/repcount-dev) ------------------------------------------

TEMPLATES = {
    "squat": "squat",
    "push_up": "push_up",
    "situp": "sit_up",
    "front_raise": "front_raise",
    "jump_jack": "jumping_jack",
}
REAL = [
    "stu4_64.mp4",  # squat
    "stu9_52.mp4",  # push-up
    "stu10_19.mp4",  # front raise
    "stu5_18.mp4",  # jumping jack
    "stu7_52.mp4",  # sit-up (crunch-like: the session counts none)
]


def _repcount():
    from benchmarks.repcount_data import load_annotations

    return {s.name: s for s in load_annotations(shared_data_path("repcount-dev"))}


@pytest.mark.parametrize("name", REAL)
def test_real_sequences_within_one(name):
    from benchmarks.repcount_data import load_window

    seq = _repcount()[name]
    result = count_with_template(load_window(seq.path), TEMPLATES[seq.action])
    assert abs(result.count - seq.count) <= 1, (result.count, seq.count)


# Dev-set figures on the 33 sequences with a template when this was written:
# template counter MAE 0.157, off-by-one 0.76; the session 0.251 / 0.67.
DEV_MAE_LIMIT = 0.20
DEV_OBO_FLOOR = 0.70


@pytest.mark.slow
def test_dev_set_accuracy_does_not_regress():
    from benchmarks.repcount_data import load_window

    errors, within_one = [], []
    for seq in _repcount().values():
        if seq.action not in TEMPLATES:
            continue
        count = count_with_template(load_window(seq.path), TEMPLATES[seq.action]).count
        if seq.count > 0:
            errors.append(abs(count - seq.count) / seq.count)
        within_one.append(abs(count - seq.count) <= 1)
    assert len(within_one) >= 25
    assert np.mean(errors) <= DEV_MAE_LIMIT
    assert np.mean(within_one) >= DEV_OBO_FLOOR
