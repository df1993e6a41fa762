"""Reading what the estimators need from a recording: a few frame pairs and motion curves.

Each stream is decoded once, sequentially from frame 0 (`media.iter_frames`), keeping only the
frames asked for, downscaled right away so that a long take never sits in memory. The IR frame
of a pair is the one the time mapping gives (`timemap.match`, the same as segmentation's), and
motion curves carry each frame's time, so variable-rate streams and dropped frames are handled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..media import iter_frames
from ..recordings import Stream, probe_file
from ..timemap import TOLERANCE_PERIODS, Times, covers, match
from .estimate import Alignment
from .geometry import from_level, resize_exact
from .sync import estimate_ir_offset, motion_energy

DEFAULT_PAIRS = 12
RGB_MAX_SIDE = 640
"""RGB is read at this width at most: the finest estimation level works at 640 pixels."""
IR_MAX_SIDE = 1408
MOTION_SIDE = 96


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


def _spread(n: int, count: int) -> list[int]:
    """`count` frame indices spread evenly over n frames (the middle of each of count parts)."""
    return sorted({min(n - 1, int((k + 0.5) * n / count)) for k in range(count)})


def _factor(size: tuple[int, int], max_side: int | None) -> float:
    return 1.0 if not max_side else min(1.0, max_side / max(size))


def _stream(s: Stream | str | os.PathLike, name: str) -> Stream:
    return s if isinstance(s, Stream) else probe_file(Path(s), name)


def sample_frame_pairs(
    rgb: Stream | str | os.PathLike,
    ir: Stream | str | os.PathLike,
    *,
    ir_offset_s: float = 0.0,
    count: int = DEFAULT_PAIRS,
    max_side: int | None = RGB_MAX_SIDE,
    ir_max_side: int | None = IR_MAX_SIDE,
) -> FramePairs:
    """Read `count` RGB frames spread evenly over the take and the IR frame for each.

    Args:
        rgb: RGB stream of a probed recording (`RecordingInfo.rgb`), or a video file (its
            timeline then comes from the file alone).
        ir: IR stream or video file.
        ir_offset_s: IR time offset of the time mapping (`mgrdark_data.timemap`).
        count: Number of pairs wanted; pairs whose time the IR stream does not cover (or has
            no frame near, a dropout) are dropped, so fewer may come back.
        max_side: Longest RGB side after downscaling (None: native).
        ir_max_side: Longest IR side after downscaling (None: native).
    """
    rgb, ir = _stream(rgb, "rgb"), _stream(ir, "ir")
    wanted = _spread(rgb.frames, count)
    fr = _factor((rgb.width, rgb.height), max_side)
    frames, _ = _read(rgb.path, wanted, "rgb24", fr)
    return _pairs(rgb, frames, fr, ir, ir_offset_s, ir_max_side)


def _pairs(
    rgb: Stream,
    frames: dict[int, np.ndarray],
    rgb_factor: float,
    ir: Stream,
    ir_offset_s: float,
    ir_max_side: int | None,
) -> FramePairs:
    """Pair the RGB frames read with the IR frame the time mapping gives each; read those."""
    indices = sorted(frames)
    targets = Times(rgb.timeline.ticks[indices], rgb.timeline.unit).shifted(ir_offset_s)
    m = match(ir.timeline, targets)
    near = float(TOLERANCE_PERIODS * ir.timeline.period)
    pairs = [
        (i, int(j))
        for k, (i, j) in enumerate(zip(indices, m.indices, strict=True))
        if covers(ir.timeline, targets.exact(k)) and abs(m.errors[k]) <= near
    ]
    fi = _factor((ir.width, ir.height), ir_max_side)
    ir_frames, _ = _read(ir.path, [j for _, j in pairs], "gray", fi)
    return FramePairs(
        [frames[i] for i, _ in pairs],
        [ir_frames[j] for _, j in pairs],
        [i for i, _ in pairs],
        [j for _, j in pairs],
        rgb_factor,
        fi,
        (rgb.width, rgb.height),
        (ir.width, ir.height),
    )


def _read(
    path: Path, indices: list[int], fmt: str, factor: float, motion: bool = False
) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """Frames `indices` resized by `factor`; with `motion`, the whole stream's motion energy
    from the same decoding pass."""
    keep = set(indices)
    out: dict[int, np.ndarray] = {}
    if not keep and not motion:
        return out, None
    small: list[np.ndarray] = []
    size = None
    for i, frame in iter_frames(path, stop=None if motion else max(keep) + 1):
        if i in keep:
            out[i] = resize_exact(frame.to_ndarray(format=fmt), factor)
        if motion:
            if size is None:
                f = min(1.0, MOTION_SIDE / max(frame.width, frame.height))
                size = (max(2, round(frame.width * f)), max(2, round(frame.height * f)))
            small.append(frame.reformat(width=size[0], height=size[1], format="gray").to_ndarray())
    return out, (motion_energy(small) if motion else None)


def stream_motion(path: str | os.PathLike) -> np.ndarray:
    """Motion energy of every frame of a video (`sync.motion_energy`) on a small gray copy."""
    return _read(Path(path), [], "gray", 1.0, motion=True)[1]


def sample_recording(
    rgb: Stream,
    ir: Stream,
    *,
    ir_offset_s: float | None,
    count: int = DEFAULT_PAIRS,
    max_side: int | None = RGB_MAX_SIDE,
    ir_max_side: int | None = IR_MAX_SIDE,
) -> tuple[FramePairs, float, float | None]:
    """`sample_frame_pairs`, estimating the IR offset from motion first when it is None.

    RGB frames to keep do not depend on the offset, so the RGB stream is still decoded once
    (frames and motion together); the IR stream is decoded twice, for motion and then for the
    frames the offset selects.

    Returns:
        (pairs, ir_offset_s used, sync score or None when the offset was given).
    """
    if ir_offset_s is not None:
        pairs = sample_frame_pairs(
            rgb,
            ir,
            ir_offset_s=ir_offset_s,
            count=count,
            max_side=max_side,
            ir_max_side=ir_max_side,
        )
        return pairs, ir_offset_s, None
    wanted = _spread(rgb.frames, count)
    fr = _factor((rgb.width, rgb.height), max_side)
    frames, rgb_motion = _read(rgb.path, wanted, "rgb24", fr, motion=True)
    offset, score = estimate_ir_offset(
        rgb_motion, stream_motion(ir.path), rgb.timeline.seconds, ir.timeline.seconds
    )
    pairs = _pairs(rgb, frames, fr, ir, offset, ir_max_side)
    return pairs, offset, score
