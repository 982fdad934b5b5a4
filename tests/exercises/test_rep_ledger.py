"""exercises/rep_ledger.py: a movement read again by another signal is not counted
twice; a counted repetition that spanned two lets the second count."""

from __future__ import annotations

from exercises.rep_ledger import RepLedger

PERIOD = 40.0


def ledger_with(*reps: tuple[int, int, int]) -> RepLedger:
    ledger = RepLedger()
    for start, turn, end in reps:
        assert not ledger.counted(start, turn, end, PERIOD)
        ledger.add(start, turn, end, end - start)
    return ledger


def test_turning_points_within_half_a_period_are_one_repetition() -> None:
    ledger = ledger_with((100, 120, 140))
    assert ledger.counted(105, 139, 150, PERIOD)  # 19 frames from 120
    ledger.new_reading()
    assert ledger.counted(95, 101, 141, PERIOD)  # 19 frames the other side
    assert not ledger.counted(150, 160, 175, PERIOD)  # 40 frames on: the next one


def test_another_signal_turning_elsewhere_in_the_same_frames_is_the_same_rep() -> None:
    """A signal read again from an earlier frame (a new choice) turns 25 frames from
    the counted one, over mostly the same frames: counted already; the next one,
    over new frames, counts."""
    ledger = ledger_with((102, 134, 165), (168, 183, 210))
    ledger.new_reading()
    assert ledger.counted(94, 109, 144, PERIOD)  # shares 42 of 50 and of 63 frames
    assert ledger.counted(181, 209, 239, PERIOD)  # shares 29 of 58 and of 42
    assert not ledger.counted(250, 270, 290, PERIOD)


def test_each_counted_rep_stands_for_one_rep_of_a_reading() -> None:
    """A counted repetition of 80 frames that was two (every other one missed): the
    new reading's first repetition in it is the counted one, its second is new."""
    ledger = ledger_with((100, 140, 180))
    ledger.new_reading()
    assert ledger.counted(100, 118, 140, PERIOD)  # turn 22 off; half of 80 frames
    assert not ledger.counted(140, 162, 180, PERIOD)  # the long one is taken
    ledger.add(140, 162, 180, 40)
    ledger.new_reading()  # a third reading: both may stand for one again
    assert ledger.counted(100, 119, 140, PERIOD)  # half of the long one's frames
    assert not ledger.counted(101, 118, 141, PERIOD)  # taken in this reading


def test_a_short_rep_inside_a_long_counted_one_is_not_the_same_movement() -> None:
    """Sharing all of its own frames is not enough: it must share half of the
    counted one's too (a long counted repetition may stand for another one)."""
    ledger = ledger_with((76, 83, 107))
    ledger.new_reading()
    assert not ledger.counted(97, 105, 109, 17.0)  # 10 of 31 frames of the counted


def test_repetitions_of_one_reading_never_absorb_each_other() -> None:
    ledger = ledger_with((100, 120, 140))
    assert not ledger.counted(118, 145, 160, PERIOD)  # overlaps, same reading


def test_typical_frames_is_the_median_once_two_are_counted() -> None:
    ledger = RepLedger()
    assert ledger.typical_frames() is None
    ledger.add(0, 10, 20, 20)
    assert ledger.typical_frames() is None
    ledger.add(20, 35, 50, 30)
    ledger.add(50, 60, 100, 50)
    assert ledger.typical_frames() == 30.0
    assert len(ledger) == 3
