"""From accepted instances and probed recordings to clip jobs, grouped one task per stream.

Every clip frame k has a time t_k on the RGB clock (the RGB frames start..end, or the `--fps`
grid); each stream contributes its frame nearest t_k + its offset (`timemap.match`), and an
instance is rejected here, before anything is decoded, when a stream does not cover its span
or has no frame within the sync tolerance of some t_k (docs/architecture.md, "Time model").
A `StreamTask` holds every clip to cut from one stream of one recording, so the stream is
decoded exactly once however many clips it yields.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import numpy as np

from .align.decision import AlignmentDecision
from .annotations import Instance
from .errors import OptionError
from .media.write import TAG_PREFIX, EncoderSettings, read_clip_tag
from .paths import DataRoot
from .recordings import RecordingInfo, Stream
from .records import RejectRecord
from .timemap import (
    TOLERANCE_PERIODS,
    Match,
    Times,
    covers,
    frame_times,
    grid,
    match,
    seconds_times,
    virtual_index,
)

MODALITIES = ("rgb", "depth", "ir")
MAX_TIME_BASE = 90000
"""Finest time base written into a variable-rate clip (the MPEG 90 kHz clock)."""


@dataclass(frozen=True)
class SyncOptions:
    """How clip frames are timed and how far a matched frame may be from its time."""

    fps: Fraction | None = None
    """None: clip frames are the RGB frames start..end (`--fps source`); else every modality
    is resampled to this rate (`--fps F`)."""
    tolerance_s: Fraction | None = None
    """Largest sync error accepted, seconds (`--sync-tolerance`); None: 1.5 nominal frame
    periods of each stream."""

    def tolerance(self, stream: Stream) -> Fraction:
        if self.tolerance_s is not None:
            return self.tolerance_s
        return TOLERANCE_PERIODS * stream.timeline.period

    @classmethod
    def parse(cls, fps: str = "source", tolerance_ms: float | None = None) -> SyncOptions:
        """From the CLI's `--fps source|F` and `--sync-tolerance MS` (OptionError if bad)."""
        rate = None
        if fps.strip().lower() != "source":
            try:
                rate = Fraction(Decimal(fps.strip()))
            except (InvalidOperation, ValueError, OverflowError):
                rate = None
            if rate is None or rate <= 0:
                raise OptionError(f"--fps must be 'source' or a positive rate like 25, got {fps!r}")
        if tolerance_ms is not None and not (tolerance_ms > 0 and math.isfinite(tolerance_ms)):
            raise OptionError(
                f"--sync-tolerance must be a positive number of ms, got {tolerance_ms}"
            )
        tol = None if tolerance_ms is None else Fraction(Decimal(repr(tolerance_ms))) / 1000
        return cls(rate, tol)


@dataclass(frozen=True)
class ClipJob:
    """One clip file to produce from one stream."""

    clip_id: str
    modality: str
    relpath: str
    """Path relative to the dataset root, as stored in the manifest."""
    path: Path
    source_indices: tuple[int, ...]
    """Source frame of each clip frame, non-decreasing (frames may repeat or skip)."""
    tag: str
    """Expected container tag (settings signature and frame count) of a finished clip."""
    pts: tuple[int, ...] | None = None
    """Variable-rate clip: each frame's presentation time in `time_base` units; None: frame k
    at k / `StreamTask.fps`."""
    time_base: Fraction | None = None

    @property
    def first_needed(self) -> int:
        return self.source_indices[0]

    @property
    def last_needed(self) -> int:
        return self.source_indices[-1]


@dataclass
class StreamTask:
    """All clips of one stream of one recording: one decode pass produces them all."""

    recording: str
    modality: str
    source: Path
    fps: Fraction
    """Output frame rate (the RGB stream's, or `--fps`)."""
    settings: EncoderSettings
    warp: AlignmentDecision | None = None
    """IR only: the alignment that warps each frame into the RGB view (None: native geometry)."""
    view_size: tuple[int, int] | None = None
    """(width, height) of the RGB view a warped stream is written at."""
    jobs: list[ClipJob] = field(default_factory=list)
    pts: np.ndarray | None = None
    """The source's frame timestamps from probing; decoding checks every frame against them."""

    def warp_signature(self) -> dict | None:
        """What of the warp goes into a clip's tag (a changed alignment re-encodes the clip)."""
        if self.warp is None or self.view_size is None:
            return None
        w = self.warp
        width, height = self.view_size
        return {
            "scale": w.scale,
            "shift_x": w.shift_x,
            "shift_y": w.shift_y,
            "width": width,
            "height": height,
        }

    @property
    def frames_to_decode(self) -> int:
        return max(j.last_needed for j in self.jobs) + 1 if self.jobs else 0


@dataclass(frozen=True, eq=False)
class ClipTiming:
    """What one instance's clips show: clip frame times and each modality's source frames."""

    times: Times
    """t_k of every clip frame on the RGB clock."""
    sources: dict[str, Match]
    """modality -> the source frame of each clip frame and its sync error. A modality's frames
    could also be given explicitly (per-sensor annotations) instead of matched."""
    fps: Fraction
    """Rate the clips are written at (for a variable-rate clip, its average rate)."""
    pts: tuple[int, ...] | None = None
    """Variable-rate clip: frame times in `time_base` units from the first frame."""
    time_base: Fraction | None = None


