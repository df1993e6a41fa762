"""Cutting: one decode pass over one stream writes every clip planned from it.

Runs inside worker processes, so it takes and returns plain picklable records.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import av
import numpy as np

from .align.geometry import warp_ir_to_rgb
from .errors import MediaError, cannot_write
from .media.read import iter_frames
from .media.write import ClipWriter, count_verified_frames, read_clip_tag, sha256_file
from .planning import ClipJob, StreamTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipOutcome:
    """What happened to one clip job."""

    clip_id: str
    modality: str
    ok: bool
    width: int = 0
    height: int = 0
    bytes: int = 0
    sha256: str = ""
    error: str | None = None
    written: bool = True
    """False when an existing verified clip was kept (a re-run skip)."""
    reason_code: str | None = None
    """The reject code a failure gives its instance, when not the one its error implies."""


def failed_outcome(job: ClipJob, failure: object) -> ClipOutcome:
    """Outcome of a clip whose stream task failed on every attempt (`executors.TaskFailure`)."""
    return ClipOutcome(
        job.clip_id, job.modality, False, error=str(failure), reason_code="task_failed"
    )


def outcome_for_existing(job: ClipJob) -> ClipOutcome:
    """Outcome of a clip already on disk with the expected tag."""
    from .media.probe import probe_stream

    info = probe_stream(job.path)
    return ClipOutcome(
        job.clip_id,
        job.modality,
        True,
        info.width,
        info.height,
        info.bytes,
        sha256_file(job.path),
        written=False,
    )


@dataclass
class ExistingClips:
    """Decides whether a re-run keeps a clip an earlier run wrote.

    A clip is kept only if its container tag matches the job (same source frames, same
    settings) and its size and sha256 equal the manifest record it is about to reuse; a clip
    without a record (its run was killed before the manifest was written) is kept only if it
    still passes the run's verification (`verify`) with the frames its job asks for.
    """

    records: dict[str, tuple[int, str]]
    """Manifest record of each clip: path relative to the root -> (bytes, sha256)."""
    verify: str = "decode"
    """How a clip without a record is checked: as the run verifies what it writes
    (`EncoderSettings.verify`: decode every frame, or count packets)."""
    outcomes: dict[tuple[str, str], ClipOutcome] = field(default_factory=dict)
    mismatched: list[str] = field(default_factory=list)
    """Clips whose bytes no longer match their record (re-cut)."""
    undecodable: list[str] = field(default_factory=list)
    """Clips without a record that no longer decode in full (re-cut)."""

    def keep(self, job: ClipJob) -> bool:
        if read_clip_tag(job.path) != job.tag:
            return False
        try:
            outcome = outcome_for_existing(job)
        except (MediaError, OSError):
            outcome = None
        record = self.records.get(job.relpath)
        if outcome is None or (record and record != (outcome.bytes, outcome.sha256)):
            self.mismatched.append(job.relpath)
            return False
        if record is None and not _still_whole(job, self.verify):
            self.undecodable.append(job.relpath)
            return False
        self.outcomes[(job.clip_id, job.modality)] = outcome
        return True

    def notes(self) -> list[str]:
        out = []
        for paths, why in (
            (self.mismatched, "whose bytes no longer match the manifest"),
            (self.undecodable, "without a manifest record that no longer pass verification"),
        ):
            if paths:
                which = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
                out.append(f"re-cut {len(paths)} clip(s) {why} ({which})")
        return out


def _still_whole(job: ClipJob, verify: str) -> bool:
    """The clip passes the check its writer made before renaming it into place, with exactly
    its job's frames."""
    try:
        return count_verified_frames(job.path, verify) == len(job.source_indices)
    except (MediaError, OSError):
        return False


def run_stream_task(task: StreamTask) -> list[ClipOutcome]:
    """Decode `task.source` once and write all its clips; never raises for media errors.

    A decode error mid-stream fails only the clips not yet finished; clips completed before it
    are kept.
    """
    starts: dict[int, list[ClipJob]] = {}
    for job in task.jobs:
        starts.setdefault(job.first_needed, []).append(job)
    # Each open clip advances through its own index list; indices may repeat (a frame written
    # twice) or skip, so a position per clip is kept rather than a frame -> clip map.
    active: list[tuple[ClipJob, ClipWriter, list[int]]] = []
    finishing: list[Future[ClipOutcome]] = []
    error: str | None = None
    fatal: OSError | None = None
    # Finishing a clip (flush, verify by decoding, rename) runs in a thread so that it overlaps
    # the decoding and encoding of the next clips: libav releases the GIL in both.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish") as closer:
        try:
            for i, frame in iter_frames(task.source, stop=task.frames_to_decode, pts=task.pts):
                for job in starts.pop(i, ()):
                    active.append((job, _open_writer(task, job, frame), [0]))
                if not active:
                    continue
                image = _in_view(task, frame)
                still_open = []
                for job, writer, pos in active:
                    while pos[0] < len(job.source_indices) and job.source_indices[pos[0]] == i:
                        writer.write(image, None if job.pts is None else job.pts[pos[0]])
                        pos[0] += 1
                    if pos[0] == len(job.source_indices):
                        finishing.append(closer.submit(_finish, job, writer))
                    else:
                        still_open.append((job, writer, pos))
                active = still_open
        except (MediaError, av.FFmpegError, OSError) as e:
            if cannot_write(e):
                fatal = e
            error = str(e)
            log.warning("%s %s: %s", task.recording, task.modality, error)
        for _, writer, _ in active:
            writer.abort()
    outcomes = [f.result() for f in finishing]
    if fatal is not None:
        raise fatal
    done = {o.clip_id for o in outcomes}
    return outcomes + [
        ClipOutcome(
            j.clip_id,
            j.modality,
            False,
            error=error
            or (
                f"{task.source.name} ended before frame {j.last_needed} (it decodes to fewer "
                "frames than its container reports)"
            ),
        )
        for j in task.jobs
        if j.clip_id not in done
    ]


def _in_view(task: StreamTask, frame: av.VideoFrame) -> av.VideoFrame | np.ndarray:
    """The frame as the clip shows it: an IR frame warped into the RGB view (black where the IR
    camera sees nothing); an 8-bit depth frame (NvGesture's sk_depth.avi) with its values as
    they are, 0-255 in the 16-bit clip, never rescaled; else the decoded frame itself."""
    if task.modality == "depth" and max(c.bits for c in frame.format.components) <= 8:
        return frame.to_ndarray(format="gray").astype(np.uint16)
    if task.warp is None or task.view_size is None:
        return frame
    return warp_ir_to_rgb(frame.to_ndarray(format="gray"), task.warp, task.view_size)


def _open_writer(task: StreamTask, job: ClipJob, frame: av.VideoFrame) -> ClipWriter:
    if task.view_size is not None:
        width, height = task.view_size
    else:
        width, height = frame.width, frame.height
    return ClipWriter(
        job.path,
        modality=job.modality,
        width=width,
        height=height,
        fps=task.fps,
        settings=task.settings,
        expected_frames=len(job.source_indices),
        tag=job.tag,
        time_base=job.time_base,
    )


def _finish(job: ClipJob, writer: ClipWriter) -> ClipOutcome:
    try:
        path = writer.close()
    except (MediaError, av.FFmpegError, OSError) as e:
        writer.abort()
        if cannot_write(e):
            raise
        return ClipOutcome(job.clip_id, job.modality, False, error=f"verify failed: {e}")
    return ClipOutcome(
        job.clip_id,
        job.modality,
        True,
        writer.width,
        writer.height,
        path.stat().st_size,
        sha256_file(path),
    )
