# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Cues for everyone at once: when most participants share a problem, one calm cue
for the group instead of one per person (a sans-I/O part of
`exercises.group.GroupSession`).

    gate = GroupCueGate(rules, elder_mode=True, fraction=0.6, min_participants=2,
                        window_ms=10000, cooldown_ms=15000, repeat_cooldown_ms=45000)
    cue = gate.offer(participants, timestamp_ms)          # GroupCueIssued | None

A problem counts for a participant seen within the last second when they had it
within `window_ms` (their state's `faults`). A cue needs at least `min_participants`
and `fraction` of those present; at most one per `cooldown_ms`, the same one not
within `repeat_cooldown_ms`; the problem shared by most goes first. Once said, it is
forgotten for everyone present. Template rules speak with the template's text after
`GROUP_CUE_PREFIX` (its gentle text in elder mode); follow mode has its own
`FOLLOW_CUES`.

Core module: stdlib and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from exercises.events import Event, LocalizedText, Severity
from exercises.roster import ParticipantState
from exercises.spec import FormRule

__all__ = ["FOLLOW_CUES", "GROUP_CUE_PREFIX", "GroupCueGate", "GroupCueIssued"]

GROUP_CUE_PREFIX: Final[LocalizedText] = {"en": "Everyone, ", "zh-CN": "大家注意，"}
"""Group cues built from a template's own cue text start with this."""

FOLLOW_CUES: Final[dict[str, LocalizedText]] = {
    "arms_higher": {
        "en": "Everyone, arms a little higher, like me.",
        "zh-CN": "大家手臂再抬高一点，跟我一样。",
    },
    "straighten_arms": {
        "en": "Everyone, let your arms stretch out long.",
        "zh-CN": "大家手臂慢慢伸直。",
    },
    "bend_knees": {
        "en": "Everyone, bend your knees a little more, gently.",
        "zh-CN": "大家膝盖再稍微弯一点，慢慢来。",
    },
    "follow_along": {
        "en": "Everyone, follow my movements, nice and easy.",
        "zh-CN": "大家跟着我的动作，慢慢来。",
    },
}
"""Follow-mode group cues (no template to take text from): calm, both languages."""


@dataclass(frozen=True, slots=True)
class GroupCueIssued(Event):
    """A cue for everyone: most participants share the problem.

    Attributes:
        cue_id: The template rule's id, "slow_down", or a `FOLLOW_CUES` key.
        message: What to say, en and zh-CN.
        track_ids: The participants who have the problem.
        severity: Of the underlying rule (INFO for follow cues).
    """

    cue_id: str
    message: LocalizedText
    track_ids: tuple[int, ...]
    severity: Severity = Severity.INFO


class GroupCueGate:
    """Shared problems become group cues (see the module docstring).

    Args:
        rules: The template's rules (and the built-in ones) by id, for their text.
        elder_mode: Gentle wording.
        fraction: Share of participants present who must share a problem.
        min_participants: ...and at least this many.
        window_ms: A participant's problem counts this long.
        cooldown_ms: At most one group cue per this interval.
        repeat_cooldown_ms: The same group cue not again within this.
    """

    def __init__(
        self,
        rules: Mapping[str, FormRule],
        *,
        elder_mode: bool,
        fraction: float,
        min_participants: int,
        window_ms: int,
        cooldown_ms: int,
        repeat_cooldown_ms: int,
    ) -> None:
        self._rules = dict(rules)
        self.elder_mode = elder_mode
        self.fraction = fraction
        self.min_participants = min_participants
        self.window_ms = window_ms
        self.cooldown_ms = cooldown_ms
        self.repeat_cooldown_ms = repeat_cooldown_ms
        self._last_cue_ms: int | None = None
        self._cue_last: dict[str, int] = {}

    def offer(
        self, participants: Iterable[ParticipantState], timestamp_ms: int
    ) -> GroupCueIssued | None:
        """The group cue to say now, if any; forgets it in those present."""
        ts = timestamp_ms
        active = [p for p in participants if ts - p.last_seen_ms <= 1000]
        if len(active) < self.min_participants:
            return None
        if self._last_cue_ms is not None and ts - self._last_cue_ms < self.cooldown_ms:
            return None
        need = max(self.min_participants, math.ceil(self.fraction * len(active)))
        counts: dict[str, list[int]] = {}
        for p in active:
            for cue, when in p.faults.items():
                if ts - when <= self.window_ms:
                    counts.setdefault(cue, []).append(p.track_id)
        ranked = sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for cue, who in ranked:
            if len(who) < need:
                break
            last = self._cue_last.get(cue)
            if last is not None and ts - last < self.repeat_cooldown_ms:
                continue
            message, severity = self._cue_text(cue)
            self._last_cue_ms = ts
            self._cue_last[cue] = ts
            for p in active:
                p.faults.pop(cue, None)
            return GroupCueIssued(ts, cue, message, tuple(sorted(who)), severity)
        return None

    def _cue_text(self, cue: str) -> tuple[LocalizedText, Severity]:
        if cue in FOLLOW_CUES:
            return dict(FOLLOW_CUES[cue]), Severity.INFO
        rule = self._rules.get(cue)
        if rule is None:
            return dict(FOLLOW_CUES["follow_along"]), Severity.INFO
        text = (
            rule.gentle if self.elder_mode and rule.gentle else rule.text
        ) or rule.text
        out: LocalizedText = {}
        for lang, prefix in GROUP_CUE_PREFIX.items():
            said = text.get(lang, text.get("en", ""))
            if lang == "en" and said[:1].isupper() and not said.startswith("I "):
                said = said[:1].lower() + said[1:]
            out[lang] = prefix + said
        return out, rule.severity
