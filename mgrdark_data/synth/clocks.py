"""Every synthetic stream's written frames and their true times, planned from the take's
schedule and its `CaptureOptions` (docs/architecture.md, "Time model"; the truth is written by
`mgrdark_data.synth.truth`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..errors import OptionError
from .capture import CaptureOptions
from .scene import stable_hash
from .truth import TOLERANCE_PERIODS, ClipExpectation, clip_times, match_clip, pts_runs, rate

CHECK_FPS = 25
"""Output rate whose grid the reject expectations are checked on besides `--fps source`."""


@dataclass(frozen=True)
class StreamClock:
    """The written frames of one stream and their true times on the stream's own clock."""

    name: str
    fps: Fraction
    """Nominal rate."""
    times: tuple[Fraction, ...]
    """True time of every written frame, in stream order."""
    numbers: tuple[int, ...]
    """Frame number of every written frame: its slot at the nominal rate, or its position
    where the frames are off that grid (a file name's number in an image folder)."""
    slots: int
    """Frame numbers the camera had (written or not): what noise banks are sized for."""
    offset_s: float = 0.0
    """A time t on the RGB clock is looked up at t + offset_s (the IR clock offset)."""
    timestamps: bool = False
    folder: bool = False
    on_grid: bool = True
    """Every frame number is time x nominal rate (so an image folder's names say its times)."""

    @property
    def time_base(self) -> Fraction:
        return Fraction(1, math.lcm(*(t.denominator for t in self.times)))

    @property
    def pts(self) -> list[int]:
        """Times as integers of `time_base`."""
        base = self.time_base
        return [int(t / base) for t in self.times]

    @property
    def timeline(self) -> str:
        """Where a reader finds the times: 'timestamps', 'pts' (video) or 'names' (folder)."""
        return "timestamps" if self.timestamps else "names" if self.folder else "pts"

    @property
    def path(self) -> str:
        """File or folder name in the recording."""
        return (
            self.name if self.folder else f"{self.name}.{'mkv' if self.name == 'depth' else 'mp4'}"
        )

    def truth(self) -> dict:
        """This stream's `streams` entry of truth.json (see `mgrdark_data.synth.truth`)."""
        out = {
            "path": self.path,
            "timeline": self.timeline,
            "fps": float(self.fps),
            "frames": len(self.times),
            "offset_s": self.offset_s,
            "time_base": str(self.time_base),
            "pts": pts_runs(self.pts),
        }
        if self.timestamps:
            out["timestamps"] = f"{self.name}.timestamps.csv"
        if self.folder:
            out["numbers"] = pts_runs(self.numbers)
        return out

    def timestamps_us(self) -> list[int]:
        """The times in whole microseconds (exact: timestamps streams are planned that way)."""
        return [int(t * 1_000_000) for t in self.times]


@dataclass(frozen=True)
class TakeClocks:
    """The three streams' clocks of a take and the faults planted in them."""

    options: CaptureOptions
    rgb: StreamClock
    depth: StreamClock
    ir: StreamClock
    rgb_switch: tuple[int, Fraction] | None = None
    """(s, rate) of a variable-rate dark take: frame s is the first 1 / rate after the one
    before it; frames before it are 1 / nominal apart."""
    ir_dropped: tuple[int, ...] = ()
    ir_dropout: tuple[int, int] | None = None
    """(first, last) IR frame number of the contiguous loss."""
    depth_jitter_ms: float = 0.0
    rejected: tuple[ClipExpectation | None, ...] = field(default=(), repr=False)
    """Per gesture, None when segmentation must keep it, else the oracle's account of why it
    must be rejected (with `--fps source`; `--fps 25` agrees, checked when planning)."""

    @property
    def streams(self) -> tuple[StreamClock, StreamClock, StreamClock]:
        return self.rgb, self.depth, self.ir

    def truth(self) -> dict[str, dict]:
        """The `streams` entry of truth.json."""
        rgb, depth, ir = self.rgb.truth(), self.depth.truth(), self.ir.truth()
        if self.rgb_switch is not None:
            rgb["rate_switch"] = {"frame": self.rgb_switch[0], "fps": float(self.rgb_switch[1])}
        if self.depth_jitter_ms:
            depth["jitter_ms"] = self.depth_jitter_ms
        if self.ir_dropped:
            ir["dropped"] = list(self.ir_dropped)
        if self.ir_dropout is not None:
            ir["dropout"] = list(self.ir_dropout)
        return {"rgb": rgb, "depth": depth, "ir": ir}

    def why(self, expectation: ClipExpectation) -> str:
        """Why a gesture must be rejected, in words for truth.json."""
        stream = expectation.gap_stream
        error = float(expectation.errors[stream or "ir"]) * 1000
        lost = ""
        if stream == "ir" and self.ir_dropout is not None:
            a, b = self.ir_dropout
            span = f"{float(a / self.ir.fps):.3f}-{float(b / self.ir.fps):.3f}"
            lost = f"IR frames {a}-{b} lost (IR clock {span} s): "
        return f"{lost}a clip frame's nearest {stream} frame is {error:.1f} ms away"

    def rgb_position(self, t: float) -> float:
        """RGB frame coordinate of time t (frame i at its true time -> i), for the poses."""
        fps = float(self.rgb.fps)
        if self.rgb_switch is None:
            return t * fps
        s, low = self.rgb_switch
        t0 = (s - 1) / fps
        return t * fps if t < t0 else s - 1 + (t - t0) * float(low)


