"""exercises/faults.py: a form rule's fault counts once it persists, only while the
rule applies and the view shows its channel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import pytest

from exercises.faults import FormWatch
from exercises.metrics import Body
from tests.exercises.test_session import knee_spec, lean_rule
from tests.factories import make_frame

BODY = Body(make_frame(0, view="side"))


def watch(**rule: Any) -> FormWatch:
    return FormWatch(knee_spec(rules=[lean_rule(**rule)]))


def run(
    w: FormWatch,
    leans: Sequence[float],
    *,
    view: str | None = "side",
    now: Collection[str | None] = (),
    counting: bool = True,
) -> list[tuple[int, list[str], list[str]]]:
    """(ts, live cue candidates, faults so far) per frame, every 100 ms."""
    out = []
    for i, lean in enumerate(leans):
        live = w.check(
            BODY,
            {"trunk_lean_deg": lean},
            view,
            None,
            i * 100,
            now=now,
            counting=counting,
        )
        out.append((i * 100, [r.id for r, _ in live], list(w.faults)))
    return out


def test_a_fault_counts_once_it_persisted() -> None:
    w = watch()  # above 20 degrees for 200 ms
    assert run(w, [25, 25, 10, 25, 25, 25, 30]) == [
        (0, [], []),
        (100, [], []),
        (200, [], []),  # back upright: starts over
        (300, [], []),
        (400, [], []),
        (500, ["lean"], ["lean"]),  # 200 ms after 300
        (600, ["lean"], ["lean"]),  # a live cue candidate every frame it persists
    ]
    assert w.take_faults() == ("lean",)
    assert w.take_faults() == ()


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        pytest.param({"now": ()}, [], id="not-during-down"),
        pytest.param({"now": ("down", None)}, ["lean"], id="during-down"),
        pytest.param({"now": ("down",), "counting": False}, [], id="not-counting"),
        pytest.param({"now": ("down",), "view": "front"}, ["lean"], id="any-view"),
    ],
)
def test_a_rule_applies_only_when_it_says(
    kw: dict[str, Any], expected: list[str]
) -> None:
    w = watch(during=["down"])
    assert run(w, [30] * 4, **kw)[-1][2] == expected


def test_a_side_view_metric_is_not_judged_from_the_front() -> None:
    rule = lean_rule(id="forward", metric="trunk_forward_deg")
    w = FormWatch(knee_spec(rules=[rule]))
    values = {"trunk_forward_deg": 60.0}
    for view, seen in (("front", False), ("oblique", False), (None, False)):
        for t in (0, 300):
            w.check(BODY, values, view, None, t, now=())
        assert bool(w.faults) is seen, view
    for t in (400, 700):
        w.check(BODY, values, "side", None, t, now=())
    assert list(w.faults) == ["forward"]


@pytest.mark.parametrize(
    ("middle", "expected"),
    [
        # An oblique or unknown frame (a flicker as the person turns) is not judged
        # and does not start the 200 ms over: the fault counts at 200 ms.
        pytest.param("oblique", ["forward"], id="oblique-holds"),
        pytest.param(None, ["forward"], id="unknown-holds"),
        # A front view is a sure view the metric is wrong in: it starts over.
        pytest.param("front", [], id="front-starts-over"),
    ],
)
def test_an_unsure_view_holds_a_fault_s_timer(
    middle: str | None, expected: list[str]
) -> None:
    w = FormWatch(
        knee_spec(rules=[lean_rule(id="forward", metric="trunk_forward_deg")])
    )
    values = {"trunk_forward_deg": 60.0}
    for t, view in ((0, "side"), (100, middle), (200, "side")):
        w.check(BODY, values, view, None, t, now=())
    assert list(w.faults) == expected


def test_after_rep_rules_are_faults_but_not_live_cues() -> None:
    w = watch(timing="after_rep")
    assert run(w, [30] * 4)[-1] == (300, [], ["lean"])


def test_a_metric_the_values_lack_is_measured_on_the_body() -> None:
    leaning = Body(make_frame(0, view="front", trunk_roll_deg=35.0))
    w = watch()
    for t in (0, 300):
        w.check(leaning, {}, "front", None, t, now=())
    assert list(w.faults) == ["lean"]
    w.reset()
    assert list(w.faults) == []
