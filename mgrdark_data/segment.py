"""`segment_dataset`: raw recordings + annotation CSV -> clips and Parquet manifests.

Flow: annotation rows -> instances (+ rejects) -> probed recordings and their timelines ->
rows given in seconds mapped to frames -> clip jobs grouped per stream (the time mapping,
coverage and sync gaps) -> one decode pass per stream in worker processes -> manifest rows.
Clips are verified and renamed into place one by one, and the manifests are written last,
atomically, so a killed run leaves nothing that looks finished and a re-run resumes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import MODALITIES
from .align import AlignmentDecision, resolve_alignments
from .annotations import Instance, RecordingMeta, check_spans, read_instances
from .cutting import ClipOutcome, ExistingClips, failed_outcome, run_stream_task
from .errors import ManifestError, MediaError, RecordingError
from .executors import ExecutorLike, TaskFailure, is_local, run_tasks
from .lock import Held, data_lock
from .manifest import read_table, write_columns, write_records
from .media.write import EncoderSettings
from .paths import DataRoot, remove_debris
from .planning import RecordingPlan, StreamTask, SyncOptions, plan_recording, resolve_seconds
from .progress import Progress, ProgressBar, stage_bar
from .recordings import (
    RecordingFiles,
    RecordingInfo,
    SyncFileError,
    discover_recordings,
    probe_recording,
)
from .records import ClipRecord, FrameRecord, RecordingRecord, RejectRecord
from .rows import clip_record, failed_recording_record, frame_columns, recording_record
from .timeline import TimestampsError
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
    notes: list[str] = field(default_factory=list)
    """What the run repaired on its way: a stale lock, dead runs' debris, re-cut clips."""
    sync_error_ms: dict[str, float] = field(default_factory=dict)
    """Largest sync error per modality over the clips planned."""
    dry_run: bool = False
    rejects: list[RejectRecord] = field(default_factory=list)
    """A dry run's rejects (a real run writes them to rejects.parquet)."""

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
    sync: SyncOptions | None = None,
    dry_run: bool = False,
    recordings: dict[str, RecordingFiles] | None = None,
    rejects: list[RejectRecord] | None = None,
    executor: ExecutorLike = None,
) -> SegmentReport:
    """Cut every annotated instance from every stream of its recording.

    Args:
        raw: The raw tree (README, "Raw layout and annotations"); read only.
        annotations: The annotation CSV (annotations/README.md).
        data: Dataset root (default `$MGRDARK_DATA`, else `./mgrdark-data`).
        align: 'auto' (estimate IR -> RGB per recording), 'none' (native IR geometry) or the
            path of a table written by `mgrdata align`.
        workers: Processes decoding streams in parallel (default: CPU count); with
            `dask-local` or `ray-local`, the size of the local cluster.
        settings: Encoder settings (CRF, preset, keyframe interval).
        index_base: 1 when the CSV counts frames from 1.
        force: Re-encode clips even when a verified clip with the same settings exists.
        classes: A `classes.csv` replacing the packaged vocabulary.
        progress: Progress display: stage "align" (one unit a recording, `--align auto`), then
            stage "segment" (one unit a clip file); None shows nothing.
        sync: Output grid (`--fps`) and sync tolerance (`--sync-tolerance`).
        dry_run: Plan only: the report says which instances would be cut and why the others
            are rejected (`report.rejects`); nothing is decoded, estimated or written.
        recordings: The recordings and their stream files, for a raw tree in another layout
            (`mgrdata import`); default: found under `raw` (`discover_recordings`).
        rejects: Rows an importer rejected before this call, written with the others.
        executor: Where the stream tasks (and the alignment estimates) run: an `--executor`
            spec (`mgrdark_data.executors`) or any `concurrent.futures.Executor`; None is
            local processes. RAW and DATA must be on a file system the workers share.
    """
    root = DataRoot.resolve(data)
    if not is_local(executor):  # workers elsewhere may start in another folder
        raw, root = Path(raw).absolute(), DataRoot(root.root.absolute())
    # A root that cannot be written fails now, not after the decoding; a second writer too.
    lock = data_lock(root, "segment", create=True, log_notes=False)
    with contextlib.nullcontext(Held()) if dry_run else lock as held:
        report = _segment(
            Path(raw),
            annotations,
            root,
            align=align,
            workers=workers,
            settings=settings,
            index_base=index_base,
            force=force,
            classes=classes,
            progress=progress,
            sync=sync,
            dry_run=dry_run,
            recordings=recordings,
            rejects=rejects,
            executor=executor,
        )
    report.notes[:0] = held.notes()
    return report


