"""Validating wrappers around the kinematics kernels: joint angles, One-Euro smoothing,
skeleton conversion, and the one place image coordinates are made isotropic. Core
module (stdlib, numpy, numba through `vision.kernels`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from vision import config
from vision import kernels as _k
from vision.clock import VideoClock
from vision.types import PoseFrame, Poses, PoseWindow, Skeleton

__all__ = [
    "Kinematics",
    "OneEuroSmoother",
    "angle_triples",
    "convert_skeleton",
    "isotropic",
    "joint_angles",
    "joint_angles_array",
    "warm_up",
]

F32 = npt.NDArray[np.float32]
_DT_S = _k.P_DT_S  # read once per frame on the live path
_Pose = TypeVar("_Pose", PoseFrame, Poses, PoseWindow)


def isotropic(poses: _Pose) -> _Pose:
    """The same poses with one unit as long across as down: x and z multiplied by
    `poses.aspect_wh` (the result's `aspect_wh` is 1.0).

    Landmarks normalize x by the image width and y by its height, so on a 16:9 picture
    every angle, ratio and distance is skewed until x is scaled back. z is scaled with
    x: BlazePose gives depth "in roughly the same scale as x" (MediaPipe), so a body
    turning in the x-z plane keeps its angles. The unit becomes the image height: y is
    unchanged, x runs from 0 to `aspect_wh`. Idempotent; a pose already isotropic is
    returned as is.

    Args:
        poses: A `PoseFrame`, `Poses` or `PoseWindow` stamped with its image's aspect.

    Returns:
        The same type, xyz (..., 3) float32 in image-height units, aspect_wh 1.0.
    """
    aspect = float(poses.aspect_wh)
    if aspect == 1.0:
        return poses
    xyz = poses.xyz * np.array([aspect, 1.0, aspect], np.float32)
    if isinstance(poses, PoseFrame):
        return PoseFrame(xyz, poses.visibility, poses.timestamp_ms, poses.skeleton)
    if isinstance(poses, Poses):
        return Poses(
            xyz,
            poses.visibility,
            poses.track_ids,
            poses.scores,
            poses.timestamp_ms,
            poses.skeleton,
        )
    return PoseWindow(xyz, poses.visibility, poses.timestamp_ms, poses.skeleton)


def angle_triples(
    skeleton: Skeleton, triples: Sequence[tuple[str, str, str]]
) -> npt.NDArray[np.int64]:
    """Rows of named joint triples (angle at the middle joint).

    Args:
        skeleton: Layout the rows refer to.
        triples: K triples of joint names, e.g. ("left_hip", "left_knee", "left_ankle").

    Returns:
        (K, 3) int64, C-contiguous.

    Raises:
        KeyError: a name is not a joint of `skeleton` (the message lists valid names).
        ValueError: a triple does not have three names.
    """
    rows = np.empty((len(triples), 3), np.int64)
    for k, triple in enumerate(triples):
        if len(triple) != 3:
            raise ValueError(f"an angle needs 3 joint names, got {list(triple)!r}")
        rows[k] = [skeleton.index(name) for name in triple]
    return rows


def _check_triples(triples: npt.NDArray[np.int64], num_joints: int) -> None:
    if (
        not isinstance(triples, np.ndarray)
        or triples.ndim != 2
        or triples.shape[1] != 3
        or triples.dtype != np.int64
    ):
        raise ValueError(
            "triples must be (K, 3) int64, got "
            f"{getattr(triples, 'shape', None)} "
            f"{getattr(triples, 'dtype', type(triples))}"
        )
    if triples.size and (triples.min() < 0 or triples.max() >= num_joints):
        raise ValueError(
            f"triples must index joints 0..{num_joints - 1}, "
            f"got {triples.min()}..{triples.max()}"
        )


def joint_angles_array(
    xyz: F32,
    visibility: F32,
    triples: npt.NDArray[np.int64],
    *,
    min_visibility: float | None = None,
    use_z: bool = False,
) -> F32:
    """Angles at the middle joint of each triple, frame by frame.

    Args:
        xyz: (T, J, 3) float32, normalized image coordinates; NaN = missing.
        visibility: (T, J) float32 in [0, 1].
        triples: (K, 3) int64 joint rows, from `angle_triples`.
        min_visibility: joints below it count as missing (default
            `config.MIN_VISIBILITY`).
        use_z: include the (noisy) depth; default is the image-plane angle.

    Returns:
        (T, K) float32, degrees in [0, 180]; NaN where any of the three joints is
        missing.
    """
    if not isinstance(xyz, np.ndarray) or xyz.ndim != 3 or xyz.shape[2] != 3:
        raise ValueError(
            f"xyz must be (T, J, 3) float32, got {getattr(xyz, 'shape', None)}"
        )
    t, j, _ = xyz.shape
    if not isinstance(visibility, np.ndarray) or visibility.shape != (t, j):
        raise ValueError(
            f"visibility must be ({t}, {j}) float32, "
            f"got {getattr(visibility, 'shape', None)}"
        )
    _check_triples(triples, j)
    xyz = np.ascontiguousarray(xyz, np.float32)
    visibility = np.ascontiguousarray(visibility, np.float32)
    triples = np.ascontiguousarray(triples)
    out = np.empty((t, triples.shape[0]), np.float32)
    threshold = config.MIN_VISIBILITY if min_visibility is None else min_visibility
    _k._joint_angles(xyz, visibility, triples, np.float32(threshold), use_z, out)
    return out


def joint_angles(
    poses: PoseFrame | PoseWindow,
    triples: npt.NDArray[np.int64],
    *,
    min_visibility: float | None = None,
    use_z: bool = False,
) -> F32:
    """Joint angles of one frame, (K,) float32 degrees, or of a window, (T, K) float32.

    See `joint_angles_array` for the arguments and NaN semantics.
    """
    if isinstance(poses, PoseFrame):
        one: F32 = joint_angles_array(
            poses.xyz[None],
            poses.visibility[None],
            triples,
            min_visibility=min_visibility,
            use_z=use_z,
        )[0]
        return one
    if isinstance(poses, PoseWindow):
        return joint_angles_array(
            poses.xyz,
            poses.visibility,
            triples,
            min_visibility=min_visibility,
            use_z=use_z,
        )
    raise TypeError(f"expected a PoseFrame or PoseWindow, got {type(poses).__name__}")


class OneEuroSmoother:
    """One-Euro filter (Casiez et al. 2012) over every joint coordinate of one subject.

    `update(frame) -> frame`: the smoothed frame has the same visibility and timestamp.
    A missing joint resets that joint's state. Timestamps must increase strictly.
    """

    def __init__(
        self,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        min_cutoff_hz: float | None = None,
        beta: float | None = None,
        d_cutoff_hz: float | None = None,
    ) -> None:
        self.skeleton = skeleton
        self.min_cutoff_hz = (
            config.ONE_EURO_MIN_CUTOFF_HZ if min_cutoff_hz is None else min_cutoff_hz
        )
        self.beta = config.ONE_EURO_BETA if beta is None else beta
        self.d_cutoff_hz = (
            config.ONE_EURO_D_CUTOFF_HZ if d_cutoff_hz is None else d_cutoff_hz
        )
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0 or self.beta < 0:
            raise ValueError(
                "One-Euro needs min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0, got "
                f"{self.min_cutoff_hz}, {self.d_cutoff_hz}, {self.beta}"
            )
        self.reset()

    def reset(self) -> None:
        j = self.skeleton.num_joints
        # (x_prev, dx_prev) in one array: the fused kernel takes it as one argument.
        self._state = np.zeros((2, j, 3), np.float32)
        self._state[0] = np.nan
        self._clock = VideoClock()

    def _accept(self, frame: PoseFrame) -> float:
        """Check the frame's skeleton and take its timestamp: seconds since the last
        frame (0 for the first). One call per frame: this runs on the live path."""
        if frame.skeleton is not self.skeleton:
            raise ValueError(
                f"smoother is for {self.skeleton.value}, "
                f"got a {frame.skeleton.value} frame"
            )
        clock = self._clock
        last = clock.last_ms
        ts = clock.advance(frame.timestamp_ms)
        return 0.0 if last is None else (ts - last) / 1000.0

    def update(self, frame: PoseFrame) -> PoseFrame:
        """Smooth one frame.

        Raises:
            ValueError: a different skeleton, or a timestamp not after the previous one.
        """
        dt_s = self._accept(frame)
        out = np.empty_like(frame.xyz)
        _k._one_euro_step(
            frame.xyz,
            dt_s,
            self.min_cutoff_hz,
            self.beta,
            self.d_cutoff_hz,
            self._state[0],
            self._state[1],
            out,
        )
        return PoseFrame(
            out, frame.visibility, frame.timestamp_ms, frame.skeleton, frame.aspect_wh
        )


class Kinematics(OneEuroSmoother):
    """The live per-frame path: One-Euro smoothing, then the angles, in one kernel
    call."""

    def __init__(
        self,
        skeleton: Skeleton,
        triples: npt.NDArray[np.int64],
        *,
        min_visibility: float | None = None,
        use_z: bool = False,
        **one_euro: float,
    ) -> None:
        super().__init__(skeleton, **one_euro)
        _check_triples(triples, skeleton.num_joints)
        self.triples = np.ascontiguousarray(triples)
        self.min_visibility = np.float32(
            config.MIN_VISIBILITY if min_visibility is None else min_visibility
        )
        self.use_z = use_z
        self._params = np.zeros(6, np.float64)
        self._params[_k.P_MIN_CUTOFF_HZ] = self.min_cutoff_hz
        self._params[_k.P_BETA] = self.beta
        self._params[_k.P_D_CUTOFF_HZ] = self.d_cutoff_hz
        self._params[_k.P_MIN_VISIBILITY] = self.min_visibility
        self._params[_k.P_USE_Z] = float(use_z)
        self._angles_shape = (1, self.triples.shape[0])

    def update_with_angles(self, frame: PoseFrame) -> tuple[PoseFrame, F32]:
        """Returns the smoothed frame and its (K,) float32 angles in degrees."""
        self._params[_DT_S] = self._accept(frame)
        angles = np.empty(self._angles_shape, np.float32)
        _k._smooth_and_angles(
            frame.xyz, frame.visibility, self._params, self._state, self.triples, angles
        )
        smoothed = self._state[0].copy()
        return (
            PoseFrame(
                smoothed,
                frame.visibility,
                frame.timestamp_ms,
                frame.skeleton,
                frame.aspect_wh,
            ),
            angles[0],
        )


def convert_skeleton(frame: PoseFrame, target: Skeleton) -> PoseFrame:
    """Re-map a frame's joints to another skeleton by joint name.

    Joints the source lacks are NaN with visibility 0, except OpenPose's `neck`, which
    is the midpoint of the shoulders when both exist.
    """
    if frame.skeleton is target:
        return frame
    j = target.num_joints
    xyz = np.full((j, 3), np.nan, np.float32)
    vis = np.zeros(j, np.float32)
    src = frame.skeleton
    for row, name in enumerate(target.joint_names):
        if src.has(name):
            xyz[row] = frame.xyz[src.index(name)]
            vis[row] = frame.visibility[src.index(name)]
        elif name == "neck":
            ls, rs = src.index("left_shoulder"), src.index("right_shoulder")
            xyz[row] = (frame.xyz[ls] + frame.xyz[rs]) / 2
            vis[row] = min(frame.visibility[ls], frame.visibility[rs])
    return PoseFrame(xyz, vis, frame.timestamp_ms, target, frame.aspect_wh)


def _synthetic_frame(timestamp_ms: int) -> PoseFrame:
    """A plausible standing pose (rows in a vertical line with small offsets)."""
    j = Skeleton.BLAZEPOSE_33.num_joints
    ys = np.linspace(0.1, 0.9, j, dtype=np.float32)
    xs = 0.5 + 0.05 * np.sin(np.arange(j, dtype=np.float32))
    xyz = np.stack([xs, ys, np.zeros(j, np.float32)], axis=1).astype(np.float32)
    return PoseFrame(xyz, np.ones(j, np.float32), timestamp_ms)


def warm_up() -> None:
    """Compile (or load from cache) every kernel by calling each public wrapper once on
    a missing frame and once on a synthetic one, so the first live frame pays no
    JIT."""
    triples = angle_triples(
        Skeleton.BLAZEPOSE_33, [("left_hip", "left_knee", "left_ankle")]
    )
    for frame in (PoseFrame.missing(0), _synthetic_frame(1)):
        joint_angles(frame, triples)
        joint_angles(PoseWindow.from_frames([frame]), triples)
    smoother = OneEuroSmoother()
    smoother.update(PoseFrame.missing(0))
    smoother.update(_synthetic_frame(33))
    kin = Kinematics(Skeleton.BLAZEPOSE_33, triples)
    kin.update_with_angles(PoseFrame.missing(0))
    kin.update_with_angles(_synthetic_frame(33))
