"""A template's channels of one frame: its angles on the side they are measured on, and
the registered metrics it reads (a sans-I/O part of `exercises.session.Session`).

    channels = Channels(spec, skeleton, min_segment=0.15, side_switch_margin=0.15)
    channels.triples                                  # (K, 3) rows for the kinematics
    channels.update_side(frame, raw_angles, may_switch=True)
    values, active = channels.values(raw_angles, body)

Sides. An angle is measured on a fixed side ("left", "right", or none for a midline
angle), on both and combined ("both": the mean; "min"/"max": the smaller or larger,
whose side is the frame's `active` side), or on the "best" side. The best side is the
one whose angles are measurable, the one the camera sees first: the more visible one,
or, when the two are within `side_switch_margin` of each other (a model sure of both
sides, or landmark files that report every joint alike), the one nearer the camera
(BlazePose's z, averaged over frames). It changes when its angles are lost and the
other side's are not, or, while `may_switch` (no rep under way), when the other side is
more visible by `side_switch_margin` or, as visible, nearer by `_DEPTH_LEAD` torso
lengths.

An angle with a segment shorter than `min_segment` torso lengths in the image (hip to
hip seen from the side, a forearm pointing at the camera) is NaN: its value would be
noise.

Core module: stdlib, numpy, vision.{types,geometry} and exercises.*; no I/O.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from exercises.metrics import METRICS, Body, compute_metric
from exercises.spec import AngleDef, ExerciseSpec
from vision.geometry import angle_triples
from vision.types import PoseFrame, Skeleton

__all__ = ["Channels", "sees"]

F32 = npt.NDArray[np.float32]
_SIDES = ("left", "right")
_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
_TORSO_WEIGHTS = np.array([0.5, 0.5, -0.5, -0.5], np.float32)
_DEPTH_LEAD = 0.25
"""Torso lengths nearer the camera, on average, that the other side needs to take
over when both sides are as visible."""
_DEPTH_AVERAGING = 0.1
"""Weight of each frame in the running average of the sides' depths."""


