"""Telling people apart: keypoint similarity, trunk geometry and the choice of one fit
per person among landmark sets that may lie on the same body
(`select_distinct_poses`). Pure numpy."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import F64
from vision.types import Skeleton

__all__ = [
    "DUPLICATE_SIMILARITY",
    "HEAD_TORSO_LOG_SIGMA",
    "HEAD_TORSO_RATIO",
    "KEYPOINT_SIGMA",
    "PART_INSIDE",
    "PART_PENALTY",
    "SKELETON_OVERLAP",
    "SKELETON_TOLERANCE",
    "TORSO_CONTAINMENT",
    "TORSO_PAD",
    "keypoint_similarity",
    "part_of_another",
    "pose_plausibility",
    "same_person",
    "select_distinct_poses",
    "skeleton_overlap",
    "torso_containment",
    "torso_lengths",
]

KEYPOINT_SIGMA: Final[float] = 0.1  # joint-distance tolerance, in body sizes (OKS)
DUPLICATE_SIMILARITY: Final[float] = 0.5  # two landmark sets this similar: one person
TORSO_CONTAINMENT: Final[float] = 0.5
"""Two poses whose trunks (shoulder-hip boxes, padded by `TORSO_PAD`) overlap by more
than this share of the smaller one are one person: a landmark fit collapsed onto part
of a body (a crop at the wrong scale) has different joints from the true fit but lies
on the same trunk, while people side by side, shoulders touching, overlap ~0.2-0.35."""
TORSO_PAD: Final[float] = 0.15  # of the torso length, around the shoulder-hip box
SKELETON_OVERLAP: Final[float] = 0.6
SKELETON_TOLERANCE: Final[float] = 0.2
"""A pose whose visible joints lie on another pose's bones (within 0.2 of that pose's
torso length, about half a limb's thickness) for 60 % or more of them is a fit on that
person's body (an arm, the hips): seen on pasted scenes and on the real clip."""
PART_INSIDE: Final[float] = 0.8
PART_PENALTY: Final[float] = 0.5
"""A fit lying on another's body (`part_of_another`; trunk at least 0.8 inside the
other's) ranks with half its score: on the pasted scenes an arm fit (presence 0.98)
outscored the waist-up person it lay on (0.66)."""
HEAD_TORSO_RATIO: Final[float] = 0.34
"""Nose to shoulder midpoint over shoulder midpoint to hip midpoint in a sound BlazePose
fit (0.32-0.36 measured on the real two-person clip, front and 3/4 views); collapsed
fits measured 0.15-1.9. `pose_plausibility` scores the deviation."""
HEAD_TORSO_LOG_SIGMA: Final[float] = 0.4


