"""Dynamic time warping of joint-angle trajectories against a reference: offline banded
alignment, a batch of candidates against one template, and live (streaming) alignment.

Core module: stdlib and numpy; the numba kernels live in `exercises.kernels`,
`exercises.pair.kernels` (one query's whole grid) and `exercises.lanes.kernels` (a
batch of queries in SIMD lanes).

Cost model, shared by every function here:

- Per step, query row t is compared with reference row j angle by angle as
  |q[t, k] - r[j, k]| / scale[j, k]: the difference in units of that angle's tolerance
  (`scale=None` means a tolerance of 1 degree, i.e. plain degrees).
- An angle that is NaN in either row is ignored in that step; the step's cost is the
  mean over the remaining angles. A step where *no* angle is valid (typically a query
  row with nobody in view) is skipped: it costs 0 and is not counted as a step, so the
  reported means are over observed steps only.
- Reported costs are means per (non-empty) step along the optimal path, so a cost of 1.0
  means "on average one tolerance away". Without NaN, `cost == per_angle_cost.mean()`.
- The Sakoe-Chiba band follows the diagonal from (0, 0) to (T-1, R-1) of the two
  lengths: cell (t, j) is allowed iff
  |t / (T-1) - j / (R-1)| <= band_frac + 1 / min(T-1, R-1)
  (the second term keeps a connected path for any lengths; computed in integers as
  |t (R-1) - j (T-1)| <= band_frac (T-1)(R-1) + max(T-1, R-1)). `band_frac >= 1` is the
  full grid. The band is symmetric under swapping query and reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises import kernels as _k
from exercises.lanes import kernels as _lanes
from exercises.pair import kernels as _pair

__all__ = [
    "Alignment",
    "StreamPosition",
    "StreamingAligner",
    "dtw_align",
    "dtw_costs_batch",
    "resample",
    "warm_up",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Alignment:
    """Result of `dtw_align`.

    Attributes:
        cost: Mean normalised cost per step along the optimal path (NaN if every step
            was empty).
        per_angle_cost: (K,) float32, the same mean per angle over the steps where that
            angle was observed (NaN for an angle never observed on the path).
        path: (P, 2) int64 pairs (query row, reference row), from (0, 0) to
            (T-1, R-1), each step advancing one or both by one.
    """

    cost: float
    per_angle_cost: F32
    path: I64


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where the live stream currently is in the reference.

    Attributes:
        cost: Mean normalised cost per step of the best match ending now (NaN before the
            first observed sample).
        reference_index: Reference row where that match ends.
        progress: reference_index / (R - 1), in [0, 1] (1.0 for a one-row reference).
    """

    cost: float
    reference_index: int
    progress: float


# Checked with `is` first: `dtype != np.float32` builds a dtype from the type on every
# call (about 0.2 us each; a short pair's whole DTW is about 10 us, issue 21).
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)


def _is(dtype: np.dtype, want: np.dtype) -> bool:
    return dtype is want or dtype == want


def _check_2d(name: str, array: object, k: int | None = None) -> F32:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    shape = array.shape
    if (
        len(shape) != 2
        or not _is(array.dtype, _F32)
        or (k is not None and shape[1] != k)
    ):
        expected = (
            f"({'T' if name == 'query' else 'R'}, {'K' if k is None else k}) float32"
        )
        raise ValueError(f"{name} must be {expected}, got {shape} {array.dtype.name}")
    if shape[0] < 1 or shape[1] < 1:
        raise ValueError(
            f"{name} must have at least one row and one angle, got {array.shape}"
        )
    if not array.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous, got strides {array.strides}; "
            "pass np.ascontiguousarray(...)"
        )
    return array


def _check_band_frac(band_frac: float) -> float:
    if type(band_frac) is float and band_frac >= 0.0:
        return min(band_frac, 1.0)
    if isinstance(band_frac, bool) or not isinstance(
        band_frac, int | float | np.floating
    ):
        raise TypeError(f"band_frac must be a float, got {type(band_frac).__name__}")
    if not band_frac >= 0.0:
        raise ValueError(f"band_frac must be >= 0 (1.0 = no band), got {band_frac}")
    return min(float(band_frac), 1.0)