def _grid(numbers: Iterable[int], fps: Fraction) -> list[Fraction]:
    """Times n / fps (one Fraction each: planning a long take makes tens of thousands)."""
    return [Fraction(n * fps.denominator, fps.numerator) for n in numbers]


def _microseconds(t: Fraction) -> Fraction:
    return Fraction(round(t * 1_000_000), 1_000_000)


def _clock(
    name: str,
    fps: Fraction,
    times: list[Fraction],
    options: CaptureOptions,
    *,
    numbers: list[int] | None = None,
    offset_s: float = 0.0,
    folder: bool | None = None,
    jitter_us: list[int] | None = None,
) -> StreamClock:
    grid = [t * fps for t in times]
    on_grid = all(g.denominator == 1 for g in grid)
    if numbers is None:
        numbers = [int(g) for g in grid] if on_grid else list(range(len(times)))
    if folder is None:
        folder = options.stream_format == "folder"
    # An image folder off its nominal grid cannot say its times by file name: log them.
    timestamps = name in options.timestamps or (folder and not on_grid)
    if timestamps:
        times = [_microseconds(t) for t in times]
        if jitter_us:
            times = [t + Fraction(j, 1_000_000) for t, j in zip(times, jitter_us, strict=True)]
    slots = numbers[-1] + 1 if on_grid else len(times)
    return StreamClock(
        name, fps, tuple(times), tuple(numbers), slots, offset_s, timestamps, folder, on_grid
    )


def _pick_drops(
    rng: np.random.Generator, slots: int, count: int, keep_clear: set[int]
) -> list[int]:
    """`count` single frame numbers, none first or last, none next to another or `keep_clear`."""
    free = [n for n in range(1, slots - 1) if not {n - 1, n, n + 1} & keep_clear]
    picked: list[int] = []
    while len(picked) < count:
        if not free:
            raise OptionError(
                f"cannot drop {count} single IR frames from a take of {slots} frames; "
                "use fewer --ir-drops or longer takes"
            )
        n = free[int(rng.integers(len(free)))]
        picked.append(n)
        free = [m for m in free if abs(m - n) > 1]
    return sorted(picked)


