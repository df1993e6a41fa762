"""The IR->RGB similarity transform as plain array maths (docs/architecture.md, "IR alignment").

Pixel coordinates refer to pixel centres at integer positions, the convention of
`cv2.warpAffine`: IR pixel (u, v) shows the scene point seen at RGB pixel
(scale*u + shift_x, scale*v + shift_y).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from ..errors import AlignmentError


def affine_matrix(scale: float, shift_x: float, shift_y: float) -> np.ndarray:
    """The 2x3 matrix taking IR pixel coordinates to RGB pixel coordinates."""
    return np.array([[scale, 0.0, shift_x], [0.0, scale, shift_y]], np.float64)


def map_points(alignment, points: np.ndarray) -> np.ndarray:
    """RGB pixel coordinates of IR pixel coordinates `points` (N x 2, columns u, v)."""
    pts = np.asarray(points, np.float64)
    return pts * alignment.scale + np.array([alignment.shift_x, alignment.shift_y])


def warp_ir_to_rgb(ir_frame: np.ndarray, alignment, rgb_size: tuple[int, int]) -> np.ndarray:
    """Resample an IR frame into the RGB view.

    Args:
        ir_frame: IR frame at its native size, HxW or HxWxC, any dtype `cv2.warpAffine` takes.
        alignment: Anything with float attributes scale, shift_x, shift_y (an `Alignment` or an
            `AlignmentDecision` that has a geometry).
        rgb_size: (width, height) of the RGB frames.

    Returns:
        An array of the RGB frame's width and height (channels and dtype of the IR frame);
        RGB pixels the IR camera does not see are black.
    """
    w, h = rgb_size
    m = affine_matrix(alignment.scale, alignment.shift_x, alignment.shift_y)
    # Shrinking by more than ~1.5x with bilinear sampling aliases fine texture; INTER_AREA
    # is only honoured by warpAffine as bilinear, so pre-shrink with resize instead.
    if alignment.scale < 0.67:
        src = cv2.resize(
            ir_frame, None, fx=alignment.scale, fy=alignment.scale, interpolation=cv2.INTER_AREA
        )
        m = to_level_matrix(
            alignment.scale, alignment.shift_x, alignment.shift_y, 1.0, alignment.scale
        )
    else:
        src = ir_frame
    return cv2.warpAffine(
        src,
        m,
        (int(w), int(h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def to_level(
    scale: float, shift_x: float, shift_y: float, rgb_factor: float, ir_factor: float
) -> tuple[float, float, float]:
    """Express a full-resolution transform between images resized by the given factors.

    A resize by factor f (cv2.resize with fx=fy=f) moves pixel x to f*(x + 0.5) - 0.5.
    """
    s = scale * rgb_factor / ir_factor
    off = 0.5 / ir_factor - 0.5
    tx = rgb_factor * (scale * off + shift_x + 0.5) - 0.5
    ty = rgb_factor * (scale * off + shift_y + 0.5) - 0.5
    return s, tx, ty


def from_level(
    scale: float, shift_x: float, shift_y: float, rgb_factor: float, ir_factor: float
) -> tuple[float, float, float]:
    """Inverse of `to_level`: a transform between resized images in full-resolution pixels."""
    s = scale * ir_factor / rgb_factor
    off = 0.5 * scale * ir_factor - 0.5 * scale + 0.5
    return s, (shift_x + off) / rgb_factor - 0.5, (shift_y + off) / rgb_factor - 0.5


def to_level_matrix(
    scale: float, shift_x: float, shift_y: float, rgb_factor: float, ir_factor: float
) -> np.ndarray:
    return affine_matrix(*to_level(scale, shift_x, shift_y, rgb_factor, ir_factor))


def resize_exact(img: np.ndarray, factor: float) -> np.ndarray:
    """Resize by exactly `factor` in both axes (the size is rounded, the mapping is not)."""
    if factor == 1.0:
        return img
    interp = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(img, None, fx=factor, fy=factor, interpolation=interp)


def alignment_error(
    estimate,
    truth,
    ir_size: tuple[int, int],
    grid: int = 9,
    rgb_size: tuple[int, int] | None = None,
) -> float:
    """Mean distance in RGB pixels between where two transforms put a grid of IR points.

    Args:
        estimate: Transform under test (scale, shift_x, shift_y attributes).
        truth: Reference transform.
        ir_size: (width, height) of the IR frames; the grid spans the whole IR frame.
        grid: Points per axis.
        rgb_size: When given, only IR points that land inside the RGB frame count.
    """
    w, h = ir_size
    uu, vv = np.meshgrid(np.linspace(0, w - 1, grid), np.linspace(0, h - 1, grid))
    pts = np.stack([uu.ravel(), vv.ravel()], axis=1)
    ref = map_points(truth, pts)
    if rgb_size is not None:
        inside = (
            (ref[:, 0] >= 0)
            & (ref[:, 0] <= rgb_size[0] - 1)
            & (ref[:, 1] >= 0)
            & (ref[:, 1] <= rgb_size[1] - 1)
        )
        if inside.any():
            pts, ref = pts[inside], ref[inside]
    return float(np.linalg.norm(map_points(estimate, pts) - ref, axis=1).mean())


def log_spaced(lo: float, hi: float, step: float) -> np.ndarray:
    """Scales from lo to hi whose neighbours differ by the factor exp(step) (or a bit less)."""
    n = max(2, int(math.ceil(math.log(hi / lo) / step)) + 1)
    return np.exp(np.linspace(math.log(lo), math.log(hi), n))


def as_gray(frame: np.ndarray) -> np.ndarray:
    """A float32 single-channel image from HxW or HxWx3 (RGB) pixels; uint8 becomes [0, 1]."""
    img = np.asarray(frame)
    unit = np.float32(1 / 255) if img.dtype == np.uint8 else np.float32(1)
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] == 1 else img[..., :3].astype(np.float32) @ _LUMA
    return img.astype(np.float32) * unit


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def sizes(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    """(width, height) of the first frame; every frame must have it."""
    h, w = np.asarray(frames[0]).shape[:2]
    for f in frames:
        if np.asarray(f).shape[:2] != (h, w):
            raise AlignmentError(f"frames differ in size: {np.asarray(f).shape[:2]} vs {(h, w)}")
    return int(w), int(h)
