# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Which cue to say, if any, and in what words (a sans-I/O part of
`exercises.session.Session`).

    gate = CueGate(cooldown_ms=4000, repeat_cooldown_ms=8000,
                   escalate_within_ms=60000, min_severity=Severity.INFO)
    cue = gate.offer([(rule, value), ...], timestamp_ms)    # CueIssued | None

Of the faults offered at one instant at most one is said: none within `cooldown_ms` of
the previous cue; of the rest, those at least `min_severity` and not said within
`repeat_cooldown_ms`, the most severe first (the first offered on a tie). A cue said
again within `escalate_within_ms` uses the rule's firmer wording; elder mode always
uses the gentle wording (falling back to the plain text).

Also the built-in cues every session may give (`SLOW_DOWN`, `PARTIAL_REP`).

Core module: stdlib and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Final

from exercises.events import CueIssued, Severity
from exercises.spec import FormRule

__all__ = ["PARTIAL_REP", "SLOW_DOWN", "CueGate"]

SLOW_DOWN: Final[FormRule] = FormRule(
    id="slow_down",
    severity=Severity.MINOR,
    text={
        "en": "Slow down and move with control.",
        "zh-CN": "放慢速度，动作要有控制。",
    },
    firm={
        "en": "Too fast. Count to three on the way down and up.",
        "zh-CN": "太快了，下去和起来都默数三下。",
    },
    gentle={"en": "Take your time, nice and slow.", "zh-CN": "慢慢来，不着急。"},
    timing="after_rep",
)
"""The built-in pace cue: a rep much faster than the template's pace (MAJOR in elder
mode, where a hurried movement is a fall risk)."""

PARTIAL_REP: Final[FormRule] = FormRule(
    id="partial_rep",
    severity=Severity.MINOR,
    text={"en": "Try to move a little further.", "zh-CN": "动作幅度再大一点。"},
    timing="after_rep",
)
"""The built-in cue after a partial rep (a template's `partial.cue` replaces it)."""


class CueGate:
    """Rate limits and wording of spoken cues (see the module docstring).

    Args:
        cooldown_ms: At most one cue per this interval.
        repeat_cooldown_ms: The same cue id not again within this interval.
        escalate_within_ms: A cue repeated within this uses its firmer wording.
        min_severity: Faults below are not said.
        elder: Gentle wording.

    Attributes:
        counts: Cues said, by id, in the order first said.
    """

    def __init__(
        self,
        *,
        cooldown_ms: int,
        repeat_cooldown_ms: int,
        escalate_within_ms: int,
        min_severity: Severity,
        elder: bool = False,
    ) -> None:
        self.cooldown_ms = cooldown_ms
        self.repeat_cooldown_ms = repeat_cooldown_ms
        self.escalate_within_ms = escalate_within_ms
        self.min_severity = min_severity
        self.elder = elder
        self.counts: Counter[str] = Counter()
        self._last_ms: int | None = None
        self._last_said: dict[str, int] = {}  # cue id -> last said

    def offer(
        self, candidates: Sequence[tuple[FormRule, float | None]], timestamp_ms: int
    ) -> CueIssued | None:
        """The cue to say now, if any, among faults (rule, measured value or None)."""
        ts = timestamp_ms
        if self._last_ms is not None and ts - self._last_ms < self.cooldown_ms:
            return None
        best: tuple[FormRule, float | None] | None = None
        for rule, value in candidates:
            if rule.severity < self.min_severity:
                continue
            last = self._last_said.get(rule.id)
            if last is not None and ts - last < self.repeat_cooldown_ms:
                continue
            if best is None or rule.severity > best[0].severity:
                best = (rule, value)
        if best is None:
            return None
        rule, value = best
        last = self._last_said.get(rule.id)
        if self.elder:
            text = rule.gentle or rule.text
        elif (
            rule.firm is not None
            and last is not None
            and ts - last <= self.escalate_within_ms
        ):
            text = rule.firm
        else:
            text = rule.text
        self._last_said[rule.id] = ts
        self._last_ms = ts
        self.counts[rule.id] += 1
        return CueIssued(
            ts,
            rule.id,
            rule.severity,
            dict(text),
            None if value is None or math.isnan(value) else round(float(value), 3),
        )
