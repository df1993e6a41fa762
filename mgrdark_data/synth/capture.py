"""How the synthetic rig captures a take: options for the streams' clocks and files (README,
"mgrdata synth" and "Raw layout and annotations"); `clocks` plans the frame times.

By default every stream is a constant-rate video (RGB and depth at the RGB rate, IR at its own
rate and clock offset), as before timelines existed. `CaptureOptions` turns on what real rigs
do: a dark take's Kinect colour camera halving its rate inside the take, an IR camera dropping
single frames or a whole stretch, depth with a timestamps file and clock jitter, image folders
instead of videos. Their randomness has its own seed words, so the default output does not
change when an option is added.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..errors import OptionError

STREAMS = ("rgb", "depth", "ir")
RGB_FPS = 25.0
TIME_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1}
"""Microseconds per unit of a timestamps file's column `time_<unit>`."""


@dataclass(frozen=True)
class CaptureOptions:
    """Departures from ideal constant-rate videos; all off by default."""

    rgb_fps: float = RGB_FPS
    """Nominal RGB rate; depth runs at it too."""
    rgb_dark_fps: float | None = None
    """Dark takes' RGB switches to this rate in the middle of their first gesture."""
    ir_drops: int = 0
    """Single IR frames dropped per take (never two in a row, never first or last)."""
    ir_dropout_s: float = 0.0
    """Length of one contiguous IR loss per take, over a gesture that must then be rejected."""
    timestamps: tuple[str, ...] = ()
    """Streams written with a `<stream>.timestamps.csv` (true times in whole microseconds)."""
    timestamps_unit: str = "us"
    """Column of the timestamps files: time_s, time_ms or time_us (exact decimals)."""
    depth_jitter_ms: float = 0.0
    """Largest clock jitter of depth frame times (uniform); implies a depth timestamps file."""
    stream_format: str = "video"
    """'video' or 'folder': RGB and IR as image folders named by frame number."""
    stamp: bool = False
    """Draw each frame's index in stream order as a 4x4 binary code in its top-left corner."""

    def __post_init__(self) -> None:
        ts = set(self.timestamps) | ({"depth"} if self.depth_jitter_ms else set())
        if not ts <= set(STREAMS):
            raise OptionError(f"timestamps streams must be among {STREAMS}, got {sorted(ts)}")
        object.__setattr__(self, "timestamps", tuple(s for s in STREAMS if s in ts))
        if self.rgb_fps <= 0 or (self.rgb_dark_fps is not None and self.rgb_dark_fps <= 0):
            raise OptionError("frame rates must be positive")
        if self.ir_drops < 0 or self.ir_dropout_s < 0:
            raise OptionError("ir_drops and ir_dropout_s must be >= 0")
        if self.timestamps_unit not in TIME_UNITS:
            raise OptionError(f"timestamps_unit must be one of {list(TIME_UNITS)}")
        if self.stream_format not in ("video", "folder"):
            raise OptionError(
                f"stream_format must be 'video' or 'folder', not {self.stream_format}"
            )
        if not 0 <= self.depth_jitter_ms <= 250 / self.rgb_fps:
            # A quarter period keeps frames in order and within the sync tolerance.
            raise OptionError(
                f"depth jitter must be 0 to {250 / self.rgb_fps:.3g} ms (a quarter of a frame "
                f"period at {self.rgb_fps:g} fps), got {self.depth_jitter_ms}"
            )


CAPTURE_PRESETS = {
    "kinect": CaptureOptions(
        rgb_fps=30.0,
        rgb_dark_fps=15.0,
        ir_drops=3,
        ir_dropout_s=0.3,
        timestamps=("depth",),
        timestamps_unit="ms",
        depth_jitter_ms=3.0,
    ),
}
"""Realistic combinations (`mgrdata synth --rig NAME`): Kinect V2 colour at 30 fps halving to
15 in the dark, depth at 30 with a millisecond timestamps log, a USB IR camera that drops."""


def capture_options(rig: str | None = None, **given: object) -> CaptureOptions:
    """Options from a preset (`CAPTURE_PRESETS`, none: all off) with the `given` fields that
    are not None replacing its values."""
    if rig is not None and rig not in CAPTURE_PRESETS:
        raise OptionError(f"unknown rig {rig!r}; known: {sorted(CAPTURE_PRESETS)}")
    base = CAPTURE_PRESETS[rig] if rig else CaptureOptions()
    names = {f.name for f in fields(CaptureOptions)}
    unknown = set(given) - names
    if unknown:
        raise OptionError(f"unknown capture options {sorted(unknown)}")
    return replace(base, **{k: v for k, v in given.items() if v is not None})
