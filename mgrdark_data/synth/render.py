"""Frames of each modality: the person's figure drawn over a static background.

Only the person changes from frame to frame, so a frame is a copy of a precomputed
"background + noise" frame with the person's bounding box re-rendered. Sensor noise comes from
a small bank of pre-generated noise frames picked per frame by a seeded sequence: drawing
fresh full-size noise for every frame would cost more than rendering and encoding together.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..testing.media import GRID, decode_index, index_image
from .cameras import Camera
from .figure import Figure

SHIFT = 4
"""Fixed-point bits for cv2 drawing: sub-pixel positions, so slow motions move smoothly."""
_ONE = 1 << SHIFT
STAMP_CELL = {"rgb": 4, "ir": 4, "depth": 2}
"""Pixels per cell of a frame's index code: H.264 needs a few, lossless depth does not."""


def person_box(fig: Figure, cam: Camera, margin: int) -> tuple[int, int, int, int]:
    """Camera pixels (x0, y0, x1, y1; half-open, clipped) that the figure can touch."""
    pts = cam.to_camera(fig.points)
    r = fig.point_radii()[:, None] / cam.scale
    x0, y0 = np.floor((pts - r).min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil((pts + r).max(axis=0)).astype(int) + margin + 1
    return (max(0, int(x0)), max(0, int(y0)), min(cam.width, int(x1)), min(cam.height, int(y1)))


def draw_figure(
    img: np.ndarray,
    fig: Figure,
    cam: Camera,
    origin: tuple[int, int],
    value: str,
    antialias: bool,
) -> None:
    """Draw `fig` into `img`, whose pixel (0, 0) is camera pixel `origin` (in place).

    Args:
        img: the region to draw into.
        fig: the person's shapes in back-to-front order.
        cam: the camera whose view `img` is part of.
        origin: camera pixel of `img[0, 0]`.
        value: 'rgb', 'ir', 'depth' or 'mask' (1.0 everywhere); shapes without an IR level
            are reflectance-only details and are skipped in the other modalities.
        antialias: smooth edges (never for depth: a blended edge is a distance nobody is at).
    """
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    pts = np.round((cam.to_camera(fig.points) - origin) * _ONE).astype(np.int32)
    sizes = fig.sizes / cam.scale
    thickness = np.maximum(1, np.round(sizes)).astype(int).tolist()
    radii = np.maximum(1, np.round(sizes * _ONE)).astype(int).tolist()
    depth = np.round(fig.depth_mm).tolist()
    xy = pts.tolist()
    for i, kind in enumerate(fig.kinds):
        if value == "rgb":
            colour: tuple[float, ...] = fig.rgb[i]
        elif fig.ir[i] is None:
            continue
        elif value == "ir":
            colour = (fig.ir[i],)
        elif value == "depth":
            colour = (depth[i],)
        else:
            colour = (1.0,)
        a, b = fig.spans[i]
        if kind == "line":
            cv2.line(img, xy[a], xy[a + 1], colour, thickness[i], line, SHIFT)
        elif kind == "circle":
            cv2.circle(img, xy[a], radii[i], colour, -1, line, SHIFT)
        elif kind == "cap":
            r = radii[i]
            cv2.ellipse(img, xy[a], (r, r), 0, 180, 360, colour, -1, line, SHIFT)
        else:
            cv2.fillConvexPoly(img, pts[a:b], colour, line, SHIFT)


@dataclass
class NoiseBank:
    """A few noise frames and the order in which output frames use them."""

    frames: np.ndarray
    """(K, H, W[, C]) noise, int8 or int16."""
    order: np.ndarray
    """Bank index for every output frame."""


def make_noise_bank(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    sigma: float,
    count: int,
    frames: int,
    grain: float = 0.0,
    dtype: type = np.int8,
) -> NoiseBank:
    """`count` noise frames: blotchy noise of `sigma` (generated at half resolution, like a
    demosaiced, denoised sensor) plus per-pixel `grain`, used in turn by `frames` frames.

    Taking them in turn (not in a random order) puts every noise frame exactly `count` frames
    after its previous use, where an encoder with `count` reference frames finds it again: the
    noise then costs almost no bits, while consecutive frames still differ by fresh noise.
    """
    h, w = shape[:2]
    bank = np.empty((count, *shape), dtype)
    info = np.iinfo(dtype)
    for k in range(count):
        small = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, *shape[2:]), np.float32)
        noise = cv2.resize(small * sigma, (w, h), interpolation=cv2.INTER_LINEAR)
        noise = noise.reshape(shape)
        if grain:
            noise += rng.standard_normal(shape, np.float32) * grain
        bank[k] = np.clip(np.round(noise), info.min, info.max)
    return NoiseBank(bank, np.arange(frames) % count)


