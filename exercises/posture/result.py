"""A posture screen's result: the views' figures and the figures of both views
together.

Combining a front and a back view: the value is the mean of the two, and the
uncertainty is sqrt((u_front^2 + u_back^2) / 4 + (d / 2)^2) with d the difference
between the views, so two views that disagree (the model sees a back differently from a
front) widen the result instead of hiding it. One view alone is taken as it is.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from exercises.posture.measures import FIGURES, Figure, View, ViewMeasurement, to_cm

__all__ = ["PostureResult", "combine_views"]


@dataclass(frozen=True, slots=True)
class PostureResult:
    """Everything a posture screen measured.

    Attributes:
        views: One measurement per captured view, in capture order.
        combined: Per figure (`FIGURES`), the views together.
        stature_cm: The person's stature when it was given (distances can then be
            read in cm: `figure_cm`).
    """

    views: tuple[ViewMeasurement, ...]
    combined: dict[str, Figure]
    stature_cm: float | None = None

    def view(self, view: View) -> ViewMeasurement | None:
        """The measurement of one view, or None when it was not captured."""
        return next((m for m in self.views if m.view is view), None)

    def figure_cm(self, name: str) -> Figure | None:
        """A combined distance figure in cm; None without a stature or for a tilt."""
        figure = self.combined[name]
        if self.stature_cm is None or figure.unit != "%H":
            return None
        return to_cm(figure, self.stature_cm)


def _combine(a: Figure, b: Figure) -> Figure:
    d = a.value - b.value
    u = math.sqrt((a.uncertainty**2 + b.uncertainty**2) / 4.0 + (d / 2.0) ** 2)
    return Figure(0.5 * (a.value + b.value), u, a.unit)


def combine_views(
    views: tuple[ViewMeasurement, ...], stature_cm: float | None = None
) -> PostureResult:
    """The result of one or two captured views (see the module docstring).

    Raises:
        ValueError: no view, more than two, or the same view twice.
    """
    kinds = [m.view for m in views]
    if not 1 <= len(views) <= 2 or len(set(kinds)) != len(kinds):
        raise ValueError(
            f"expected one front and/or one back view, got {[k.value for k in kinds]}"
        )
    if len(views) == 1:
        combined = dict(views[0].figures)
    else:
        combined = {
            name: _combine(views[0].figures[name], views[1].figures[name])
            for name in FIGURES
        }
    return PostureResult(views=tuple(views), combined=combined, stature_cm=stature_cm)
