"""`estimate_alignment`: the IR->RGB similarity transform of one recording.

Coarse to fine: an exhaustive search over log-spaced scales x every integer translation on
small feature maps (FFT normalised cross-correlation, `search.ncc_map`), then a local
refinement of (log scale, position of the IR centre) on larger maps by repeated quadratic fits
of the pooled NCC of warped feature maps. The score combines how far the best coarse
correlation stands out of the distribution of all the others (a peak-to-sidelobe ratio: a true
pair stands far out of the crowd, a mismatched pair's best placement is just the luckiest of
many) with how well the refined features correlate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..errors import AlignmentError
from .features import MIN_FRAMES_FOR_MOTION, background, feature_stack, noise_level
from .geometry import as_gray, from_level, log_spaced, resize_exact, sizes, to_level
from .search import FixedSpectrum, ncc_map, parabolic_peak, pooled_ncc

log = logging.getLogger(__name__)

COARSE_WIDTH = 128
MID_WIDTH = 320
FINE_WIDTH = 640
"""RGB widths of the three levels; shifts are reported in the input's pixels all the same."""
SCALE_RANGE = (0.3, 3.0)
"""Searched RGB pixels per IR pixel: from an IR view 3x wider than RGB to one 3x narrower."""
SCALE_STEP = 0.04
"""Log-scale step of the coarse search (about 2 coarse pixels at the IR border at most)."""
PSR_LOW, PSR_HIGH = 9.0, 13.0
"""Peak-to-sidelobe ratios mapped to confidence 0 and 1 (mismatched pairs measured 6.4-10,
true ones 11-21, on photographs and synthetic dark scenes)."""
NCC_LOW, NCC_HIGH = 0.15, 0.45
"""Refined pooled NCC mapped to confidence 0 and 1 (mismatched 0.04-0.33, true 0.49-0.94)."""
CANDIDATES = 3
"""Distinct coarse peaks refined at the middle level; the best refined one wins."""
COARSE_MOTION_GROUPS = 6
"""Motion channels of the exhaustive search (frames are summed into this many groups)."""


