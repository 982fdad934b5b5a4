"""exercises/cues.py: which cue is said and in what words, offered faults in,
`CueIssued` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exercises.cues import SLOW_DOWN, CueGate
from exercises.events import CueIssued, Severity
from exercises.spec import FormRule


def rule(rule_id: str, severity: Severity = Severity.MAJOR) -> FormRule:
    return FormRule(
        id=rule_id,
        severity=severity,
        text={"en": f"{rule_id}.", "zh-CN": "好"},
        firm={"en": f"{rule_id}!", "zh-CN": "马上好"},
        gentle={"en": f"{rule_id}, gently.", "zh-CN": "慢慢"},
    )


LEAN, KNEES = rule("lean"), rule("knees", Severity.SAFETY)
TIP = rule("tip", Severity.INFO)


def gate(**kw: Any) -> CueGate:
    options: dict[str, Any] = {
        "cooldown_ms": 1000,
        "repeat_cooldown_ms": 3000,
        "escalate_within_ms": 10_000,
        "min_severity": Severity.MINOR,
    }
    return CueGate(**(options | kw))


def said(
    g: CueGate, offers: Sequence[tuple[int, Sequence[FormRule]]]
) -> list[tuple[int, str, str]]:
    out = []
    for ts, rules in offers:
        cue = g.offer([(r, None) for r in rules], ts)
        if cue is not None:
            out.append((cue.timestamp_ms, cue.cue_id, cue.message["en"]))
    return out


def test_cooldown_repeat_cooldown_and_escalation() -> None:
    g = gate()
    offers = [(t, [LEAN]) for t in range(0, 15_000, 500)]
    assert said(g, offers) == [
        (0, "lean", "lean."),
        (3000, "lean", "lean!"),  # the same cue: after 3 s, in its firm wording
        (6000, "lean", "lean!"),
        (9000, "lean", "lean!"),
        (12000, "lean", "lean!"),
    ]
    assert g.counts == {"lean": 5}
    # Not repeated within `escalate_within_ms`: the plain wording again.
    assert said(g, [(30_000, [LEAN])]) == [(30_000, "lean", "lean.")]


def test_the_most_severe_first_and_one_per_cooldown() -> None:
    g = gate()
    assert said(g, [(0, [LEAN, KNEES]), (500, [LEAN]), (1000, [LEAN, KNEES])]) == [
        (0, "knees", "knees."),
        (1000, "lean", "lean."),  # knees within its repeat cooldown
    ]


def test_below_the_minimum_severity_is_not_said() -> None:
    g = gate(min_severity=Severity.MAJOR)
    assert said(g, [(0, [TIP, rule("minor", Severity.MINOR)])]) == []
    assert said(g, [(100, [TIP, LEAN])]) == [(100, "lean", "lean.")]


def test_elder_mode_says_it_gently_also_when_repeated() -> None:
    g = gate(elder=True)
    assert said(g, [(0, [LEAN]), (4000, [LEAN])]) == [
        (0, "lean", "lean, gently."),
        (4000, "lean", "lean, gently."),
    ]
    plain = FormRule(id="plain", severity=Severity.MAJOR, text={"en": "Plain."})
    assert said(g, [(9000, [plain])]) == [(9000, "plain", "Plain.")]


def test_the_cue_carries_the_measured_value() -> None:
    g = gate()
    assert g.offer([(SLOW_DOWN, 812.34567)], 0) == CueIssued(
        0, "slow_down", Severity.MINOR, dict(SLOW_DOWN.text), 812.346
    )
    assert g.offer([(LEAN, float("nan"))], 5000) == CueIssued(
        5000, "lean", Severity.MAJOR, dict(LEAN.text), None
    )
