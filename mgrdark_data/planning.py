"""From accepted instances and probed recordings to clip jobs, grouped one task per stream.

A `StreamTask` holds every clip to cut from one stream of one recording, so the stream is
decoded exactly once however many clips it yields. Rows whose span the streams do not cover
are rejected here, before anything is decoded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .align.decision import AlignmentDecision
from .annotations import Instance
from .media.write import TAG_PREFIX, EncoderSettings, read_clip_tag
from .paths import DataRoot
from .recordings import RecordingInfo
from .records import RejectRecord
from .timemap import depth_index, ir_indices


@dataclass(frozen=True)
class ClipJob:
    """One clip file to produce from one stream."""

    clip_id: str
    modality: str
    relpath: str
    """Path relative to the dataset root, as stored in the manifest."""
    path: Path
    source_indices: tuple[int, ...]
    """Source frame of each clip frame, non-decreasing (IR frames may repeat or skip)."""
    tag: str
    """Expected container tag (settings signature and frame count) of a finished clip."""

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
    """Output frame rate (the RGB stream's)."""
    settings: EncoderSettings
    warp: AlignmentDecision | None = None
    """IR only: the alignment that warps each frame into the RGB view (None: native geometry)."""
    view_size: tuple[int, int] | None = None
    """(width, height) of the RGB view a warped stream is written at."""
    jobs: list[ClipJob] = field(default_factory=list)

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


@dataclass
class RecordingPlan:
    """What to do for one recording: jobs per instance and the tasks that produce them."""

    jobs: dict[int, dict[str, ClipJob]] = field(default_factory=dict)
    """source_row -> modality -> job (done or not)."""
    instances: dict[int, Instance] = field(default_factory=dict)
    tasks: list[StreamTask] = field(default_factory=list)
    rejects: list[RejectRecord] = field(default_factory=list)
    done: list[ClipJob] = field(default_factory=list)
    """Jobs whose clip is already written with the same tag (skipped unless --force)."""


def clip_id_for(recording: str, start: int, end: int) -> str:
    """Stable, readable id: 'S01/dark/hall' frames 10-99 -> 'S01__dark__hall__000010_000099'."""
    return f"{recording.replace('/', '__')}__{start:06d}_{end:06d}"


def _signature(parts: dict) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def plan_recording(
    info: RecordingInfo,
    instances: list[Instance],
    root: DataRoot,
    settings: EncoderSettings,
    *,
    warp: AlignmentDecision | None = None,
    force: bool = False,
    index_base: int = 0,
) -> RecordingPlan:
    """Check every instance against the streams and lay out its clip jobs.

    `warp` is the recording's IR alignment when IR is to be written in the RGB view.
    """
    plan = RecordingPlan()
    fps = info.rgb.fps
    assert fps is not None
    streams = {"rgb": info.rgb, "depth": info.depth, "ir": info.ir}
    tasks = {
        m: StreamTask(info.files.recording, m, s.path, fps, settings)
        for m, s in streams.items()
        if s is not None
    }
    if "ir" in tasks and warp is not None and warp.aligned:
        tasks["ir"].warp = warp
        tasks["ir"].view_size = (info.rgb.width, info.rgb.height)
    for inst in sorted(instances, key=lambda i: i.start_frame):
        span = range(inst.start_frame, inst.end_frame + 1)
        sources: dict[str, list[int]] = {"rgb": list(span)}
        n = info.rgb.frames
        if inst.end_frame >= n:
            plan.rejects.append(
                inst.reject(
                    "outside_stream",
                    (
                        f"frames {inst.start_frame + index_base}-{inst.end_frame + index_base} "
                        "run past "
                        f"the RGB stream ({n} frames, last index {n - 1 + index_base})"
                    ),
                    index_base,
                )
            )
            continue
        if info.depth is not None:
            sources["depth"] = [depth_index(i, info.sync.depth_offset_frames) for i in span]
            lo, hi = sources["depth"][0], sources["depth"][-1]
            if lo < 0 or hi >= info.depth.frames:
                plan.rejects.append(
                    inst.reject(
                        "depth_not_covering",
                        (
                            f"needs depth frames {lo}-{hi} (depth_offset_frames="
                            f"{info.sync.depth_offset_frames}) but the depth stream has "
                            f"{info.depth.frames} frames"
                        ),
                        index_base,
                    )
                )
                continue
        if info.ir is not None:
            assert info.ir.fps is not None
            sources["ir"] = ir_indices(
                inst.start_frame, inst.end_frame, fps, info.ir.fps, info.sync.ir_offset_s
            )
            lo, hi = sources["ir"][0], sources["ir"][-1]
            if lo < 0 or hi >= info.ir.frames:
                plan.rejects.append(
                    inst.reject(
                        "ir_not_covering",
                        (
                            f"needs IR frames {lo}-{hi} (ir_offset_s={info.sync.ir_offset_s:g}, "
                            f"{float(info.ir.fps):g} fps) but the IR stream has "
                            f"{info.ir.frames} frames"
                        ),
                        index_base,
                    )
                )
                continue
        clip_id = clip_id_for(info.files.recording, inst.start_frame, inst.end_frame)
        plan.instances[inst.source_row] = inst
        plan.jobs[inst.source_row] = {}
        for modality, indices in sources.items():
            stream = streams[modality]
            assert stream is not None
            task = tasks[modality]
            signature = _signature(
                {
                    "modality": modality,
                    "source": stream.path.name,
                    "bytes": stream.bytes,
                    "indices": hashlib.sha1(str(indices).encode()).hexdigest(),
                    "crf": settings.crf,
                    "preset": settings.preset,
                    "gop": settings.gop,
                    "fps": str(fps),
                    "warp": task.warp_signature(),
                }
            )
            job = ClipJob(
                clip_id,
                modality,
                root.clip_relpath(modality, clip_id),
                root.clip_path(modality, clip_id),
                tuple(indices),
                f"{TAG_PREFIX}{signature}:{len(indices)}",
            )
            plan.jobs[inst.source_row][modality] = job
            if not force and job.path.exists() and read_clip_tag(job.path) == job.tag:
                plan.done.append(job)
            else:
                task.jobs.append(job)
    plan.tasks = [t for t in tasks.values() if t.jobs]
    return plan
