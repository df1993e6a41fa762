"""`RAW/truth.json`: its format, and what it says a segmenter must produce.

Format (version 2): `{"version": 2, "recordings": {<recording id>: entry}}`. An entry holds the
take's facts (`subject`, `light`, `scene`, the true IR map `ir_scale`, `ir_shift_x`,
`ir_shift_y`, the clock offset `ir_offset_s`, the nominal `ir_fps` and `rgb_fps`, and for dark
takes `dark_noise`), then

* `streams`: per stream (`rgb`, `depth`, `ir`) its timeline as written: `path` (file or folder
  in the recording), `timeline` (where a reader finds the times: `timestamps`, `pts` or
  `names`), `fps` (nominal rate), `frames` (frames written), `offset_s` (a time t on the RGB
  clock is looked up at t + offset_s in this stream), and the true time of every written frame,
  in stream order, as `time_base` ("num/den") and `pts`: frame k is at pts[k] * time_base,
  where `pts` is a list of integers, each run of three or more equally spaced values
  compacted into `[first, step, count]` (`expand_runs` undoes it). Optional: `timestamps`
  (the timestamps file), `numbers` (an image folder's file-name numbers, compacted alike),
  `rate_switch` (`{"frame": s, "fps": f}`: a dark take's RGB frame s is the first that comes
  1/f after its predecessor), `dropped` (frame numbers a camera skipped, one at a time),
  `dropout` (`[first, last]` frame numbers of one contiguous loss), `jitter_ms` (largest clock
  jitter of a timestamps file).
* `gestures`: per annotated gesture, in start order: `gesture`, `start_frame`, `end_frame`,
  `start_s`, `end_s` (the true times of those RGB frames) and `expect_reject`: `"sync_gap"`
  when a segmenter must reject it (with `why`), else null. The expectation holds for the
  default sync tolerance (1.5 nominal frame periods of each stream) with `--fps source` and
  with `--fps 25`; `clip_expectation` computes it for any other setting.

The functions below are the test oracle for segmentation: an independent statement of the
matching rule (docs/architecture.md, "Time model": each stream contributes its frame nearest in
time to t_k + offset, a tie going to the later frame; a frame farther than the tolerance is a
`sync_gap`), in exact rational arithmetic, so that tests can compare a segmenter with it.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

TRUTH_VERSION = 2
TOLERANCE_PERIODS = Fraction(3, 2)
"""Default sync tolerance in nominal frame periods of the stream matched."""


def rate(fps: float | int | str | Fraction) -> Fraction:
    """A frame rate as an exact fraction (29.97 -> 2997/100, as the encoders write it)."""
    return Fraction(fps).limit_denominator(1001)


def pts_runs(values: Sequence[int]) -> list[int | list[int]]:
    """Integers in compact form (`pts` and `numbers` of truth.json): a run of three or more
    equally spaced values as `[first, step, count]`, any other value as itself."""
    runs: list[list[int]] = []
    for v in values:
        if runs and runs[-1][2] == 1:
            runs[-1][1:] = [v - runs[-1][0], 2]
        elif runs and v == runs[-1][0] + runs[-1][1] * runs[-1][2]:
            runs[-1][2] += 1
        else:
            runs.append([v, 0, 1])
    out: list[int | list[int]] = []
    for first, step, count in runs:
        short = [first + step * k for k in range(count)]
        out.extend(short if count < 3 else [[first, step, count]])
    return out


def expand_runs(runs: Iterable[int | Sequence[int]]) -> list[int]:
    """The integers that `pts_runs` encoded."""
    out: list[int] = []
    for r in runs:
        if isinstance(r, int):
            out.append(r)
        else:
            first, step, count = r
            out.extend(first + step * k for k in range(count))
    return out


def frame_times(stream: dict) -> list[Fraction]:
    """True times of the written frames of one `streams` entry, in stream order."""
    base = Fraction(stream["time_base"])
    return [p * base for p in expand_runs(stream["pts"])]


def nearest(times: Sequence[Fraction], t: Fraction) -> int:
    """Index of the frame nearest in time to `t` (sorted `times`); a tie goes to the later."""
    k = bisect.bisect_left(times, t)
    if k == 0:
        return 0
    if k == len(times):
        return len(times) - 1
    return k if times[k] - t <= t - times[k - 1] else k - 1


def clip_times(
    rgb_times: Sequence[Fraction], start: int, end: int, fps: float | None = None
) -> list[Fraction]:
    """Times t_k of the frames of a clip of RGB frames start..end (inclusive) on the RGB clock:
    the RGB frames' own times (`fps` None, `--fps source`), else t_start + k / fps for every
    t_k <= t_end (`--fps F`)."""
    if fps is None:
        return list(rgb_times[start : end + 1])
    f = rate(fps)
    t0, t1 = rgb_times[start], rgb_times[end]
    return [t0 + k / f for k in range(math.floor((t1 - t0) * f) + 1)]


@dataclass(frozen=True)
class ClipExpectation:
    """What segmentation must produce for one gesture."""

    times: list[Fraction]
    """t_k of every clip frame on the RGB clock."""
    sources: dict[str, list[int]]
    """Per stream, the source frame (index in stream order, from 0) of every clip frame."""
    errors: dict[str, Fraction]
    """Per stream, the largest |time of the source frame - (t_k + offset)| in seconds."""
    reject: str | None
    """'sync_gap' when a stream's error exceeds its tolerance, else None."""
    gap_stream: str | None
    """The stream of that gap (depth before ir), else None."""


