"""Timelines: the time of every frame of one stream (docs/architecture.md, "Time model").

A `Timeline` says when each frame of a stream was captured, in exact arithmetic: frame j is at
`ticks[j] * unit` seconds. It comes from, in order of precedence, a sidecar
`<stream>.timestamps.csv`, the container's presentation timestamps, the frame numbers in the
file names of an image folder, or (a container without timestamps) a constant rate. Matching
frames of two timelines is `mgrdark_data.timemap`'s job; this module only builds timelines and
describes them (rates, variable-rate segments, dropped frames, gaps).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import MediaError

SOURCES = ("sidecar", "pts", "filename", "cfr")
TIME_COLUMNS = {"time_s": 0, "time_ms": 3, "time_us": 6}
"""Sidecar column -> power of ten that turns its values into seconds (negated)."""
NS = Fraction(1, 10**9)
MIN_SEGMENT = 5
"""Intervals a frame rate must hold to count as a segment of its own (shorter runs of longer
intervals are dropped frames)."""


class TimestampsError(MediaError):
    """A `<stream>.timestamps.csv` cannot be used (bad column, count or order)."""


@dataclass(frozen=True, eq=False)
class Timeline:
    """When each frame of a stream was captured, on the recording's clock."""

    ticks: np.ndarray
    """int64, strictly increasing: frame j (decode order) is at `ticks[j] * unit` seconds."""
    unit: Fraction
    """Seconds per tick (1 / rate for a constant-rate or numbered stream)."""
    rate: Fraction
    """Nominal frames per second: the rate the stream is meant to run at (tolerances and the
    constant-rate special case use it)."""
    source: str
    """Where the times come from: 'sidecar', 'pts', 'filename' or 'cfr' (`SOURCES`)."""

    def __len__(self) -> int:
        return len(self.ticks)

    @cached_property
    def seconds(self) -> np.ndarray:
        """Frame times as float64 seconds (exact times: `time`)."""
        return self.ticks * (self.unit.numerator / self.unit.denominator)

    def time(self, j: int) -> Fraction:
        """Exact time of frame `j`."""
        return int(self.ticks[j]) * self.unit

    @property
    def period(self) -> Fraction:
        """Nominal frame period in seconds."""
        return 1 / self.rate

    @property
    def constant(self) -> bool:
        """True when frame j is at j / rate for every j: the old index formulas' case."""
        n = len(self.ticks)
        return self.unit == 1 / self.rate and bool(
            n == 0 or (self.ticks[0] == 0 and self.ticks[-1] == n - 1)
        )

    @classmethod
    def cfr(cls, frames: int, rate: Fraction | float, source: str = "cfr") -> Timeline:
        """Frame j at j / rate."""
        rate = Fraction(rate)
        return cls(np.arange(frames, dtype=np.int64), 1 / rate, rate, source)

    def shifted(self, ticks: int) -> Timeline:
        """The same timeline with `ticks` subtracted from every frame time."""
        return Timeline(self.ticks - ticks, self.unit, self.rate, self.source)


def _increasing(ticks: np.ndarray) -> bool:
    return bool(len(ticks) < 2 or (np.diff(ticks) > 0).all())


def from_pts(
    pts: Sequence[int] | np.ndarray, time_base: Fraction, rates: Sequence[Fraction]
) -> Timeline:
    """The timeline of a container's presentation timestamps (any order; sorted here).

    Times count from the stream's first frame. When every timestamp lies within one time-base
    tick of a grid of one of `rates` (tried in order), the frames are put on that grid exactly:
    a container rounds times to its time base (Matroska to milliseconds), which is not
    information, and a constant-rate stream then maps exactly as the old index formulas did.
    Frames missing from the grid stay missing (dropped frames, 30 -> 15 fps sections).
    """
    p = np.sort(np.asarray(pts, dtype=np.int64))
    p = p - p[0] if len(p) else p
    for rate in rates:
        grid = _snap(p, time_base, Fraction(rate))
        if grid is not None:
            return Timeline(grid, 1 / Fraction(rate), Fraction(rate), "pts")
    if not _increasing(p):
        raise TimestampsError("duplicate presentation timestamps")
    return Timeline(p, time_base, _rate_of(p * float(time_base), rates), "pts")


def _snap(pts: np.ndarray, time_base: Fraction, rate: Fraction) -> np.ndarray | None:
    """Grid numbers n_j with |t_j - n_j / rate| < one tick for all j, strictly increasing;
    None when the timestamps do not sit on that grid."""
    if rate <= 0 or not len(pts):
        return None
    # t * rate = pts * a * c / (b * d) with time_base = a / b, rate = c / d (integers).
    a, b, c, d = time_base.numerator, time_base.denominator, rate.numerator, rate.denominator
    if int(np.abs(pts).max()) * a * c >= 2**62 or b * d >= 2**62:
        return None
    num, den = pts * (a * c), b * d
    grid = (2 * num + den) // (2 * den)  # nearest grid number, halves up
    # |t - n / rate| < time_base  <=>  |num - n * den| * d * b < a * den * c
    off = np.abs(num - grid * den)
    if not (off < Fraction(a * den * c, d * b)).all() or not _increasing(grid):
        return None
    return grid


def _rate_of(seconds: np.ndarray, hints: Sequence[Fraction]) -> Fraction:
    """A nominal rate for irregular times: the first hint, else 1 / the median interval."""
    if hints:
        return Fraction(hints[0])
    if len(seconds) < 2:
        return Fraction(30)
    return Fraction(1 / float(np.median(np.diff(seconds)))).limit_denominator(1001)


