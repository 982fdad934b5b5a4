"""Slow, obviously correct twins of the numba kernels, for comparison in the tests.

Each twin is written for clarity with plain Python loops and numpy, never for speed.
"""

from __future__ import annotations

import math

import numpy as np


def joint_angles(xyz, visibility, triples, min_visibility, use_z):
    """Twin of vision.kernels._joint_angles: degrees at the middle joint, NaN if
    missing."""
    t_count, k_count = xyz.shape[0], len(triples)
    out = np.full((t_count, k_count), np.nan, np.float64)
    dims = 3 if use_z else 2
    for t in range(t_count):
        for k, (a, b, c) in enumerate(triples):
            if (
                min(visibility[t, a], visibility[t, b], visibility[t, c])
                < min_visibility
            ):
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
    """Twin of the One-Euro kernel over a (T, J, 3) sequence, straight from Casiez et
    al.

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
            dx_hat = (
                alpha(d_cutoff_hz, dt) * dx + (1 - alpha(d_cutoff_hz, dt)) * dx_prev
            )
            cutoff = min_cutoff_hz + beta * abs(dx_hat)
            x_hat = alpha(cutoff, dt) * x + (1 - alpha(cutoff, dt)) * x_prev
            out[(t, *idx)] = x_hat
            x_prev, dx_prev = x_hat, dx_hat
    return out


# --- DTW (twins of exercises/kernels.py) -----------------------------------------


def dtw_local_cost(q_row, r_row, s_row):
    """Mean of |q - r| / s over the angles observed in both rows, and whether any was.

    Returns (cost, 1) or, when no angle is observed in both, (0.0, 0): an empty step.
    """
    terms = []
    for q, r, s in zip(q_row, r_row, s_row, strict=True):
        if math.isnan(q) or math.isnan(r):
            continue
        terms.append(abs(float(q) - float(r)) / float(s))
    if not terms:
        return 0.0, 0
    return sum(terms) / len(terms), 1


def dtw_banded(query, reference, scale, band_frac):
    """Twin of exercises.pair.kernels._dtw_banded, from the textbook recurrence.

    Args: query (T, K), reference (R, K), scale (R, K), band_frac >= 0 (clipped to 1).
    Returns (total, steps, path as a list of (t, j), per_angle_sum (K,),
    per_angle_steps (K,), acc (T, R) with inf outside the band).
    """
    t_len, r_len = len(query), len(reference)
    frac = min(float(band_frac), 1.0)
    width = frac * (t_len - 1) * (r_len - 1) + max(t_len - 1, r_len - 1)

    def inside(i, j):
        return abs(i * (r_len - 1) - j * (t_len - 1)) <= width

    def cost(i, j):
        return dtw_local_cost(query[i], reference[j], scale[j])[0]

    inf = math.inf
    acc = np.full((t_len, r_len), inf)
    for i in range(t_len):
        for j in range(r_len):
            if not inside(i, j):
                continue
            if i == 0 and j == 0:
                acc[i, j] = cost(i, j)
                continue
            diag = acc[i - 1, j - 1] if i > 0 and j > 0 else inf
            up = acc[i - 1, j] if i > 0 else inf
            left = acc[i, j - 1] if j > 0 else inf
            # Ties go to the first of diagonal, vertical, horizontal.
            best = min([diag, up, left])
            acc[i, j] = best + cost(i, j)
    path = [(t_len - 1, r_len - 1)]
    i, j = t_len - 1, r_len - 1
    while (i, j) != (0, 0):
        options = []
        if i > 0 and j > 0:
            options.append((acc[i - 1, j - 1], (i - 1, j - 1)))
        if i > 0:
            options.append((acc[i - 1, j], (i - 1, j)))
        if j > 0:
            options.append((acc[i, j - 1], (i, j - 1)))
        best = min(value for value, _ in options)
        i, j = next(cell for value, cell in options if value == best)
        path.append((i, j))
    path.reverse()
    k_count = query.shape[1]
    per_sum = np.zeros(k_count)
    per_steps = np.zeros(k_count, np.int64)
    steps = 0
    for i, j in path:
        steps += dtw_local_cost(query[i], reference[j], scale[j])[1]
        for k in range(k_count):
            if not (math.isnan(query[i, k]) or math.isnan(reference[j, k])):
                diff = abs(float(query[i, k]) - float(reference[j, k]))
                per_sum[k] += diff / scale[j, k]
                per_steps[k] += 1
    return acc[-1, -1], steps, path, per_sum, per_steps, acc


def dtw_costs_batch(queries, lengths, reference, scale, band_frac):
    """Twin of exercises.lanes.kernels._dtw_costs_batch (one query at a time over its
    whole grid, `exercises.pair.kernels`, or a chunk of them in lanes:
    `_dtw_cost_chunk`): one `dtw_banded` per query."""
    out = []
    for query, n in zip(queries, lengths, strict=True):
        total, steps, *_ = dtw_banded(query[:n], reference, scale, band_frac)
        out.append(total / steps if steps else math.nan)
    return np.array(out)


def subsequence_dtw(query, reference, scale):
    """Twin of the streaming kernel, brute force from the definition of subsequence DTW:
    acc[t, j] = min over starts s <= t of the full-grid DTW cost of query[s..t] against
    reference[0..j]; steps[t, j] = non-empty steps on that best path. (T, R) each."""
    t_len, r_len = len(query), len(reference)
    acc = np.full((t_len, r_len), math.inf)
    steps = np.zeros((t_len, r_len), np.int64)
    for t in range(t_len):
        for j in range(r_len):
            for s in range(t + 1):
                total, n, *_ = dtw_banded(
                    query[s : t + 1], reference[: j + 1], scale[: j + 1], 1.0
                )
                if total < acc[t, j]:
                    acc[t, j], steps[t, j] = total, n
    return acc, steps


def symmetric_eigen(matrix):
    """Eigenvalues and column eigenvectors of a symmetric matrix (LAPACK's answer)."""
    return np.linalg.eigh(np.asarray(matrix, np.float64))


def acf_periods(acf, min_lag, max_lag, first_fraction):
    """Twin of vision.kernels._acf_periods: exercises.signal.acf_period (the definition
    the kernel must match bit for bit), row by row; [(lag, strength), ...]."""
    from exercises.signal import acf_period

    return [acf_period(row, min_lag, max_lag, first_fraction) for row in acf]


def body_features(xyz, visibility, joints, triples, min_visibility, min_present):
    """Twin of vision.kernels._body_features, in whole-array numpy: -> coords (T, 2M),
    angles (T, A), valid (T,)."""
    xy = np.asarray(xyz, np.float32)[:, joints, :2].astype(np.float64)
    vis = np.asarray(visibility, np.float32)[:, joints]
    present = np.isfinite(xy).all(axis=2) & (vis >= min_visibility)
    n_present = present.sum(axis=1)
    ok = n_present >= min_present
    xy0 = np.where(present[..., None], xy, 0.0)
    denom = np.maximum(n_present, 1)[:, None]
    centre = xy0.sum(axis=1) / denom
    dev = np.where(present[..., None], xy0 - centre[:, None, :], 0.0)
    radius = np.sqrt((dev**2).sum(axis=(1, 2)) / np.maximum(n_present, 1))
    ok &= radius > 0
    coords = dev / np.where(radius > 0, radius, 1.0)[:, None, None]
    coords = np.where(present[..., None] & ok[:, None, None], coords, np.nan)
    coords = coords.reshape(xy.shape[0], -1)
    lr = joint_angles(xyz, visibility, triples, min_visibility, False)
    pairs = np.asarray(lr, np.float64).reshape(lr.shape[0], -1, 2)
    finite = np.isfinite(pairs)
    total = np.where(finite, pairs, 0.0).sum(axis=2)
    count = finite.sum(axis=2)
    angles = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    angles[~ok] = np.nan
    return coords, angles, ok


def refine_from_heatmap(xy, heatmap_logits, kernel_size=7, min_confidence=0.5):
    """MediaPipe's RefineLandmarksFromHeatmap, one landmark and one cell at a time:
    (N, J, 2) crop-normalized xy, (N, J, Hh, Wh) logits -> refined (N, J, 2)."""
    xy = np.asarray(xy, np.float64)
    hm = np.asarray(heatmap_logits, np.float64)
    out = xy.copy()
    n_poses, joints, hh, wh = hm.shape
    off = (kernel_size - 1) // 2
    for n in range(n_poses):
        for j in range(joints):
            x, y = xy[n, j]
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            col, row = math.trunc(x * wh), math.trunc(y * hh)
            if not (0 <= col < wh and 0 <= row < hh + off):  # MediaPipe's bounds
                continue
            total = best = sum_c = sum_r = 0.0
            for r in range(row - off, row + off + 1):
                for c in range(col - off, col + off + 1):
                    if 0 <= r < hh and 0 <= c < wh:
                        conf = 1.0 / (1.0 + math.exp(-hm[n, j, r, c]))
                        total += conf
                        best = max(best, conf)
                        sum_c += conf * c
                        sum_r += conf * r
            if best >= min_confidence and total > 0:
                out[n, j] = (sum_c / wh / total, sum_r / hh / total)
    return out


def decode_landmarks(raw, heatmap, transforms, image_wh, size=256, refine=True):
    """Landmark-model outputs to normalized image xyz and visibility, one landmark at
    a time: raw (N, J, 5) crop px, heatmap (N, J, Hh, Wh) logits, transforms
    (N, 2, 3) crop px -> image px."""
    raw = np.asarray(raw, np.float64)
    xy = raw[..., :2] / size
    if refine:
        xy = refine_from_heatmap(xy, heatmap)
    w, h = image_wh
    n_poses, joints = raw.shape[:2]
    xyz = np.empty((n_poses, joints, 3))
    visibility = np.empty((n_poses, joints))
    for n in range(n_poses):
        t = np.asarray(transforms[n], np.float64)
        side_px = math.hypot(t[0, 0], t[1, 0]) * size
        for j in range(joints):
            px, py = xy[n, j] * size
            xyz[n, j, 0] = (t[0, 0] * px + t[0, 1] * py + t[0, 2]) / w
            xyz[n, j, 1] = (t[1, 0] * px + t[1, 1] * py + t[1, 2]) / h
            xyz[n, j, 2] = raw[n, j, 2] / size * side_px / w
            visibility[n, j] = 1.0 / (1.0 + math.exp(-raw[n, j, 3]))
    return xyz, visibility


def warp_replicate(image_bgr, tensor_to_image, size, scale):
    """OpenCV's float bilinear warp (>= 4.11) with replicated edges, one pixel at a
    time: (H, W, 3) uint8 BGR, (2, 3) tensor px -> image px -> (3, size, size)
    float32 RGB planes, round(value) * scale.

    OpenCV casts the map to float32, takes each row's term y * M1 + M2 in float32,
    then x's source coordinate fma(M0, x, row term); each of the four neighbours is
    clamped to the image on its own; three fmas (float32, rounded once), round half
    to even."""
    f32 = np.float32

    def fma(a, b, c):  # float32 a * b + c rounded once (exact through float64)
        return f32(float(a) * float(b) + float(c))

    rows, cols = image_bgr.shape[:2]
    m = np.asarray(tensor_to_image, np.float64).astype(f32)
    out = np.empty((3, size, size), f32)
    for y in range(size):
        row_x = f32(f32(y) * m[0, 1]) + m[0, 2]
        row_y = f32(f32(y) * m[1, 1]) + m[1, 2]
        for x in range(size):
            sx, sy = fma(m[0, 0], x, row_x), fma(m[1, 0], x, row_y)
            ix, iy = math.floor(sx), math.floor(sy)
            a, b = sx - f32(ix), sy - f32(iy)
            xs = [min(max(ix + d, 0), cols - 1) for d in (0, 1)]
            ys = [min(max(iy + d, 0), rows - 1) for d in (0, 1)]
            for c in range(3):
                p = [[f32(image_bgr[yy, xx, c]) for xx in xs] for yy in ys]
                v0 = fma(a, p[0][1] - p[0][0], p[0][0])
                v1 = fma(a, p[1][1] - p[1][0], p[1][0])
                v = fma(b, v1 - v0, v0)
                out[2 - c, y, x] = f32(min(max(np.rint(v), 0), 255)) * f32(scale)
    return out