class RgbComposer:
    """RGB frames: daylight reflectance -> exposure, vignetting, offset and sensor noise."""

    def __init__(
        self, cam: Camera, background: np.ndarray, gain: np.ndarray, offset: float, noise: NoiseBank
    ) -> None:
        self.cam, self.background, self.noise = cam, background, noise
        self.gain = gain.astype(np.float32)
        self.offset = float(offset)
        self.base = [
            self._expose(background, k, (slice(None), slice(None)))
            for k in range(len(noise.frames))
        ]

    def _expose(self, img: np.ndarray, k: int, roi: tuple[slice, slice]) -> np.ndarray:
        out = img.astype(np.float32) * self.gain[roi]
        out += self.noise.frames[k][roi]
        out += self.offset + 0.5
        return np.clip(out, 0, 255).astype(np.uint8)

    def frame(self, index: int, fig: Figure) -> np.ndarray:
        k = int(self.noise.order[index])
        out = self.base[k].copy()
        x0, y0, x1, y1 = person_box(fig, self.cam, 2)
        if x1 > x0 and y1 > y0:
            roi = (slice(y0, y1), slice(x0, x1))
            layer = self.background[roi].copy()
            draw_figure(layer, fig, self.cam, (x0, y0), "rgb", antialias=True)
            out[roi] = self._expose(layer, k, roi)
        return out


class IrComposer:
    """IR frames: the person's heat blurred by the lens over the room's temperature image."""

    def __init__(self, cam: Camera, background: np.ndarray, noise: NoiseBank) -> None:
        self.cam, self.noise = cam, noise
        self.background = background.astype(np.float32)
        self.sigma = max(0.5, 1.2 * cam.width / 1408)
        self.margin = int(3 * self.sigma) + 2
        self.base = [
            np.clip(self.background + f + 0.5, 0, 255).astype(np.uint8) for f in noise.frames
        ]

    def frame(self, index: int, fig: Figure) -> np.ndarray:
        k = int(self.noise.order[index])
        out = self.base[k].copy()
        x0, y0, x1, y1 = person_box(fig, self.cam, self.margin)
        if x1 > x0 and y1 > y0:
            roi = (slice(y0, y1), slice(x0, x1))
            heat = np.zeros((y1 - y0, x1 - x0), np.float32)
            cover = np.zeros_like(heat)
            draw_figure(heat, fig, self.cam, (x0, y0), "ir", antialias=False)
            draw_figure(cover, fig, self.cam, (x0, y0), "mask", antialias=False)
            # Blurring heat and coverage alike (premultiplied) softens the outline without
            # darkening it, and leaves the background outside the person untouched.
            heat = cv2.GaussianBlur(heat, (0, 0), self.sigma)
            cover = cv2.GaussianBlur(cover, (0, 0), self.sigma)
            mixed = self.background[roi] * (1 - cover) + heat + self.noise.frames[k][roi]
            out[roi] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return out


class DepthComposer:
    """Depth frames in millimetres; invalid pixels (0) stay 0 unless the person covers them."""

    def __init__(self, cam: Camera, background: np.ndarray, noise: NoiseBank) -> None:
        self.cam, self.background, self.noise = cam, background, noise
        self.base = [
            self._measure(background, k, (slice(None), slice(None)))
            for k in range(len(noise.frames))
        ]

    def _measure(self, img: np.ndarray, k: int, roi: tuple[slice, slice]) -> np.ndarray:
        out = img.astype(np.int32) + self.noise.frames[k][roi]
        out[img == 0] = 0
        return np.clip(out, 0, 65535).astype(np.uint16)

    def frame(self, index: int, fig: Figure) -> np.ndarray:
        k = int(self.noise.order[index])
        out = self.base[k].copy()
        x0, y0, x1, y1 = person_box(fig, self.cam, 1)
        if x1 > x0 and y1 > y0:
            roi = (slice(y0, y1), slice(x0, x1))
            layer = self.background[roi].copy()
            draw_figure(layer, fig, self.cam, (x0, y0), "depth", antialias=False)
            out[roi] = self._measure(layer, k, roi)
        return out


def stamp_index(img: np.ndarray, index: int, stream: str) -> np.ndarray:
    """Draw `index` (< 65536) into the top-left corner of a frame of `stream` as a 4x4 grid of
    black and white cells (`mgrdark_data.testing.index_image`), in place; returns `img`."""
    side = GRID * STAMP_CELL[stream]
    code = index_image(index, side, side, channels=1)
    if img.dtype == np.uint16:
        code = code.astype(np.uint16) * 235  # 0 or 59925 mm: bright in any depth view
    img[:side, :side] = code[..., None] if img.ndim == 3 else code
    return img


def read_stamp(img: np.ndarray, stream: str) -> int:
    """The index `stamp_index` drew into a decoded frame of `stream`."""
    side = GRID * STAMP_CELL[stream]
    return decode_index(img[:side, :side])
