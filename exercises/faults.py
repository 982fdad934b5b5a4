"""Form faults: a template's rules checked frame by frame (a sans-I/O part of
`exercises.session.Session`).

    watch = FormWatch(spec)
    live = watch.check(body, values, view, side, timestamp_ms, now={"rep", "down"})
    watch.faults                      # rule ids seen since the last take_faults()
    watch.take_faults()               # -> the rep's fault ids, in the order seen

A rule is checked only while it applies (`during` names a phase, "rep" while a rep is
under way, "in_position" while a hold is held: `now` says which hold this frame;
no `during` = always) and while the detected view is the one its channel needs (a
wrong cue is worse than none; a frame of unsure view holds the fault's timer). A fault
counts once it has persisted for the rule's `min_duration_ms`; then it is a fault of the
rep, and a `live` rule's fault is a cue candidate (rule, measured value) every frame it
persists.

Core module: stdlib and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from exercises.channels import sees
from exercises.metrics import Body, compute_metric
from exercises.spec import ExerciseSpec, FormRule

__all__ = ["SURE_VIEWS", "FormWatch"]

SURE_VIEWS = ("front", "side")
"""Views a frame can be judged in. An oblique or unknown frame (a one-frame flicker as
the person turns) neither confirms nor breaks a fault whose channel needs one view."""


class FormWatch:
    """The template's form rules over time (see the module docstring).

    Attributes:
        faults: Rule ids that counted since the last `take_faults`, in order.
    """

    def __init__(self, spec: ExerciseSpec) -> None:
        self.spec = spec
        self.faults: dict[str, None] = {}
        self._since: dict[str, int | None] = {r.id: None for r in spec.rules}

    def reset(self) -> None:
        self.faults = {}
        self._since = dict.fromkeys(self._since)

    def check(
        self,
        body: Body,
        values: Mapping[str, float],
        view: str | None,
        side: str | None,
        timestamp_ms: int,
        *,
        now: Collection[str | None],
        counting: bool = True,
    ) -> list[tuple[FormRule, float | None]]:
        """Check every rule on one frame.

        Args:
            body: The frame (metrics the values lack are measured on it).
            values: The frame's channel values.
            view: The detected camera view.
            side: The side metrics are measured on (None: both).
            timestamp_ms: The frame's time.
            now: What `during` can name that is true this frame: the current phase,
                "rep", "in_position".
            counting: False while the person is not placed to be coached: every
                rule's fault starts over.

        Returns:
            The live rules' persisting faults with their values, in rule order.
        """
        live: list[tuple[FormRule, float | None]] = []
        for rule in self.spec.rules:
            if not counting or (rule.during and not any(d in now for d in rule.during)):
                self._since[rule.id] = None
                continue
            if not sees(self.spec, rule.key, view, strict=True):
                if view in SURE_VIEWS:
                    self._since[rule.id] = None
                continue
            value = (
                values[rule.key]
                if rule.key in values
                else compute_metric(rule.key, body, side)
            )
            if not rule.violated(value):
                self._since[rule.id] = None
                continue
            since = self._since[rule.id]
            if since is None:
                self._since[rule.id] = since = timestamp_ms
            if timestamp_ms - since < rule.min_duration_ms:
                continue
            self.faults.setdefault(rule.id, None)
            if rule.timing == "live":
                live.append((rule, value))
        return live

    def take_faults(self) -> tuple[str, ...]:
        """The faults since the last call, in the order first seen; forgets them."""
        out = tuple(self.faults)
        self.faults = {}
        return out
