"""Factories for pose data built from joint angles (STYLE §6):
`make_frame(knee_deg=90)`,
`make_window(frames)`, synthetic rep sequences from a template's reference.

A simple 3D stick body (segment lengths as fractions of the standing height, after
Drillis & Contini) is posed by joint angles, placed on the floor and projected to the
image for a front or side camera. Angles are the ones the kernels measure: interior
angles at the middle joint (180 = straight). Other helpers import this module: keep the
signatures stable.

Body frame: X = the person's left, Y = up, Z = the way they face; the pelvis centre at
the origin. Sagittal directions are written as an angle theta in the (Y, Z) plane,
theta = atan2(z, y): 0 = up, 90 = forward, 180 = down.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "frames_from_channels",
    "hold_frames",
    "make_frame",
    "make_missing",
    "make_window",
    "pose_from_channels",
    "rep_frames",
    "sequence_frames",
]

# Segment lengths in standing heights.
TORSO = 0.29
THIGH = 0.245
SHIN = 0.246
UPPER_ARM = 0.186
FOREARM = 0.146
HAND = 0.06
FOOT = 0.13
HEEL = 0.045
HIP_HALF = 0.07
SHOULDER_HALF = 0.11

_SIDES = ("left", "right")


def _sag(theta_deg: float) -> np.ndarray:
    t = math.radians(theta_deg)
    return np.array([0.0, math.cos(t), math.sin(t)])


def _rot_x(a_deg: float) -> np.ndarray:
    a = math.radians(a_deg)
    c, s = math.cos(a), math.sin(a)
    # (y, z) -> (y c - z s, y s + z c): adds `a` to theta.
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_z(a_deg: float) -> np.ndarray:
    a = math.radians(a_deg)
    c, s = math.cos(a), math.sin(a)
    # Positive rotates +Y toward -X ... i.e. (x, y) -> (x c - y s, x s + y c).
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _theta(v: np.ndarray) -> float:
    return math.degrees(math.atan2(v[2], v[1]))


def _side_value(kw: Mapping[str, Any], side: str, name: str, default: float) -> float:
    v = kw.get(f"{side}_{name}", kw.get(name, default))
    return float(v)


def _body(kw: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Joint positions in the body frame (H units) and the body-to-world rotation."""
    posture = kw.get("posture", "standing")
    default_hip = {"seated": 90.0, "supine": 135.0}.get(posture, 180.0)
    default_knee = {"seated": 90.0, "supine": 80.0}.get(posture, 180.0)
    roll = float(kw.get("trunk_roll_deg", 0.0))
    view = kw.get("view", "front")
    arm_plane = kw.get("arm_plane", "frontal" if view == "front" else "sagittal")
    neck = float(kw.get("neck_deg", 15.0))

    p: dict[str, np.ndarray] = {}
    up = _rot_z(roll) @ np.array([0.0, 1.0, 0.0])
    lateral = _rot_z(roll) @ np.array([1.0, 0.0, 0.0])
    face = np.array([0.0, 0.0, 1.0])

    # Legs in the sagittal plane first: which segment keeps its place in the world
    # decides the body-to-world pitch, and the feet stay flat unless told otherwise.
    segs: dict[str, float] = {}
    for side in _SIDES:
        flex = 180.0 - _side_value(kw, side, "hip_deg", default_hip)
        knee_flex = 180.0 - _side_value(kw, side, "knee_deg", default_knee)
        segs[f"{side}_thigh"] = 180.0 - flex
        segs[f"{side}_shin"] = segs[f"{side}_thigh"] + knee_flex
    if "trunk_pitch_deg" in kw:
        alpha = float(kw["trunk_pitch_deg"])
    elif posture == "prone":
        alpha = 80.0
    elif posture == "supine":
        root = kw.get("stance_side") or _stance_side(kw, "hip_deg", default_hip)
        alpha = 45.0 - segs[f"{root}_thigh"]
    else:
        if posture == "seated":
            # The leg still resting on the floor carries the body: knee nearest 90.
            root = kw.get("stance_side") or min(
                _SIDES,
                key=lambda s: (
                    abs(_side_value(kw, s, "knee_deg", 90.0) - 90.0),
                    -_side_value(kw, s, "hip_deg", 90.0),
                ),
            )
            tilt = float(kw.get("shin_pitch_deg", 0.0))
        else:
            root = kw.get("stance_side") or _stance_side(kw, "knee_deg", default_knee)
            knee_flex = 180.0 - _side_value(kw, root, "knee_deg", default_knee)
            tilt = float(kw.get("shin_pitch_deg", 0.3 * knee_flex))
        alpha = (180.0 + tilt) - segs[f"{root}_shin"]

    for side in _SIDES:
        sign = 1.0 if side == "left" else -1.0
        hip = np.array([sign * HIP_HALF, 0.0, 0.0])
        abd = _side_value(kw, side, "hip_abd_deg", 0.0)
        th_thigh, th_shin = segs[f"{side}_thigh"], segs[f"{side}_shin"]
        leg_rot = _rot_z(sign * abd)
        knee = hip + leg_rot @ _sag(th_thigh) * THIGH
        ankle = knee + leg_rot @ _sag(th_shin) * SHIN
        # Valgus: the knee drifts toward the midline while the foot stays put.
        knee_in = float(kw.get(f"{side}_knee_in", kw.get("knee_in", 0.0)))
        knee = knee - np.array([sign * knee_in, 0.0, 0.0])
        # Flat foot by default: the ankle closes as the shin tilts forward.
        shin_tilt_world = th_shin + alpha - 180.0
        ankle_deg = _side_value(kw, side, "ankle_deg", 110.0 - shin_tilt_world)
        th_up = th_shin + 180.0  # ankle -> knee
        toe = ankle + leg_rot @ _sag(th_up + ankle_deg) * FOOT
        heel = ankle + leg_rot @ _sag(th_up + 205.0) * HEEL
        p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"] = hip, knee, ankle
        p[f"{side}_foot_index"], p[f"{side}_heel"] = toe, heel

        shoulder = up * TORSO + lateral * sign * SHOULDER_HALF
        elev = _side_value(kw, side, "shoulder_deg", 10.0)
        elbow_flex = 180.0 - _side_value(kw, side, "elbow_deg", 170.0)
        if arm_plane == "sagittal":
            # Flexion raises the arm forward: rotate "down" toward the face.
            upper = _rot_z(roll) @ (_rot_x(-elev) @ np.array([0.0, -1.0, 0.0]))
            fore = _rot_z(roll) @ (
                _rot_x(-elev - elbow_flex) @ np.array([0.0, -1.0, 0.0])
            )
        else:
            upper = _rot_z(roll + sign * elev) @ np.array([0.0, -1.0, 0.0])
            fore = _rot_z(roll + sign * (elev + elbow_flex)) @ np.array(
                [0.0, -1.0, 0.0]
            )
        elbow = shoulder + upper * UPPER_ARM
        wrist = elbow + fore * FOREARM
        p[f"{side}_shoulder"], p[f"{side}_elbow"], p[f"{side}_wrist"] = (
            shoulder,
            elbow,
            wrist,
        )
        p[f"{side}_index"] = wrist + fore * HAND
        p[f"{side}_pinky"] = wrist + fore * HAND * 0.9 + lateral * sign * 0.01
        p[f"{side}_thumb"] = wrist + fore * HAND * 0.6 - lateral * sign * 0.01

    neck_top = up * (TORSO + 0.05)
    head_up = _rot_x(neck) @ up
    head_face = _rot_x(neck) @ face
    nose = neck_top + head_up * 0.06 + head_face * 0.08
    p["nose"] = nose
    for side in _SIDES:
        sign = 1.0 if side == "left" else -1.0
        p[f"{side}_ear"] = neck_top + head_up * 0.06 + lateral * sign * 0.065
        p[f"{side}_eye"] = (
            nose + head_up * 0.02 + lateral * sign * 0.03 - head_face * 0.01
        )
        p[f"{side}_eye_inner"] = p[f"{side}_eye"] - lateral * sign * 0.01
        p[f"{side}_eye_outer"] = p[f"{side}_eye"] + lateral * sign * 0.012
    p["mouth_left"] = nose - head_up * 0.03 + lateral * 0.02
    p["mouth_right"] = nose - head_up * 0.03 - lateral * 0.02
    return p, _rot_x(alpha)


