"""IR time offset from motion: both cameras see the same person move at the same instants.

Per-frame motion energy (mean absolute difference of consecutive frames) is modality-free: a
wave of the arm shows as a burst in both streams whatever the pixels mean. The offset is the
time shift that best correlates the two energy curves (by the time mapping of
`mgrdark_data.timemap`, the IR frame for RGB time t is the one at t + ir_offset_s). Each curve
is placed at its frames' own times (their timelines), so a variable-rate stream or one that
drops frames is compared at the right instants.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

log = logging.getLogger(__name__)

SMOOTH_S = 1.0
"""Slow trends (lighting drift, auto gain) longer than this are removed before correlating."""


def motion_energy(frames: Iterable[np.ndarray]) -> np.ndarray:
    """How much each frame changed since the previous one (the first copies the second).

    The mean absolute difference above a noise floor: in a dark take the plain mean would be
    mostly sensor noise, constant over time, drowning the motion. The floor is a few times the
    median absolute difference, which is noise because most of a frame does not move, and at
    least one 8-bit grey level (a one-level flicker is quantisation, never motion).
    """
    out: list[float] = []
    prev = None
    for f in frames:
        cur = np.asarray(f, np.float32)
        if prev is None:
            out.append(0.0)
        else:
            d = np.abs(cur - prev)
            floor = max(3.0 * float(np.median(d)), 1.0)
            out.append(float(np.maximum(d - floor, 0.0).mean()))
        prev = cur
    if len(out) > 1:
        out[0] = out[1]
    return np.asarray(out, np.float64)


def _rate(times: np.ndarray) -> float:
    """Typical frames per second of a timeline (1 / median frame interval)."""
    dt = np.diff(times)
    return 1.0 / float(np.median(dt)) if len(dt) and np.median(dt) > 0 else 1.0


def _change_times(times: np.ndarray) -> np.ndarray:
    """When each frame's motion energy happened: frame i measures the change since frame
    i - 1, half-way between their times (frame 0 half a typical interval before itself)."""
    t = np.asarray(times, np.float64)
    first = t[:1] - 0.5 / _rate(t)
    return np.concatenate([first, (t[1:] + t[:-1]) / 2])


def _prepare(energy: np.ndarray, fps: float) -> np.ndarray:
    """Log-compress (an arm and a whole body differ by orders of magnitude), remove slow
    trends, and standardise."""
    x = np.log(np.asarray(energy, np.float64) + 1e-3 * (float(np.median(energy)) + 1e-6))
    k = max(3, int(round(SMOOTH_S * fps)) | 1)
    if len(x) > k:
        pad = np.pad(x, k // 2, mode="edge")
        x = x - np.convolve(pad, np.ones(k) / k, mode="valid")
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def estimate_ir_offset(
    rgb_motion: np.ndarray,
    ir_motion: np.ndarray,
    rgb_times: np.ndarray,
    ir_times: np.ndarray,
    max_offset_s: float = 1.0,
) -> tuple[float, float]:
    """Estimate `ir_offset_s` by correlating per-frame motion energy over time.

    Args:
        rgb_motion: Motion energy of each RGB frame (`motion_energy`).
        ir_motion: The same for the IR stream.
        rgb_times: Time of each RGB frame, seconds (`Timeline.seconds`).
        ir_times: Time of each IR frame on the IR stream's clock.
        max_offset_s: Offsets searched lie in [-max_offset_s, max_offset_s].

    Returns:
        (offset_s, score): the offset, and a confidence in [0, 1]: how far the correlation
        peak stands above the best rival offset at least 0.2 s away, relative to the peak (a
        dark take's motion correlates weakly but still distinctly), zero for a peak that
        chance alone would reach.
    """
    if len(rgb_motion) < 8 or len(ir_motion) < 8:
        return 0.0, 0.0
    t_rgb, t_ir = _change_times(rgb_times), _change_times(ir_times)
    fps_rgb, fps_ir = _rate(t_rgb), _rate(t_ir)
    x_rgb = _prepare(rgb_motion, fps_rgb)
    x_ir = _prepare(ir_motion, fps_ir)
    step = 1.0 / (4.0 * max(fps_rgb, fps_ir))
    offsets = np.arange(-max_offset_s, max_offset_s + step / 2, step)
    corr = np.full(len(offsets), -1.0)
    for k, off in enumerate(offsets):
        t = t_rgb + off
        inside = (t >= t_ir[0]) & (t <= t_ir[-1])
        if inside.sum() < max(8, 0.5 * len(t)):
            continue
        a = x_rgb[inside]
        b = np.interp(t[inside], t_ir, x_ir)
        a, b = a - a.mean(), b - b.mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        corr[k] = (a * b).sum() / den if den > 0 else 0.0
    k = int(np.argmax(corr))
    peak = float(corr[k])
    offset = float(offsets[k])
    if 0 < k < len(corr) - 1:
        lo, hi = corr[k - 1], corr[k + 1]
        den = lo - 2 * peak + hi
        if den < 0:
            offset += step * float(np.clip(0.5 * (lo - hi) / den, -0.5, 0.5))
    # A rival peak at least 0.2 s away that nearly matches makes the choice arbitrary.
    far = np.abs(offsets - offsets[k]) > 0.2
    rival = float(corr[far].max()) if far.any() else -1.0
    # Unrelated curves reach about 3/sqrt(n) at their best offset by chance.
    n = min(len(x_rgb), len(x_ir))  # independent samples: those of the slower stream
    significance = np.clip((peak * np.sqrt(n) - 3.0) / 2.0, 0.0, 1.0)
    distinct = np.clip((peak - rival) / peak, 0.0, 1.0) if peak > 0 else 0.0
    score = float(significance * distinct)
    log.debug("ir offset %.4f s (peak %.3f, rival %.3f)", offset, peak, rival)
    return offset, score