def _band_width(t_len: int, r_len: int, band_frac: float) -> float:
    """Right-hand side of the integer band test (see the module docstring)."""
    return band_frac * (t_len - 1) * (r_len - 1) + max(t_len - 1, r_len - 1)


def _scale_rows(scale: object, r_len: int, k: int) -> npt.NDArray[np.float64]:
    """Tolerances as (R, K) float64, C-contiguous; validates values and layout."""
    rows = np.empty((r_len, k), np.float64)
    rows[...] = _scale_arg(scale, r_len, k)
    if not _k._scale_ok(rows):
        raise ValueError(_SCALE_VALUES)
    return rows


_SCALE_VALUES = "scale must be finite and > 0 degrees everywhere"
_ONES: dict[int, F32] = {}


def _scale_arg(scale: object, r_len: int, k: int) -> F32:
    """Tolerances as the kernels take them: (1, K) or (R, K) float32, C-contiguous;
    checks type and shape (the kernels check the values)."""
    if scale is None:
        ones = _ONES.get(k)
        if ones is None:
            ones = _ONES[k] = np.ones((1, k), np.float32)
        return ones
    if not isinstance(scale, np.ndarray):
        raise TypeError(
            f"scale must be a numpy array or None, got {type(scale).__name__}"
        )
    if not _is(scale.dtype, _F32) or scale.shape not in ((k,), (r_len, k)):
        raise ValueError(
            f"scale must be ({k},) or ({r_len}, {k}) float32 degrees, "
            f"got {scale.shape} {scale.dtype.name}"
        )
    if not scale.flags.c_contiguous:
        return np.ascontiguousarray(scale).reshape(-1, k)
    # A (1, K) view by indexing: ascontiguousarray + reshape took ~0.3 us per call
    # (a short pair's whole DTW is ~8 us, issue 21); this takes ~0.07 us.
    return scale[None] if scale.ndim == 1 else scale


_new_alignment = object.__new__
_set_cost = Alignment.__dict__["cost"].__set__
_set_per_angle_cost = Alignment.__dict__["per_angle_cost"].__set__
_set_path = Alignment.__dict__["path"].__set__


def dtw_align(
    query: F32,
    reference: F32,
    *,
    band_frac: float = 0.25,
    scale: F32 | None = None,
) -> Alignment:
    """Align a query angle trajectory with a reference by banded DTW.

    Args:
        query: (T, K) float32, degrees; NaN = angle not observed (NaN row = nobody).
        reference: (R, K) float32, degrees, same angles in the same order.
        band_frac: Sakoe-Chiba band half-width as a fraction of the normalised time
            axis around the diagonal of the two lengths (module docstring); >= 1 = none.
        scale: Tolerance in degrees, (K,) per angle or (R, K) per reference row and
            angle; None = 1 degree.

    Returns:
        `Alignment` with the mean per-step cost, per-angle costs and the path.

    Raises:
        TypeError: an argument is not an array (or band_frac not a number).
        ValueError: a shape, dtype, layout or value differs from the above.
    """
    ok = False
    if type(band_frac) is float:
        # The common case: numba's dispatch matches float32 C-contiguous arrays and
        # the kernel checks the values, no Python checks (issue 21).
        try:
            ok, cost, per_angle, path = _pair._dtw_align_plain(
                query, reference, scale, band_frac
            )
        except TypeError:
            pass
    if not ok:
        total, steps, per_angle, path = _dtw_align_checked(
            query, reference, band_frac, scale
        )
        cost = total / steps if steps > 0 else math.nan
    # Past the frozen dataclass's __setattr__ guard: about 0.3 us of a 4 us call.
    result = _new_alignment(Alignment)
    _set_cost(result, cost)
    _set_per_angle_cost(result, per_angle)
    _set_path(result, path)
    return result


