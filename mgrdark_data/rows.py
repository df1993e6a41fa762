"""Manifest rows of a segmentation run: one per clip, per recording and per clip frame.

Pure functions from planned and finished work (`planning`, `cutting`) and probed recordings
(`recordings`) to the records of `mgrdark_data.records`; `segment_dataset` writes them.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from .align.decision import AlignmentDecision
from .annotations import Instance
from .planning import ClipTiming, SyncOptions
from .recordings import STREAMS, RecordingFiles, RecordingInfo, light_from_path
from .records import ClipRecord, FrameRecord, RecordingRecord
from .timeline import describe


def _ms(seconds: float) -> float:
    """Milliseconds to the microsecond: sync errors without float noise in the manifest."""
    return round(seconds * 1000, 3) + 0.0  # + 0.0: no '-0.0' from float noise


def grid_name(sync: SyncOptions) -> str:
    """The manifest's `grid` value: 'source' or the `--fps` rate as given ('25', '29.97')."""
    if sync.fps is None:
        return "source"
    return f"{float(sync.fps):g}"


def clip_record(
    inst: Instance,
    info: RecordingInfo,
    jobs: dict,
    results: dict,
    timing: ClipTiming,
    sync: SyncOptions,
    ir_aligned: bool,
) -> ClipRecord:
    """The clips.parquet row of one instance whose every clip was written and verified."""
    assert inst.start_frame is not None and inst.end_frame is not None
    rgb = results["rgb"]
    rec = ClipRecord(
        clip_id=jobs["rgb"].clip_id,
        recording=inst.recording,
        subject=inst.subject,
        light=inst.light or light_from_path(inst.recording),
        scene=inst.scene,
        gesture=inst.gesture,
        label=inst.label,
        start_frame=inst.start_frame,
        end_frame=inst.end_frame,
        num_frames=len(timing.times),
        fps=float(timing.fps),
        source_row=inst.source_row,
        rgb_path=jobs["rgb"].relpath,
        rgb_width=rgb.width,
        rgb_height=rgb.height,
        rgb_bytes=rgb.bytes,
        rgb_sha256=rgb.sha256,
        grid=grid_name(sync),
        start_s=float(info.rgb.timeline.time(inst.start_frame)),
        end_s=float(info.rgb.timeline.time(inst.end_frame)),
        vfr=timing.pts is not None,
        rgb_sync_error_ms=_ms(timing.sources["rgb"].largest_error),
        extra=inst.extra,
    )
    for m in ("depth", "ir"):
        if m not in jobs:
            continue
        job, o = jobs[m], results[m]
        setattr(rec, f"{m}_path", job.relpath)
        setattr(rec, f"{m}_start_frame", job.source_indices[0])
        setattr(rec, f"{m}_end_frame", job.source_indices[-1])
        setattr(rec, f"{m}_width", o.width)
        setattr(rec, f"{m}_height", o.height)
        setattr(rec, f"{m}_bytes", o.bytes)
        setattr(rec, f"{m}_sha256", o.sha256)
        setattr(rec, f"{m}_sync_error_ms", _ms(timing.sources[m].largest_error))
    if "ir" in jobs:
        rec.ir_aligned = ir_aligned
    return rec


def frame_columns(timings: list[tuple[str, ClipTiming]]) -> dict[str, list | np.ndarray]:
    """The frames.parquet columns (`FrameRecord`) of the given clips, in the given order."""
    cols: dict[str, list] = {f.name: [] for f in fields(FrameRecord)}
    for clip_id, timing in timings:
        n = len(timing.times)
        cols["clip_id"] += [clip_id] * n
        cols["frame"] += list(range(n))
        cols["time_s"] += timing.times.seconds.tolist()
        for m in STREAMS:
            match = timing.sources.get(m)
            if match is None:
                cols[f"{m}_frame"] += [None] * n
                cols[f"{m}_error_ms"] += [None] * n
            else:
                cols[f"{m}_frame"] += match.indices.tolist()
                cols[f"{m}_error_ms"] += (np.round(match.errors * 1000, 3) + 0.0).tolist()
    return cols


def failed_recording_record(raw: Path, files: RecordingFiles, error: str) -> RecordingRecord:
    return RecordingRecord(
        recording=files.recording,
        status="error",
        rgb_file=files.rgb.relative_to(raw).as_posix(),
        error=error,
    )


def recording_record(
    raw: Path, info: RecordingInfo, alignment: AlignmentDecision | None
) -> RecordingRecord:
    """The recordings.parquet row of a probed recording: streams, their timelines' facts (on
    the RGB clock), the offsets and the IR alignment used."""

    def rel(p: Path | None) -> str | None:
        return p.relative_to(raw).as_posix() if p is not None else None

    rec = RecordingRecord(
        recording=info.files.recording,
        status="ok",
        rgb_file=rel(info.rgb.path),
        rgb_fps=float(info.rgb.fps),
        rgb_frames=info.rgb.frames,
        rgb_width=info.rgb.width,
        rgb_height=info.rgb.height,
        rgb_file_bytes=info.rgb.info.bytes,
        ir_offset_s=info.sync.ir_offset_s,
        depth_offset_frames=info.sync.depth_offset_frames,
        sync_source=info.sync.source,
        rgb_kind=info.rgb.info.kind,
        depth_error=info.depth_error,
        ir_error=info.ir_error,
        truncated="; ".join(info.truncations()) or None,
    )
    if info.depth is not None:
        rec.depth_file, rec.depth_kind = rel(info.depth.path), info.depth.info.kind
        rec.depth_frames, rec.depth_file_bytes = info.depth.frames, info.depth.info.bytes
        rec.depth_width, rec.depth_height = info.depth.width, info.depth.height
        rec.depth_fps = float(info.depth.fps)
        rec.depth_offset_s = float(info.offset("depth"))
    if info.ir is not None:
        rec.ir_file, rec.ir_fps = rel(info.ir.path), float(info.ir.fps)
        rec.ir_kind = info.ir.info.kind
        rec.ir_frames, rec.ir_file_bytes = info.ir.frames, info.ir.info.bytes
        rec.ir_width, rec.ir_height = info.ir.width, info.ir.height
    for name in STREAMS:
        stream = info.stream(name)
        if stream is None:
            continue
        facts, offset = describe(stream.timeline), float(info.offset(name))
        setattr(rec, f"{name}_time_source", stream.timeline.source)
        setattr(rec, f"{name}_measured_fps", facts.measured_fps)
        setattr(rec, f"{name}_start_s", facts.start_s - offset)
        setattr(rec, f"{name}_end_s", facts.end_s - offset)
        setattr(rec, f"{name}_duration_s", facts.duration_s)
        setattr(rec, f"{name}_dropped", facts.dropped)
        setattr(rec, f"{name}_largest_gap_ms", _ms(facts.largest_gap_s))
        setattr(rec, f"{name}_segments", len(facts.segments))
    if alignment is not None:
        a = alignment
        rec.align_mode = a.mode
        if a.aligned:
            rec.align_scale, rec.align_shift_x, rec.align_shift_y = a.scale, a.shift_x, a.shift_y
        rec.align_score, rec.align_method, rec.align_note = a.score, a.method, a.note
    return rec