def _segment(
    raw: Path,
    annotations: str | os.PathLike,
    root: DataRoot,
    *,
    align: str,
    workers: int | None,
    settings: EncoderSettings | None,
    index_base: int,
    force: bool,
    classes: str | os.PathLike | None,
    progress: Progress | None,
    sync: SyncOptions | None,
    dry_run: bool,
    recordings: dict[str, RecordingFiles] | None,
    rejects: list[RejectRecord] | None,
    executor: ExecutorLike,
) -> SegmentReport:
    started = time.perf_counter()
    settings = settings or EncoderSettings()
    sync = sync or SyncOptions()
    vocabulary = load_vocabulary(classes)
    prior = list(rejects or [])
    instances, rejects = read_instances(annotations, vocabulary, index_base=index_base)
    rejects = prior + rejects
    found = discover_recordings(raw) if recordings is None else dict(sorted(recordings.items()))
    report = SegmentReport(root.root, recordings=len(found), dry_run=dry_run)

    infos: dict[str, RecordingInfo] = {}
    failures: dict[str, tuple[str, str]] = {}  # recording -> (reason code, message)
    for rec_id, files in found.items():
        try:
            infos[rec_id] = probe_recording(files)
        except (MediaError, RecordingError) as e:
            failures[rec_id] = (_failure_code(e), str(e))
            report.failed_recordings += 1
            report.warnings.append(f"{rec_id}: {e}")
    for rec_id, info in infos.items():
        problems = [info.depth_error, info.ir_error, *info.truncations()]
        report.warnings += [f"{rec_id}: {e}" for e in problems if e]

    resolved = []
    for inst in instances:
        info = infos.get(inst.recording)
        out = resolve_seconds(inst, info.rgb, index_base) if info else inst
        (rejects if isinstance(out, RejectRecord) else resolved).append(out)
    instances, span_rejects = check_spans(resolved, index_base)
    rejects += span_rejects

    by_recording: dict[str, list[Instance]] = {}
    for inst in instances:
        if inst.recording in failures:
            rejects.append(inst.reject(*failures[inst.recording], index_base))
        elif inst.recording in found:
            by_recording.setdefault(inst.recording, []).append(inst)
        else:
            rejects.append(
                inst.reject(
                    "unknown_recording",
                    (f"no folder {inst.recording!r} with an rgb.* video under {raw}"),
                    index_base,
                )
            )

    # A dry run decides no IR geometry (it changes no clip's frames); a table's offsets count.
    mode = "none" if dry_run and align == "auto" else align
    alignments = _alignments(mode, raw, found, instances, progress, workers, executor)
    rec_rows: dict[str, RecordingRecord] = {
        rec_id: failed_recording_record(raw, found[rec_id], message)
        for rec_id, (_, message) in failures.items()
    }
    for rec_id, info in infos.items():
        alignment = alignments.get(rec_id)
        if alignment is not None and alignment.ir_offset_s is not None:
            infos[rec_id] = info = info.with_ir_offset(alignment.ir_offset_s)
        rec_rows[rec_id] = recording_record(raw, info, alignment)
        note = alignment.note if alignment is not None else None
        if note and not (info.ir_error and info.ir_error in note):  # said once, above
            report.warnings.append(f"{rec_id}: {note}")

    plans: dict[str, RecordingPlan] = {}
    existing = ExistingClips(
        {} if dry_run or force else _clip_records(root), verify=settings.verify
    )
    for rec_id, insts in by_recording.items():
        plans[rec_id] = plan_recording(
            infos[rec_id],
            insts,
            root,
            settings,
            warp=alignments.get(rec_id),
            force=force or dry_run,
            index_base=index_base,
            sync=sync,
            keep=existing.keep,
        )
        rejects += plans[rec_id].rejects
    rejects.sort(key=lambda r: r.source_row)
    report.rejected = len(rejects)
    report.reject_counts = dict(Counter(r.reason_code for r in rejects))
    if dry_run:
        report.clips = sum(len(p.jobs) for p in plans.values())
        report.rejects = rejects
        report.sync_error_ms = _largest_errors(plans.values())
        report.wall_seconds = time.perf_counter() - started
        return report

    tasks = [t for p in plans.values() for t in p.tasks]
    outcomes = dict(existing.outcomes)
    report.notes += existing.notes()
    to_write = sum(len(t.jobs) for t in tasks)
    with stage_bar(progress if to_write else None, "segment", to_write, "clip") as bar:
        for o in _run_tasks(tasks, workers, bar, executor):
            outcomes[(o.clip_id, o.modality)] = o
    # A worker that died mid-clip left its temporary file; we hold the lock, so it is ours.
    remove_debris(root.root / "clips")

    clips: list[ClipRecord] = []
    timings = []
    for rec_id, plan in plans.items():
        info = infos[rec_id]
        for row, jobs in plan.jobs.items():
            inst = plan.instances[row]
            results = {m: outcomes[(j.clip_id, m)] for m, j in jobs.items()}
            failed = [o for o in results.values() if not o.ok]
            if failed:
                code = failed[0].reason_code or (
                    "verify_failed" if failed[0].error.startswith("verify") else "media_error"
                )
                rejects.append(
                    inst.reject(code, f"{failed[0].modality}: {failed[0].error}", index_base)
                )
                continue
            alignment = alignments.get(rec_id)
            report.files_written += sum(o.written for o in results.values())
            report.files_kept += sum(not o.written for o in results.values())
            timing = plan.timings[row]
            aligned = alignment is not None and alignment.aligned
            clips.append(clip_record(inst, info, jobs, results, timing, sync, aligned))
            timings.append((clips[-1].clip_id, timing))
            if any(o.written for o in results.values()):
                report.written += 1
                report.video_seconds += len(timing.times) / float(timing.fps)
            else:
                report.skipped += 1

    clips.sort(key=lambda c: c.clip_id)
    rejects.sort(key=lambda r: r.source_row)
    write_records(clips, ClipRecord, root.clips_manifest)
    write_records(
        [rec_rows[k] for k in sorted(rec_rows)], RecordingRecord, root.recordings_manifest
    )
    write_records(rejects, RejectRecord, root.rejects_manifest)
    write_columns(
        frame_columns(sorted(timings, key=lambda t: t[0])), FrameRecord, root.frames_manifest
    )

    report.clips = len(clips)
    report.rejected = len(rejects)
    report.reject_counts = dict(Counter(r.reason_code for r in rejects))
    report.sync_error_ms = _largest_errors(plans.values())
    report.wall_seconds = time.perf_counter() - started
    return report