def _stance_side(kw: Mapping[str, Any], name: str, default: float) -> str:
    """The straighter leg carries the body."""
    left = _side_value(kw, "left", name, default)
    right = _side_value(kw, "right", name, default)
    return "left" if left >= right else "right"


def make_frame(
    timestamp_ms: int = 0,
    *,
    view: str = "front",
    facing: int = 1,
    posture: str = "standing",
    height: float = 0.7,
    center_x: float = 0.5,
    floor_y: float = 0.92,
    aspect: float = 1.0,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    visibility: float = 1.0,
    far_visibility: float = 0.9,
    hidden: Iterable[str] = (),
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    **angles: Any,
) -> PoseFrame:
    """One BlazePose-33 frame of a person posed by joint angles.

    Args:
        timestamp_ms: Frame time.
        view: "front" (facing the camera) or "side" (`facing` +1 = image right).
        posture: "standing" (feet on the floor, shin as the root), "seated" (thighs
            level), "supine" (lying on the back, thighs up 45 deg), "prone" (trunk
            pitched forward `trunk_pitch_deg`, default 80).
        height: Standing height in image units; `center_x`, `floor_y` place it.
        aspect: Image width / height: x and z (which shares x's scale, as BlazePose's
            depth does) are divided by it, as normalised landmarks are, and the frame
            is stamped with it (`aspect_wh`).
        noise: Gaussian jitter (image units) on x, y; `rng` or `seed` for repeatability.
        visibility, far_visibility: Joint visibility; in a side view the far side gets
            `far_visibility`.
        hidden: Joint names to report as missing (NaN, visibility 0).
        skeleton: Output layout (joints it lacks are dropped by name).
        **angles: Degrees, both sides or `left_`/`right_` prefixed: knee_deg,
            hip_deg (trunk-thigh, 180 straight), hip_abd_deg, ankle_deg
            (knee-ankle-toe, ~110 standing), shoulder_deg (hip-shoulder-elbow),
            elbow_deg; trunk_roll_deg (sideways lean, + toward the person's right),
            trunk_pitch_deg (fixes the
            trunk's forward pitch instead of the floor contact), shin_pitch_deg,
            neck_deg; arm_plane "frontal"/"sagittal"; knee_in (knee moved toward the
            midline, in heights); stance_side.

    Returns:
        The frame, x/y normalised to the image, z = depth relative to the hips.
    """
    unknown = set(angles) - _ANGLE_KEYS
    if unknown:
        raise TypeError(f"unknown pose arguments: {', '.join(sorted(unknown))}")
    kw = dict(angles, view=view, posture=posture)
    body, rot = _body(kw)
    names = Skeleton.BLAZEPOSE_33.joint_names
    world = np.array([rot @ body[n] for n in names])
    if view == "front":
        img = np.stack([world[:, 0], -world[:, 1], -world[:, 2]], axis=1)
    elif view == "side":
        img = np.stack(
            [facing * world[:, 2], -world[:, 1], -facing * world[:, 0]], axis=1
        )
    else:
        raise ValueError(f"view must be 'front' or 'side', got {view!r}")
    img[:, 1] -= img[:, 1].max()  # lowest joint on the floor
    cx = (img[:, 0].min() + img[:, 0].max()) / 2
    xyz = np.empty((len(names), 3), np.float64)
    xyz[:, 0] = 0.5 + ((center_x - 0.5) + (img[:, 0] - cx) * height) / aspect
    xyz[:, 1] = floor_y + img[:, 1] * height
    hips = (
        Skeleton.BLAZEPOSE_33.index("left_hip"),
        Skeleton.BLAZEPOSE_33.index("right_hip"),
    )
    xyz[:, 2] = (img[:, 2] - img[hips, 2].mean()) * height / aspect
    if noise > 0:
        gen = rng if rng is not None else np.random.default_rng(seed)
        xyz[:, :2] += gen.normal(0.0, noise, (len(names), 2))
    vis = np.full(len(names), visibility, np.float64)
    if view == "side":
        far = "right" if facing > 0 else "left"
        for i, n in enumerate(names):
            if n.startswith(far + "_"):
                vis[i] = min(vis[i], far_visibility)
    for n in hidden:
        i = Skeleton.BLAZEPOSE_33.index(n)
        xyz[i] = np.nan
        vis[i] = 0.0
    frame = PoseFrame(
        xyz.astype(np.float32),
        vis.astype(np.float32),
        int(timestamp_ms),
        aspect_wh=aspect,
    )
    if skeleton is not Skeleton.BLAZEPOSE_33:
        out_xyz = np.full((skeleton.num_joints, 3), np.nan, np.float32)
        out_vis = np.zeros(skeleton.num_joints, np.float32)
        for row, n in enumerate(skeleton.joint_names):
            if Skeleton.BLAZEPOSE_33.has(n):
                out_xyz[row] = frame.xyz[Skeleton.BLAZEPOSE_33.index(n)]
                out_vis[row] = frame.visibility[Skeleton.BLAZEPOSE_33.index(n)]
            elif n == "neck":
                ls, rs = (
                    Skeleton.BLAZEPOSE_33.index(s)
                    for s in ("left_shoulder", "right_shoulder")
                )
                out_xyz[row] = (frame.xyz[ls] + frame.xyz[rs]) / 2
                out_vis[row] = min(frame.visibility[ls], frame.visibility[rs])
        frame = PoseFrame(out_xyz, out_vis, int(timestamp_ms), skeleton, aspect)
    return frame