@dataclass
class RecordingPlan:
    """What to do for one recording: jobs per instance and the tasks that produce them."""

    jobs: dict[int, dict[str, ClipJob]] = field(default_factory=dict)
    """source_row -> modality -> job (done or not)."""
    instances: dict[int, Instance] = field(default_factory=dict)
    timings: dict[int, ClipTiming] = field(default_factory=dict)
    """source_row -> clip frame times and source frames."""
    tasks: list[StreamTask] = field(default_factory=list)
    rejects: list[RejectRecord] = field(default_factory=list)
    done: list[ClipJob] = field(default_factory=list)
    """Jobs whose clip is already written with the same tag (skipped unless --force)."""


def clip_id_for(recording: str, start: int, end: int) -> str:
    """Stable, readable id: 'S01/dark/hall' frames 10-99 -> 'S01__dark__hall__000010_000099'."""
    return f"{recording.replace('/', '__')}__{start:06d}_{end:06d}"


def _signature(parts: dict) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def resolve_seconds(inst: Instance, rgb: Stream, index_base: int = 0) -> Instance | RejectRecord:
    """An instance given in seconds with the nearest RGB frames as its span (or a reject when a
    time lies outside the RGB stream); instances with frames come back unchanged."""
    if inst.resolved:
        return inst
    start_s, end_s = inst.seconds()
    tl = rgb.timeline
    if not (covers(tl, start_s) and covers(tl, end_s)):
        return inst.reject(
            "outside_stream",
            f"{inst.start_s}-{inst.end_s} s run past the RGB stream ({len(tl)} frames, "
            f"{tl.seconds[0]:.3f}-{tl.seconds[-1]:.3f} s)",
            index_base,
        )
    start, end = match(tl, seconds_times([start_s, end_s])).indices.tolist()
    return replace(inst, start_frame=start, end_frame=end)


def time_instance(
    info: RecordingInfo, inst: Instance, sync: SyncOptions, index_base: int = 0
) -> ClipTiming | RejectRecord:
    """Clip frame times and every modality's source frames for one instance, or its reject."""
    rgb = info.rgb.timeline
    start, end = inst.start_frame, inst.end_frame
    assert start is not None and end is not None
    if end >= len(rgb):
        n = len(rgb)
        return inst.reject(
            "outside_stream",
            f"frames {start + index_base}-{end + index_base} run past the RGB stream "
            f"({n} frames, last index {n - 1 + index_base})",
            index_base,
        )
    if sync.fps is None:
        times = frame_times(rgb, start, end)
        indices = np.arange(start, end + 1, dtype=np.int64)
        sources = {"rgb": Match(indices, np.zeros(len(indices)))}
    else:
        times = grid(rgb.time(start), rgb.time(end), sync.fps)
        sources = {"rgb": match(rgb, times)}
        gap = _gap(info.rgb, times, sources["rgb"], sync, Fraction(0))
        if gap:
            return inst.reject("sync_gap", gap, index_base)
    for name in ("depth", "ir"):
        stream = info.stream(name)
        if stream is None:
            continue
        offset = info.offset(name)
        targets = times.shifted(offset)
        tl = stream.timeline
        first, last = targets.exact(0), targets.exact(len(targets) - 1)
        if not (covers(tl, first) and covers(tl, last)):
            lo, hi = virtual_index(tl, first), virtual_index(tl, last)
            why = _not_covering(info, name, lo, hi)
            return inst.reject(f"{name}_not_covering", why, index_base)
        sources[name] = match(tl, targets)
        gap = _gap(stream, times, sources[name], sync, offset)
        if gap:
            return inst.reject("sync_gap", gap, index_base)
    return _timing(rgb, times, sources, sync, start, end)


def _not_covering(info: RecordingInfo, name: str, lo: int, hi: int) -> str:
    stream = info.stream(name)
    assert stream is not None
    if name == "ir":
        why = f"ir_offset_s={info.sync.ir_offset_s:g}, {float(stream.fps):g} fps"
        label = "IR"
    elif info.sync.depth_offset_s is not None:
        why, label = f"depth_offset_s={info.sync.depth_offset_s:g}", "depth"
    else:
        why, label = f"depth_offset_frames={info.sync.depth_offset_frames}", "depth"
    return (
        f"needs {label} frames {lo}-{hi} ({why}) but the {label} stream has {stream.frames} frames"
    )


