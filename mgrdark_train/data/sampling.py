"""Which frames and which crop a sample uses: pure functions of sizes and a random generator.

Time convention: clip frame `k` covers the interval [k, k+1) of a clip that lasts `n` frame
periods. The clip is cut into `T` equal segments [i*n/T, (i+1)*n/T); each segment contributes
the frame that covers one instant inside it: a uniformly random instant when training, the
segment centre when testing. This works unchanged when `T > n` (frames then repeat).
"""

from __future__ import annotations

import numpy as np


def eval_indices(num_frames: int, t: int) -> np.ndarray:
    """Frame covering the centre of each of `t` equal segments (exact integer arithmetic).

    Args:
        num_frames: Frames in the clip (n >= 1).
        t: Number of frames to sample (T >= 1).

    Returns:
        int64 array of length `t`, non-decreasing, in [0, n-1].
    """
    _check(num_frames, t)
    i = np.arange(t, dtype=np.int64)
    # floor((i + 0.5) * n / T) written without floats so that no rounding can move a centre.
    return ((2 * i + 1) * num_frames) // (2 * t)


def train_indices(num_frames: int, t: int, rng: np.random.Generator) -> np.ndarray:
    """Frame covering a uniformly random instant inside each of `t` equal segments.

    Offsets are drawn independently per segment, so index `i` always lies among the frames that
    overlap segment `i`: in [floor(i*n/T), ceil((i+1)*n/T) - 1].

    Args:
        num_frames: Frames in the clip (n >= 1).
        t: Number of frames to sample (T >= 1).
        rng: Source of the offsets.

    Returns:
        int64 array of length `t`, non-decreasing, in [0, n-1].
    """
    _check(num_frames, t)
    u = rng.random(t)
    idx = np.floor((np.arange(t) + u) * (num_frames / t)).astype(np.int64)
    # u < 1 keeps idx < n mathematically; the clip guards against float rounding at the top.
    return np.clip(idx, 0, num_frames - 1)


def segment_bounds(num_frames: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive range of frames overlapping each segment, `(lo, hi)` (for checks and tests)."""
    _check(num_frames, t)
    i = np.arange(t, dtype=np.int64)
    lo = (i * num_frames) // t
    hi = -((-(i + 1) * num_frames) // t) - 1  # ceil((i+1)*n/T) - 1
    return lo, np.maximum(hi, lo)


def crop_origin(
    size: int, crop: int, *, train: bool, rng: np.random.Generator | None = None
) -> tuple[int, int]:
    """Top-left corner `(y, x)` of a `crop` x `crop` window in a `size` x `size` image.

    Training draws the corner uniformly (both ends included); testing takes the centre.
    """
    if crop > size:
        raise ValueError(f"crop {crop} is larger than the resized frame {size}")
    if not train:
        c = (size - crop) // 2
        return c, c
    if rng is None:
        raise ValueError("a random generator is needed for a training crop")
    y, x = rng.integers(0, size - crop + 1, size=2)
    return int(y), int(x)


def _check(num_frames: int, t: int) -> None:
    if num_frames < 1:
        raise ValueError(f"a clip needs at least one frame, got {num_frames}")
    if t < 1:
        raise ValueError(f"need at least one sampled frame, got T={t}")