@dataclass
class Alignment:
    """IR pixel (u, v) shows the scene point seen at RGB pixel (scale*u + shift_x,
    scale*v + shift_y), in the pixels of the frames given to `estimate_alignment`."""

    scale: float
    shift_x: float
    shift_y: float
    score: float
    """Confidence in [0, 1]; below about 0.5 the estimate should not be trusted."""
    method: str = "ncc"
    """How it was found: 'ncc-edges' (stills) or 'ncc-edges+motion' (enough frames)."""
    frames_used: int = 0
    """Number of frame pairs the estimate is based on."""
    ncc: float | None = None
    """Pooled normalised cross-correlation of the features at the optimum (fine level)."""
    psr: float | None = None
    """Peak-to-sidelobe ratio of the coarse search (with `ncc`, what `score` is made of)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Level:
    """Features of both modalities at one resolution."""

    rgb_factor: float
    rgb_maps: np.ndarray
    ir_factor: float
    ir_maps: np.ndarray


def _score(psr: float, ncc: float) -> float:
    """Geometric mean of two confidences mapped to [0, 1]: how far the coarse peak stands out
    of the whole search (PSR) and how well the refined features correlate (NCC). Either alone
    lets some mismatched pairs through: a lucky coarse peak, or a smooth scene that
    correlates everywhere."""
    a = np.clip((psr - PSR_LOW) / (PSR_HIGH - PSR_LOW), 0.0, 1.0)
    b = np.clip((ncc - NCC_LOW) / (NCC_HIGH - NCC_LOW), 0.0, 1.0)
    return float(np.sqrt(a * b))


def estimate_alignment(
    rgb_frames: Sequence[np.ndarray],
    ir_frames: Sequence[np.ndarray],
    *,
    scale_range: tuple[float, float] = SCALE_RANGE,
) -> Alignment:
    """Estimate where the IR view lies in the RGB view from frame-synchronous pairs.

    Args:
        rgb_frames: HxWx3 uint8 RGB frames of one recording.
        ir_frames: The IR frame shown at the same instant as each RGB frame, HxW or HxWx3, at
            the IR camera's size. With 3 or more pairs the moving person is used too.
        scale_range: Smallest and largest RGB pixels per IR pixel to consider.

    Returns:
        The transform in the pixels of the given frames, with its score.
    """
    if len(rgb_frames) == 0 or len(rgb_frames) != len(ir_frames):
        raise AlignmentError(
            f"need the same, non-zero number of RGB and IR frames "
            f"(got {len(rgb_frames)} and {len(ir_frames)})"
        )
    rgb_w, _ = sizes(rgb_frames)
    sizes(ir_frames)  # raises when the IR frames differ in size
    rgb = [as_gray(f) for f in rgb_frames]
    ir = [as_gray(f) for f in ir_frames]
    lo, hi = scale_range

    a0 = min(1.0, COARSE_WIDTH / rgb_w)
    candidates, psr = _coarse_search(rgb, ir, a0, lo, hi)
    best = None
    for s, tx, ty in candidates:
        p, value = _refine(
            rgb, ir, (s, tx, ty), min(1.0, MID_WIDTH / rgb_w), start_px=2.0, iterations=5
        )
        log.debug("candidate scale %.4f -> %.4f (mid ncc %.3f)", s, p[0], value)
        if best is None or value > best[1]:
            best = (p, value)
    assert best is not None
    p, value = best
    a_fine = min(1.0, FINE_WIDTH / rgb_w)
    # Small inputs: the middle level already ran at full resolution, with steps down to 1/8 px.
    if a_fine > min(1.0, MID_WIDTH / rgb_w):
        p, value = _refine(rgb, ir, p, a_fine, start_px=1.0, iterations=4)

    motion = len(rgb) >= MIN_FRAMES_FOR_MOTION
    result = Alignment(
        scale=float(p[0]),
        shift_x=float(p[1]),
        shift_y=float(p[2]),
        score=_score(psr, value),
        method="ncc-edges+motion" if motion else "ncc-edges",
        frames_used=len(rgb),
        ncc=float(value),
        psr=float(psr),
    )
    log.debug("alignment %s", result)
    return result


def _coarse_search(
    rgb: list[np.ndarray], ir: list[np.ndarray], a0: float, lo: float, hi: float
) -> tuple[list[tuple[float, float, float]], float]:
    """Best few (scale, shift_x, shift_y) in full-resolution pixels, and the peak's PSR."""
    fixed_maps = feature_stack(
        [resize_exact(f, a0) for f in rgb], sigma=1.0, motion_groups=COARSE_MOTION_GROUPS
    ).maps
    ir_h, ir_w = ir[0].shape
    b_base = min(1.0, a0 * hi)
    ir_base = [resize_exact(f, b_base) for f in ir]
    bg_base = background(ir_base)
    noise_base = noise_level(ir_base, bg_base)
    max_moving = (int(math.ceil(ir_h * a0 * hi)) + 2, int(math.ceil(ir_w * a0 * hi)) + 2)
    fixed = FixedSpectrum.build(fixed_maps, max_moving)

    peaks = []  # (ncc, scale index, dy, dx, sub-pixel dy, dx, IR factor)
    samples: dict[int, np.ndarray] = {}
    scales = log_spaced(lo, hi, SCALE_STEP)
    for k, s in enumerate(scales):
        b = a0 * s
        r = b / b_base
        # Area averaging over 1/r^2 pixels divides the noise by about 1/r.
        moving = feature_stack(
            [resize_exact(f, r) for f in ir_base],
            sigma=1.0,
            bg=resize_exact(bg_base, r),
            noise=noise_base * min(1.0, r),
            motion_groups=COARSE_MOTION_GROUPS,
        ).maps
        if moving.shape[1] < 4 or moving.shape[2] < 4:
            continue
        ncc, dy0, dx0 = ncc_map(fixed, moving)
        i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        sub_y = parabolic_peak(ncc[:, j], i)
        sub_x = parabolic_peak(ncc[i, :], j)
        peaks.append((float(ncc[i, j]), k, dy0 + i, dx0 + j, sub_y, sub_x, b))
        valid = ncc[ncc > -1.0]
        samples[k] = valid[:: max(1, valid.size // 4000)]
    if not peaks:
        raise AlignmentError("IR frames too small for the scale range searched")
    peaks.sort(key=lambda t: -t[0])
    top = peaks[0]
    # Sidelobes: every sampled placement except at the scales next to the peak's, which hold
    # the same match seen slightly out of scale.
    side = [v for k, v in samples.items() if abs(k - top[1]) > 2] or list(samples.values())
    pool = np.concatenate(side)
    psr = (top[0] - float(pool.mean())) / max(float(pool.std()), 1e-6)

    chosen: list[tuple] = []
    for p in peaks:
        if all(abs(p[1] - c[1]) > 3 for c in chosen):
            chosen.append(p)
        if len(chosen) == CANDIDATES:
            break
    # Coarse maps relate by a pure translation: moving pixel (u, v) sits on fixed pixel
    # (u + dx, v + dy); the IR factor b carries the scale.
    return [from_level(1.0, dx + sx, dy + sy, a0, b) for _, _, dy, dx, sy, sx, b in chosen], psr


def _level_features(rgb: list[np.ndarray], ir: list[np.ndarray], a: float, scale: float) -> _Level:
    b = min(1.0, a * scale)
    # H x W x C so that one warpAffine call moves every channel.
    return _Level(
        a,
        np.ascontiguousarray(
            feature_stack([resize_exact(f, a) for f in rgb], sigma=1.0).maps.transpose(1, 2, 0)
        ),
        b,
        np.ascontiguousarray(
            feature_stack([resize_exact(f, b) for f in ir], sigma=1.0).maps.transpose(1, 2, 0)
        ),
    )


def _evaluate(level: _Level, p: np.ndarray, ir_size: tuple[int, int]) -> float:
    """Pooled NCC of the IR features warped into the RGB level grid.

    `p` is (log scale, x, y of the IR frame's centre in RGB pixels), full resolution.
    """
    w_ir, h_ir = ir_size
    scale = math.exp(p[0])
    tx, ty = p[1] - scale * (w_ir - 1) / 2, p[2] - scale * (h_ir - 1) / 2
    s, lx, ly = to_level(scale, tx, ty, level.rgb_factor, level.ir_factor)
    h, w, _ = level.rgb_maps.shape
    hm, wm, _ = level.ir_maps.shape
    # The IR footprint in the RGB grid, shrunk by a pixel so bilinear samples stay inside.
    x0, x1 = max(0, math.ceil(lx + s)), min(w, math.floor(lx + s * (wm - 2)) + 1)
    y0, y1 = max(0, math.ceil(ly + s)), min(h, math.floor(ly + s * (hm - 2)) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return -1.0
    m = np.array([[s, 0, lx - x0], [0, s, ly - y0]], np.float64)
    warped = cv2.warpAffine(
        level.ir_maps,
        cv2.invertAffineTransform(m),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
    )
    if warped.ndim == 2:
        warped = warped[..., None]
    return pooled_ncc(np.ascontiguousarray(level.rgb_maps[y0:y1, x0:x1]), warped)


def _refine(
    rgb: list[np.ndarray],
    ir: list[np.ndarray],
    start: tuple[float, float, float],
    a: float,
    *,
    start_px: float,
    iterations: int,
) -> tuple[tuple[float, float, float], float]:
    """Maximise the pooled NCC around `start` by parabolic steps along each parameter.

    Parameters are (log scale, IR centre in RGB pixels), which are nearly independent, so one
    axis at a time converges; a step starts at `start_px` pixels of this level (for the scale:
    the move of the IR border) and halves once the optimum is bracketed.
    """
    scale, tx, ty = start
    h_ir, w_ir = ir[0].shape
    size = (w_ir, h_ir)
    level = _level_features(rgb, ir, a, scale)
    p = np.array([math.log(scale), tx + scale * (w_ir - 1) / 2, ty + scale * (h_ir - 1) / 2])
    step = np.array([start_px / (0.5 * w_ir * scale * a), start_px / a, start_px / a])
    value = _evaluate(level, p, size)
    for _ in range(iterations):
        for axis in range(3):
            e = np.zeros(3)
            e[axis] = step[axis]
            lo, hi = _evaluate(level, p - e, size), _evaluate(level, p + e, size)
            if value >= lo and value >= hi:
                den = lo - 2 * value + hi
                x = 0.5 * (lo - hi) / den if den < 0 else 0.0
                p = p + x * e
                value = value - 0.25 * (lo - hi) * x if den < 0 else value
                step[axis] *= 0.5
            elif hi > lo:
                p, value = p + e, hi
            else:
                p, value = p - e, lo
        value = _evaluate(level, p, size)
    scale = math.exp(p[0])
    return (scale, p[1] - scale * (w_ir - 1) / 2, p[2] - scale * (h_ir - 1) / 2), value
