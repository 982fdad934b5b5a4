"""The failure limiter (`server/ratelimit.py`): free failures, a lock that doubles,
failures forgotten after the window, a bounded number of keys. Times are passed in."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Any

import pytest

from server.ratelimit import FailureLimiter, Limit

LIMIT = Limit(free=3, window_s=100.0, base_lock_s=2.0, max_lock_s=10.0)


@pytest.mark.parametrize(
    ("failures", "lock_s"),
    [
        pytest.param(0, 0.0, id="none"),
        pytest.param(2, 0.0, id="free"),
        pytest.param(3, 2.0, id="last-free-locks"),
        pytest.param(4, 4.0, id="doubled"),
        pytest.param(5, 8.0, id="doubled-again"),
        pytest.param(6, 10.0, id="capped"),
        pytest.param(10_000, 10.0, id="no-overflow"),
    ],
)
def test_lock_doubles_after_the_free_failures(failures: int, lock_s: float) -> None:
    assert LIMIT.lock_s(failures) == lock_s


@pytest.mark.parametrize(
    ("fields", "expectation"),
    [
        pytest.param((1, 1.0, 1.0, 1.0), does_not_raise(), id="smallest"),
        pytest.param((0, 1.0, 1.0, 1.0), pytest.raises(ValueError), id="no-free"),
        pytest.param((1, 1.0, 0.0, 1.0), pytest.raises(ValueError), id="no-lock"),
        pytest.param((1, 1.0, 2.0, 1.0), pytest.raises(ValueError), id="max<base"),
    ],
)
def test_limit_validates(fields: tuple[Any, ...], expectation: Any) -> None:
    with expectation:
        Limit(*fields)


def test_a_key_waits_then_tries_again_and_is_forgotten_after_the_window() -> None:
    limiter = FailureLimiter(LIMIT)
    for at in (0.0, 1.0):
        limiter.failed("k", at)
        assert limiter.retry_after("k", at) == 0.0
    limiter.failed("k", 2.0)
    assert limiter.retry_after("k", 2.5) == 1.5 and limiter.blocked("k", 2.5)
    assert not limiter.blocked("other", 2.5)
    assert not limiter.blocked("k", 4.0)
    limiter.failed("k", 4.0)  # the fourth: 4 s
    assert limiter.retry_after("k", 4.0) == 4.0
    assert not limiter.blocked("k", 200.0)  # the window passed: all forgotten
    limiter.failed("k", 200.0)
    assert not limiter.blocked("k", 200.0)
    limiter.forget("k")
    assert limiter.retry_after("k", 200.0) == 0.0


def test_keys_are_bounded_least_recently_failed_first() -> None:
    limiter = FailureLimiter(Limit(1, 100.0, 5.0, 5.0), max_keys=3)
    for i, key in enumerate(["a", "b", "c", "a", "d"]):
        limiter.failed(key, float(i))
    assert [limiter.blocked(k, 4.5) for k in "abcd"] == [True, False, True, True]
