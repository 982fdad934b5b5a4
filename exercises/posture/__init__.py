"""The spine posture screen: a guided standing capture (front and back views) that
measures shoulder-height difference, shoulder and pelvic tilt, trunk lateral shift and
head tilt from landmarks averaged over a steady second, each with its uncertainty; a
plain-language reading against stated thresholds that refers to a clinician (never a
diagnosis); and the comparison of two visits. Sans-I/O.

    screen = PostureScreen(ScreenOptions(aspect_wh=16 / 9))
    events = screen.feed(frame)            # -> list[Event]
    later = compare_results(earlier_result, screen.result)

See docs/posture.md.
"""

from __future__ import annotations

from exercises.posture.events import (
    PostureGuidanceChanged,
    PostureHoldProgressed,
    PostureScreenCompleted,
    PostureStepChanged,
    PostureViewCaptured,
)
from exercises.posture.measures import (
    FIGURES,
    Figure,
    View,
    ViewMeasurement,
    measure_view,
    to_cm,
)
from exercises.posture.report import (
    CAMERA_LIMITS,
    DEFAULT_THRESHOLDS,
    Change,
    Finding,
    Level,
    PostureAssessment,
    Threshold,
    assess,
    compare_results,
)
from exercises.posture.result import PostureResult, combine_views
from exercises.posture.screen import PostureScreen, ScreenOptions, ScreenStep

__all__ = [
    "CAMERA_LIMITS",
    "DEFAULT_THRESHOLDS",
    "FIGURES",
    "Change",
    "Figure",
    "Finding",
    "Level",
    "PostureAssessment",
    "PostureGuidanceChanged",
    "PostureHoldProgressed",
    "PostureResult",
    "PostureScreen",
    "PostureScreenCompleted",
    "PostureStepChanged",
    "PostureViewCaptured",
    "ScreenOptions",
    "ScreenStep",
    "Threshold",
    "View",
    "ViewMeasurement",
    "assess",
    "combine_views",
    "compare_results",
    "measure_view",
    "to_cm",
]
