"""`segment_dataset`: raw recordings + annotation CSV -> clips and Parquet manifests.

Flow: annotation rows -> instances (+ rejects) -> probed recordings -> clip jobs
grouped per stream -> one decode pass per stream in worker processes -> manifest rows.
Clips are verified and renamed into place one by one, and the manifests are written last,
atomically, so a killed run leaves nothing that looks finished and a re-run resumes.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .align import AlignmentDecision, resolve_alignments
from .annotations import Instance, RecordingMeta, parse_annotations
from .cutting import ClipOutcome, outcome_for_existing, run_stream_task
from .errors import MediaError, RecordingError
from .manifest import write_records
from .media.write import EncoderSettings
from .paths import DataRoot, make_dir
from .planning import RecordingPlan, StreamTask, plan_recording
from .progress import Progress, ProgressBar, stage_bar
from .recordings import RecordingInfo, discover_recordings, light_from_path, probe_recording
from .records import ClipRecord, RecordingRecord, RejectRecord
from .vocabulary import load_vocabulary

log = logging.getLogger(__name__)


@dataclass
class SegmentReport:
    """What a segmentation run did."""

    root: Path
    clips: int = 0
    """Instances in the manifest."""
    written: int = 0
    """Instances with at least one clip file written by this run."""
    skipped: int = 0
    """Instances whose every clip was already written and verified."""
    files_written: int = 0
    """Clip files (one per instance and modality) encoded by this run."""
    files_kept: int = 0
    """Clip files already written and verified by an earlier run, kept as they were."""
    rejected: int = 0
    reject_counts: dict[str, int] = field(default_factory=dict)
    recordings: int = 0
    failed_recordings: int = 0
    video_seconds: float = 0.0
    """Duration of the instances cut by this run (one count per instance, not per modality)."""
    wall_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def realtime_factor(self) -> float:
        return self.video_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def segment_dataset(
    raw: str | os.PathLike,
    annotations: str | os.PathLike,
    data: str | os.PathLike | None = None,
    *,
    align: str = "auto",
    workers: int | None = None,
    settings: EncoderSettings | None = None,
    index_base: int = 0,
    force: bool = False,
    classes: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> SegmentReport:
    """Cut every annotated instance from every stream of its recording.

    Args:
        raw: The raw tree (README, "Raw layout and annotations"); read only.
        annotations: The annotation CSV (annotations/README.md).
        data: Dataset root (default `$MGRDARK_DATA`, else `./mgrdark-data`).
        align: 'auto' (estimate IR -> RGB per recording), 'none' (native IR geometry) or the
            path of a table written by `mgrdata align`.
        workers: Processes decoding streams in parallel (default: CPU count).
        settings: Encoder settings (CRF, preset, keyframe interval).
        index_base: 1 when the CSV counts frames from 1.
        force: Re-encode clips even when a verified clip with the same settings exists.
        classes: A `classes.csv` replacing the packaged vocabulary.
        progress: Progress display: stage "align" (one unit a recording, `--align auto`), then
            stage "segment" (one unit a clip file); None shows nothing.
    """
    started = time.perf_counter()
    raw = Path(raw)
    root = DataRoot.resolve(data)
    make_dir(root.root)  # a root that cannot be written fails now, not after the decoding
    settings = settings or EncoderSettings()
    vocabulary = load_vocabulary(classes)
    instances, rejects = parse_annotations(annotations, vocabulary, index_base=index_base)
    found = discover_recordings(raw)
    report = SegmentReport(root.root, recordings=len(found))

    by_recording: dict[str, list[Instance]] = {}
    for inst in instances:
        if inst.recording in found:
            by_recording.setdefault(inst.recording, []).append(inst)
        else:
            rejects.append(
                inst.reject(
                    "unknown_recording",
                    (f"no folder {inst.recording!r} with an rgb.* video under {raw}"),
                    index_base,
                )
            )

    alignments = _alignments(align, raw, found, instances, progress)
    infos: dict[str, RecordingInfo] = {}
    rec_rows: dict[str, RecordingRecord] = {}
    for rec_id, files in found.items():
        alignment = alignments.get(rec_id)
        try:
            infos[rec_id] = probe_recording(files, alignment.ir_offset_s if alignment else None)
            rec_rows[rec_id] = _recording_record(raw, infos[rec_id], alignment)
        except (MediaError, RecordingError) as e:
            code = "bad_sync" if "sync.json" in str(e) else "media_error"
            report.failed_recordings += 1
            report.warnings.append(f"{rec_id}: {e}")
            rec_rows[rec_id] = RecordingRecord(
                recording=rec_id,
                status="error",
                rgb_file=files.rgb.relative_to(raw).as_posix(),
                error=str(e),
            )
            rejects += [i.reject(code, str(e), index_base) for i in by_recording.pop(rec_id, [])]
        if alignment is not None and alignment.note:
            report.warnings.append(f"{rec_id}: {alignment.note}")

    plans: dict[str, RecordingPlan] = {}
    for rec_id, insts in by_recording.items():
        plans[rec_id] = plan_recording(
            infos[rec_id],
            insts,
            root,
            settings,
            warp=alignments.get(rec_id),
            force=force,
            index_base=index_base,
        )
        rejects += plans[rec_id].rejects

    tasks = [t for p in plans.values() for t in p.tasks]
    done = [j for p in plans.values() for j in p.done]
    outcomes = {(o.clip_id, o.modality): o for o in map(outcome_for_existing, done)}
    to_write = sum(len(t.jobs) for t in tasks)
    with stage_bar(progress if to_write else None, "segment", to_write, "clip") as bar:
        for o in _run_tasks(tasks, workers, bar):
            outcomes[(o.clip_id, o.modality)] = o

    clips: list[ClipRecord] = []
    for rec_id, plan in plans.items():
        info = infos[rec_id]
        for row, jobs in plan.jobs.items():
            inst = plan.instances[row]
            results = {m: outcomes[(j.clip_id, m)] for m, j in jobs.items()}
            failed = [o for o in results.values() if not o.ok]
            if failed:
                code = "verify_failed" if failed[0].error.startswith("verify") else "media_error"
                rejects.append(
                    inst.reject(code, f"{failed[0].modality}: {failed[0].error}", index_base)
                )
                continue
            alignment = alignments.get(rec_id)
            report.files_written += sum(o.written for o in results.values())
            report.files_kept += sum(not o.written for o in results.values())
            clips.append(
                _clip_record(inst, info, jobs, results, alignment is not None and alignment.aligned)
            )
            if any(o.written for o in results.values()):
                report.written += 1
                report.video_seconds += inst.num_frames / float(info.rgb.fps)
            else:
                report.skipped += 1

    clips.sort(key=lambda c: c.clip_id)
    rejects.sort(key=lambda r: r.source_row)
    write_records(clips, ClipRecord, root.clips_manifest)
    write_records(
        [rec_rows[k] for k in sorted(rec_rows)], RecordingRecord, root.recordings_manifest
    )
    write_records(rejects, RejectRecord, root.rejects_manifest)

    report.clips = len(clips)
    report.rejected = len(rejects)
    report.reject_counts = dict(Counter(r.reason_code for r in rejects))
    report.wall_seconds = time.perf_counter() - started
    return report


def _alignments(
    mode: str, raw: Path, found: dict, instances: list[Instance], progress: Progress | None
) -> dict[str, AlignmentDecision]:
    """The IR alignment of every recording with IR (`--align auto | FILE`); none at all with
    `--align none`, so those recordings keep native geometry and no alignment columns."""
    if mode == "none":
        return {}
    meta = RecordingMeta.of_instances(instances)
    return resolve_alignments(
        raw,
        [r for r, f in found.items() if f.ir is not None],
        mode=mode,
        light_of=meta.light,
        scene_of=meta.scene,
        subject_of=meta.subject,
        progress=progress,
    )


def _run_tasks(
    tasks: list[StreamTask], workers: int | None, bar: ProgressBar
) -> Iterable[ClipOutcome]:
    """Run stream tasks, longest first so the pool's tail is short."""
    tasks = sorted(tasks, key=lambda t: -t.frames_to_decode)
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    if workers == 1:
        for task in tasks:
            results = run_stream_task(task)
            bar.update(len(results))
            yield from results
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(run_stream_task, t) for t in tasks]):
            results = future.result()
            bar.update(len(results))
            yield from results