def match_clip(
    times: Sequence[Fraction],
    streams: dict[str, tuple[Sequence[Fraction], Fraction, Fraction]],
) -> ClipExpectation:
    """Match clip times against streams given as {name: (frame times, offset, tolerance)}."""
    sources: dict[str, list[int]] = {}
    errors: dict[str, Fraction] = {}
    gap = None
    for name, (frames, offset, tolerance) in streams.items():
        picked = [nearest(frames, t + offset) for t in times]
        sources[name] = picked
        errors[name] = max(
            (abs(frames[k] - (t + offset)) for k, t in zip(picked, times, strict=True)),
            default=Fraction(0),
        )
        if gap is None and errors[name] > tolerance:
            gap = name
    return ClipExpectation(list(times), sources, errors, "sync_gap" if gap else None, gap)


def _entry(truth: dict, recording: str) -> dict:
    try:
        return truth["recordings"][recording]
    except KeyError:
        raise KeyError(f"truth.json has no recording {recording!r}") from None


def _stream(entry: dict, stream: str) -> dict:
    if "streams" not in entry:
        raise KeyError("this truth.json has no stream timelines (version 1); synthesize again")
    return entry["streams"][stream]


def expected_sources(
    truth: dict,
    recording: str,
    times: Iterable[Fraction | float],
    stream: str,
    offset_s: float | None = None,
) -> list[int]:
    """Source frame of `stream` for each RGB-clock time in `times`, by the true timelines.

    Args:
        truth: `truth.json` as loaded.
        recording: recording id.
        times: times t_k in seconds on the RGB clock (floats are taken at their exact value).
        stream: 'rgb', 'depth' or 'ir'.
        offset_s: the stream's offset as the segmenter used it (t_k is looked up at
            t_k + offset_s); default: the true offset (what sync.json says).

    Returns:
        The index in stream order (0-based, as decoded) of the written frame nearest in time to
        each t_k + offset_s; a tie goes to the later frame.
    """
    entry = _stream(_entry(truth, recording), stream)
    frames = frame_times(entry)
    offset = Fraction(entry["offset_s"] if offset_s is None else offset_s)
    return [nearest(frames, Fraction(t) + offset) for t in times]


def clip_expectation(
    truth: dict,
    recording: str,
    start_frame: int,
    end_frame: int,
    *,
    fps: float | None = None,
    offsets: dict[str, float] | None = None,
    tolerance_s: float | None = None,
) -> ClipExpectation:
    """Everything segmentation must produce for the gesture on RGB frames start..end.

    Args:
        truth: `truth.json` as loaded.
        recording: recording id.
        start_frame: first RGB frame (0-based, stream order).
        end_frame: last RGB frame, inclusive.
        fps: None for `--fps source`, else the output rate F (RGB is then matched too).
        offsets: per-stream offsets the segmenter used; default: the true ones.
        tolerance_s: `--sync-tolerance` in seconds; default 1.5 nominal periods per stream.
    """
    entry = _entry(truth, recording)
    rgb_times = frame_times(_stream(entry, "rgb"))
    names = ("rgb", "depth", "ir") if fps is not None else ("depth", "ir")
    streams = {}
    for name in names:
        s = _stream(entry, name)
        offset = (offsets or {}).get(name, s["offset_s"])
        tol = TOLERANCE_PERIODS / rate(s["fps"]) if tolerance_s is None else tolerance_s
        streams[name] = (frame_times(s), Fraction(offset), Fraction(tol))
    return match_clip(clip_times(rgb_times, start_frame, end_frame, fps), streams)


def read_truth(path: str | os.PathLike) -> dict:
    """Load `truth.json` (any version; version 1 has no `streams` or `gestures`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


_FLAT_LIST = r'\[[^\[\]{}"]*\]'
_NUMBER_LISTS = re.compile(rf'\[(?:[^\[\]{{}}"]|{_FLAT_LIST})*\]')


def _one_line(match: re.Match) -> str:
    return re.sub(r"\s+", " ", match.group(0)).replace("[ ", "[").replace(" ]", "]")


def dumps_truth(recordings: dict[str, dict]) -> str:
    """`truth.json` text for {recording id: entry} (in id order): indented, with lists of
    numbers (and lists of them) on one line."""
    entries = dict(sorted(recordings.items()))
    text = json.dumps({"version": TRUTH_VERSION, "recordings": entries}, indent=2)
    return _NUMBER_LISTS.sub(_one_line, text) + "\n"