def _dtw_align_checked(
    query: object, reference: object, band_frac: object, scale: object
) -> tuple[float, int, F32, I64]:
    """`dtw_align`'s full checks, which raise what is wrong, then the kernel."""
    query = _check_2d("query", query)
    reference = _check_2d("reference", reference, query.shape[1])
    frac = _check_band_frac(band_frac)  # type: ignore[arg-type]
    scale_k = _scale_arg(scale, reference.shape[0], query.shape[1])
    ok, total, steps, per_angle, path = _pair._dtw_align(
        query, reference, scale_k, frac
    )
    if not ok:
        raise ValueError(_SCALE_VALUES)
    return total, steps, per_angle, path


def _check_batch(
    queries: object, lengths: object, reference: object, band_frac: float
) -> tuple[int, int, F32, float]:
    """`dtw_costs_batch`'s full argument checks: (T, K, reference, band_frac)."""
    if not isinstance(queries, np.ndarray):
        raise TypeError(f"queries must be a numpy array, got {type(queries).__name__}")
    if queries.ndim != 3 or not _is(queries.dtype, _F32) or 0 in queries.shape:
        raise ValueError(
            f"queries must be (B, T, K) float32 with T, K >= 1, "
            f"got {queries.shape} {queries.dtype.name}"
        )
    if not queries.flags.c_contiguous:
        raise ValueError(
            f"queries must be C-contiguous, got strides {queries.strides}; "
            "pass np.ascontiguousarray(...)"
        )
    b, t_max, k = queries.shape
    if not isinstance(lengths, np.ndarray):
        raise TypeError(f"lengths must be a numpy array, got {type(lengths).__name__}")
    if lengths.shape != (b,) or not _is(lengths.dtype, _I64):
        raise ValueError(
            f"lengths must be ({b},) int64, got {lengths.shape} {lengths.dtype.name}"
        )
    reference = _check_2d("reference", reference, k)
    return t_max, k, reference, _check_band_frac(band_frac)


def dtw_costs_batch(
    queries: F32,
    lengths: I64,
    reference: F32,
    *,
    band_frac: float = 0.25,
    scale: F32 | None = None,
) -> F32:
    """DTW cost of many candidate queries against one reference (e.g. every segmented
    rep against a template, or many subjects against the instructor).

    Args:
        queries: (B, T, K) float32, degrees; query b is queries[b, :lengths[b]], the
            rest is padding (NaN by convention; it is never read).
        lengths: (B,) int64, each in [1, T].
        reference: (R, K) float32, degrees.
        band_frac: As in `dtw_align`, applied to each query's own length.
        scale: As in `dtw_align`.

    Returns:
        (B,) float32: `dtw_align(queries[b, :lengths[b]], reference, ...).cost`.

    Raises:
        TypeError, ValueError: as in `dtw_align`; also for lengths out of range.
    """
    if type(band_frac) is float:
        # The common case: numba's dispatch matches the types and the kernel checks
        # the values, no Python checks (issue 21); an empty result means a value is
        # off, which the full checks below name.
        try:
            costs = _lanes._dtw_costs_plain(
                queries, lengths, reference, scale, band_frac
            )
        except TypeError:
            pass
        else:
            if len(costs):
                return costs  # type: ignore[no-any-return]
    t_max, k, reference, frac = _check_batch(queries, lengths, reference, band_frac)
    scale_k = _scale_arg(scale, reference.shape[0], k)
    status, costs = _lanes._dtw_costs(queries, lengths, reference, scale_k, frac)
    if status == -1:
        raise ValueError(
            f"lengths must be in [1, {t_max}], got {lengths.min()}..{lengths.max()}"
        )
    if status == -2:
        raise ValueError(_SCALE_VALUES)
    return costs  # type: ignore[no-any-return]