def keypoint_similarity(
    xy_a: npt.ArrayLike,
    visibility_a: npt.ArrayLike,
    xy_b: npt.ArrayLike,
    visibility_b: npt.ArrayLike,
    *,
    sigma: float = KEYPOINT_SIGMA,
    min_visibility: float = 0.5,
) -> F64:
    """Object-keypoint similarity of every pair of poses (COCO's OKS, one sigma).

    Per joint exp(-d^2 / (2 (sigma * size)^2)), with d the distance and size the larger
    bounding-box diagonal of the two poses' visible joints, averaged over the joints
    visible in both (all joints, weighted by visibility, when fewer than 4 are).

    Args:
        xy_a: (N, J, 2) isotropic units (e.g. px). NaN = missing.
        visibility_a: (N, J) in [0, 1].
        xy_b: (M, J, 2), same units.
        visibility_b: (M, J).
        sigma: Joint tolerance in body sizes.
        min_visibility: A joint below this is not visible.

    Returns:
        (N, M) float64 in [0, 1]; 1 = the same landmarks.
    """
    a = np.asarray(xy_a, np.float64)
    b = np.asarray(xy_b, np.float64)
    va = np.nan_to_num(np.asarray(visibility_a, np.float64))
    vb = np.nan_to_num(np.asarray(visibility_b, np.float64))
    va = np.where(np.isnan(a).any(-1), 0.0, va)
    vb = np.where(np.isnan(b).any(-1), 0.0, vb)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), np.float64)

    def size(xy: F64, vis: F64) -> F64:
        seen = vis >= min_visibility
        if not seen.any(axis=1).all():
            seen = np.where(seen.any(axis=1, keepdims=True), seen, vis > 0)
        lo = np.where(seen[..., None], xy, np.inf).min(axis=1)
        hi = np.where(seen[..., None], xy, -np.inf).max(axis=1)
        diag = np.hypot(*(hi - lo).T)
        return np.where(np.isfinite(diag), diag, 0.0)

    scale = np.maximum(size(a, va)[:, None], size(b, vb)[None, :])
    scale = np.maximum(scale, 1e-9) * sigma
    d2 = np.sum((np.nan_to_num(a)[:, None] - np.nan_to_num(b)[None]) ** 2, axis=-1)
    sim = np.exp(-d2 / (2.0 * scale[..., None] ** 2))
    both = (va[:, None] >= min_visibility) & (vb[None] >= min_visibility)
    enough = both.sum(-1) >= 4
    weight = np.where(enough[..., None], both, va[:, None] * vb[None])
    total = weight.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(
            total > 0, (sim * weight).sum(-1) / np.where(total > 0, total, 1), 0.0
        )
    return np.asarray(out, np.float64)


_NOSE, _SHOULDERS, _HIPS = 0, (11, 12), (23, 24)


def _torso_geometry(xy: F64) -> tuple[F64, F64, F64]:
    """Shoulder midpoints (N, 2), hip midpoints (N, 2), torso lengths (N,)."""
    shoulders = xy[:, _SHOULDERS].mean(axis=1)
    hips = xy[:, _HIPS].mean(axis=1)
    return shoulders, hips, np.hypot(*(shoulders - hips).T)


def torso_lengths(xy: npt.ArrayLike) -> F64:
    """Shoulder-midpoint to hip-midpoint distance of N BlazePose-33 poses (N, J, 2)."""
    p = np.asarray(xy, np.float64)
    if p.shape[0] == 0:
        return np.zeros(0, np.float64)
    return np.nan_to_num(_torso_geometry(p)[2])