_ANGLE_KEYS = {
    f"{prefix}{name}"
    for prefix in ("", "left_", "right_")
    for name in (
        "knee_deg",
        "hip_deg",
        "hip_abd_deg",
        "ankle_deg",
        "shoulder_deg",
        "elbow_deg",
        "knee_in",
    )
} | {
    "trunk_roll_deg",
    "trunk_pitch_deg",
    "shin_pitch_deg",
    "neck_deg",
    "arm_plane",
    "stance_side",
}


def make_missing(
    timestamp_ms: int, skeleton: Skeleton = Skeleton.BLAZEPOSE_33
) -> PoseFrame:
    """Nobody in view."""
    return PoseFrame.missing(timestamp_ms, skeleton)


def make_window(frames: Sequence[PoseFrame]) -> PoseWindow:
    """Stack frames into a window."""
    return PoseWindow.from_frames(list(frames))


# --- frames from a template ----------------------------------------------------

_TRIPLE_DOF: dict[tuple[str, str, str], str] = {
    ("hip", "knee", "ankle"): "knee_deg",
    ("shoulder", "hip", "knee"): "hip_deg",
    ("hip", "shoulder", "elbow"): "shoulder_deg",
    ("shoulder", "elbow", "wrist"): "elbow_deg",
    ("knee", "ankle", "foot_index"): "ankle_deg",
    ("other_hip", "hip", "knee"): "hip_abd_deg",
    ("shoulder", "hip", "ankle"): "hip_deg",
}


