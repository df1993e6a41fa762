"""Reading what the estimators need from a recording: a few frame pairs and motion curves.

Each stream is decoded once, sequentially from frame 0 (`media.iter_frames`), keeping only the
frames asked for, downscaled right away so that a long take never sits in memory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..media import iter_frames, probe_stream
from .estimate import Alignment
from .geometry import from_level, resize_exact
from .sync import motion_energy

DEFAULT_PAIRS = 12
RGB_MAX_SIDE = 640
"""RGB is read at this width at most: the finest estimation level works at 640 pixels."""
IR_MAX_SIDE = 1408
MOTION_SIDE = 96


def ir_index(i: int, fps_rgb: float, fps_ir: float, ir_offset_s: float) -> int:
    """IR frame shown with RGB frame i (DESIGN section 2)."""
    return math.floor((i / fps_rgb + ir_offset_s) * fps_ir + 0.5)


@dataclass
class FramePairs:
    """Frame-synchronous RGB/IR pairs, downscaled by exact factors."""

    rgb: list[np.ndarray]
    """H x W x 3 uint8 RGB frames."""
    ir: list[np.ndarray]
    """H x W uint8 gray IR frames."""
    rgb_indices: list[int]
    ir_indices: list[int]
    rgb_factor: float
    """Each RGB frame was resized by this factor from the source (1.0: native)."""
    ir_factor: float
    rgb_size: tuple[int, int]
    """(width, height) of the source RGB stream."""
    ir_size: tuple[int, int]

    def to_full_resolution(self, alignment: Alignment) -> Alignment:
        """The same alignment in source pixels of both streams."""
        s, tx, ty = from_level(
            alignment.scale, alignment.shift_x, alignment.shift_y, self.rgb_factor, self.ir_factor
        )
        return replace(alignment, scale=s, shift_x=tx, shift_y=ty)


def _factor(size: tuple[int, int], max_side: int | None) -> float:
    return 1.0 if not max_side else min(1.0, max_side / max(size))


def sample_frame_pairs(
    rgb_path: str | os.PathLike,
    ir_path: str | os.PathLike,
    *,
    fps_rgb: float,
    fps_ir: float,
    ir_offset_s: float = 0.0,
    count: int = DEFAULT_PAIRS,
    max_side: int | None = RGB_MAX_SIDE,
    ir_max_side: int | None = IR_MAX_SIDE,
) -> FramePairs:
    """Read `count` RGB frames spread evenly over the take and the IR frame for each.

    Args:
        rgb_path: RGB video.
        ir_path: IR video.
        fps_rgb: RGB frame rate.
        fps_ir: IR frame rate.
        ir_offset_s: IR time offset of the time mapping.
        count: Number of pairs wanted; pairs whose IR frame falls outside the IR stream are
            dropped, so fewer may come back.
        max_side: Longest RGB side after downscaling (None: native).
        ir_max_side: Longest IR side after downscaling (None: native).
    """
    rgb_info, ir_info = probe_stream(rgb_path), probe_stream(ir_path)
    n = rgb_info.frames
    wanted = sorted({min(n - 1, int((k + 0.5) * n / count)) for k in range(count)})
    pairs = [(i, ir_index(i, fps_rgb, fps_ir, ir_offset_s)) for i in wanted]
    pairs = [(i, j) for i, j in pairs if 0 <= j < ir_info.frames]
    rgb_size = (rgb_info.width, rgb_info.height)
    ir_size = (ir_info.width, ir_info.height)
    fr, fi = _factor(rgb_size, max_side), _factor(ir_size, ir_max_side)
    rgb = _read(Path(rgb_path), [i for i, _ in pairs], "rgb24", fr)
    ir = _read(Path(ir_path), [j for _, j in pairs], "gray", fi)
    return FramePairs(
        [rgb[i] for i, _ in pairs], [ir[j] for _, j in pairs],
        [i for i, _ in pairs], [j for _, j in pairs], fr, fi, rgb_size, ir_size,
    )


def _read(path: Path, indices: list[int], fmt: str, factor: float) -> dict[int, np.ndarray]:
    keep = set(indices)
    out: dict[int, np.ndarray] = {}
    if not keep:
        return out
    for i, frame in iter_frames(path, stop=max(keep) + 1):
        if i in keep:
            out[i] = resize_exact(frame.to_ndarray(format=fmt), factor)
    return out


def stream_motion(path: str | os.PathLike, side: int = MOTION_SIDE) -> np.ndarray:
    """Motion energy of every frame of a video (`sync.motion_energy`) on a small gray copy."""
    info = probe_stream(path)
    f = min(1.0, side / max(info.width, info.height))
    w, h = max(2, round(info.width * f)), max(2, round(info.height * f))
    return motion_energy(
        frame.reformat(width=w, height=h, format="gray").to_ndarray()
        for _, frame in iter_frames(path)
    )
