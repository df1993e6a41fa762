"""A raw tree whose clocks misbehave like a real rig's, with frame-coded streams (every frame
shows its own index): the scenario of `tests/test_sync_segment.py` and `tests/test_inspect.py`.

`S01/dark/vfr`: RGB at 30 fps that halves to 15 fps for 2 s (a Kinect in the dark); IR at
25 fps that drops frame 20 and then 0.64 s, 0.1 s ahead (`ir_offset_s`); depth as unpadded
PNGs `0.png ... 149.png` with a `depth.timestamps.csv` in milliseconds with 0-2 ms of jitter.
`S02/daylight/png`: RGB at 25 fps, depth PNGs `0.png ... 39.png` without `17.png`.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from .media import write_depth_pngs, write_index_video, write_timestamps

# RGB: 30 fps for 2 s, 15 fps for 2 s (the Kinect in the dark), 30 fps for 1 s.
RGB_TICKS = [*range(0, 60), *range(60, 120, 2), *range(120, 150)]
RGB_TIMES = [Fraction(t, 30) for t in RGB_TICKS]
# IR: 25 fps, frame 20 dropped, then 0.64 s without frames (ticks 75-89), 0.1 s offset.
IR_TICKS = [t for t in range(126) if t != 20 and not 75 <= t < 90]
IR_TIMES = [Fraction(t, 25) for t in IR_TICKS]
IR_OFFSET = Fraction(1, 10)
# Depth: PNGs 0.png..149.png (unpadded: text order would scramble them), times from a sidecar
# in milliseconds with 0-2 ms of jitter.
DEPTH_MS = [round(Fraction(1000 * n, 30), 3) + n % 3 for n in range(150)]
DEPTH_TIMES = [ms / 1000 for ms in DEPTH_MS]


def build_raw(raw: Path) -> Path:
    """Write the two recordings under `raw`."""
    rec = raw / "S01/dark/vfr"
    write_index_video(rec / "rgb.mp4", len(RGB_TICKS), fps=30, ticks=RGB_TICKS)
    write_index_video(rec / "ir.mp4", len(IR_TICKS), fps=25, ticks=IR_TICKS, kind="ir")
    write_depth_pngs(rec / "depth", 150, pad=0)
    write_timestamps(rec / "depth.timestamps.csv", [float(ms) for ms in DEPTH_MS], "time_ms")
    (rec / "sync.json").write_text(json.dumps({"ir_offset_s": float(IR_OFFSET)}))
    png = raw / "S02/daylight/png"
    write_index_video(png / "rgb.mp4", 40, fps=25)
    write_depth_pngs(png / "depth", 40, numbers=[n for n in range(40) if n != 17], pad=0)
    return raw
