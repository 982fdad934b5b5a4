"""Numba kernels for per-frame kinematics (private; call them through
`vision.geometry`), and the small symmetric eigen decomposition the rep counter's
principal movements need (`_symmetric_eigen`, Jacobi rotations, called by
`exercises.periodicity`: a 26 x 26 LAPACK call through a multi-threaded BLAS took
40-70 ms on a busy 2-core machine, 0.05 ms single-threaded), and the counter's
scale-free body features (`_body_features`, through `exercises.periodicity.
frame_features`: 0.15 ms per live frame in numpy, a few microseconds here), and the
period each of its candidate signals' autocorrelations shows (`_acf_periods`,
`exercises.signal.acf_period` row by row: a dozen candidates a refit)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vision import config

__all__: list[str] = []


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _angle_deg(ax, ay, az, bx, by, bz, cx, cy, cz):  # type: ignore[no-untyped-def]
    """Angle ABC at B in degrees; NaN if a segment has zero length or a coordinate is
    NaN."""
    ux, uy, uz = ax - bx, ay - by, az - bz
    vx, vy, vz = cx - bx, cy - by, cz - bz
    nu = math.sqrt(ux * ux + uy * uy + uz * uz)
    nv = math.sqrt(vx * vx + vy * vy + vz * vz)
    if not (nu > 0.0 and nv > 0.0):  # also catches NaN
        return np.nan
    cos = (ux * vx + uy * vy + uz * vz) / (nu * nv)
    cos = min(1.0, max(-1.0, cos))
    return math.degrees(math.acos(cos))


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _joint_angles(xyz, visibility, triples, min_visibility, use_z, out):  # type: ignore[no-untyped-def]
    """(T, J, 3), (T, J), (K, 3) int64 -> out (T, K) degrees; NaN where a joint is
    missing."""
    for t in range(xyz.shape[0]):
        for k in range(triples.shape[0]):
            a, b, c = triples[k, 0], triples[k, 1], triples[k, 2]
            if (
                visibility[t, a] < min_visibility
                or visibility[t, b] < min_visibility
                or visibility[t, c] < min_visibility
            ):
                out[t, k] = np.nan
                continue
            za = xyz[t, a, 2] if use_z else 0.0
            zb = xyz[t, b, 2] if use_z else 0.0
            zc = xyz[t, c, 2] if use_z else 0.0
            out[t, k] = _angle_deg(
                xyz[t, a, 0],
                xyz[t, a, 1],
                za,
                xyz[t, b, 0],
                xyz[t, b, 1],
                zb,
                xyz[t, c, 0],
                xyz[t, c, 1],
                zc,
            )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _smoothing_alpha(cutoff_hz, dt_s):  # type: ignore[no-untyped-def]
    """Exponential smoothing factor of a first-order low-pass at `cutoff_hz`."""
    # 1 / (1 + tau / dt) with tau = 1 / (2 pi f), written with a single division.
    r = 2.0 * math.pi * cutoff_hz * dt_s
    return r / (r + 1.0)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _one_euro_step(  # type: ignore[no-untyped-def]
    xyz, dt_s, min_cutoff_hz, beta, d_cutoff_hz, x_prev, dx_prev, out
):
    """One One-Euro step over (J, 3); state (x_prev, dx_prev) updated in place.

    A NaN sample outputs NaN and clears that joint's state, so a joint that comes back
    starts fresh instead of being dragged from where it was lost. dt_s <= 0 (first
    frame) passes the sample through.
    """
    a_d = _smoothing_alpha(d_cutoff_hz, dt_s) if dt_s > 0.0 else 1.0
    inv_dt = 1.0 / dt_s if dt_s > 0.0 else 0.0
    for j in range(xyz.shape[0]):
        for d in range(xyz.shape[1]):
            x = xyz[j, d]
            if math.isnan(x):
                out[j, d] = np.nan
                x_prev[j, d] = np.nan
                dx_prev[j, d] = 0.0
                continue
            xp = x_prev[j, d]
            if math.isnan(xp) or dt_s <= 0.0:
                out[j, d] = x
                x_prev[j, d] = x
                dx_prev[j, d] = 0.0
                continue
            dx = (x - xp) * inv_dt
            dx_hat = a_d * dx + (1.0 - a_d) * dx_prev[j, d]
            cutoff = min_cutoff_hz + beta * abs(dx_hat)
            a = _smoothing_alpha(cutoff, dt_s)
            x_hat = a * x + (1.0 - a) * xp
            out[j, d] = x_hat
            x_prev[j, d] = x_hat
            dx_prev[j, d] = dx_hat


# Rows of the packed `params` vector of `_smooth_and_angles` (fewer arguments = cheaper
# dispatch from Python, which dominates a 33-joint frame).
P_DT_S, P_MIN_CUTOFF_HZ, P_BETA, P_D_CUTOFF_HZ, P_MIN_VISIBILITY, P_USE_Z = range(6)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _smooth_and_angles(xyz, visibility, params, state, triples, angles_out):  # type: ignore[no-untyped-def]
    """The live per-frame path in one call: One-Euro over (J, 3), then angles (1, K).

    params: (6,) float64 laid out as P_*; state: (2, J, 3) float32 = (x_prev, dx_prev).
    After the call state[0] holds the smoothed frame (NaN where a joint is missing).
    """
    x_prev = state[0]
    _one_euro_step(
        xyz,
        params[P_DT_S],
        params[P_MIN_CUTOFF_HZ],
        params[P_BETA],
        params[P_D_CUTOFF_HZ],
        x_prev,
        state[1],
        x_prev,
    )
    _joint_angles(
        x_prev.reshape((1, x_prev.shape[0], 3)),
        visibility.reshape((1, visibility.shape[0])),
        triples,
        np.float32(params[P_MIN_VISIBILITY]),
        params[P_USE_Z] != 0.0,
        angles_out,
    )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _symmetric_eigen(matrix, max_sweeps):  # type: ignore[no-untyped-def]
    """Eigenvalues (N,) and eigenvectors (N, N) as columns of a symmetric float64
    (N, N) matrix by cyclic Jacobi rotations, unsorted; stops once the off-diagonal
    mass is below 1e-22 of the total (or after `max_sweeps` sweeps)."""
    n = matrix.shape[0]
    a = matrix.copy()
    v = np.eye(n)
    total = 0.0
    for p in range(n):
        for q in range(n):
            total += a[p, q] * a[p, q]
    for _ in range(max_sweeps):
        off = 0.0
        for p in range(n):
            for q in range(p + 1, n):
                off += a[p, q] * a[p, q]
        if off <= 1e-22 * total:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):
                    akp, akq = a[k, p], a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p, k], a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(n):
                    vkp, vkq = v[k, p], v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    values = np.empty(n)
    for p in range(n):
        values[p] = a[p, p]
    return values, v


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _acf_periods(  # type: ignore[no-untyped-def]
    acf, min_lag, max_lag, first_fraction, lags_out, strengths_out
):
    """`exercises.signal.acf_period` of each row of acf (C, L) float64, bit for bit:
    lag (-1: no peak) and strength per row. Every step is a comparison, a minimum or
    one rounding (a difference halved), so no fastmath flag changes a result; NaN
    propagates through the running minimum and the best peak as numpy's does."""
    hi = min(max_lag, acf.shape[1] - 2)
    lo = max(min_lag, 1)
    for c in range(acf.shape[0]):
        row = acf[c]
        lags_out[c] = -1
        strengths_out[c] = 0.0
        found = False
        best = -np.inf
        low = row[0]  # the running minimum of row[: lag]
        for lag in range(1, lo):
            v = row[lag]
            if v < low or v != v:
                low = v
        for lag in range(lo, hi + 1):
            v = row[lag]
            if v >= row[lag - 1] and v >= row[lag + 1]:
                strength = (v - low) / 2.0
                if not found:
                    best = strength
                    found = True
                elif strength != strength or (best == best and strength > best):
                    best = strength
            if v < low or v != v:
                low = v
        if not found or not best > 0:
            continue
        low = row[0]
        first = -1
        for lag in range(1, hi + 1):
            v = row[lag]
            if lag >= lo and v >= row[lag - 1] and v >= row[lag + 1]:
                strength = (v - low) / 2.0
                if first < 0:
                    first = lag  # numpy's argmax of no True: the first peak
                    strengths_out[c] = strength
                if strength >= first_fraction * best:
                    lags_out[c] = lag
                    strengths_out[c] = strength
                    break
            if v < low or v != v:
                low = v
        if lags_out[c] < 0:
            lags_out[c] = first


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _body_features(  # type: ignore[no-untyped-def]
    xyz,
    visibility,
    joints,
    triples,
    min_visibility,
    min_present,
    coords_out,
    angles_out,
    valid_out,
):
    """Per frame of (T, J, 3) float32 landmarks and (T, J) visibility: the x, y of the
    `joints` rows (M,) centred on their mean and divided by their RMS radius ->
    coords_out (T, 2M) float64 (NaN where a joint is missing or the frame is not
    valid); the angles of `triples` (2A, 3) by `_joint_angles`, averaged in (left,
    right) pairs over the sides seen -> angles_out (T, A) float64 (NaN where neither
    side is, or the frame is not valid); valid_out (T,): at least `min_present` joints
    seen, radius > 0."""
    m = joints.shape[0]
    n_pairs = triples.shape[0] // 2
    present = np.empty(m, np.bool_)
    pair_angles = np.empty((xyz.shape[0], triples.shape[0]), np.float32)
    _joint_angles(xyz, visibility, triples, min_visibility, False, pair_angles)
    for t in range(xyz.shape[0]):
        n = 0
        sx = 0.0
        sy = 0.0
        for i in range(m):
            r = joints[i]
            x = np.float64(xyz[t, r, 0])
            y = np.float64(xyz[t, r, 1])
            seen = (
                math.isfinite(x)
                and math.isfinite(y)
                and visibility[t, r] >= min_visibility
            )
            present[i] = seen
            if seen:
                n += 1
                sx += x
                sy += y
        denom = max(n, 1)
        cx = sx / denom
        cy = sy / denom
        ss = 0.0
        for i in range(m):
            if present[i]:
                dx = np.float64(xyz[t, joints[i], 0]) - cx
                dy = np.float64(xyz[t, joints[i], 1]) - cy
                ss += dx * dx + dy * dy
        radius = math.sqrt(ss / denom)
        ok = n >= min_present and radius > 0.0
        valid_out[t] = ok
        for i in range(m):
            if ok and present[i]:
                coords_out[t, 2 * i] = (np.float64(xyz[t, joints[i], 0]) - cx) / radius
                coords_out[t, 2 * i + 1] = (
                    np.float64(xyz[t, joints[i], 1]) - cy
                ) / radius
            else:
                coords_out[t, 2 * i] = np.nan
                coords_out[t, 2 * i + 1] = np.nan
        for k in range(n_pairs):
            total = 0.0
            count = 0
            for side in range(2):
                angle = pair_angles[t, 2 * k + side]
                if math.isfinite(angle):
                    total += np.float64(angle)
                    count += 1
            angles_out[t, k] = total / count if ok and count > 0 else np.nan
