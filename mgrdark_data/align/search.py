"""Exhaustive translation search by FFT: multi-channel normalised cross-correlation.

For a fixed image F (RGB features, H x W) and a moving image M (IR features already resampled
to the RGB pixel size, h x w), `ncc_map` gives, for every integer placement of M's origin at
F pixel (dx, dy), the normalised cross-correlation over the *overlap only* (both maps are
re-centred on the overlapping rectangle), pooled over channels: sum of covariances over the
square root of the product of summed variances. The cross term comes from one FFT per channel;
the rectangle sums come from integral images, which is exact because both masks are rectangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_OVERLAP = 0.3
"""Placements whose overlap is below this share of the smaller image are not scored: a small
overlap correlates well by chance."""


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (sizes numpy's FFT handles quickly)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _integral(maps: np.ndarray) -> np.ndarray:
    """C x (H+1) x (W+1) integral images (float64, so differences of large sums stay exact)."""
    c, h, w = maps.shape
    out = np.zeros((c, h + 1, w + 1), np.float64)
    np.cumsum(maps, axis=1, dtype=np.float64, out=out[:, 1:, 1:])
    np.cumsum(out[:, 1:, 1:], axis=2, out=out[:, 1:, 1:])
    return out


def _box_sums(integ: np.ndarray, r0, r1, c0, c1) -> np.ndarray:
    """Sums over rows [r0[i], r1[i]) x columns [c0[j], c1[j]) for every i, j.

    Separable: one gather along rows, then one along columns, which touches far fewer values
    than a 2-D fancy index.
    """
    rows = np.take(integ, r1, axis=1) - np.take(integ, r0, axis=1)
    return np.take(rows, c1, axis=2) - np.take(rows, c0, axis=2)


@dataclass
class FixedSpectrum:
    """The fixed image's FFT and integral images, reused for every moving image."""

    maps: np.ndarray
    shape: tuple[int, int]
    """FFT size (rows, cols); moving images up to shape - (H, W) fit without wrap-around."""
    max_moving: tuple[int, int]
    spectrum: np.ndarray
    integ: np.ndarray
    integ_sq: np.ndarray

    @classmethod
    def build(cls, maps: np.ndarray, max_moving: tuple[int, int]) -> FixedSpectrum:
        """Prepare `maps` (C x H x W) for moving images of at most `max_moving` (h, w)."""
        _, h, w = maps.shape
        shape = (_fast_len(h + max_moving[0]), _fast_len(w + max_moving[1]))
        spec = np.fft.rfft2(maps, s=shape)
        return cls(maps, shape, max_moving, spec, _integral(maps), _integral(maps * maps))


def ncc_map(fixed: FixedSpectrum, moving: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Pooled NCC for every placement of `moving` (C x h x w) over the fixed maps.

    Returns:
        (ncc, dy0, dx0): ncc[i, j] is the score of placing moving's pixel (0, 0) at fixed pixel
        (dy0 + i, dx0 + j); placements with too little overlap hold -1.
    """
    _, h_f, w_f = fixed.maps.shape
    _, h, w = moving.shape
    if h > fixed.max_moving[0] or w > fixed.max_moving[1]:
        raise ValueError("moving image larger than the FixedSpectrum was built for")
    cross = np.fft.irfft2(
        (fixed.spectrum * np.conj(np.fft.rfft2(moving, s=fixed.shape))).sum(0), s=fixed.shape
    )
    dys = np.arange(-(h - 1), h_f)
    dxs = np.arange(-(w - 1), w_f)
    ny, nx = len(dys), len(dxs)
    # Circular correlation: a negative shift d sits at index d mod size.
    cross = np.roll(cross, (h - 1, w - 1), axis=(0, 1))[:ny, :nx]

    # The overlap in fixed coordinates, and the same rectangle in moving coordinates.
    y0, y1 = np.clip(dys, 0, h_f), np.clip(dys + h, 0, h_f)
    x0, x1 = np.clip(dxs, 0, w_f), np.clip(dxs + w, 0, w_f)
    sf = _box_sums(fixed.integ, y0, y1, x0, x1)
    sf2 = _box_sums(fixed.integ_sq, y0, y1, x0, x1)
    im, im2 = _integral(moving), _integral(moving * moving)
    sm = _box_sums(im, y0 - dys, y1 - dys, x0 - dxs, x1 - dxs)
    sm2 = _box_sums(im2, y0 - dys, y1 - dys, x0 - dxs, x1 - dxs)

    n = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    n_safe = np.maximum(n, 1).astype(np.float64)
    num = cross - (sf * sm).sum(0) / n_safe
    var_f = (sf2 - sf * sf / n_safe).sum(0)
    var_m = (sm2 - sm * sm / n_safe).sum(0)
    den = np.sqrt(np.maximum(var_f, 0) * np.maximum(var_m, 0))
    ncc = np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)
    ncc[n < MIN_OVERLAP * min(h * w, h_f * w_f)] = -1.0
    return ncc.astype(np.float32), int(dys[0]), int(dxs[0])


def parabolic_peak(values: np.ndarray, i: int) -> float:
    """Sub-sample offset in [-0.5, 0.5] of a peak at index i from its two neighbours."""
    if i <= 0 or i >= len(values) - 1:
        return 0.0
    a, b, c = float(values[i - 1]), float(values[i]), float(values[i + 1])
    den = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0


def pooled_ncc(fixed: np.ndarray, moving: np.ndarray) -> float:
    """Pooled NCC of two H x W x C stacks over all their pixels."""
    c = fixed.shape[-1]
    f = fixed.reshape(-1, c)
    m = moving.reshape(-1, c)
    n = f.shape[0]
    if n < 16:
        return -1.0
    sf = f.sum(0, dtype=np.float64)
    sm = m.sum(0, dtype=np.float64)
    sff = np.einsum("ij,ij->j", f, f, dtype=np.float64)
    smm = np.einsum("ij,ij->j", m, m, dtype=np.float64)
    sfm = np.einsum("ij,ij->j", f, m, dtype=np.float64)
    num = float((sfm - sf * sm / n).sum())
    den = float(np.sqrt(max((sff - sf * sf / n).sum(), 0) * max((smm - sm * sm / n).sum(), 0)))
    return num / den if den > 0 else 0.0