def from_numbers(numbers: Sequence[int] | np.ndarray, rate: Fraction) -> Timeline:
    """An image folder's timeline: frame number n (from the file name) is at n / rate."""
    ticks = np.asarray(numbers, dtype=np.int64)
    if not _increasing(ticks):
        raise TimestampsError("frame numbers repeat")
    return Timeline(ticks, 1 / Fraction(rate), Fraction(rate), "filename")


def from_sidecar(ns: np.ndarray, rate: Fraction | None) -> Timeline:
    """A sidecar's times (integer nanoseconds on the capture clock)."""
    return Timeline(ns, NS, rate or _rate_of(ns * 1e-9, ()), "sidecar")


def read_timestamps(path: str | Path, frames: int) -> np.ndarray:
    """A `<stream>.timestamps.csv`: one row per frame in stream order, one column `time_s`,
    `time_ms` or `time_us`; returned as integer nanoseconds (finer digits are rounded).

    Raises TimestampsError naming the problem: unknown column, a value that is not a number,
    a row count other than `frames`, or times that do not strictly increase.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TimestampsError(f"{path.name}: cannot read ({e})") from e
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]] if rows else []
    if len(header) != 1 or header[0] not in TIME_COLUMNS:
        raise TimestampsError(
            f"{path.name}: expected one column named {', '.join(TIME_COLUMNS)}; got {header}"
        )
    digits = TIME_COLUMNS[header[0]]
    values = []
    for line, row in enumerate(rows[1:], start=2):
        try:
            value = Decimal(row[0].strip()).scaleb(9 - digits)
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, IndexError):
            raise TimestampsError(f"{path.name} row {line}: {row!r} is not a number") from None
        values.append(int(value.to_integral_value()))
    if len(values) != frames:
        raise TimestampsError(
            f"{path.name} has {len(values)} rows but the stream has {frames} frames "
            "(one row per frame, in stream order)"
        )
    ns = np.asarray(values, dtype=np.int64)
    if len(ns) > 1 and not (np.diff(ns) > 0).all():
        k = int(np.flatnonzero(np.diff(ns) <= 0)[0])
        raise TimestampsError(
            f"{path.name}: times do not increase at rows {k + 2}-{k + 3} "
            f"({ns[k] * 1e-9:.6f} s then {ns[k + 1] * 1e-9:.6f} s)"
        )
    return ns


@dataclass(frozen=True)
class Segment:
    """A stretch of a stream running at one rate."""

    start_s: float
    end_s: float
    fps: float
    frames: int


@dataclass(frozen=True)
class StreamFacts:
    """What `mgrdata inspect` and `recordings.parquet` say about one stream's timeline."""

    frames: int
    nominal_fps: float
    measured_fps: float
    """(frames - 1) / (last time - first time)."""
    duration_s: float
    """Last frame time - first frame time + one nominal period."""
    start_s: float
    end_s: float
    dropped: int
    """Frames missing from each segment's rate (a 30 -> 15 fps switch drops nothing)."""
    largest_gap_s: float
    """Longest interval between consecutive frames."""
    segments: tuple[Segment, ...]

    @property
    def vfr(self) -> bool:
        return len({s.fps for s in self.segments}) > 1


def describe(timeline: Timeline) -> StreamFacts:
    """Rates, variable-rate segments, dropped frames and the largest gap of a timeline.

    Each interval is measured in nominal periods (rounded); a run of at least `MIN_SEGMENT`
    equal intervals sets a segment's rate, and a shorter run of longer intervals inside a
    segment is dropped frames.
    """
    t = timeline.seconds
    n = len(t)
    period = float(timeline.period)
    if n < 2:
        start = float(t[0]) if n else 0.0
        seg = (Segment(start, start, float(timeline.rate), n),) if n else ()
        return StreamFacts(n, float(timeline.rate), 0.0, period * n, start, start, 0, 0.0, seg)
    dt = np.diff(t)
    steps = np.maximum(np.rint(dt / period), 1).astype(np.int64)
    segments, dropped = _segments(t, dt, steps, period)
    span = float(t[-1] - t[0])
    return StreamFacts(
        n,
        float(timeline.rate),
        (n - 1) / span if span > 0 else 0.0,
        span + period,
        float(t[0]),
        float(t[-1]),
        dropped,
        float(dt.max()),
        tuple(segments),
    )


def _segments(
    t: np.ndarray, dt: np.ndarray, steps: np.ndarray, period: float
) -> tuple[list[Segment], int]:
    # Runs of equal steps; long runs set a segment's step, short ones belong to their segment.
    cuts = np.flatnonzero(np.diff(steps)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(steps)]])
    owners: list[list[int]] = []  # [first interval, end interval, step, set by a long run]
    for a, b, step in zip(starts.tolist(), ends.tolist(), steps[starts].tolist(), strict=True):
        long = b - a >= MIN_SEGMENT
        if not owners or (long and owners[-1][3] and owners[-1][2] != step):
            owners.append([a, b, step, long])
        elif long and not owners[-1][3]:
            owners[-1][1:] = [b, step, True]  # a short head takes the first long run's rate
        else:
            owners[-1][1] = b
    segments, dropped = [], 0
    for a, b, step, _ in owners:
        seg_period = step * period
        dropped += int(np.maximum(np.rint(dt[a:b] / seg_period) - 1, 0).sum())
        segments.append(Segment(float(t[a]), float(t[b]), 1 / seg_period, b - a + 1))
    return _round_rates(segments), dropped


def _round_rates(segments: list[Segment]) -> list[Segment]:
    return [
        Segment(s.start_s, s.end_s, float(round(s.fps, 3)), s.frames) if math.isfinite(s.fps) else s
        for s in segments
    ]