class Channels:
    """The template's angle columns and metric channels (see the module docstring).

    Args:
        spec: The template.
        skeleton: Joint layout of the frames.
        min_segment: Shortest measurable segment, in torso lengths.
        side_switch_margin: Visibility lead the other side needs to take over.

    Attributes:
        triples: (K, 3) int64 joint rows of every angle column.
        missing_joints: Joints of the angles `skeleton` does not have (the channels
            cannot be used until there are none).
        side: The best side ("left"/"right"); None before it is known.
        has_best: Some angle is measured on the best side.
    """

    def __init__(
        self,
        spec: ExerciseSpec,
        skeleton: Skeleton,
        *,
        min_segment: float,
        side_switch_margin: float,
    ) -> None:
        self.min_segment = min_segment
        self.side_switch_margin = side_switch_margin
        missing: list[str] = []
        triples: list[tuple[str, str, str]] = []
        self._columns: list[tuple[AngleDef, dict[str, int]]] = []
        best_rows: dict[str, list[int]] = {s: [] for s in _SIDES}
        for a in spec.angles:
            cols: dict[str, int] = {}
            sides = (
                (None,) if a.side is None else (a.side,) if a.side in _SIDES else _SIDES
            )
            for s in sides:
                names = a.resolve(s)
                missing += [n for n in names if not skeleton.has(n)]
                cols[s or "fixed"] = len(triples)
                triples.append(names)
                if a.side == "best" and s is not None:
                    best_rows[s] += [
                        skeleton.index(n) for n in names if skeleton.has(n)
                    ]
            self._columns.append((a, cols))
        self.missing_joints = tuple(missing)
        self.triples = (
            angle_triples(skeleton, triples)
            if triples and not missing
            else np.zeros((0, 3), np.int64)
        )
        self._best_rows = {
            s: np.array(sorted(set(r)), np.int64) for s, r in best_rows.items()
        }
        self.has_best = any(a.side == "best" for a in spec.angles)
        self.minmax = next((a for a in spec.angles if a.side in ("min", "max")), None)
        self.angle_names = tuple(a.name for a in spec.angles)
        self.metric_names = spec.metric_names
        self._torso_rows = np.array(
            [skeleton.index(n) for n in _TORSO]
            if all(map(skeleton.has, _TORSO))
            else [],
            np.int64,
        )
        left, right = self._best_rows["left"], self._best_rows["right"]
        self._depth_rows = np.concatenate([right, left])
        self._depth_weights = np.concatenate(
            [
                np.full(len(right), 1 / max(len(right), 1)),
                np.full(len(left), -1 / max(len(left), 1)),
            ]
        ).astype(np.float32)
        self.side: str | None = None
        self._depth_lead = math.nan

    def reset(self) -> None:
        self.side = None
        self._depth_lead = math.nan

    def update_side(self, frame: PoseFrame, raw: F32, may_switch: bool) -> None:
        """Choose the best side for this frame (`raw`: (K,) angle columns)."""
        if not self.has_best:
            return
        self._track_depth(frame)
        usable = {s: self._side_usable(raw, s) for s in _SIDES}
        if self.side is None:
            if usable["left"] or usable["right"]:
                score = self._visibility(frame)
                seen = self._seen_side(score, 0.0)
                ranked = sorted(
                    _SIDES, key=lambda s: (not usable[s], s != seen, -score[s])
                )
                self.side = ranked[0]
            return
        other = "right" if self.side == "left" else "left"
        if not usable[self.side] and usable[other]:
            self.side = other
        elif may_switch and usable[other]:
            if self._seen_side(self._visibility(frame), _DEPTH_LEAD) == other:
                self.side = other

    def _track_depth(self, frame: PoseFrame) -> None:
        """Average how much nearer the camera the left side's "best" joints are than
        the right's (BlazePose's z: smaller is nearer), in torso lengths."""
        if len(self._torso_rows) == 0:
            return
        # shoulders' midpoint - hips' midpoint; right side's mean z - left side's
        dx, dy = frame.xyz[self._torso_rows, :2].T @ _TORSO_WEIGHTS
        length = math.hypot(dx, dy)
        nearer = float(frame.xyz[self._depth_rows, 2] @ self._depth_weights)
        if length > 0 and math.isfinite(nearer):
            lead = nearer / length
            ema = self._depth_lead
            step = _DEPTH_AVERAGING * (lead - ema)
            self._depth_lead = lead if math.isnan(ema) else ema + step

    def _seen_side(self, score: dict[str, float], depth_lead: float) -> str | None:
        """The side the camera sees better: the more visible one (`score`, from
        `_visibility`) by more than `side_switch_margin`; else (both as visible, or a
        source that reports every joint alike, as landmark files without visibility
        do) the side nearer the camera on average by more than `depth_lead` torso
        lengths; else None."""
        if abs(score["left"] - score["right"]) > self.side_switch_margin:
            return max(_SIDES, key=lambda s: score[s])
        if self._depth_lead > depth_lead:
            return "left"
        if self._depth_lead < -depth_lead:
            return "right"
        return None

    def _visibility(self, frame: PoseFrame) -> dict[str, float]:
        """Each side's mean visibility over its "best" angles' joints (worked out only
        when a side is to be chosen: most frames keep theirs)."""
        return {
            s: float(frame.visibility[rows].mean()) if len(rows) else 0.0
            for s, rows in self._best_rows.items()
        }

    def _side_usable(self, raw: F32, side: str) -> bool:
        return any(
            a.side == "best" and not math.isnan(float(raw[cols[side]]))
            for a, cols in self._columns
        )

    def _degenerate(self, raw: F32, body: Body) -> F32:
        """The angle columns with a segment too short to measure set to NaN."""
        torso = body.torso_length()
        if not torso > 0:
            return raw
        limit = self.min_segment * torso
        xy = body.frame.xyz[:, :2]
        t = self.triples
        a = xy[t[:, 0]] - xy[t[:, 1]]
        c = xy[t[:, 2]] - xy[t[:, 1]]
        short = (np.hypot(a[:, 0], a[:, 1]) < limit) | (
            np.hypot(c[:, 0], c[:, 1]) < limit
        )
        if not short.any():
            return raw
        out = raw.copy()
        out[short] = np.nan
        return out

    def values(self, raw: F32, body: Body) -> tuple[dict[str, float], str | None]:
        """Every angle and metric the template reads, and the side a "min"/"max"
        angle took this frame (None otherwise).

        Args:
            raw: (K,) float32 angle columns, degrees (NaN = missing).
            body: The (smoothed, isotropic) frame the metrics are measured on.
        """
        values: dict[str, float] = {}
        active: str | None = None
        if len(raw):
            raw = self._degenerate(raw, body)
        for a, cols in self._columns:
            if "fixed" in cols:
                v = float(raw[cols["fixed"]])
            elif a.side in _SIDES:
                v = float(raw[cols[a.side]])
            elif a.side == "best":
                v = float(raw[cols[self.side]]) if self.side else math.nan
            else:
                lv, rv = float(raw[cols["left"]]), float(raw[cols["right"]])
                if math.isnan(lv) or math.isnan(rv):
                    v = rv if math.isnan(lv) else lv
                    pick = (
                        None
                        if math.isnan(v)
                        else ("right" if math.isnan(lv) else "left")
                    )
                elif a.side == "both":
                    v, pick = (lv + rv) / 2.0, None
                elif a.side == "min":
                    v, pick = (lv, "left") if lv <= rv else (rv, "right")
                else:
                    v, pick = (lv, "left") if lv >= rv else (rv, "right")
                if a is self.minmax:
                    active = pick
            values[a.name] = v
        side = self.metric_side
        for name in self.metric_names:
            if name not in values:
                values[name] = compute_metric(name, body, side)
        return values, active

    @property
    def metric_side(self) -> str | None:
        """The side metrics are measured on: the visible side for "best" templates;
        otherwise both (metrics combine them: the mean, or the worse side for fault
        metrics)."""
        return self.side if self.has_best else None

    def trace_side(self, active: str | None) -> str | None:
        """The side a frame is recorded with: the "min"/"max" angle's pick, else the
        best side."""
        return active if self.minmax is not None else self.side

    def rep_side(self, angles: F32, sides: list[str | None]) -> str | None:
        """The side of a rep from its frames.

        Args:
            angles: (T, >= A) float32 values over the rep, the template's A angles
                first (in `angle_names` order).
            sides: The side recorded for each of the T frames.
        """
        if self.minmax is not None:
            seg = angles[:, self.angle_names.index(self.minmax.name)]
            if np.isnan(seg).all():
                return None
            i = int(
                np.nanargmin(seg) if self.minmax.side == "min" else np.nanargmax(seg)
            )
            return sides[i]
        if self.has_best:
            return self.side
        fixed_sides = {a.side for a, _ in self._columns}
        if "both" in fixed_sides:
            return "both"
        fixed = {s for s in fixed_sides if s in _SIDES}
        return fixed.pop() if len(fixed) == 1 else None


def sees(
    spec: ExerciseSpec, key: str, view: str | None, *, strict: bool = False
) -> bool:
    """Whether a channel is meaningful in the detected view. An oblique or unknown view
    passes for scoring; `strict` (form rules: a wrong cue is worse than none) needs
    the channel's own view, or a channel meant for any view."""
    if key in METRICS:
        need = METRICS[key].view
    else:
        need = next((a.view for a in spec.angles if a.name == key), "any")
    if need == "any":
        return True
    if view not in ("front", "side"):
        return not strict
    return need == view
