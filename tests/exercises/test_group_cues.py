"""exercises/group_cues.py: shared problems become one calm cue for everyone."""

from __future__ import annotations

from typing import Any

from exercises.events import Severity
from exercises.group_cues import FOLLOW_CUES, GROUP_CUE_PREFIX, GroupCueGate
from exercises.roster import ParticipantState
from exercises.spec import FormRule

LEAN = FormRule(
    id="lean",
    severity=Severity.MAJOR,
    text={"en": "Stand tall.", "zh-CN": "站直。"},
    gentle={"en": "Stand tall, gently.", "zh-CN": "慢慢站直。"},
)


def gate(**kw: Any) -> GroupCueGate:
    options: dict[str, Any] = {
        "elder_mode": False,
        "fraction": 0.6,
        "min_participants": 2,
        "window_ms": 10_000,
        "cooldown_ms": 15_000,
        "repeat_cooldown_ms": 45_000,
    }
    return GroupCueGate({"lean": LEAN}, **(options | kw))


def people(ts: int, *faults: dict[str, int]) -> list[ParticipantState]:
    out = []
    for k, f in enumerate(faults, start=1):
        state = ParticipantState(k, k, "participant", 0, ts)
        for cue, when in f.items():
            state.note_fault(cue, when)
        out.append(state)
    return out


def said(cue: Any) -> tuple[Any, ...] | None:
    return None if cue is None else (cue.timestamp_ms, cue.cue_id, cue.track_ids)


def test_most_share_it_then_it_is_said_once_and_forgotten() -> None:
    g = gate()
    group = people(20_000, {"lean": 19_000}, {"lean": 15_000}, {"bend_knees": 19_500})
    assert said(g.offer(group, 20_000)) == (20_000, "lean", (1, 2))  # 2 of 3 >= 60 %
    assert [dict(p.faults) for p in group] == [{}, {}, {"bend_knees": 19_500}]
    for p in group:
        p.note_fault("lean", 21_000)
    assert g.offer(group, 21_000) is None  # the cooldown
    for p in group:
        p.last_seen_ms = 40_000
        p.note_fault("lean", 39_000)
    assert g.offer(group, 40_000) is None  # lean again: within its repeat cooldown


def test_too_few_or_too_old_or_absent_is_not_a_group_problem() -> None:
    g = gate()
    assert g.offer(people(20_000, {"lean": 19_000}, {}, {}), 20_000) is None
    assert g.offer(people(20_000, {"lean": 9_000}, {"lean": 19_000}), 20_000) is None
    alone = people(20_000, {"lean": 19_000}, {"lean": 19_000})
    alone[1].last_seen_ms = 18_000  # not seen in the last second
    assert g.offer(alone, 20_000) is None


def test_the_most_shared_goes_first_and_follow_cues_have_their_own_text() -> None:
    group = people(
        5000,
        {"lean": 4000, "arms_higher": 4000},
        {"arms_higher": 4500},
        {"arms_higher": 4800, "lean": 4900},
    )
    cue = gate().offer(group, 5000)
    assert cue is not None and cue.cue_id == "arms_higher"
    assert cue.message == FOLLOW_CUES["arms_higher"]
    assert (cue.track_ids, cue.severity) == ((1, 2, 3), Severity.INFO)


def test_a_template_rule_speaks_after_the_prefix() -> None:
    group = people(5000, {"lean": 4000}, {"lean": 4000})
    plain = gate().offer(group, 5000)
    assert plain is not None and plain.severity is Severity.MAJOR
    assert plain.message == {
        "en": GROUP_CUE_PREFIX["en"] + "stand tall.",
        "zh-CN": GROUP_CUE_PREFIX["zh-CN"] + "站直。",
    }
    group = people(5000, {"lean": 4000}, {"lean": 4000})
    gentle = gate(elder_mode=True).offer(group, 5000)
    assert gentle is not None
    assert gentle.message["en"] == "Everyone, stand tall, gently."
    unknown = gate().offer(people(5000, {"x": 4000}, {"x": 4000}), 5000)
    assert unknown is not None and unknown.message == FOLLOW_CUES["follow_along"]
