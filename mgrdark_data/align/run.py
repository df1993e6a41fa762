"""`mgrdata align` as a library call: every recording of a raw tree -> an alignment table."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..annotations import RecordingMeta, recording_metadata
from ..errors import MgrdarkError, RecordingError
from ..executors import ExecutorLike, is_local
from ..progress import Progress
from ..recordings import RecordingFiles, discover_recordings, probe_recording
from .decision import AlignmentDecision
from .overlay import write_overlay
from .resolve import MIN_SCORE, resolve_alignments
from .sample import DEFAULT_PAIRS, sample_frame_pairs
from .table import table_format, write_alignment_table

log = logging.getLogger(__name__)


def align_raw(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    annotations: str | os.PathLike | None = None,
    overlay_dir: str | os.PathLike | None = None,
    estimate_sync: bool = False,
    frames: int = DEFAULT_PAIRS,
    min_score: float = MIN_SCORE,
    progress: Progress | None = None,
    workers: int | None = None,
    executor: ExecutorLike = None,
) -> dict[str, AlignmentDecision]:
    """Estimate and decide the IR alignment of every recording under RAW; write the table.

    Args:
        raw: Raw tree.
        out: Table to write (.parquet or .csv).
        annotations: Annotation CSV giving light, scene and subject per recording.
        overlay_dir: When given, one PNG per aligned recording (`<id with __>.png`).
        estimate_sync: Estimate ir_offset_s for recordings without sync.json.
        frames: Frame pairs per recording.
        min_score: Estimates below this fall back (see `resolve_alignments`).
        progress: Progress display, stage "align", one unit a recording.
        workers: Recordings estimated in parallel (default: one per CPU), or the size of a
            dask-local/ray-local cluster.
        executor: Where the estimates run (`mgrdark_data.executors`); None: local processes.
    """
    table_format(Path(out))  # a bad name fails now, not after every recording is estimated
    if not is_local(executor):  # workers elsewhere may start in another folder
        raw = Path(raw).absolute()
    files = discover_recordings(raw)
    if not files:
        raise RecordingError(f"no recordings under {raw}: expected folders holding rgb.<ext>")
    meta = recording_metadata(annotations) if annotations else RecordingMeta()
    decisions = resolve_alignments(
        raw,
        list(files),
        mode="auto",
        min_score=min_score,
        light_of=meta.light,
        scene_of=meta.scene,
        subject_of=meta.subject,
        frames=frames,
        estimate_sync=estimate_sync,
        progress=progress,
        workers=workers,
        executor=executor,
    )
    write_alignment_table(decisions, out)
    if overlay_dir is not None:
        for rid, d in decisions.items():
            if not d.aligned or files[rid].ir is None:
                continue
            try:
                write_overlay_for(
                    files[rid], d, Path(overlay_dir) / f"{rid.replace('/', '__')}.png"
                )
            except (MgrdarkError, OSError) as e:
                log.warning("%s: no overlay written: %s", rid, e)
    return decisions


def write_overlay_for(files: RecordingFiles, decision: AlignmentDecision, path: Path) -> Path:
    """Overlay of the middle frame pair of a recording, at source resolution."""
    if files.ir is None:
        raise RecordingError(f"recording {files.recording} has no ir.* file")
    info = probe_recording(files)
    if info.ir is None:
        raise RecordingError(f"recording {files.recording}: IR left out: {info.ir_error}")
    offset = decision.ir_offset_s
    if offset is None:
        offset = info.sync.ir_offset_s
    pairs = sample_frame_pairs(
        info.rgb,
        info.ir,
        ir_offset_s=offset,
        count=1,
        max_side=None,
        ir_max_side=None,
    )
    if not pairs.rgb:
        raise RecordingError("no frame pair to draw")
    return write_overlay(path, pairs.rgb[0], pairs.ir[0], decision)
