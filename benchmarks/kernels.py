"""Kinematics kernels against numpy, measured in the same run.

`python -m benchmarks.kernels [--frames N] [--repeats R]`

Per frame of the live path: One-Euro smoothing of 33 joints and 8 joint angles. Peers:
- numba kernel call (`vision.kernels._smooth_and_angles`, preallocated outputs),
- the public wrapper (`vision.geometry.Kinematics.update_with_angles`: validation,
  PoseFrame construction, allocation),
- the same arithmetic vectorized in numpy (the peer the ratio is against).
Also batch angles over a (T, 33, 3) window: kernel vs numpy.
Target (issue 2): angles + One-Euro for one frame <= 1.2 us, about 15x faster than
numpy.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from benchmarks._report import emit
from vision import config, geometry
from vision import kernels as k
from vision.types import PoseFrame, Skeleton

ANGLES = [
    ("left_hip", "left_knee", "left_ankle"),
    ("right_hip", "right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow", "right_wrist"),
    ("left_elbow", "left_shoulder", "left_hip"),
    ("right_elbow", "right_shoulder", "right_hip"),
    ("left_shoulder", "left_hip", "left_knee"),
    ("right_shoulder", "right_hip", "right_knee"),
]


class NumpyKinematics:
    """The same One-Euro + angles in vectorized numpy."""

    def __init__(self, triples: np.ndarray) -> None:
        self.triples = triples
        self.x_prev: np.ndarray | None = None
        self.dx_prev = np.zeros((33, 3), np.float32)

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / dt)

    def step(self, xyz: np.ndarray, vis: np.ndarray, dt: float) -> np.ndarray:
        if self.x_prev is None or dt <= 0:
            x_hat = xyz.copy()
            self.dx_prev[:] = 0
        else:
            dx = (xyz - self.x_prev) / dt
            a_d = self._alpha(config.ONE_EURO_D_CUTOFF_HZ, dt)
            dx_hat = a_d * dx + (1 - a_d) * self.dx_prev
            cutoff = config.ONE_EURO_MIN_CUTOFF_HZ + config.ONE_EURO_BETA * np.abs(
                dx_hat
            )
            a = self._alpha(cutoff, dt)
            x_hat = a * xyz + (1 - a) * self.x_prev
            self.dx_prev = dx_hat
        self.x_prev = x_hat
        a, b, c = (
            x_hat[self.triples[:, 0], :2],
            x_hat[self.triples[:, 1], :2],
            x_hat[self.triples[:, 2], :2],
        )
        u, v = a - b, c - b
        cos = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        angles = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        hidden = (vis[self.triples] < config.MIN_VISIBILITY).any(1)
        angles[hidden] = np.nan
        return angles


def _frames(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 20, n)[:, None, None]
    xyz = (
        0.5
        + 0.1 * np.sin(t + np.arange(33)[None, :, None])
        + rng.normal(0, 0.003, (n, 33, 3))
    ).astype(np.float32)
    vis = rng.uniform(0.6, 1.0, (n, 33)).astype(np.float32)
    return xyz, vis


def _per_frame_us(fn, n: int, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    n = args.frames
    xyz, vis = _frames(n)
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, ANGLES)
    geometry.warm_up()
    dt = 0.033  # frames below are stamped 33 ms apart

    def run_kernel() -> None:
        state = np.zeros((2, 33, 3), np.float32)
        state[0] = np.nan
        angles = np.empty((1, len(ANGLES)), np.float32)
        params = np.array(
            [
                dt,
                config.ONE_EURO_MIN_CUTOFF_HZ,
                config.ONE_EURO_BETA,
                config.ONE_EURO_D_CUTOFF_HZ,
                config.MIN_VISIBILITY,
                0.0,
            ]
        )
        for i in range(n):
            k._smooth_and_angles(xyz[i], vis[i], params, state, triples, angles)

    frames = [PoseFrame(xyz[i], vis[i], i * 33) for i in range(n)]

    def run_wrapper() -> None:
        kin = geometry.Kinematics(Skeleton.BLAZEPOSE_33, triples)
        for f in frames:
            kin.update_with_angles(f)

    def run_numpy() -> None:
        peer = NumpyKinematics(triples)
        for i in range(n):
            peer.step(xyz[i], vis[i], dt)

    # Same numbers from both before timing anything.
    kin = geometry.Kinematics(Skeleton.BLAZEPOSE_33, triples)
    peer = NumpyKinematics(triples)
    for i in range(50):
        _, got = kin.update_with_angles(frames[i])
        expected = peer.step(xyz[i], vis[i], 0.0 if i == 0 else dt)
        np.testing.assert_allclose(got, expected, atol=0.05, equal_nan=True)

    kernel_us = _per_frame_us(run_kernel, n, args.repeats)
    wrapper_us = _per_frame_us(run_wrapper, n, args.repeats)
    numpy_us = _per_frame_us(run_numpy, n, args.repeats)

    window_t = 1000
    win_xyz, win_vis = (
        np.ascontiguousarray(xyz[:window_t]),
        np.ascontiguousarray(vis[:window_t]),
    )

    def batch_kernel() -> None:
        geometry.joint_angles_array(win_xyz, win_vis, triples)

    def batch_numpy() -> None:
        a, b, c = (win_xyz[:, triples[:, i], :2] for i in range(3))
        u, v = a - b, c - b
        cos = (u * v).sum(-1) / (
            np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1)
        )
        out = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        out[(win_vis[:, triples] < config.MIN_VISIBILITY).any(-1)] = np.nan

    batch_kernel_us = _per_frame_us(batch_kernel, window_t, args.repeats * 3)
    batch_numpy_us = _per_frame_us(batch_numpy, window_t, args.repeats * 3)

    emit(
        "kernels",
        {
            "frames": n,
            "angles": len(ANGLES),
            "per_frame_us": {
                "kernel_one_euro_plus_angles": round(kernel_us, 3),
                "wrapper_kinematics": round(wrapper_us, 3),
                "numpy_one_euro_plus_angles": round(numpy_us, 3),
                "window_angles_kernel": round(batch_kernel_us, 4),
                "window_angles_numpy": round(batch_numpy_us, 4),
            },
            "speedup_vs_numpy": {
                "kernel": round(numpy_us / kernel_us, 2),
                "wrapper": round(numpy_us / wrapper_us, 2),
                "window_angles": round(batch_numpy_us / batch_kernel_us, 2),
            },
            "target": {"kernel_us_max": 1.2, "met": kernel_us <= 1.2},
        },
    )


if __name__ == "__main__":
    main()