class StreamingAligner:
    """Live subsequence DTW (SPRING, Sakurai et al. 2007) of a stream of angle samples
    against a reference: each `push` costs O(R K), and the best match may start at any
    past sample (open begin: a new repetition, or a late start behind an instructor) and
    end at any reference row (open end: where in the movement the subject is now).

    Costs follow the module's model; a sample with every angle NaN is skipped (the state
    does not change and the previous position is returned).
    """

    def __init__(self, reference: F32, *, scale: F32 | None = None) -> None:
        """
        Args:
            reference: (R, K) float32, degrees.
            scale: (K,) or (R, K) float32 tolerance in degrees; None = 1 degree.
        """
        self._reference = _check_2d("reference", reference).copy()
        r_len, k = self._reference.shape
        self._scale = _scale_rows(scale, r_len, k)
        self._acc = np.empty(r_len, np.float64)
        self._steps = np.empty(r_len, np.int64)
        self.reset()

    @property
    def num_angles(self) -> int:
        return int(self._reference.shape[1])

    def reset(self) -> None:
        """Forget the stream (e.g. a new subject or a new set)."""
        self._acc[:] = np.inf
        self._steps[:] = 0
        self._last = StreamPosition(math.nan, 0, 0.0)

    def push(self, sample: F32) -> StreamPosition:
        """Add one sample and return the current best position.

        Args:
            sample: (K,) float32, degrees; NaN = angle not observed.

        Raises:
            TypeError, ValueError: not a (K,) float32 array.
        """
        k = self.num_angles
        if not isinstance(sample, np.ndarray):
            raise TypeError(
                f"sample must be a numpy array, got {type(sample).__name__}"
            )
        if sample.shape != (k,) or sample.dtype != np.float32:
            raise ValueError(
                f"sample must be ({k},) float32, got {sample.shape} {sample.dtype.name}"
            )
        if np.isnan(sample).all():
            return self._last
        j, cost = _k._subsequence_step(
            np.ascontiguousarray(sample).reshape(1, k),
            self._reference,
            self._scale,
            self._acc,
            self._steps,
        )
        if j < 0:  # every reference row is NaN where the sample is observed
            return self._last
        r_len = self._reference.shape[0]
        self._last = StreamPosition(
            float(cost), int(j), float(j) / (r_len - 1) if r_len > 1 else 1.0
        )
        return self._last


def resample(trajectory: F32, n: int) -> F32:
    """Resample a trajectory to n evenly spaced samples over its duration (normalised
    rep time), by linear interpolation per angle that skips NaN samples.

    Args:
        trajectory: (T, K) float32, NaN = not observed.
        n: Number of output samples, >= 1 (n = 1 takes the first sample's time).

    Returns:
        (n, K) float32. Within an angle's observed span, gaps are bridged linearly;
        before its first and after its last observation it is NaN.

    Raises:
        TypeError, ValueError: not a (T, K) float32 array, or n < 1.
    """
    if not isinstance(trajectory, np.ndarray):
        raise TypeError(
            f"trajectory must be a numpy array, got {type(trajectory).__name__}"
        )
    if (
        trajectory.ndim != 2
        or trajectory.dtype != np.float32
        or trajectory.shape[0] < 1
    ):
        raise ValueError(
            f"trajectory must be (T, K) float32 with T >= 1, "
            f"got {trajectory.shape} {trajectory.dtype.name}"
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    t_len, k = trajectory.shape
    times = np.arange(t_len, dtype=np.float64)
    targets = np.linspace(0.0, t_len - 1, int(n)) if t_len > 1 else np.zeros(int(n))
    out = np.full((int(n), k), np.nan, np.float32)
    for col in range(k):
        values = trajectory[:, col].astype(np.float64)
        ok = ~np.isnan(values)
        if not ok.any():
            continue
        inside = (targets >= times[ok][0]) & (targets <= times[ok][-1])
        out[inside, col] = np.interp(targets[inside], times[ok], values[ok])
    return out


def warm_up() -> None:
    """Compile (or load from cache) every DTW kernel, for the server lifespan."""
    ref = np.zeros((3, 2), np.float32)
    query = np.full((4, 2), np.nan, np.float32)
    query[1:] = 1.0
    dtw_align(query, ref)
    dtw_costs_batch(query[None], np.array([4], np.int64), ref)
    aligner = StreamingAligner(ref)
    aligner.push(query[0])
    aligner.push(query[1])
