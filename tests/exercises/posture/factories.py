"""Standing poses with known tilts for the posture screen's tests.

A front or back view of a person standing on the floor, built in isotropic image
coordinates (image heights; y down) and normalised to an image of `aspect_wh`. Segment
heights follow Drillis & Contini (shoulder 0.818 H, hip 0.53 H, ankle 0.039 H); every
pair (shoulders, hips, ears) is rotated by its own tilt about its midpoint, so the
figures the screen measures are known exactly:

    tilt = the given angle (positive = the person's left side higher)
    shoulder_height_diff_pct = 100 * 2 * SHOULDER_HALF * sin(shoulder tilt)
    trunk_shift_pct = the given shift (shoulders' midpoint over the hips' midpoint)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from vision.types import PoseFrame, Skeleton

__all__ = [
    "HIP_HALF",
    "SHOULDER_HALF",
    "standing_frame",
    "standing_frames",
]

SHOULDER_HALF = 0.115  # of stature
HIP_HALF = 0.055
EAR_HALF = 0.04
_SK = Skeleton.BLAZEPOSE_33
_FACE = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner")
_FACE += ("right_eye", "right_eye_outer", "mouth_left", "mouth_right")


def _pair(
    mid: np.ndarray, half: float, tilt_deg: float, lateral: float
) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) points `half` either side of `mid`, the left one raised by the
    tilt; `lateral` = +1 when the person's left is the image's +x."""
    a = math.radians(tilt_deg)
    d = np.array([lateral * half * math.cos(a), -half * math.sin(a)])
    return mid + d, mid - d


def standing_frame(
    timestamp_ms: int = 0,
    *,
    view: str = "front",
    shoulder_tilt_deg: float = 0.0,
    pelvic_tilt_deg: float = 0.0,
    head_tilt_deg: float = 0.0,
    trunk_shift_pct: float = 0.0,
    stature: float = 0.8,
    centre_x: float = 0.5,
    floor_y: float = 0.95,
    aspect_wh: float = 16 / 9,
    arms: str = "down",
    noise: np.ndarray | None = None,
) -> PoseFrame:
    """One standing pose (see the module docstring).

    Args:
        timestamp_ms: The frame's time.
        view: "front" (facing the camera), "back" or "side".
        shoulder_tilt_deg, pelvic_tilt_deg, head_tilt_deg: Positive = left higher.
        trunk_shift_pct: Shoulders over the hips, % of stature, positive = to the left.
        stature: Height in image heights.
        centre_x: Where the person stands, as a fraction of the image's width.
        floor_y: Image y of the floor.
        aspect_wh: The image's width / height.
        arms: "down" (hanging) or "up" (raised sideways to shoulder height).
        noise: (33, 2) added to the isotropic x, y (image heights), or None.
    """
    h = stature
    lateral = {"front": 1.0, "back": -1.0, "side": 1.0}[view]
    width = 0.08 if view == "side" else 1.0  # side on: pairs seen nearly end-on
    hip_mid = np.array([centre_x * aspect_wh, floor_y - 0.53 * h])
    p: dict[str, np.ndarray] = {}
    p["left_hip"], p["right_hip"] = _pair(
        hip_mid, width * HIP_HALF * h, pelvic_tilt_deg, lateral
    )
    sh_mid = hip_mid + np.array(
        [lateral * trunk_shift_pct / 100 * h, -(0.818 - 0.53) * h]
    )
    p["left_shoulder"], p["right_shoulder"] = _pair(
        sh_mid, width * SHOULDER_HALF * h, shoulder_tilt_deg, lateral
    )
    ear_mid = sh_mid + np.array([0.0, -0.11 * h])
    p["left_ear"], p["right_ear"] = _pair(
        ear_mid, width * EAR_HALF * h, head_tilt_deg, lateral
    )
    eye_mid = ear_mid + np.array([0.0, -0.01 * h])
    p["left_eye"], p["right_eye"] = _pair(
        eye_mid, width * 0.03 * h, head_tilt_deg, lateral
    )
    p["left_eye_inner"], p["right_eye_inner"] = _pair(
        eye_mid, width * 0.015 * h, head_tilt_deg, lateral
    )
    p["left_eye_outer"], p["right_eye_outer"] = _pair(
        eye_mid, width * 0.045 * h, head_tilt_deg, lateral
    )
    p["nose"] = ear_mid + np.array([0.0, 0.01 * h])
    p["mouth_left"], p["mouth_right"] = _pair(
        ear_mid + np.array([0.0, 0.04 * h]), width * 0.02 * h, 0.0, lateral
    )
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = p[f"{side}_shoulder"]
        hip = p[f"{side}_hip"]
        if arms == "up":
            out = np.array([sign * lateral * width * 0.19 * h, 0.0])
            p[f"{side}_elbow"] = s + out
            p[f"{side}_wrist"] = s + 1.8 * out
        else:
            p[f"{side}_elbow"] = s + np.array([sign * lateral * 0.02 * h, 0.19 * h])
            p[f"{side}_wrist"] = s + np.array([sign * lateral * 0.03 * h, 0.34 * h])
        w = p[f"{side}_wrist"]
        for name, dy in (("pinky", 0.05), ("index", 0.06), ("thumb", 0.04)):
            p[f"{side}_{name}"] = w + np.array([0.0, dy * h])
        p[f"{side}_knee"] = np.array([hip[0], floor_y - 0.285 * h])
        p[f"{side}_ankle"] = np.array([hip[0], floor_y - 0.039 * h])
        p[f"{side}_heel"] = np.array([hip[0], floor_y - 0.01 * h])
        toe = 0.0 if view == "side" else 0.03
        p[f"{side}_foot_index"] = np.array([hip[0] + sign * lateral * toe, floor_y])
    xy = np.stack([p[n] for n in _SK.joint_names])
    if noise is not None:
        xy = xy + noise
    xyz = np.zeros((_SK.num_joints, 3), np.float32)
    xyz[:, 0] = xy[:, 0] / aspect_wh
    xyz[:, 1] = xy[:, 1]
    vis = np.full(_SK.num_joints, 0.99, np.float32)
    if view == "back":
        vis[[_SK.index(n) for n in _FACE]] = 0.2
    return PoseFrame(xyz, vis, int(timestamp_ms))


def standing_frames(
    start_ms: int,
    duration_ms: int,
    *,
    step_ms: int = 80,
    noise_sd: float = 0.0,
    seed: int = 0,
    **kw: object,
) -> Iterator[PoseFrame]:
    """`standing_frame`s from `start_ms` every `step_ms` for `duration_ms` (end
    excluded), with independent Gaussian noise of `noise_sd` image heights on every
    coordinate."""
    rng = np.random.default_rng(seed)
    for ts in range(start_ms, start_ms + duration_ms, step_ms):
        noise = rng.normal(0.0, noise_sd, (_SK.num_joints, 2)) if noise_sd else None
        yield standing_frame(ts, noise=noise, **kw)  # type: ignore[arg-type]
