"""The time mapping: which frame of a stream goes with a time (docs/architecture.md, "Time
model"). This is the one implementation; segmentation, alignment sampling and the synthesizer
all call `match`.

A stream contributes the frame nearest in time to each target time; a time exactly halfway
between two frames goes to the later one. For a constant-rate stream this is the old index
formula `floor(t * fps + 1/2)`, exactly: the float search below is checked in exact rational
arithmetic wherever a target lies within `EPS` of halfway between two frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .timeline import Timeline

EPS = 1e-6
"""Seconds: targets this close to halfway between two frames are decided exactly."""
TOLERANCE_PERIODS = Fraction(3, 2)
"""Default sync tolerance: a matched frame this many of its stream's nominal frame periods
from its target time is a gap."""


@dataclass(frozen=True, eq=False)
class Times:
    """Target times `ticks[k] * unit + base` seconds, increasing with k (exact)."""

    ticks: np.ndarray
    unit: Fraction
    base: Fraction = Fraction(0)

    def __len__(self) -> int:
        return len(self.ticks)

    @property
    def seconds(self) -> np.ndarray:
        return self.ticks * (self.unit.numerator / self.unit.denominator) + float(self.base)

    def exact(self, k: int) -> Fraction:
        return int(self.ticks[k]) * self.unit + self.base

    def shifted(self, offset: Fraction | float) -> Times:
        """The same times plus `offset` seconds (a float counts at its exact binary value)."""
        return Times(self.ticks, self.unit, self.base + Fraction(offset))


def frame_times(timeline: Timeline, start: int, end: int) -> Times:
    """Times of frames start..end (inclusive) of a stream."""
    return Times(timeline.ticks[start : end + 1], timeline.unit)


def grid(start: Fraction, end: Fraction, fps: Fraction) -> Times:
    """`start + k / fps` for every k with a time <= end: the `--fps F` output grid."""
    count = math.floor((end - start) * fps) + 1
    return Times(np.arange(max(count, 0), dtype=np.int64), 1 / Fraction(fps), start)


def seconds_times(values: list[Fraction]) -> Times:
    """Times given in seconds (annotations), kept to the nanosecond."""
    ns = [round(v * 10**9) for v in values]
    return Times(np.asarray(ns, dtype=np.int64), Fraction(1, 10**9))


@dataclass(frozen=True, eq=False)
class Match:
    """The frame each target time gets, and how far it is from it."""

    indices: np.ndarray
    """int64 frame index (decode order) per target."""
    errors: np.ndarray
    """float64 seconds, frame time - target time (zeros when `given`)."""
    given: bool = False
    """The frames were given by the annotation (`linear_frames`), not matched by time: there
    is no sync error to measure."""

    @property
    def largest_error(self) -> float:
        return float(np.abs(self.errors).max()) if len(self.errors) else 0.0


def match(timeline: Timeline, targets: Times) -> Match:
    """Each target's nearest frame of `timeline` (a tie goes to the later frame)."""
    ts = timeline.seconds
    x = targets.seconds
    n = len(ts)
    j = np.searchsorted(ts, x)  # first frame at or after each target
    hi = np.minimum(j, n - 1)
    lo = np.maximum(j - 1, 0)
    d_lo, d_hi = x - ts[lo], ts[hi] - x
    pick = np.where(d_hi <= d_lo, hi, lo)
    for k in np.flatnonzero((hi != lo) & (np.abs(d_hi - d_lo) <= EPS)).tolist():
        t = targets.exact(k)
        pick[k] = hi[k] if timeline.time(hi[k]) - t <= t - timeline.time(lo[k]) else lo[k]
    return Match(pick.astype(np.int64), ts[pick] - x)


def linear_frames(start: int, end: int, n: int) -> Match:
    """A per-sensor annotated range spread over an RGB clip of `n` frames (annotations/README.md,
    "Per-sensor ranges"): clip frame k is `start + floor(k * (end - start) / (n - 1) + 1/2)`,
    computed in integers, so frame 0 is `start` and frame n - 1 is `end`. A one-frame clip
    shows `start`."""
    if n == 1:
        return Match(np.array([start], np.int64), np.zeros(1), given=True)
    k = np.arange(n, dtype=np.int64)
    span, den = end - start, n - 1
    # floor(k * span / den + 1/2) == floor((2 * k * span + den) / (2 * den)), exactly
    indices = start + (2 * k * span + den) // (2 * den)
    return Match(indices, np.zeros(n), given=True)


def covers(timeline: Timeline, t: Fraction) -> bool:
    """True when `t` lies within half a nominal period of the stream's first and last frames:
    [first - period / 2, last + period / 2), the range `floor(t * fps + 1/2)` keeps inside a
    constant-rate stream."""
    half = timeline.period / 2
    return timeline.time(0) - half <= t < timeline.time(len(timeline) - 1) + half


def virtual_index(timeline: Timeline, t: Fraction) -> int:
    """The frame index `t` would have on the stream's nominal grid beyond its ends (the nearest
    frame inside): what reject messages quote; `floor(t * fps + 1/2)` for a constant rate."""
    first, last = timeline.time(0), timeline.time(len(timeline) - 1)
    if t < first:
        return math.floor((t - first) * timeline.rate + Fraction(1, 2))
    if t > last:
        return len(timeline) - 1 + math.floor((t - last) * timeline.rate + Fraction(1, 2))
    return int(match(timeline, Times(np.zeros(1, np.int64), Fraction(1), t)).indices[0])


def ir_index(
    i: int, fps_rgb: Fraction | float, fps_ir: Fraction | float, ir_offset_s: float = 0.0
) -> int:
    """The IR frame for RGB frame `i` when both streams run at a constant rate from time 0.

    Kept for the synthesizer, which plans constant-rate takes: it is `match` on constant-rate
    timelines, beyond the IR stream's end too (`virtual_index`).
    """
    t = Fraction(i) / Fraction(fps_rgb) + Fraction(ir_offset_s)
    frames = max(math.floor(t * Fraction(fps_ir)) + 2, 1)
    return virtual_index(Timeline.cfr(frames, fps_ir), t)
