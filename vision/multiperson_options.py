"""Options of the multi-person estimator (`vision.multiperson`).

Core module: stdlib plus `vision.backends.blazepose`'s defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vision.backends import blazepose as bp

__all__ = ["MultiPersonOptions"]


@dataclass(frozen=True, slots=True)
class MultiPersonOptions:
    """Options of `MultiPersonPoseEstimator`.

    Attributes:
        provider: "cpu" or "cuda" (see `OnnxOptions`).
        max_people: Most people returned per frame (the largest ones).
        min_detection_confidence: Detector score to accept a person, in [0, 1]. Higher
            than the single-person default (0.5): the tiles show the detector small
            scraps of arms and background, which score up to ~0.56 (real two-person
            clip), while people in tiles score 0.63 and more.
        min_presence_confidence: Landmark-model presence to keep (and keep tracking) a
            pose, in [0, 1].
        min_person_height: Smallest person to find, as a fraction of the frame height;
            sets the tile size (`tile_grid`).
        tile_overlap: Fraction of a tile's side shared with its neighbour.
        tiles_per_frame: Tiles per detector run, visited round robin (0: all of them
            every run: best recall, most compute, for a GPU). The default 4 sweeps a
            720p frame's 18 tiles every 5 frames (someone new and small is found
            within ~0.2 s at 25 fps) for about a quarter of the detector work.
        detect_every: While someone is tracked, run the detector every this many
            frames (1: every frame), on `sweep_regions` regions: the whole frame and
            the tiles nobody tracked covers (`uncovered_tiles`), round robin. While
            nobody is tracked it runs every frame on the whole frame plus
            `tiles_per_frame` tiles. Between runs people are held by tracking.
        sweep_regions: Detector regions per run while someone is tracked (0: the
            same regions as while nobody is, tiles covered or not).
        landmark_budget: Most tracked people refreshed per frame (0: all).
        frame_budget_ms: Refresh only as many people as the running cost per crop
            fits in this (0: no budget); someone carried `max_hold` frames is
            refreshed whatever the cost (a slow machine gets fewer frames, never
            staler poses).
        still_motion: Someone whose joints moved less than this (90th percentile,
            torso lengths per frame) between their last two fits is carried forward
            (0: never). Jitter is ~0.03; below 0.05 at 10 fps: 35 % of person-frames
            in the tiled Baduanjin class, 19 % in the pasted exercise clips.
        max_hold: Most frames in a row a person is carried forward without the
            landmark model (0: never; `landmark_budget` and `still_motion` then do
            nothing). A carried pose moves on with its last joint velocity
            (`extrapolate_xyz`).
        landmark_chunk: Crops per landmark-model call (0: all crops of a frame in one
            call); measured per crop cost against batch size in `benchmarks.group`.
        tracking: Carry ROIs from one frame's landmarks to the next (VIDEO mode).
        duplicate_similarity: Keypoint similarity above which two poses are one person.
        intra_op_threads: ONNX Runtime intra-op threads (0: its default).
        detector_model, landmark_model: Manifest names of the ONNX files.
    """

    provider: Literal["cpu", "cuda"] = "cpu"
    max_people: int = 10
    min_detection_confidence: float = 0.6
    min_presence_confidence: float = 0.5
    min_person_height: float = 0.2
    tile_overlap: float = bp.TILE_OVERLAP
    tiles_per_frame: int = 4
    detect_every: int = 3
    sweep_regions: int = 1
    landmark_budget: int = 0
    frame_budget_ms: float = 0.0
    still_motion: float = 0.05
    max_hold: int = 1
    landmark_chunk: int = 0
    tracking: bool = True
    duplicate_similarity: float = bp.DUPLICATE_SIMILARITY
    intra_op_threads: int = 0
    detector_model: str = "pose_detector"
    landmark_model: str = "pose_landmark_full"

    def __post_init__(self) -> None:
        for name, low in (
            ("max_people", 1),
            ("tiles_per_frame", 0),
            ("detect_every", 1),
            ("sweep_regions", 0),
            ("landmark_budget", 0),
            ("max_hold", 0),
            ("landmark_chunk", 0),
            ("intra_op_threads", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        for name, lo, hi in (
            ("min_detection_confidence", 0.0, 1.0),
            ("min_presence_confidence", 0.0, 1.0),
            ("min_person_height", 1e-6, 1.0),
            ("duplicate_similarity", 0.0, 1.0),
            ("tile_overlap", 0.0, 0.95),
            ("still_motion", 0.0, 10.0),
            ("frame_budget_ms", 0.0, 10_000.0),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not lo <= value <= hi
            ):
                raise ValueError(
                    f"{name} must be a number in [{lo}, {hi}], got {value!r}"
                )
        if not isinstance(self.tracking, bool):
            raise ValueError(f"tracking must be a bool, got {self.tracking!r}")

    def onnx_options(self) -> bp.OnnxOptions:
        """The single-model options these imply (provider, thresholds, models)."""
        return bp.OnnxOptions(
            provider=self.provider,
            num_poses=self.max_people,
            min_detection_confidence=self.min_detection_confidence,
            min_presence_confidence=self.min_presence_confidence,
            intra_op_threads=self.intra_op_threads,
            tracking=self.tracking,
            detector_model=self.detector_model,
            landmark_model=self.landmark_model,
        )