def pose_plausibility(xy: npt.ArrayLike) -> F64:
    """How much each BlazePose-33 fit looks like a body, in (0, 1] (1 = typical).

    Scores the head-to-trunk proportion (`HEAD_TORSO_RATIO`), which stays near 0.34
    from the front, side and 3/4 while a fit collapsed onto part of a body (a crop at
    the wrong scale; its presence is still ~1) gets it badly wrong. Used to rank
    near-duplicates, never to drop a lone pose.

    Args:
        xy: (N, 33, 2) isotropic units (px).

    Returns:
        (N,) float64; 1.0 where the joints are missing.
    """
    p = np.asarray(xy, np.float64)
    if p.shape[0] == 0:
        return np.zeros(0, np.float64)
    shoulders, _, torso = _torso_geometry(p)
    head = np.hypot(*(p[:, _NOSE] - shoulders).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log(head / torso / HEAD_TORSO_RATIO) / HEAD_TORSO_LOG_SIGMA
    out = np.exp(-(z**2))
    return np.where(np.isfinite(out), out, 1.0)


def torso_containment(
    xy: npt.ArrayLike, *, pad: float = TORSO_PAD, of_first: bool = False
) -> F64:
    """Overlap of every pair of poses' trunks over the smaller trunk, (N, N) in [0, 1]
    (with `of_first`: over trunk i's own area, how much of i lies in j).

    A trunk is the box of the shoulders and hips padded by `pad` torso lengths.

    Args:
        xy: (N, 33, 2) isotropic units.
        pad: Padding in torso lengths.
        of_first: Divide by the row pose's trunk area instead of the smaller one.
    """
    p = np.asarray(xy, np.float64)
    rows = [*_SHOULDERS, *_HIPS]
    corners = p[:, rows]
    _, _, torso = _torso_geometry(p)
    margin = np.nan_to_num(torso) * pad
    lo = corners.min(axis=1) - margin[:, None]
    hi = corners.max(axis=1) + margin[:, None]
    boxes = np.concatenate([lo, hi], axis=1)
    inter_lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    inter_hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(inter_hi - inter_lo, 0.0, None), axis=2)
    area = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    smaller = (
        np.broadcast_to(area[:, None], inter.shape)
        if of_first
        else np.minimum(area[:, None], area[None, :])
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(smaller > 0, inter / np.where(smaller > 0, smaller, 1.0), 0.0)
    return np.nan_to_num(np.asarray(out, np.float64))


def part_of_another(
    xy: npt.ArrayLike, visibility: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """(N,) bool: the pose lies on another pose's body without that one lying on it:
    its joints on the other's bones (`skeleton_overlap`), or its trunk inside the
    other's trunk but not the reverse. Such a fit is a part (an arm, an upper body
    seen at the wrong scale), and the whole person's fit is preferred to it."""
    p = np.asarray(xy, np.float64)
    n = p.shape[0]
    if n < 2:
        return np.zeros(n, np.bool_)
    on = skeleton_overlap(p, visibility)
    inside = torso_containment(p, of_first=True)
    part = ((on >= SKELETON_OVERLAP) & (on.T < SKELETON_OVERLAP)) | (
        (inside >= PART_INSIDE) & (inside.T < TORSO_CONTAINMENT)
    )
    np.fill_diagonal(part, False)
    return np.asarray(part.any(axis=1), np.bool_)


def same_person(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    *,
    similarity_threshold: float = DUPLICATE_SIMILARITY,
    containment_threshold: float = TORSO_CONTAINMENT,
    sigma: float = KEYPOINT_SIGMA,
) -> npt.NDArray[np.bool_]:
    """(N, N) bool: which pairs of N poses are one person (see
    `select_distinct_poses`); the diagonal is True.

    Args:
        xy: (N, 33, 2) isotropic units (px).
        visibility: (N, 33).
        similarity_threshold: OKS above which two poses are one person.
        containment_threshold: Trunk containment above which two poses are one person.
        sigma: Joint tolerance in body sizes.
    """
    p = np.asarray(xy, np.float64)
    sim = keypoint_similarity(p, visibility, p, visibility, sigma=sigma)
    on = skeleton_overlap(p, visibility)
    same = (
        (sim > similarity_threshold)
        | (torso_containment(p) > containment_threshold)
        | (on >= SKELETON_OVERLAP)
        | (on.T >= SKELETON_OVERLAP)
    )
    np.fill_diagonal(same, True)
    return np.asarray(same, np.bool_)


def skeleton_overlap(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    *,
    tolerance: float = SKELETON_TOLERANCE,
    min_visibility: float = 0.5,
) -> F64:
    """(N, N): share of pose i's visible joints lying on pose j's skeleton (within
    `tolerance` torso lengths of j of one of j's bones). A fit on someone's arm or one
    collapsed onto their hips lies entirely on that person; a neighbour, at most the
    hand they touch with.

    Args:
        xy: (N, 33, 2) isotropic units.
        visibility: (N, 33).
        tolerance: Distance, in torso lengths of the other pose, counted as on a bone.
        min_visibility: Joints below it are not used (of either pose).
    """
    p = np.asarray(xy, np.float64)
    v = (np.nan_to_num(np.asarray(visibility, np.float64)) >= min_visibility) & (
        np.isfinite(p).all(-1)
    )
    n = p.shape[0]
    if n == 0:
        return np.zeros((0, 0), np.float64)
    bones = np.asarray(Skeleton.BLAZEPOSE_33.bones, np.int64)
    torso = np.nan_to_num(_torso_geometry(p)[2])
    pz = np.nan_to_num(p)
    # Only pairs whose joint boxes (the bones' side padded by the tolerance) meet can
    # share a joint: in a class most pairs do not, and the point-to-bone distances
    # are the cost (N^2 x 33 x 35).
    lo = np.where(v[..., None], pz, np.inf).min(axis=1)
    hi = np.where(v[..., None], pz, -np.inf).max(axis=1)
    pad = (tolerance * torso)[:, None]
    meet = np.all(
        (lo[:, None] <= hi[None] + pad[None]) & (lo[None] - pad[None] <= hi[:, None]),
        axis=-1,
    )
    np.fill_diagonal(meet, False)
    rows, cols = np.nonzero(meet)
    out = np.zeros((n, n), np.float64)
    if rows.size:
        a, b = pz[cols][:, bones[:, 0]], pz[cols][:, bones[:, 1]]  # (P, B, 2)
        bone_ok = v[cols][:, bones[:, 0]] & v[cols][:, bones[:, 1]]
        seg = b - a
        length2 = np.maximum((seg**2).sum(-1), 1e-12)  # (P, B)
        # Point k of pose i against bone s of pose j, for each pair (i, j).
        rel = pz[rows][:, :, None, :] - a[:, None]  # (P, J, B, 2)
        t = np.clip((rel * seg[:, None]).sum(-1) / length2[:, None], 0, 1)
        d = rel - t[..., None] * seg[:, None]
        dist = np.hypot(d[..., 0], d[..., 1])
        dist = np.where(bone_ok[:, None], dist, np.inf).min(axis=-1)  # (P, J)
        on = (dist <= tolerance * torso[cols][:, None]) & v[rows]
        count = v[rows].sum(-1)
        out[rows, cols] = np.where(count > 0, on.sum(-1) / np.maximum(count, 1), 0.0)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out, np.float64)


def select_distinct_poses(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    similarity_threshold: float = DUPLICATE_SIMILARITY,
    containment_threshold: float = TORSO_CONTAINMENT,
    max_poses: int | None = None,
    sigma: float = KEYPOINT_SIGMA,
) -> npt.NDArray[np.int64]:
    """Indices (best first) of poses that are not near-duplicates of a better one.

    Two landmark sets on one person (two ROIs that converged, a detection next to a
    track, a person found in two tiles, a fit collapsed onto part of the body) are
    either far more alike than two people, even two standing shoulder to shoulder
    (keypoint similarity above `similarity_threshold`), or share the trunk (trunk
    containment above `containment_threshold`). ROI overlap alone would also merge
    neighbours. Of each such group the best score is kept; a fit lying on another's
    body (`part_of_another`) ranks with `PART_PENALTY` of its score.

    Args:
        xy: (N, 33, 2) isotropic units (px).
        visibility: (N, 33).
        scores: (N,) higher is better (e.g. presence x `pose_plausibility`).
        similarity_threshold: OKS above which two poses are one person.
        containment_threshold: Trunk containment above which two poses are one person.
        max_poses: Keep at most this many (None: all distinct ones).
        sigma: Joint tolerance in body sizes.

    Returns:
        (K,) int64 indices into the N poses, by descending score.
    """
    s = np.asarray(scores, np.float64).reshape(-1)
    s = np.where(part_of_another(xy, visibility), s * PART_PENALTY, s)
    same = same_person(
        xy,
        visibility,
        similarity_threshold=similarity_threshold,
        containment_threshold=containment_threshold,
        sigma=sigma,
    )
    keep: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if max_poses is not None and len(keep) >= max_poses:
            break
        if not any(same[i, j] for j in keep):
            keep.append(int(i))
    return np.asarray(keep, np.int64)