def _clip_record(
    inst: Instance, info: RecordingInfo, jobs: dict, results: dict, ir_aligned: bool
) -> ClipRecord:
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
        num_frames=inst.num_frames,
        fps=float(info.rgb.fps),
        source_row=inst.source_row,
        rgb_path=jobs["rgb"].relpath,
        rgb_width=rgb.width,
        rgb_height=rgb.height,
        rgb_bytes=rgb.bytes,
        rgb_sha256=rgb.sha256,
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
    if "ir" in jobs:
        rec.ir_aligned = ir_aligned
    return rec


def _recording_record(
    raw: Path, info: RecordingInfo, alignment: AlignmentDecision | None
) -> RecordingRecord:
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
        rgb_file_bytes=info.rgb.bytes,
        ir_offset_s=info.sync.ir_offset_s,
        depth_offset_frames=info.sync.depth_offset_frames,
        sync_source=info.sync.source,
    )
    if info.depth is not None:
        rec.depth_file, rec.depth_kind = rel(info.depth.path), info.depth.kind
        rec.depth_frames, rec.depth_file_bytes = info.depth.frames, info.depth.bytes
        rec.depth_width, rec.depth_height = info.depth.width, info.depth.height
    if info.ir is not None:
        rec.ir_file, rec.ir_fps = rel(info.ir.path), float(info.ir.fps)
        rec.ir_frames, rec.ir_file_bytes = info.ir.frames, info.ir.bytes
        rec.ir_width, rec.ir_height = info.ir.width, info.ir.height
    if alignment is not None:
        a = alignment
        rec.align_mode = a.mode
        if a.aligned:
            rec.align_scale, rec.align_shift_x, rec.align_shift_y = a.scale, a.shift_x, a.shift_y
        rec.align_score, rec.align_method, rec.align_note = a.score, a.method, a.note
    return rec
