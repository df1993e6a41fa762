"""The time mapping between streams, in exact rational arithmetic: the one implementation that
segmentation, alignment and the synthesizer all call (docs/architecture.md, "Time model").

RGB frame i is at time i / fps_rgb. The depth frame for RGB frame i is i + depth_offset_frames.
The IR frame for RGB frame i is floor((i / fps_rgb + ir_offset_s) * fps_ir + 0.5): IR frames are
matched by time, not by index, because the IR camera runs at its own rate and clock.
"""

from __future__ import annotations

import math
from fractions import Fraction


def depth_index(i: int, depth_offset_frames: int = 0) -> int:
    """Depth frame shown at the time of RGB frame `i` (depth runs on the RGB clock)."""
    return i + depth_offset_frames


def ir_index(
    i: int, fps_rgb: Fraction | float, fps_ir: Fraction | float, ir_offset_s: float = 0.0
) -> int:
    """IR frame shown at the time of RGB frame `i`.

    Fractions keep the rounding exact: with floats, a frame exactly halfway between two IR
    frames could round either way depending on the rates' binary representation (at 25 -> 30
    fps with a 0.05 s offset, float arithmetic picks another frame for 755 of 20,000 frames).
    Float arguments are taken at their exact binary value.
    """
    t = Fraction(i) / Fraction(fps_rgb) + Fraction(ir_offset_s)
    return math.floor(t * Fraction(fps_ir) + Fraction(1, 2))


def ir_indices(
    start: int,
    end: int,
    fps_rgb: Fraction | float,
    fps_ir: Fraction | float,
    ir_offset_s: float = 0.0,
) -> list[int]:
    """IR source frame for each RGB frame start..end (inclusive); may repeat or skip frames."""
    return [ir_index(i, fps_rgb, fps_ir, ir_offset_s) for i in range(start, end + 1)]
