"""exercises/counting.py: exact counts on synthetic movement, live counts, real data."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from exercises.counting import (
    CounterParams,
    RepCount,
    StreamingRepCounter,
    count_repetitions,
)
from tests.conftest import shared_data_path
from vision.types import PoseFrame, PoseWindow, Skeleton

J = Skeleton.BLAZEPOSE_33.num_joints
_IDX = Skeleton.BLAZEPOSE_33.index

# A standing figure in image coordinates (x right, y down), about 0.7 tall.
_STANDING = {
    "nose": (0.50, 0.18),
    "left_eye_inner": (0.51, 0.17),
    "left_eye": (0.52, 0.17),
    "left_eye_outer": (0.53, 0.17),
    "right_eye_inner": (0.49, 0.17),
    "right_eye": (0.48, 0.17),
    "right_eye_outer": (0.47, 0.17),
    "left_ear": (0.54, 0.18),
    "right_ear": (0.46, 0.18),
    "mouth_left": (0.51, 0.20),
    "mouth_right": (0.49, 0.20),
    "left_shoulder": (0.57, 0.28),
    "right_shoulder": (0.43, 0.28),
    "left_elbow": (0.58, 0.40),
    "right_elbow": (0.42, 0.40),
    "left_wrist": (0.59, 0.51),
    "right_wrist": (0.41, 0.51),
    "left_hip": (0.54, 0.53),
    "right_hip": (0.46, 0.53),
    "left_knee": (0.54, 0.69),
    "right_knee": (0.46, 0.69),
    "left_ankle": (0.54, 0.85),
    "right_ankle": (0.46, 0.85),
    "left_heel": (0.54, 0.87),
    "right_heel": (0.46, 0.87),
    "left_foot_index": (0.56, 0.88),
    "right_foot_index": (0.44, 0.88),
}
_HANDS = ("pinky", "index", "thumb")


def _standing() -> np.ndarray:
    xyz = np.zeros((J, 3))
    for name, (x, y) in _STANDING.items():
        xyz[_IDX(name), :2] = x, y
    for side in ("left", "right"):
        for hand in _HANDS:
            xyz[_IDX(f"{side}_{hand}")] = xyz[_IDX(f"{side}_wrist")] + [0.0, 0.02, 0.0]
    return xyz


def _raise_arms(xyz: np.ndarray, amount: float) -> np.ndarray:
    """Lateral raise: arms turn about the shoulders, 0 = hanging, 1 = horizontal."""
    out = xyz.copy()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder = xyz[_IDX(f"{side}_shoulder"), :2]
        angle = amount * math.pi / 2
        direction = np.array([sign * math.sin(angle), math.cos(angle)])
        out[_IDX(f"{side}_elbow"), :2] = shoulder + 0.12 * direction
        out[_IDX(f"{side}_wrist"), :2] = shoulder + 0.23 * direction
        for hand in _HANDS:
            out[_IDX(f"{side}_{hand}"), :2] = shoulder + 0.25 * direction
    return out


def _squat(xyz: np.ndarray, amount: float) -> np.ndarray:
    """Squat: the upper body drops and the knees go forward (here: outward)."""
    out = xyz.copy()
    drop = 0.16 * amount
    upper = [i for i in range(J) if xyz[i, 1] < 0.6]
    out[upper, 1] += drop
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[_IDX(f"{side}_knee"), 0] += sign * 0.08 * amount
        out[_IDX(f"{side}_knee"), 1] += 0.3 * drop
    return out


MOVES = {"raise": _raise_arms, "squat": _squat}


def _profile(
    periods: list[float], pause: float = 0.0, lead: int = 0, tail: float = 0.0
):
    """Movement amount per frame: `lead` frames of rest, then one raised-cosine bump
    per period (rest -> full -> rest) with `pause` frames of rest after each, then a
    final partial bump reaching `tail` of the way and staying there."""
    parts = [np.zeros(lead)]
    for period in periods:
        t = np.arange(round(period)) / period
        parts += [(1 - np.cos(2 * np.pi * t)) / 2, np.zeros(int(pause))]
    if tail:  # the recording ends there
        n = round(periods[-1] / 2)
        parts.append(tail * (1 - np.cos(np.pi * np.arange(n) / n)) / 2)
        parts.append(np.full(20, tail))
    else:
        parts.append(np.zeros(lead))
    return np.concatenate(parts)


def make_window(
    amount: np.ndarray,
    move: str = "raise",
    *,
    noise: float = 0.003,
    missing: np.ndarray | None = None,
    seed: int = 0,
) -> PoseWindow:
    """A PoseWindow of the standing figure doing `move` by `amount` per frame."""
    rng = np.random.default_rng(seed)
    base = _standing()
    xyz = np.stack([MOVES[move](base, a) for a in amount])
    xyz += rng.normal(0.0, noise, xyz.shape)
    xyz = xyz.astype(np.float32)
    vis = np.ones(xyz.shape[:2], np.float32)
    if missing is not None:
        xyz[missing] = np.nan
        vis[missing] = 0.0
    ts = np.arange(len(amount), dtype=np.int64) * 33
    return PoseWindow(np.ascontiguousarray(xyz), vis, ts)


def _bump_peaks(amount: np.ndarray) -> np.ndarray:
    """Frames where a full bump peaks (amount > 0.9 and a local maximum)."""
    inner = amount[1:-1]
    peaks = (inner > 0.9) & (inner >= amount[:-2]) & (inner > amount[2:])
    return np.flatnonzero(peaks) + 1


CASES = [
    pytest.param(_profile([40.0] * 10), "raise", None, 10, id="steady-raises"),
    pytest.param(_profile([45.0] * 8), "squat", None, 8, id="steady-squats"),
    pytest.param(
        _profile([36.0] * 7, pause=25, lead=60), "squat", None, 7, id="pauses-and-idle"
    ),
    pytest.param(
        _profile(list(np.linspace(30, 60, 12))), "raise", None, 12, id="slowing-down"
    ),
    pytest.param(_profile([25.0] * 20), "raise", None, 20, id="fast"),
    pytest.param(_profile([90.0] * 5, lead=30), "squat", None, 5, id="slow"),
    pytest.param(
        _profile([40.0] * 9, lead=40, tail=0.45), "raise", None, 9, id="stops-half-way"
    ),
    pytest.param(_profile([40.0] * 10), "raise", "scattered", 10, id="missing-frames"),
    pytest.param(_profile([40.0] * 10, pause=30), "squat", "gap", 10, id="nobody-gap"),
]


def _missing(kind: str | None, n: int, amount: np.ndarray) -> np.ndarray | None:
    if kind is None:
        return None
    mask = np.zeros(n, bool)
    if kind == "scattered":
        mask[np.random.default_rng(3).uniform(size=n) < 0.1] = True
    else:  # a 25-frame gap within a pause between two repetitions, mid-recording
        resting = np.convolve(amount == 0, np.ones(27), "valid") == 27
        starts = np.flatnonzero(resting) + 1
        start = starts[np.argmin(np.abs(starts - n // 2))]
        mask[start : start + 25] = True
        assert (amount[mask] == 0).all()
    return mask


@pytest.mark.parametrize(("amount", "move", "missing", "expected"), CASES)
def test_counts_synthetic_movement_exactly(amount, move, missing, expected):
    window = make_window(amount, move, missing=_missing(missing, len(amount), amount))
    result = count_repetitions(window)
    assert result.count == expected
    assert len(result.rep_bounds) == expected
    # Every counted repetition spans exactly one true turning point.
    peaks = _bump_peaks(amount)
    for start, end in result.rep_bounds:
        assert 0 <= start < end < len(amount)
        assert ((peaks > start) & (peaks < end)).sum() == 1


@pytest.mark.parametrize(("amount", "move", "missing", "expected"), CASES[:4])
def test_period_estimate_matches_the_movement(amount, move, missing, expected):
    window = make_window(amount, move)
    result = count_repetitions(window)
    true_period = len(amount) / expected if missing is None else 40.0
    active = np.flatnonzero(amount > 0)
    true_period = (active[-1] - active[0]) / expected
    assert result.period_frames == pytest.approx(true_period, rel=0.3)


def test_standing_still_counts_nothing():
    result = count_repetitions(make_window(np.zeros(400), noise=0.004))
    assert result.count == 0 and result.rep_bounds == []


def test_nobody_in_view_counts_nothing():
    window = make_window(np.zeros(200), missing=np.ones(200, bool))
    result = count_repetitions(window)
    assert result.count == 0 and math.isnan(result.period_frames)
    assert np.isnan(result.signal).all()


def test_small_twitches_are_not_repetitions():
    """A regular but tiny movement (2% of a raise) is below the movement floor."""
    result = count_repetitions(make_window(0.02 * _profile([40.0] * 10), noise=0.001))
    assert result.count == 0


def test_signal_is_normalised_oriented_and_nan_in_gaps():
    amount = _profile([40.0] * 6, lead=20)
    missing = np.zeros(len(amount), bool)
    missing[100:110] = True
    result = count_repetitions(make_window(amount, missing=missing))
    assert result.signal.dtype == np.float32 and result.signal.shape == (len(amount),)
    assert np.isnan(result.signal[100:110]).all()
    finite = result.signal[np.isfinite(result.signal)]
    assert -1.6 < finite.min() and finite.max() < 1.6
    # Positive = away from rest: at the turning points, not at the pauses.
    peaks = _bump_peaks(amount)
    assert (result.signal[peaks[peaks < 100]] > 0.3).all()
    assert result.source


@pytest.mark.parametrize(
    ("scale", "shift"),
    [
        pytest.param(1.0, (0.0, 0.0), id="same"),
        pytest.param(0.5, (0.2, 0.1), id="farther-and-aside"),
        pytest.param(1.3, (-0.1, -0.05), id="closer"),
    ],
)
def test_position_and_size_in_the_image_do_not_matter(scale, shift):
    amount = _profile([40.0] * 8, lead=20)
    window = make_window(amount)
    xyz = window.xyz.copy()
    xyz[..., :2] = (xyz[..., :2] - 0.5) * scale + 0.5 + np.array(shift, np.float32)
    moved = PoseWindow(xyz, window.visibility, window.timestamp_ms)
    base, other = count_repetitions(window), count_repetitions(moved)
    assert other.count == base.count == 8
    assert other.rep_bounds == base.rep_bounds


def test_array_input_equals_window_input():
    window = make_window(_profile([40.0] * 6))
    from_window = count_repetitions(window)
    from_arrays = count_repetitions(window.xyz, window.visibility)
    assert from_arrays.count == from_window.count
    assert from_arrays.rep_bounds == from_window.rep_bounds
    npt.assert_array_equal(from_arrays.signal, from_window.signal)
    # Without visibility, finite joints count as visible.
    assert count_repetitions(window.xyz).count == from_window.count


def test_other_skeletons_are_supported():
    window = make_window(_profile([40.0] * 6))
    coco = Skeleton.COCO_17
    rows = [_IDX(name) for name in coco.joint_names]
    xyz = np.ascontiguousarray(window.xyz[:, rows])
    result = count_repetitions(xyz, skeleton=coco)
    assert result.count == 6


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        pytest.param(([1, 2, 3],), {}, TypeError, "PoseWindow", id="list"),
        pytest.param(
            (np.zeros((10, 17, 3), np.float32),),
            {},
            ValueError,
            r"\(T, 33, 3\)",
            id="wrong-joints",
        ),
        pytest.param(
            (np.zeros((10, 33, 2), np.float32),),
            {},
            ValueError,
            r"\(T, 33, 3\)",
            id="xy-only",
        ),
        pytest.param(
            (np.zeros((10, 33, 3), np.float32), np.ones((10, 32), np.float32)),
            {},
            ValueError,
            "visibility must be",
            id="visibility-shape",
        ),
        pytest.param(
            (make_window(np.zeros(30)), np.ones((30, 33), np.float32)),
            {},
            ValueError,
            "only with an xyz array",
            id="visibility-with-window",
        ),
    ],
)
def test_input_validation(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        count_repetitions(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"min_period_frames": 50, "max_period_frames": 40}, "min_period"),
        pytest.param({"threshold": 1.2}, "threshold"),
        pytest.param({"num_components": 0}, "num_components"),
        pytest.param({"range_floor": 0.0}, "range_floor"),
    ],
)
def test_params_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CounterParams(**kwargs)


def test_short_window_counts_nothing_without_error():
    result = count_repetitions(make_window(_profile([10.0])))
    assert isinstance(result, RepCount) and result.count == 0


# --- live counting -------------------------------------------------------------------


def _stream(window: PoseWindow, counter: StreamingRepCounter) -> list[int]:
    """Frames at which the counter reported a completed repetition."""
    return [t for t in range(len(window)) if counter.push(window[t])]


@pytest.mark.parametrize(
    ("amount", "move", "expected"),
    [
        pytest.param(_profile([40.0] * 12, lead=30), "raise", 12, id="raises"),
        pytest.param(
            _profile([45.0] * 10, pause=20, lead=60), "squat", 10, id="squats"
        ),
    ],
)
def test_streaming_counts_like_offline_and_reports_after_each_rep(
    amount, move, expected
):
    window = make_window(amount, move)
    counter = StreamingRepCounter(params=CounterParams(max_period_frames=120))
    reported = _stream(window, counter)
    assert counter.count == count_repetitions(window).count == expected
    # After the warm-up, each repetition is reported once, after its turning point and
    # within a period of it.
    peaks = _bump_peaks(amount)
    late = reported[-5:]
    for t, peak in zip(late, peaks[-5:], strict=True):
        assert peak < t <= peak + 50
    assert counter.period_frames == pytest.approx(np.diff(peaks).mean(), rel=0.2)


def test_streaming_ignores_standing_still_and_resets():
    counter = StreamingRepCounter(params=CounterParams(max_period_frames=120))
    assert _stream(make_window(np.zeros(500), noise=0.004), counter) == []
    assert counter.count == 0
    _stream(make_window(_profile([40.0] * 8, lead=30)), counter)
    assert counter.count == 8
    counter.reset()
    assert counter.count == 0 and math.isnan(counter.period_frames)


def test_streaming_survives_nobody_in_view():
    amount = _profile([40.0] * 10, pause=30, lead=30)
    missing = _missing("gap", len(amount), amount)
    window = make_window(amount, "squat", missing=missing)
    counter = StreamingRepCounter(params=CounterParams(max_period_frames=120))
    _stream(window, counter)
    assert counter.count == 10


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        pytest.param("frame", TypeError, id="not-a-frame"),
        pytest.param(PoseFrame.missing(0, Skeleton.COCO_17), ValueError, id="skeleton"),
    ],
)
def test_streaming_validation(frame, error):
    with pytest.raises(error):
        StreamingRepCounter().push(frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"window_frames": 10}, "window_frames", id="window"),
        pytest.param({"refit_every": 0}, "refit_every", id="refit"),
    ],
)
def test_streaming_params_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StreamingRepCounter(**kwargs)


# --- real data (../shared/data/repcount-dev) ------------------------------------------

# One sequence per action type the counter handles well; the aggregate below covers all.
REAL = [
    ("squat", "stu4_64.mp4"),
    ("push_up", "stu9_52.mp4"),
    ("jump_jack", "stu2_25.mp4"),
    ("situp", "stu9_57.mp4"),
    ("pull_up", "stu2_34.mp4"),
    ("pommelhorse", "stu12_31.mp4"),
]


def _repcount():
    from benchmarks.repcount_data import load_annotations

    return {s.name: s for s in load_annotations(shared_data_path("repcount-dev"))}


@pytest.mark.parametrize(("action", "name"), REAL, ids=[n for _, n in REAL])
def test_real_sequences_within_one(action, name):
    from benchmarks.repcount_data import load_window

    seq = _repcount()[name]
    assert seq.action == action
    result = count_repetitions(load_window(seq.path))
    assert abs(result.count - seq.count) <= 1, (result.count, seq.count)


# Dev-set figures when this was written: MAE 0.153, off-by-one 0.76 (see benchmarks).
DEV_MAE_LIMIT = 0.19
DEV_OBO_FLOOR = 0.70


@pytest.mark.slow
def test_dev_set_accuracy_does_not_regress():
    from benchmarks.repcount_data import load_window

    errors, within_one = [], []
    for seq in _repcount().values():
        count = count_repetitions(load_window(seq.path)).count
        if seq.count > 0:
            errors.append(abs(count - seq.count) / seq.count)
        within_one.append(abs(count - seq.count) <= 1)
    assert len(within_one) >= 40
    assert np.mean(errors) <= DEV_MAE_LIMIT
    assert np.mean(within_one) >= DEV_OBO_FLOOR
