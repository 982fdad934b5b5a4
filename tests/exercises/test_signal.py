"""exercises/signal.py: the shared signal pieces, on signals whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from exercises.signal import (
    Cycle,
    Hysteresis,
    acf_period,
    autocorrelation,
    bridge_gaps,
    gaussian_smooth,
    hysteresis_cycles,
    moving_mean,
    repeats_at,
    running_range,
    trimmed_range,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("x", "hold_ends", "expected"),
    [
        pytest.param([NAN, 1, NAN, 3, NAN], True, [1, 1, 2, 3, 3], id="held"),
        pytest.param([NAN, 1, NAN, 3, NAN], False, [NAN, 1, 2, 3, NAN], id="not-held"),
        pytest.param([1, 2, 3], True, [1, 2, 3], id="complete"),
        pytest.param([NAN, NAN], True, [NAN, NAN], id="nothing-seen"),
    ],
)
def test_bridge_gaps(x, hold_ends, expected):
    npt.assert_allclose(bridge_gaps(np.array(x), hold_ends=hold_ends), expected)


def test_bridge_gaps_per_column():
    x = np.array([[1.0, NAN], [NAN, 2.0], [3.0, 4.0]])
    npt.assert_allclose(bridge_gaps(x), [[1, 2], [2, 2], [3, 4]])


def test_moving_mean_shrinks_at_the_ends():
    x = np.arange(5, dtype=np.float64)
    npt.assert_allclose(moving_mean(x, 1), [0.5, 1, 2, 3, 3.5])


def test_gaussian_smooth_keeps_a_line_and_a_constant():
    line = np.linspace(0.0, 10.0, 50)
    # Renormalised weights: a constant stays constant up to the ends.
    npt.assert_allclose(gaussian_smooth(np.full(50, 3.0), 4.0), 3.0)
    npt.assert_allclose(gaussian_smooth(line, 2.0)[10:-10], line[10:-10], atol=1e-9)
    npt.assert_array_equal(gaussian_smooth(line, 0.2), line)


def test_running_range():
    lo, hi = running_range(np.array([0.0, 5.0, 1.0, 2.0, 9.0]), 1)
    npt.assert_array_equal(lo, [0, 0, 1, 1, 2])
    npt.assert_array_equal(hi, [5, 5, 5, 9, 9])


def test_trimmed_range_leaves_out_a_glitch_once_the_window_is_full():
    rng = np.random.default_rng(3)
    x = np.sin(np.linspace(0, 6 * np.pi, 40)) + rng.normal(0, 0.01, 40)
    glitch = x.copy()
    glitch[17:19] = 5.0  # two frames far out
    lo, hi = trimmed_range(glitch, 0.05, 40)  # k = 2: both left out
    assert hi < 1.1 and lo > -1.1
    assert (lo, hi) == tuple(np.sort(glitch)[[2, -3]])
    # Fewer values than the span (the first movement of a stretch): the extremes.
    assert trimmed_range(glitch[:30], 0.05, 40) == (glitch[:30].min(), 5.0)
    # No tail, or one too small to leave out a whole value: the extremes.
    assert trimmed_range(glitch, 0.0, 40) == (glitch.min(), 5.0)
    assert trimmed_range(glitch, 0.02, 40) == (glitch.min(), 5.0)


@pytest.mark.parametrize("period", [12, 25, 40])
def test_acf_period_finds_the_period_not_its_multiples(period):
    t = np.arange(400)
    x = np.sin(2 * np.pi * t / period) + 0.3 * np.sin(4 * np.pi * t / period)
    acf = autocorrelation(x - x.mean(), 200)
    lag, strength = acf_period(acf, 5, 200, 0.7)
    assert lag == pytest.approx(period, abs=1)
    assert 0.5 < strength <= 1.0


def test_acf_period_of_noise_and_of_a_flat_signal():
    assert acf_period(autocorrelation(np.zeros(100), 50), 5, 50, 0.7) == (-1, 0.0)
    noise = np.random.default_rng(0).normal(size=400)
    _, strength = acf_period(autocorrelation(noise, 100), 5, 100, 0.7)
    assert strength < 0.2


def test_hysteresis_cycles_with_fixed_levels():
    z = np.array([0.5, -1, 1, 0.2, -1, 1, -1, 0.9])
    # The first sample is mid-way (no low yet); the last excursion never closes.
    assert hysteresis_cycles(z, -0.3, 0.3) == [Cycle(1, 2, 4), Cycle(4, 5, 6)]


def test_hysteresis_a_cycle_under_way_at_the_start_does_not_count():
    z = np.array([1.0, 1.0, -1.0, 1.0, -1.0])
    assert hysteresis_cycles(z, -0.3, 0.3) == [Cycle(2, 3, 4)]


def test_hysteresis_skips_nan_and_invalid_samples():
    z = np.array([-1.0, NAN, 1.0, 5.0, -1.0])
    valid = np.array([True, True, True, False, True])
    assert hysteresis_cycles(z, -0.3, 0.3, valid) == [Cycle(0, 2, 4)]


def test_hysteresis_levels_that_move_see_where_the_cycle_started():
    """A range that widens as the first repetition unfolds: at the start the low
    level is below the rest value; once the excursion widens the range, rest is low
    after all and the cycle counts."""
    machine = Hysteresis()
    rest, out = 0.0, 1.0
    # Levels relative to a range that grows from [0, 0] with the signal.
    samples = [rest, rest, 0.5, out, 0.5, rest]
    events = []
    seen = []
    for t, v in enumerate(samples):
        seen.append(v)
        lo, hi = min(seen), max(seen)
        centre, half = (lo + hi) / 2, max(hi - lo, 0.2) / 2
        events.append(machine.step(t, v, centre - 0.3 * half, centre + 0.3 * half))
    assert events[:-1] == [None] * 5
    assert events[-1] == Cycle(1, 3, 5)


def test_hysteresis_rose_and_started():
    machine = Hysteresis(-0.3, 0.3)
    assert machine.step(0, -1.0) is None and not machine.rose
    machine.step(1, 1.0)
    assert machine.rose and machine.out and machine.started == 0
    machine.step(2, 1.2)
    assert not machine.rose and machine.out
    machine.reset()
    assert not machine.out


def test_hysteresis_cycles_needs_ordered_levels():
    with pytest.raises(ValueError, match="low < high"):
        hysteresis_cycles(np.zeros(3), 0.3, -0.3)


def _bump(width):
    return (1 - np.cos(2 * np.pi * np.arange(width) / width)) / 2


def test_repeats_at_tells_structure_within_a_repetition_from_a_period():
    """Two 20-frame bumps per repetition and a 40-frame rest: the signal's own
    period (20) is structure within a repetition, and it repeats at least as well
    at the repetition's 80 frames; a steady 20-frame sinusoid does not at 50."""
    pairs = np.tile(np.concatenate([_bump(20), _bump(20), np.zeros(40)]), 6)
    ok = np.ones(pairs.size, bool)
    assert repeats_at(pairs, ok, 80, 20, 150)
    sine = np.sin(2 * np.pi * np.arange(480) / 20)
    assert not repeats_at(sine, np.ones(480, bool), 50, 20, 150)
    # Flat, or a lag beyond the lags searched: no.
    assert not repeats_at(np.zeros(480), np.ones(480, bool), 80, 20, 150)
    assert not repeats_at(pairs, ok, 200, 20, 150)
