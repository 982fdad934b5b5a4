"""Slow, obviously correct twins of the numba kernels, for comparison in the tests.

Each twin is written for clarity with plain Python loops and numpy, never for speed.
"""

from __future__ import annotations

import math

import numpy as np


def joint_angles(xyz, visibility, triples, min_visibility, use_z):
    """Twin of vision.kernels._joint_angles: degrees at the middle joint, NaN if missing."""
    t_count, k_count = xyz.shape[0], len(triples)
    out = np.full((t_count, k_count), np.nan, np.float64)
    dims = 3 if use_z else 2
    for t in range(t_count):
        for k, (a, b, c) in enumerate(triples):
            if min(visibility[t, a], visibility[t, b], visibility[t, c]) < min_visibility:
                continue
            u = np.asarray(xyz[t, a, :dims], np.float64) - xyz[t, b, :dims]
            v = np.asarray(xyz[t, c, :dims], np.float64) - xyz[t, b, :dims]
            nu, nv = np.linalg.norm(u), np.linalg.norm(v)
            if not (nu > 0 and nv > 0):
                continue
            cos = float(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))
            out[t, k] = math.degrees(math.acos(cos))
    return out


def one_euro(samples, timestamps_ms, min_cutoff_hz, beta, d_cutoff_hz):
    """Twin of the One-Euro kernel over a (T, J, 3) sequence, straight from Casiez et al.

    Per coordinate: a NaN sample outputs NaN and forgets the past; the first sample
    after that passes through.
    """

    def alpha(cutoff, dt):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    samples = np.asarray(samples, np.float64)
    out = np.full_like(samples, np.nan)
    for idx in np.ndindex(samples.shape[1:]):
        x_prev, dx_prev, t_prev = None, 0.0, None
        for t in range(samples.shape[0]):
            x = samples[(t, *idx)]
            dt = None if t_prev is None else (timestamps_ms[t] - t_prev) / 1000.0
            t_prev = timestamps_ms[t]
            if math.isnan(x):
                x_prev, dx_prev = None, 0.0
                continue
            if x_prev is None or dt is None or dt <= 0:
                out[(t, *idx)] = x
                x_prev, dx_prev = x, 0.0
                continue
            dx = (x - x_prev) / dt
            dx_hat = alpha(d_cutoff_hz, dt) * dx + (1 - alpha(d_cutoff_hz, dt)) * dx_prev
            cutoff = min_cutoff_hz + beta * abs(dx_hat)
            x_hat = alpha(cutoff, dt) * x + (1 - alpha(cutoff, dt)) * x_prev
            out[(t, *idx)] = x_hat
            x_prev, dx_prev = x_hat, dx_hat
    return out