def plan_clocks(
    options: CaptureOptions,
    *,
    recording: str,
    seed: int,
    light: str,
    rgb_frames: int,
    ir_fps: float,
    ir_offset_s: float,
    spans: list[tuple[int, int]],
    depth_folder: bool = False,
) -> TakeClocks:
    """The clocks of one take, from its schedule (gesture RGB frame spans) and its options."""
    rng = np.random.default_rng([seed, stable_hash("capture:" + recording)])
    fps = rate(options.rgb_fps)
    switch = None
    if light == "dark" and options.rgb_dark_fps is not None and spans:
        start, end = spans[0]
        switch = (start + (end - start + 1) // 2, rate(options.rgb_dark_fps))
    times = _grid(range(rgb_frames), fps)
    if switch is not None:
        s, low = switch  # frame s is the first one 1 / low after its predecessor
        times[s:] = [times[s - 1] + Fraction(i - s + 1) / low for i in range(s, rgb_frames)]
    rgb = _clock("rgb", fps, times, options)
    last = rgb.times[-1]

    # Depth samples the RGB clock at the nominal rate up to the last RGB frame.
    n_depth = math.floor(last * fps + Fraction(1, 2)) + 1
    jitter_us = None
    if options.depth_jitter_ms:
        j = round(options.depth_jitter_ms * 1000)
        jitter_us = [int(v) for v in rng.integers(-j, j + 1, n_depth)]
        jitter_us[0] = abs(jitter_us[0])  # no frame before the take's first moment
    depth = _clock(
        "depth",
        fps,
        _grid(range(n_depth), fps),
        options,
        jitter_us=jitter_us,
        folder=depth_folder,
    )

    ir_rate, offset = rate(ir_fps), Fraction(ir_offset_s)
    ir_slots = math.floor((last + offset) * ir_rate + Fraction(1, 2)) + 1
    tol, ir_tol = TOLERANCE_PERIODS / fps, TOLERANCE_PERIODS / ir_rate

    @functools.lru_cache(maxsize=4)
    def ir_clock_of(missing: frozenset[int]) -> StreamClock:
        kept = [n for n in range(ir_slots) if n not in missing]
        return _clock(
            "ir",
            ir_rate,
            _grid(kept, ir_rate),
            options,
            numbers=kept,
            offset_s=ir_offset_s,
        )

    def ir_clock(missing: set[int]) -> StreamClock:
        return ir_clock_of(frozenset(missing))

    def expect(ir: StreamClock, span: tuple[int, int], fps_out: int | None) -> ClipExpectation:
        streams = {
            "depth": (depth.times, Fraction(0), tol),
            "ir": (ir.times, offset, ir_tol),
        }
        if fps_out is not None:  # RGB itself is resampled onto the output grid
            streams = {"rgb": (rgb.times, Fraction(0), tol), **streams}
        return match_clip(clip_times(rgb.times, *span, fps_out), streams)

    def rejects(ir: StreamClock, span: tuple[int, int]) -> tuple[bool, bool]:
        """Whether the gesture is rejected with `--fps source` and with `--fps CHECK_FPS`."""
        return bool(expect(ir, span, None).reject), bool(expect(ir, span, CHECK_FPS).reject)

    def near(span: tuple[int, int], missing: set[int]) -> bool:
        """Whether a gesture comes within the tolerance of the lost IR frames. No other can
        be rejected: single drops and depth jitter leave every frame within 1.5 periods."""
        start, end = (rgb.times[i] + offset for i in span)
        return min(missing) - 1 < (end + ir_tol) * ir_rate and (start - ir_tol) * ir_rate < (
            max(missing) + 1
        )

    dropout = None
    if options.ir_dropout_s:
        dropout = _place_dropout(
            options.ir_dropout_s,
            rng,
            rgb,
            ir_rate,
            offset,
            ir_slots,
            spans,
            lambda missing, span: (
                rejects(ir_clock(missing), span) if near(span, missing) else (False, False)
            ),
        )
    missing = set(range(dropout[0], dropout[1] + 1)) if dropout else set()
    drops = _pick_drops(rng, ir_slots, options.ir_drops, missing)
    ir = ir_clock(missing | set(drops))
    rejected = []
    for span in spans:
        exp = expect(ir, span, None) if missing and near(span, missing) else None
        if exp is not None and rejects(ir, span) not in ((True, True), (False, False)):
            raise AssertionError(f"{recording}: --fps source and 25 disagree at {span}")
        rejected.append(exp if exp is not None and exp.reject else None)
    return TakeClocks(
        options,
        rgb,
        depth,
        ir,
        switch,
        tuple(drops),
        dropout,
        options.depth_jitter_ms,
        tuple(rejected),
    )


def _place_dropout(
    seconds: float,
    rng: np.random.Generator,
    rgb: StreamClock,
    ir_rate: Fraction,
    offset: Fraction,
    ir_slots: int,
    spans: list[tuple[int, int]],
    rejects: Callable[[set[int], tuple[int, int]], tuple[bool, bool]],
) -> tuple[int, int]:
    """IR frame numbers (first, last) of a loss of `seconds`, centred on a gesture (tried in a
    seeded order) such that exactly that gesture is rejected, with `--fps source` and with
    `--fps 25` alike."""
    lost = max(1, round(Fraction(seconds) * ir_rate))
    for g in rng.permutation(len(spans)):
        start, end = spans[g]
        centre = (rgb.times[start] + rgb.times[end]) / 2 + offset
        first = round(centre * ir_rate) - lost // 2
        if first < 1 or first + lost >= ir_slots:
            continue
        missing = set(range(first, first + lost))
        if rejects(missing, spans[g]) != (True, True):
            continue
        if not any(any(rejects(missing, span)) for k, span in enumerate(spans) if k != g):
            return first, first + lost - 1
    raise OptionError(
        f"an IR dropout of {seconds} s cannot be placed so that exactly one gesture is rejected "
        "(too short to leave a gap wider than the sync tolerance, or longer than the rests "
        "between gestures); change --ir-dropout or --gesture-frames/--rest-frames"
    )
