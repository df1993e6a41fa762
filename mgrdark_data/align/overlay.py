"""Pictures for a person to check an alignment: IR edges drawn over the RGB frame."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .geometry import as_gray, warp_ir_to_rgb

EDGE_COLOUR = (255, 0, 255)
"""Magenta (RGB): rare in indoor scenes, visible over both dark and bright frames."""


def brighten(rgb: np.ndarray) -> np.ndarray:
    """Equalise the luminance of a dim frame so that its edges can be compared by eye."""
    if float(rgb.mean()) > 60:
        return rgb
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)
    # A median blur first: equalising raw sensor noise would make it the brightest content.
    ycc[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(
        cv2.medianBlur(ycc[..., 0], 3)
    )
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def overlay_image(rgb: np.ndarray, ir: np.ndarray, alignment) -> np.ndarray:
    """RGB frame (brightened when dark) with the aligned IR frame's edges in EDGE_COLOUR.

    Args:
        rgb: H x W x 3 uint8 RGB frame.
        ir: IR frame at its own size (HxW or HxWx3) shown at the same instant.
        alignment: Transform in the pixels of these two frames.
    """
    h, w = rgb.shape[:2]
    g = as_gray(ir)
    if np.asarray(ir).dtype != np.uint8:
        # 16-bit or float IR: stretch its own range, there is no fixed white level.
        lo_v, hi_v = float(g.min()), float(g.max())
        g = (g - lo_v) / max(hi_v - lo_v, 1e-6)
    gray = (g * 255).clip(0, 255).astype(np.uint8)
    warped = warp_ir_to_rgb(gray, alignment, (w, h))
    inside = warp_ir_to_rgb(np.full_like(gray, 255), alignment, (w, h)) > 0
    lo, hi = np.percentile(warped[inside], (5, 95)) if inside.any() else (0, 255)
    edges = cv2.Canny(
        cv2.GaussianBlur(warped, (0, 0), 1.5), 0.2 * (hi - lo) + 5, 0.5 * (hi - lo) + 10
    )
    edges[~cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)] = 0
    out = brighten(rgb).copy()
    out[edges > 0] = EDGE_COLOUR
    return out


def write_overlay(path: str | os.PathLike, rgb: np.ndarray, ir: np.ndarray, alignment) -> Path:
    """Write `overlay_image` as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = overlay_image(rgb, ir, alignment)
    if not cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")
    return path
