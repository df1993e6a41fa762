"""One IR alignment decision per recording, as `mgrdata align` and `mgrdata segment` use it.

`--align auto` estimates each recording from a few frame pairs; a low score falls back, in
order, to the daylight take of the same subject and scene, then to the consensus (median) of
the well-aligned recordings of the same scene, then to native IR geometry, each with a note
saying why. The cameras of one rig do not move between takes, which is what makes a sibling's
estimate a fair substitute for a dark take whose RGB is mostly noise.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MgrdarkError, RecordingError
from ..executors import ExecutorLike, TaskFailure, run_tasks
from ..progress import Progress, ProgressBar, stage_bar
from ..recordings import (
    RecordingFiles,
    light_from_path,
    probe_recording,
    recording_files,
    take_key,
)
from .decision import AlignmentDecision, native
from .estimate import Alignment, estimate_alignment
from .sample import DEFAULT_PAIRS, sample_recording
from .table import AlignmentTableError, read_alignment_table

log = logging.getLogger(__name__)

MIN_SCORE = 0.5
"""Estimates scoring below this are replaced by a fallback."""


@dataclass
class _Estimate:
    alignment: Alignment | None
    ir_offset_s: float | None
    sync_score: float | None
    error: str | None = None


def estimate_recording(
    files: RecordingFiles, *, frames: int = DEFAULT_PAIRS, estimate_sync: bool = False
) -> tuple[Alignment, float | None, float | None]:
    """Estimate one recording's alignment in source pixels.

    Returns:
        (alignment, ir_offset_s, sync_score); the offset is estimated (and returned) only when
        `estimate_sync` is set and the recording has no sync.json, else both are None.
    """
    if files.ir is None:
        raise RecordingError(f"recording {files.recording} has no ir.* file")
    info = probe_recording(files)
    if info.ir is None:
        raise RecordingError(f"recording {files.recording}: IR left out: {info.ir_error}")
    given = info.sync.ir_offset_s if files.sync is not None else None
    if given is None and not estimate_sync:
        given = 0.0
    pairs, offset, sync_score = sample_recording(info.rgb, info.ir, ir_offset_s=given, count=frames)
    if not pairs.rgb:
        raise RecordingError(
            f"recording {files.recording}: no RGB frame has an IR frame at ir_offset_s="
            f"{offset}; check sync.json"
        )
    alignment = pairs.to_full_resolution(estimate_alignment(pairs.rgb, pairs.ir))
    return alignment, (offset if sync_score is not None else None), sync_score


def resolve_alignments(
    raw: str | os.PathLike,
    recordings: list[str],
    *,
    mode: str = "auto",
    min_score: float = MIN_SCORE,
    light_of: dict[str, str | None] | None = None,
    scene_of: dict[str, str | None] | None = None,
    subject_of: dict[str, str | None] | None = None,
    frames: int = DEFAULT_PAIRS,
    estimate_sync: bool = False,
    progress: Progress | None = None,
    workers: int | None = 1,
    executor: ExecutorLike = None,
) -> dict[str, AlignmentDecision]:
    """Decide the IR geometry of each recording.

    Args:
        raw: Raw tree.
        recordings: Recording ids to decide for.
        mode: 'auto' (estimate), 'none' (native IR for all) or the path of an alignment table.
        min_score: Estimates below this score fall back (auto mode only).
        light_of: 'dark'/'daylight' per recording id; missing ones are guessed from the path.
        scene_of: Scene per recording id (for the daylight sibling and the scene consensus).
        subject_of: Subject per recording id (for the daylight sibling).
        frames: Frame pairs per recording (auto mode).
        estimate_sync: Also estimate ir_offset_s from motion for recordings without sync.json.
        progress: Progress display, stage "align", one unit a recording (auto mode).
        workers: Recordings estimated in parallel (auto mode; None: one per CPU).
        executor: Where the estimates run (`mgrdark_data.executors`); None: local processes.

    Returns:
        One decision per requested recording id. A recording that cannot be read gets native
        geometry with the error as its note (logged, not raised: one bad take must not stop a
        batch).
    """
    if mode not in ("auto", "none") and not Path(mode).is_file():
        raise AlignmentTableError(
            f"--align {mode!r}: expected 'auto', 'none' or an existing alignment table "
            "written by `mgrdata align`"
        )
    if mode == "none":
        return {r: native("none", None, mode="none") for r in recordings}
    if mode != "auto":
        return _from_table(Path(mode), recordings)
    with stage_bar(progress, "align", len(recordings), "recording") as bar:
        resolver = _Resolver(
            Path(raw),
            recordings,
            min_score,
            light_of or {},
            scene_of or {},
            subject_of or {},
            frames,
            estimate_sync,
            bar,
        )
        resolver.estimate_all(workers, executor)
        return resolver.run()


def _from_table(path: Path, recordings: list[str]) -> dict[str, AlignmentDecision]:
    table = read_alignment_table(path)
    out = {}
    for rid in recordings:
        if rid in table:
            out[rid] = table[rid]
        else:
            log.warning("%s: not in alignment table %s; IR keeps native geometry", rid, path)
            out[rid] = native("native", f"not in alignment table {path.name}", mode="file")
    return out


class _Resolver:
    """Estimates lazily (a sibling is estimated only when a fallback needs it), then decides."""

    def __init__(
        self,
        raw,
        recordings,
        min_score,
        light_of,
        scene_of,
        subject_of,
        frames,
        estimate_sync,
        bar: ProgressBar,
    ):
        self.raw, self.recordings, self.min_score = raw, list(recordings), min_score
        self.requested = set(self.recordings)
        self.light_of, self.scene_of, self.subject_of = light_of, scene_of, subject_of
        self.frames, self.estimate_sync, self.bar = frames, estimate_sync, bar
        self.cache: dict[str, _Estimate] = {}

    def light(self, rid: str) -> str | None:
        return self.light_of.get(rid) or light_from_path(rid)

    def group(self, rid: str) -> tuple:
        """Takes of the same subject and scene share this key."""
        subject, scene = self.subject_of.get(rid), self.scene_of.get(rid)
        if subject and scene:
            return ("meta", subject, scene)
        return ("path", take_key(rid))

    def estimate(self, rid: str) -> _Estimate:
        if rid not in self.cache:
            self.cache[rid] = estimate_task((self.raw, rid, self.frames, self.estimate_sync))
            if rid in self.requested:  # a sibling estimated for a fallback is extra work
                self.bar.set_postfix(recording=rid)
                self.bar.update()
        return self.cache[rid]

    def estimate_all(self, workers: int | None, executor: ExecutorLike) -> None:
        """Estimate every requested recording as tasks on `executor`."""
        jobs = [(self.raw, rid, self.frames, self.estimate_sync) for rid in self.recordings]
        for i, est in run_tasks(estimate_task, jobs, executor=executor, workers=workers):
            rid = self.recordings[i]
            if isinstance(est, TaskFailure):
                log.warning("%s: alignment not estimated: %s", rid, est)
                est = _Estimate(None, None, None, str(est))
            self.cache[rid] = est
            self.bar.set_postfix(recording=rid)
            self.bar.update()

    def good(self, rid: str) -> Alignment | None:
        a = self.estimate(rid).alignment
        return a if a is not None and a.score >= self.min_score else None

    def run(self) -> dict[str, AlignmentDecision]:
        for rid in self.recordings:
            self.estimate(rid)
        return {rid: self.decide(rid) for rid in self.recordings}

    def _siblings(self, rid: str) -> list[str]:
        known = set(self.recordings) | set(self.light_of) | set(self.scene_of)
        if self.group(rid)[0] == "path":
            known |= _daylight_by_path(self.raw, rid)
        return sorted(
            o
            for o in known
            if o != rid and self.group(o) == self.group(rid) and self.light(o) == "daylight"
        )

    def decide(self, rid: str) -> AlignmentDecision:
        est = self.estimate(rid)
        sync = {"ir_offset_s": est.ir_offset_s, "sync_score": est.sync_score}
        a = est.alignment
        if a is None:
            return native("native", est.error, **sync)
        if a.score >= self.min_score:
            return _decision(a, f"auto:{a.method}", None, a.frames_used, sync)
        why = f"own score {a.score:.2f} < {self.min_score:.2f}"
        if self.light(rid) != "daylight":
            for sib in self._siblings(rid):
                good = self.good(sib)
                if good is not None:
                    return _decision(
                        good,
                        "fallback:daylight",
                        f"{why}; used daylight take {sib} (score {good.score:.2f})",
                        a.frames_used,
                        sync,
                    )
        scene = self.scene_of.get(rid)
        if scene:
            peers = [
                self.good(o) for o in self.recordings if o != rid and self.scene_of.get(o) == scene
            ]
            peers = [p for p in peers if p is not None]
            if peers:
                med = Alignment(
                    scale=float(np.median([p.scale for p in peers])),
                    shift_x=float(np.median([p.shift_x for p in peers])),
                    shift_y=float(np.median([p.shift_y for p in peers])),
                    score=float(np.median([p.score for p in peers])),
                )
                return _decision(
                    med,
                    "fallback:scene",
                    f"{why}; used the median of {len(peers)} recording(s) of scene {scene}",
                    a.frames_used,
                    sync,
                )
        log.warning("%s: %s and no fallback; IR keeps native geometry", rid, why)
        return native(
            "native",
            f"{why}; no daylight take or scene consensus to fall back on; IR keeps native geometry",
            frames_used=a.frames_used,
            **sync,
        )


def estimate_task(job: tuple[Path, str, int, bool]) -> _Estimate:
    """One recording's estimate, or why there is none (a task: raw, id, frames, estimate_sync)."""
    raw, rid, frames, estimate_sync = job
    try:
        files = recording_files(raw, rid)
        if files.ir is None:
            return _Estimate(None, None, None, "no ir.* file")
        a, off, sync = estimate_recording(files, frames=frames, estimate_sync=estimate_sync)
    except MgrdarkError as e:
        log.warning("%s: alignment not estimated: %s", rid, e)
        return _Estimate(None, None, None, str(e))
    log.info(
        "%s: scale %.4f shift (%.1f, %.1f) score %.2f", rid, a.scale, a.shift_x, a.shift_y, a.score
    )
    return _Estimate(a, off, sync)


def _decision(
    a: Alignment, method: str, note: str | None, frames_used: int, sync: dict
) -> AlignmentDecision:
    return AlignmentDecision(
        a.scale,
        a.shift_x,
        a.shift_y,
        a.score,
        method,
        note,
        "auto",
        frames_used=frames_used,
        **sync,
    )


def _daylight_by_path(raw: Path, rid: str) -> set[str]:
    """The daylight take laid out beside a dark one: the same id with 'dark' -> 'daylight'."""
    parts = rid.split("/")
    out = set()
    for k, p in enumerate(parts):
        if p.lower() == "dark":
            other = "/".join(parts[:k] + ["daylight"] + parts[k + 1 :])
            if (raw / other).is_dir():
                out.add(other)
    return out