def _gap(stream: Stream, times: Times, m: Match, sync: SyncOptions, offset: Fraction) -> str:
    """'' when every match is within tolerance, else the reason naming the gap."""
    tol = sync.tolerance(stream)
    bad = np.flatnonzero(np.abs(m.errors) > float(tol))
    if not len(bad):
        return ""
    t = times.seconds
    ts = stream.timeline.seconds
    x = t[bad] + float(offset)
    j = np.clip(np.searchsorted(ts, x), 1, len(ts) - 1)
    gap_ms = float((ts[j] - ts[j - 1]).max()) * 1000
    tol_ms = float(tol) * 1000
    a, b = t[bad[0]], t[bad[-1]]
    span = f"{a:.3f} s" if f"{a:.3f}" == f"{b:.3f}" else f"{a:.3f}-{b:.3f} s"
    return (
        f"{stream.name} has no frame within {tol_ms:.4g} ms of {span} "
        f"(largest gap {gap_ms:.0f} ms; tolerance {tol_ms:.4g} ms)"
    )


def _timing(
    rgb, times: Times, sources: dict[str, Match], sync: SyncOptions, start: int, end: int
) -> ClipTiming:
    if sync.fps is not None:
        return ClipTiming(times, sources, sync.fps)
    ticks = rgb.ticks[start : end + 1]
    if rgb.unit == 1 / rgb.rate and bool((np.diff(ticks) == 1).all()):
        return ClipTiming(times, sources, rgb.rate)
    # Variable rate: the clip keeps its frames' own times.
    pts, time_base = ticks - ticks[0], rgb.unit
    if time_base.numerator != 1 or time_base.denominator > MAX_TIME_BASE:
        time_base = Fraction(1, MAX_TIME_BASE)
        pts = np.rint((ticks - ticks[0]) * float(rgb.unit * MAX_TIME_BASE)).astype(np.int64)
        k = np.arange(len(pts))
        pts = np.maximum.accumulate(pts - k) + k  # strictly increasing after rounding
    span = (int(ticks[-1]) - int(ticks[0])) * rgb.unit
    fps = Fraction(len(ticks) - 1) / span if span > 0 else rgb.rate
    return ClipTiming(times, sources, fps, tuple(pts.tolist()), time_base)


def plan_recording(
    info: RecordingInfo,
    instances: list[Instance],
    root: DataRoot,
    settings: EncoderSettings,
    *,
    warp: AlignmentDecision | None = None,
    force: bool = False,
    index_base: int = 0,
    sync: SyncOptions | None = None,
    keep: Callable[[ClipJob], bool] | None = None,
) -> RecordingPlan:
    """Check every instance against the streams and lay out its clip jobs.

    `warp` is the recording's IR alignment when IR is to be written in the RGB view. `keep`
    decides whether an existing clip file is kept (default: its tag matches the job's).
    """
    keep = keep or (lambda job: read_clip_tag(job.path) == job.tag)
    sync = sync or SyncOptions()
    plan = RecordingPlan()
    fps = sync.fps or info.rgb.fps
    tasks = {
        m: StreamTask(info.files.recording, m, s.path, fps, settings, pts=s.info.pts)
        for m in MODALITIES
        if (s := info.stream(m)) is not None
    }
    if "ir" in tasks and warp is not None and warp.aligned:
        tasks["ir"].warp = warp
        tasks["ir"].view_size = (info.rgb.width, info.rgb.height)
    for inst in sorted(instances, key=lambda i: i.start_frame):
        timing = time_instance(info, inst, sync, index_base)
        if isinstance(timing, RejectRecord):
            plan.rejects.append(timing)
            continue
        clip_id = clip_id_for(info.files.recording, inst.start_frame, inst.end_frame)
        plan.instances[inst.source_row] = inst
        plan.timings[inst.source_row] = timing
        plan.jobs[inst.source_row] = {}
        for modality, m in timing.sources.items():
            job = _job(info.stream(modality), tasks[modality], timing, m, clip_id, root, settings)
            plan.jobs[inst.source_row][modality] = job
            if not force and job.path.exists() and keep(job):
                plan.done.append(job)
            else:
                tasks[modality].jobs.append(job)
    plan.tasks = [t for t in tasks.values() if t.jobs]
    return plan


def _job(
    stream: Stream | None,
    task: StreamTask,
    timing: ClipTiming,
    m: Match,
    clip_id: str,
    root: DataRoot,
    settings: EncoderSettings,
) -> ClipJob:
    assert stream is not None
    indices = m.indices.tolist()
    parts = {
        "modality": task.modality,
        "source": stream.path.name,
        "bytes": stream.info.bytes,
        "indices": hashlib.sha1(str(indices).encode()).hexdigest(),
        "crf": settings.crf,
        "preset": settings.preset,
        "gop": settings.gop,
        "fps": str(task.fps),
        "warp": task.warp_signature(),
    }
    if timing.pts is not None:  # only then: constant-rate clips keep their earlier tags
        parts["pts"] = hashlib.sha1(f"{timing.pts}{timing.time_base}".encode()).hexdigest()
    return ClipJob(
        clip_id,
        task.modality,
        root.clip_relpath(task.modality, clip_id),
        root.clip_path(task.modality, clip_id),
        tuple(indices),
        f"{TAG_PREFIX}{_signature(parts)}:{len(indices)}",
        timing.pts,
        timing.time_base,
    )
