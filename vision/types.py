"""Core pose types: skeletons by joint name, one person (`PoseFrame`), N people
(`Poses`), and stacked windows for scoring (`PoseWindow`).

Core module: imports only the stdlib and numpy.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLAZEPOSE_JOINT_NAMES",
    "COCO_JOINT_NAMES",
    "OPENPOSE_JOINT_NAMES",
    "BlazePoseJoint",
    "CocoJoint",
    "Joint",
    "OpenPoseJoint",
    "PoseFrame",
    "PoseWindow",
    "Poses",
    "Skeleton",
    "aspect_from_wh",
    "validate_pose_frame",
]

BLAZEPOSE_JOINT_NAMES: Final[tuple[str, ...]] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

COCO_JOINT_NAMES: Final[tuple[str, ...]] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# OpenPose's COCO-18 layout (as written by OpenPose and by Pose Trainer's data).
OPENPOSE_JOINT_NAMES: Final[tuple[str, ...]] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)


def _joint_enum(name: str, names: tuple[str, ...]) -> type[enum.IntEnum]:
    return enum.IntEnum(name, [(n.upper(), i) for i, n in enumerate(names)])  # type: ignore[return-value]


BlazePoseJoint = _joint_enum("BlazePoseJoint", BLAZEPOSE_JOINT_NAMES)
CocoJoint = _joint_enum("CocoJoint", COCO_JOINT_NAMES)
OpenPoseJoint = _joint_enum("OpenPoseJoint", OPENPOSE_JOINT_NAMES)
Joint = BlazePoseJoint
"""Rows of the default skeleton: `frame.xyz[Joint.LEFT_KNEE]`."""

# Bones for drawing, by joint name; each skeleton keeps the ones whose ends it has.
_BONES: Final[tuple[tuple[str, str], ...]] = (
    ("nose", "left_eye"),
    ("nose", "right_eye"),
    ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
    ("nose", "neck"),
    ("neck", "left_shoulder"),
    ("neck", "right_shoulder"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_wrist", "left_index"),
    ("right_wrist", "right_index"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"),
)


class Skeleton(enum.Enum):
    """A joint layout. Everything downstream addresses joints by name through it."""

    BLAZEPOSE_33 = "blazepose_33"
    COCO_17 = "coco_17"
    OPENPOSE_18 = "openpose_18"

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self._joint_names

    # Set below, once per member: read for every joint looked up, on every frame (a
    # dict keyed by the member would hash it in Python each time).
    _num_joints: int
    _joint_names: tuple[str, ...]
    _index: dict[str, int]
    _bone_rows: tuple[tuple[int, int], ...]
    _mirror_rows: tuple[int, ...]

    @property
    def num_joints(self) -> int:
        return self._num_joints

    def index(self, joint_name: str) -> int:
        """Row of `joint_name` in this skeleton.

        Raises:
            KeyError: the name is not a joint of this skeleton; the message lists the
                valid names.
        """
        try:
            return self._index[joint_name]
        except KeyError:
            valid = ", ".join(self.joint_names)
            raise KeyError(
                f"unknown joint {joint_name!r} for skeleton {self.value}; "
                f"valid joints: {valid}"
            ) from None

    def has(self, joint_name: str) -> bool:
        return joint_name in self._index

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """Pairs of rows to connect when drawing this skeleton."""
        return self._bone_rows

    @property
    def mirror_rows(self) -> tuple[int, ...]:
        """The row of each joint's mirror image (left_* and right_* swapped; the
        midline joints their own): a picture flipped left to right."""
        return self._mirror_rows


_NAMES: Final[dict[Skeleton, tuple[str, ...]]] = {
    Skeleton.BLAZEPOSE_33: BLAZEPOSE_JOINT_NAMES,
    Skeleton.COCO_17: COCO_JOINT_NAMES,
    Skeleton.OPENPOSE_18: OPENPOSE_JOINT_NAMES,
}
for _skeleton, _names in _NAMES.items():
    _index = {n: i for i, n in enumerate(_names)}
    _skeleton._num_joints = len(_names)
    _skeleton._joint_names = _names
    _skeleton._index = _index
    _skeleton._bone_rows = tuple(
        (_index[a], _index[b]) for a, b in _BONES if a in _index and b in _index
    )
    _skeleton._mirror_rows = tuple(
        _index[
            n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        ]
        for n in _names
    )


def _check_array(
    name: str, array: object, shape: tuple[int, ...], dtype: type[np.generic]
) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.shape != shape or array.dtype != dtype:
        raise ValueError(
            f"{name} must be {shape} {np.dtype(dtype).name}, "
            f"got {array.shape} {array.dtype.name}"
        )


def aspect_from_wh(image_wh: tuple[int, ...] | None) -> float:
    """An image's width / height from its (width, height) in px; 1.0 when unknown
    (None, not two numbers) or degenerate (a side <= 0)."""
    if image_wh is None or len(image_wh) != 2:
        return 1.0
    w, h = image_wh
    return float(w) / float(h) if w > 0 and h > 0 else 1.0


def _check_aspect(aspect_wh: object) -> None:
    if (
        not isinstance(aspect_wh, float | int | np.floating | np.integer)
        or isinstance(aspect_wh, bool)
        or not 0.0 < float(aspect_wh) < math.inf
    ):
        raise ValueError(f"aspect_wh must be > 0 and finite, got {aspect_wh!r}")


_F32: Final = np.dtype(np.float32)


def _check_stack(xyz: object, visibility: object, skeleton: Skeleton, rows: str) -> int:
    """Check stacked landmarks, xyz (L, J, 3) and visibility (L, J) float32; return L
    (`rows` names L in the message)."""
    if not isinstance(xyz, np.ndarray) or xyz.ndim != 3:
        raise ValueError(
            f"xyz must be ({rows}, J, 3) float32, got {getattr(xyz, 'shape', None)}"
        )
    n = int(xyz.shape[0])
    j = skeleton.num_joints
    _check_array("xyz", xyz, (n, j, 3), np.float32)
    _check_array("visibility", visibility, (n, j), np.float32)
    return n


def validate_pose_frame(frame: PoseFrame) -> None:
    """Raise ValueError/TypeError naming what was expected and what was received."""
    # The common case in few, cheap tests (every live frame is checked on the way).
    xyz, vis, aspect = frame.xyz, frame.visibility, frame.aspect_wh
    skeleton = frame.skeleton
    if (
        type(skeleton) is Skeleton
        and type(xyz) is np.ndarray
        and xyz.shape == (j := skeleton._num_joints, 3)
        and xyz.dtype == _F32
        and type(vis) is np.ndarray
        and vis.shape == (j,)
        and vis.dtype == _F32
        and type(frame.timestamp_ms) is int
        and type(aspect) is float
        and 0.0 < aspect < math.inf
    ):
        return
    if not isinstance(frame.skeleton, Skeleton):
        raise TypeError(f"skeleton must be a Skeleton, got {frame.skeleton!r}")
    j = frame.skeleton.num_joints
    _check_array("xyz", frame.xyz, (j, 3), np.float32)
    _check_array("visibility", frame.visibility, (j,), np.float32)
    if not isinstance(frame.timestamp_ms, int | np.integer) or isinstance(
        frame.timestamp_ms, bool
    ):
        raise TypeError(f"timestamp_ms must be an int, got {frame.timestamp_ms!r}")
    _check_aspect(frame.aspect_wh)


@dataclass(frozen=True, slots=True, eq=False)
class PoseFrame:
    """One subject's landmarks at one instant.

    Attributes:
        xyz: (J, 3) float32, x/y normalized to [0, 1] of the image, z relative to the
            hips in the same scale as x. NaN = joint missing.
        visibility: (J,) float32 in [0, 1].
        timestamp_ms: Capture time from a monotonic clock at the camera edge.
        skeleton: Joint layout of the rows.
        aspect_wh: Width / height of the image the coordinates are normalized to,
            stamped where the image is decoded: one unit of x is `aspect_wh` units of
            y long. 1.0 once made isotropic (`vision.geometry.isotropic`), or when
            unknown.
    """

    xyz: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]
    timestamp_ms: int
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33
    aspect_wh: float = 1.0

    def __post_init__(self) -> None:
        validate_pose_frame(self)

    @classmethod
    def missing(
        cls,
        timestamp_ms: int,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        aspect_wh: float = 1.0,
    ) -> PoseFrame:
        """Nobody in view: all NaN with visibility 0."""
        j = skeleton.num_joints
        return cls(
            np.full((j, 3), np.nan, np.float32),
            np.zeros(j, np.float32),
            int(timestamp_ms),
            skeleton,
            aspect_wh,
        )

    @property
    def is_missing(self) -> bool:
        return bool(np.isnan(self.xyz).all())

    def joint(self, joint_name: str) -> npt.NDArray[np.float32]:
        """(3,) float32 position of a joint by name."""
        row: npt.NDArray[np.float32] = self.xyz[self.skeleton.index(joint_name)]
        return row


@dataclass(frozen=True, slots=True, eq=False)
class Poses:
    """Every person found in one image.

    Attributes:
        xyz: (N, J, 3) float32, normalized image coordinates as in `PoseFrame`.
        visibility: (N, J) float32 in [0, 1].
        track_ids: (N,) int64; -1 until a tracker assigns IDs.
        scores: (N,) float32 detection confidence in [0, 1].
        timestamp_ms: Capture time.
        skeleton: Joint layout of the rows.
        aspect_wh: Width / height of the image, as in `PoseFrame`.
    """

    xyz: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]
    track_ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    timestamp_ms: int
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33
    aspect_wh: float = 1.0

    def __post_init__(self) -> None:
        n = _check_stack(self.xyz, self.visibility, self.skeleton, "N")
        _check_array("track_ids", self.track_ids, (n,), np.int64)
        _check_array("scores", self.scores, (n,), np.float32)
        _check_aspect(self.aspect_wh)

    @classmethod
    def empty(
        cls,
        timestamp_ms: int,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        aspect_wh: float = 1.0,
    ) -> Poses:
        j = skeleton.num_joints
        return cls(
            np.zeros((0, j, 3), np.float32),
            np.zeros((0, j), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
            int(timestamp_ms),
            skeleton,
            aspect_wh,
        )

    @classmethod
    def from_frames(
        cls,
        frames: list[PoseFrame],
        timestamp_ms: int,
        scores: list[float] | None = None,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        aspect_wh: float | None = None,
    ) -> Poses:
        """Stack frames of one image (`aspect_wh`: None takes the first frame's)."""
        if not frames:
            aspect = 1.0 if aspect_wh is None else aspect_wh
            return cls.empty(timestamp_ms, skeleton, aspect)
        return cls(
            np.stack([f.xyz for f in frames]).astype(np.float32),
            np.stack([f.visibility for f in frames]).astype(np.float32),
            np.full(len(frames), -1, np.int64),
            np.asarray(
                scores if scores is not None else [1.0] * len(frames), np.float32
            ),
            int(timestamp_ms),
            frames[0].skeleton,
            frames[0].aspect_wh if aspect_wh is None else aspect_wh,
        )

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def __getitem__(self, i: int) -> PoseFrame:
        return PoseFrame(
            np.ascontiguousarray(self.xyz[i]),
            np.ascontiguousarray(self.visibility[i]),
            self.timestamp_ms,
            self.skeleton,
            self.aspect_wh,
        )

    def frames(self) -> list[PoseFrame]:
        return [self[i] for i in range(len(self))]


@dataclass(frozen=True, slots=True, eq=False)
class PoseWindow:
    """T consecutive frames of one subject, stacked for the kernels.

    Attributes:
        xyz: (T, J, 3) float32, C-contiguous. NaN = joint missing.
        visibility: (T, J) float32.
        timestamp_ms: (T,) int64, non-decreasing.
        skeleton: Joint layout of the rows.
        aspect_wh: Width / height of the image, as in `PoseFrame`.
    """

    xyz: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]
    timestamp_ms: npt.NDArray[np.int64]
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33
    aspect_wh: float = 1.0
    _frames: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        t = _check_stack(self.xyz, self.visibility, self.skeleton, "T")
        _check_array("timestamp_ms", self.timestamp_ms, (t,), np.int64)
        _check_aspect(self.aspect_wh)
        object.__setattr__(self, "_frames", t)

    @classmethod
    def from_frames(
        cls, frames: list[PoseFrame], aspect_wh: float | None = None
    ) -> PoseWindow:
        """Stack one subject's frames. `aspect_wh`: None takes the first frame's that
        has a pose (a missing frame has no geometry), else the first frame's."""
        if not frames:
            raise ValueError("a PoseWindow needs at least one frame, got none")
        skeleton = frames[0].skeleton
        if aspect_wh is None:
            seen = (f for f in frames if not f.is_missing)
            aspect_wh = next(seen, frames[0]).aspect_wh
        return cls(
            np.ascontiguousarray(np.stack([f.xyz for f in frames]), np.float32),
            np.ascontiguousarray(np.stack([f.visibility for f in frames]), np.float32),
            np.asarray([f.timestamp_ms for f in frames], np.int64),
            skeleton,
            aspect_wh,
        )

    def __len__(self) -> int:
        return self._frames

    def __getitem__(self, t: int) -> PoseFrame:
        return PoseFrame(
            np.ascontiguousarray(self.xyz[t]),
            np.ascontiguousarray(self.visibility[t]),
            int(self.timestamp_ms[t]),
            self.skeleton,
            self.aspect_wh,
        )