def _clip_records(root: DataRoot) -> dict[str, tuple[int, str]]:
    """Size and sha256 of every clip file in the manifest an earlier run wrote."""
    if not root.clips_manifest.exists():
        return {}
    try:
        clips = read_table(root.clips_manifest, ClipRecord).to_pylist()
    except (ManifestError, OSError) as e:
        log.warning("%s; its clips are kept on their tags alone", e)
        return {}
    out = {}
    for row in clips:
        for m in MODALITIES:
            if row.get(f"{m}_path"):
                out[row[f"{m}_path"]] = (row[f"{m}_bytes"], row[f"{m}_sha256"])
    return out


def _failure_code(e: Exception) -> str:
    if isinstance(e, SyncFileError):
        return "bad_sync"
    return "bad_timestamps" if isinstance(e, TimestampsError) else "media_error"


def _largest_errors(plans: Iterable[RecordingPlan]) -> dict[str, float]:
    """Largest sync error per modality over every planned clip, milliseconds."""
    out: dict[str, float] = {}
    for plan in plans:
        for timing in plan.timings.values():
            for m, match in timing.sources.items():
                if not match.given:  # frames given per sensor have no sync error
                    out[m] = max(out.get(m, 0.0), round(match.largest_error * 1000, 3))
    return out


def _alignments(
    mode: str,
    raw: Path,
    found: dict,
    instances: list[Instance],
    progress: Progress | None,
    workers: int | None,
    executor: ExecutorLike,
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
        workers=workers,
        executor=executor,
    )


def _run_tasks(
    tasks: list[StreamTask], workers: int | None, bar: ProgressBar, executor: ExecutorLike
) -> Iterable[ClipOutcome]:
    """Run stream tasks, longest first so the pool's tail is short; a task that failed on
    every attempt fails each of its clips."""
    tasks = sorted(tasks, key=lambda t: -t.frames_to_decode)
    for i, results in run_tasks(run_stream_task, tasks, executor=executor, workers=workers):
        if isinstance(results, TaskFailure):
            results = [failed_outcome(job, results) for job in tasks[i].jobs]
        bar.update(len(results))
        yield from results
