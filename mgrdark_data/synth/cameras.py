"""The synthetic camera rig: the RGB view that defines scene coordinates, and the depth and IR
cameras described by where their pixels land in it.

Scene coordinates are RGB pixel coordinates of the files as written (pixel centres at
integers). Every other camera is an axis-aligned affine view of that plane, with exactly the
meaning of `mgrdark_data.align`: pixel (u, v) of the camera shows the scene point at RGB pixel
(scale*u + shift_x, scale*v + shift_y). Rendering each camera through its map makes that
statement true by construction, which is what `truth.json` records for IR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FULL_RGB = (1920, 1080)
"""Kinect V2 colour resolution (width, height)."""
FULL_DEPTH = (512, 424)
"""Kinect V2 depth resolution."""
FULL_IR = (1408, 1068)
"""XInfrared T3S resolution."""

RGB_HFOV_DEG = 84.1
"""Kinect V2 colour horizontal field of view."""
DEPTH_COVERAGE = 0.785
"""Fraction of the RGB width the depth camera sees (its 70.6 degree field vs 84.1)."""
CAMERA_HEIGHT_MM = 1000.0
"""Height of the optical centre above the floor."""


def even_size(x: float) -> int:
    """Round to the nearest even integer >= 2 (H.264 yuv420p needs even sizes)."""
    return max(2, 2 * int(round(x / 2)))


def scaled_size(full: tuple[int, int], scale: float) -> tuple[int, int]:
    return even_size(full[0] * scale), even_size(full[1] * scale)


@dataclass(frozen=True)
class Camera:
    """One camera as an affine view of the scene (RGB pixel) plane."""

    width: int
    height: int
    scale: float = 1.0
    """Scene pixels per camera pixel."""
    shift_x: float = 0.0
    shift_y: float = 0.0

    def to_camera(self, xy: np.ndarray) -> np.ndarray:
        """Scene points (..., 2) -> camera pixel coordinates."""
        return (xy - (self.shift_x, self.shift_y)) / self.scale

    def to_scene(self, uv: np.ndarray) -> np.ndarray:
        """Camera pixel coordinates (..., 2) -> scene points."""
        return np.asarray(uv) * self.scale + (self.shift_x, self.shift_y)

    def scene_rows(self) -> np.ndarray:
        """Scene y of the centre of every camera row."""
        return np.arange(self.height) * self.scale + self.shift_y

    def scene_columns(self) -> np.ndarray:
        return np.arange(self.width) * self.scale + self.shift_x

    def scene_extent(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): the part of the scene plane this camera sees."""
        return (
            self.shift_x,
            self.shift_x + self.scale * (self.width - 1),
            self.shift_y,
            self.shift_y + self.scale * (self.height - 1),
        )


@dataclass(frozen=True)
class Optics:
    """Pinhole projection of the RGB camera: world millimetres -> scene pixels.

    World axes: X to the right of the optical axis, Y down from the optical centre, Z the
    distance along the axis (what a depth camera measures).
    """

    focal: float
    cx: float
    cy: float
    height_mm: float = CAMERA_HEIGHT_MM

    @classmethod
    def for_rgb(cls, width: int, height: int) -> Optics:
        focal = (width / 2) / math.tan(math.radians(RGB_HFOV_DEG / 2))
        return cls(focal, (width - 1) / 2, (height - 1) / 2)

    def project(self, xyz: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> scene pixels (..., 2)."""
        z = xyz[..., 2:3]
        return np.concatenate(
            [self.cx + self.focal * xyz[..., 0:1] / z, self.cy + self.focal * xyz[..., 1:2] / z],
            axis=-1,
        )

    def floor_distance(self, scene_y: np.ndarray) -> np.ndarray:
        """Distance Z of the floor seen at scene row y (inf at and above the horizon)."""
        below = np.asarray(scene_y, dtype=float) - self.cy
        with np.errstate(divide="ignore"):
            return np.where(
                below > 0, self.focal * self.height_mm / np.maximum(below, 1e-9), np.inf
            )


@dataclass(frozen=True)
class Rig:
    """The three cameras of one recording."""

    rgb: Camera
    depth: Camera
    ir: Camera
    optics: Optics


def make_rig(
    scale: float,
    ir_scale_full: float,
    ir_shift_full: tuple[float, float],
    rgb_size: tuple[int, int] | None = None,
) -> Rig:
    """Build a rig at `scale`; IR geometry is given as at full resolution (1920 x 1080 RGB,
    1408 x 1068 IR) and converted into pixel units of the files as written.

    Args:
        scale: multiplies every full resolution (sizes are rounded to even numbers).
        ir_scale_full: RGB pixels per IR pixel at full resolution.
        ir_shift_full: (shift_x, shift_y) in full-resolution RGB pixels.
        rgb_size: explicit RGB (width, height); depth and IR then follow its width's scale.
    """
    rw, rh = rgb_size if rgb_size is not None else scaled_size(FULL_RGB, scale)
    k = rw / FULL_RGB[0]
    dw, dh = scaled_size(FULL_DEPTH, k)
    iw, ih = scaled_size(FULL_IR, k)
    # Pixel units of the files: an RGB pixel is 1/k full-res pixels and an IR pixel is
    # FULL_IR[0]/iw full-res IR pixels, so the per-file scale differs slightly by rounding.
    ir_scale = ir_scale_full * (rw / FULL_RGB[0]) / (iw / FULL_IR[0])
    ir = Camera(iw, ih, float(ir_scale), float(ir_shift_full[0] * k), float(ir_shift_full[1] * k))
    d_scale = DEPTH_COVERAGE * rw / dw
    depth = Camera(
        dw, dh, d_scale, (rw - 1 - d_scale * (dw - 1)) / 2, (rh - 1 - d_scale * (dh - 1)) / 2
    )
    return Rig(Camera(rw, rh), depth, ir, Optics.for_rgb(rw, rh))
