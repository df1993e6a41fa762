"""Modality-independent feature maps for matching RGB against thermal IR.

IR shows heat and RGB reflectance, and a dark take's RGB is mostly sensor noise, so intensities
cannot be compared. What both cameras share is *where things change*: the outlines of objects
(edges, compared by orientation modulo 180 degrees because the contrast sign differs between
modalities) and where the moving person is (the difference of each frame from the temporal
median, which holds the static scene). Every map is normalised so that only its shape matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

EDGE_WEIGHT = 1.0
"""Share of the static-edge channels in the matching score (motion channels share the rest)."""
MOTION_WEIGHT = 1.0
MIN_FRAMES_FOR_MOTION = 3
"""With fewer frames the median is not a background estimate, so motion maps are skipped."""


@dataclass
class FeatureStack:
    """Feature channels of one modality at one resolution, stacked along axis 0."""

    maps: np.ndarray
    """C x H x W float32; channel c is comparable to channel c of the other modality."""
    noise: float
    """Robust per-pixel noise estimate of the input (same units as the gray frames)."""


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return img
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def background(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Temporal median: the static scene, and a denoised one for a dark take."""
    if len(frames) == 1:
        return frames[0]
    return np.median(np.stack(frames), axis=0).astype(np.float32)


def noise_level(frames: Sequence[np.ndarray], bg: np.ndarray) -> float:
    """Robust standard deviation of pixel noise, from frame-minus-background residuals."""
    if len(frames) < MIN_FRAMES_FOR_MOTION:
        # One frame: the difference of neighbouring pixels, whose median mostly sees noise.
        d = np.diff(frames[0], axis=1)
        return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))
    # Every other pixel is plenty for a median and halves the cost.
    r = np.abs(np.stack([f[::2, ::2] for f in frames]) - bg[None, ::2, ::2])
    return float(1.4826 * np.median(r))


def edge_channels(img: np.ndarray, sigma: float, noise: float) -> np.ndarray:
    """Gradient magnitude and its doubled-angle orientation (polarity-free), 3 x H x W.

    The magnitude is divided by its local mean plus a noise floor: a faint edge in a dim part of
    the frame counts as much as a strong one, while flat noisy regions stay near zero.
    """
    smooth = _blur(img, sigma)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    mag2 = gx * gx + gy * gy
    mag = np.sqrt(mag2)
    # Sobel of white noise blurred by sigma has about this standard deviation.
    floor = 3.0 * noise / max(sigma, 0.5) + 1e-6
    local = _blur(mag, 4.0 * max(sigma, 1.0))
    norm = mag / (local + floor + float(mag.mean()))
    inv = 1.0 / np.maximum(mag2, 1e-12)
    cos2 = (gx * gx - gy * gy) * inv
    sin2 = 2.0 * gx * gy * inv
    return np.stack([norm, norm * cos2, norm * sin2]).astype(np.float32)


def motion_channels(
    frames: Sequence[np.ndarray], bg: np.ndarray, sigma: float, noise: float
) -> np.ndarray:
    """|frame - background| per frame, blurred and soft-thresholded at the noise level."""
    out = []
    for f in frames:
        d = _blur(np.abs(f - bg), sigma)
        # Blurring |noise| leaves a positive bias of ~0.8*noise; remove it so that empty regions
        # do not correlate with each other.
        out.append(np.maximum(d - 0.8 * noise, 0.0))
    return np.stack(out).astype(np.float32)


def feature_stack(
    frames: Sequence[np.ndarray],
    sigma: float,
    bg: np.ndarray | None = None,
    noise: float | None = None,
    motion_groups: int | None = None,
) -> FeatureStack:
    """All channels for gray frames of one modality (same size), smoothed by `sigma` pixels.

    `bg` and `noise` may be given (e.g. resized from a larger copy) to skip their estimation.
    `motion_groups` sums the motion maps of frames k, k + G, k + 2G, ... into G channels: the
    exhaustive search costs one FFT per channel, and a sum of a person's positions over the
    take still differs between placements.

    Channels are edges of the temporal median (3) then one motion map per frame (when there
    are at least MIN_FRAMES_FOR_MOTION frames). Each channel is scaled to unit RMS and then by
    its group's weight, so neither group dominates by sheer pixel values.
    """
    bg = background(frames) if bg is None else bg
    noise = noise_level(frames, bg) if noise is None else noise
    bg_noise = noise / np.sqrt(max(1, len(frames) // 2))
    groups = [(edge_channels(bg, sigma, bg_noise), EDGE_WEIGHT)]
    if len(frames) >= MIN_FRAMES_FOR_MOTION:
        motion = motion_channels(frames, bg, sigma, noise)
        if motion_groups and motion_groups < len(motion):
            motion = np.stack([motion[g::motion_groups].sum(0) for g in range(motion_groups)])
        groups.append((motion, MOTION_WEIGHT))
    chans = []
    for maps, weight in groups:
        w = weight / np.sqrt(len(maps))
        for m in maps:
            rms = float(np.sqrt(np.mean(m * m)))
            chans.append(m * (w / rms) if rms > 0 else m)
    return FeatureStack(np.stack(chans).astype(np.float32), noise)