def _strip(name: str) -> str:
    for prefix in ("left_", "right_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def pose_from_channels(spec: Any, values: Mapping[str, float]) -> dict[str, Any]:
    """`make_frame` keyword arguments realising a template's angle channels.

    Each angle maps to the body's degree of freedom at its middle joint (knee, hip,
    shoulder, elbow, ankle, hip abduction; shoulder-hip-ankle sets the hip). Sides:
    fixed/left/right pose that side; best/both pose both; min/max pose the left side
    (the working leg of an alternating exercise) and leave the right at rest.
    Metric channels are not inputs: they follow from the geometry.

    Raises:
        NotImplementedError: an angle whose joints the body model cannot pose.
    """
    kw: dict[str, Any] = {"posture": spec.posture}
    for a in spec.angles:
        if a.name not in values:
            continue
        key = tuple(_strip(n) for n in a.joints) if a.side is None else a.joints
        dof = _TRIPLE_DOF.get(key)  # type: ignore[arg-type]
        if dof is None:
            raise NotImplementedError(
                f"cannot pose angle {a.name!r} with joints {a.joints}"
            )
        v = float(values[a.name])
        if dof == "hip_abd_deg":
            v -= 90.0
        if a.side is None:
            sides: tuple[str, ...] = (a.joints[1].split("_", 1)[0],)
        elif a.side in ("left", "right"):
            sides = (a.side,)
        elif a.side in ("best", "both"):
            sides = _SIDES
        else:
            sides = ("left",)
        for s in sides:
            kw.setdefault(f"{s}_{dof}", v)
    return kw


def frames_from_channels(
    spec: Any,
    channel_values: Sequence[Mapping[str, float]],
    *,
    start_ms: int = 0,
    fps: float = 30.0,
    view: str | None = None,
    noise: float = 0.0,
    seed: int = 0,
    **frame_kw: Any,
) -> list[PoseFrame]:
    """One frame per entry of `channel_values`, `1000 / fps` ms apart."""
    rng = np.random.default_rng(seed)
    v = view or (spec.view if spec.view in ("front", "side") else "side")
    out = []
    for i, values in enumerate(channel_values):
        kw = pose_from_channels(spec, values)
        kw.update(frame_kw)
        ts = start_ms + round(i * 1000.0 / fps)
        out.append(make_frame(ts, view=v, noise=noise, rng=rng, **kw))
    return out


def _reference_values(reference: Any, t: float) -> dict[str, float]:
    return {c: reference.at(c, t) for c in reference.channels}


def _timeline(duration_s: float, fps: float) -> list[float]:
    n = max(2, round(duration_s * fps) + 1)
    return [i / (n - 1) for i in range(n)]


def rep_frames(
    spec: Any,
    *,
    reps: int = 1,
    duration_s: float | None = None,
    rest_s: float = 0.6,
    fps: float = 30.0,
    start_ms: int = 0,
    view: str | None = None,
    noise: float = 0.002,
    seed: int = 0,
    depth: float = 1.0,
    **frame_kw: Any,
) -> list[PoseFrame]:
    """Synthetic reps following a reps template's own reference.

    Args:
        spec: The template (kind "reps").
        reps: How many, each followed by `rest_s` at the start position (also before
            the first).
        duration_s: Seconds per rep (default: the template's pace).
        depth: Scale of the excursion from the start values (1 = the full reference,
            0.5 = half-depth reps).
        noise, seed: Landmark jitter.
        **frame_kw: Passed to `make_frame` (e.g. aspect, hidden).
    """
    ref = spec.reference
    rest = _reference_values(ref, 0.0)
    seq: list[dict[str, float]] = []
    dur = spec.pace_s if duration_s is None else duration_s
    for _ in range(reps):
        seq += [rest] * max(1, round(rest_s * fps))
        for t in _timeline(dur, fps):
            vals = _reference_values(ref, t)
            seq.append({c: rest[c] + depth * (vals[c] - rest[c]) for c in vals})
    seq += [rest] * max(1, round(rest_s * fps))
    return frames_from_channels(
        spec,
        seq,
        start_ms=start_ms,
        fps=fps,
        view=view,
        noise=noise,
        seed=seed,
        **frame_kw,
    )


def sequence_frames(
    spec: Any,
    *,
    rounds: int = 1,
    fps: float = 30.0,
    start_ms: int = 0,
    rest_s: float = 0.6,
    noise: float = 0.002,
    seed: int = 0,
    hold_scale: float = 1.0,
    **frame_kw: Any,
) -> list[PoseFrame]:
    """Synthetic rounds of a sequence template: each move follows its reference over
    its pace, then holds its end pose for `hold_scale * hold_s`."""
    seq: list[dict[str, float]] = []
    first = _reference_values(spec.moves[0].reference, 0.0)
    seq += [first] * max(1, round(rest_s * fps))
    for _ in range(rounds):
        for move in spec.moves:
            dur = move.pace_s or spec.pace_s
            prev = seq[-1]
            for t in _timeline(dur, fps):
                vals = _reference_values(move.reference, t)
                seq.append({**prev, **vals})
            seq += [seq[-1]] * round(move.hold_s * hold_scale * fps)
        seq += [seq[-1]] * max(1, round(rest_s * fps))
    return frames_from_channels(
        spec, seq, start_ms=start_ms, fps=fps, noise=noise, seed=seed, **frame_kw
    )


def hold_frames(
    spec: Any,
    *,
    seconds: float,
    lead_s: float = 1.0,
    fps: float = 30.0,
    start_ms: int = 0,
    noise: float = 0.002,
    seed: int = 0,
    pose: Callable[[float], Mapping[str, float]] | None = None,
    **frame_kw: Any,
) -> list[PoseFrame]:
    """A hold template's target angles held for `seconds` after `lead_s` of standing.

    `pose(t_s)` may override the channel values at time t (seconds from the start).
    """
    target = dict(spec.hold.target)
    n_lead = round(lead_s * fps)
    n = round(seconds * fps) + 1
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_lead + n):
        ts = start_ms + round(i * 1000.0 / fps)
        if i < n_lead:
            kw: dict[str, Any] = {"posture": "standing"}
        else:
            values = dict(target)
            if pose is not None:
                values.update(pose((i - n_lead) / fps))
            kw = pose_from_channels(spec, values)
        kw.update(frame_kw)
        v = spec.view if spec.view in ("front", "side") else "side"
        frames.append(make_frame(ts, view=v, noise=noise, rng=rng, **kw))
    return frames


def angle_walk(rng: np.random.Generator, n: int, k_count: int) -> np.ndarray:
    """A smooth-ish random angle trajectory (n, k_count) float32, in degrees."""
    steps = rng.normal(0.0, 8.0, (n, k_count))
    return (90.0 + np.cumsum(steps, axis=0)).astype(np.float32)
