"""Pre-resized clip cache (`mgrtrain prepare`): every clip re-encoded once at `size` x `size`.

Loading a 100-frame 1920x1080 RGB clip (T=32, 224 crop) costs about 3x the CPU time of the
same clip cached at 256x256, depth 512x424 about 2.6x (`bench/RESULTS.md`, section loader);
a run decodes every clip once per epoch, so the one-off re-encode pays for itself within a
few epochs of the paper's 80. Cached clips live beside the dataset:

    DATA/cache/s<size>/<modality>/<clip_id>.<ext>    same codecs as DATA/clips

and are resized exactly as the loader resizes on the fly (area for rgb/ir, nearest for depth).
The container comment tags each file with its source hash, so a re-run skips clips whose
source did not change and re-encodes the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd

from mgrdark_data.errors import MediaError, MgrdarkError
from mgrdark_data.manifest import read_frame
from mgrdark_data.media import count_decoded_frames, read_clip_tag
from mgrdark_data.paths import CLIP_EXTENSIONS, DataRoot, atomic_path
from mgrdark_data.progress import Progress, stage_bar
from mgrdark_data.records import ClipRecord

from .decode import read_clip_frames

log = logging.getLogger(__name__)


class CacheError(MgrdarkError):
    """The pre-resized clip cache lacks a clip the settings ask for."""


_TAG_PREFIX = "mgrdark:cache"
_CRF = "18"  # as `mgrdata segment`'s default: a second generation at this quality is invisible
_GOP = 25


def cache_path(root: DataRoot, size: int, modality: str, clip_id: str) -> Path:
    """Where the cached `size` x `size` version of a clip lives."""
    return root.root / "cache" / f"s{size}" / modality / f"{clip_id}{CLIP_EXTENSIONS[modality]}"


@dataclass
class CacheReport:
    """What `prepare_cache` did."""

    written: int = 0
    skipped: int = 0
    """Clips already cached from the same source."""
    failed: list[str] = field(default_factory=list)
    """'path: reason' for each clip that could not be cached."""


@dataclass(frozen=True)
class _Job:
    source: Path
    target: Path
    modality: str
    size: int
    num_frames: int
    fps: float
    tag: str


def prepare_cache(
    data: str | os.PathLike | DataRoot,
    *,
    size: int = 256,
    modalities: Sequence[str] = ("rgb", "ir", "depth"),
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> CacheReport:
    """Write the pre-resized cache for every clip of the manifest.

    Args:
        data: Dataset root.
        size: Side of the cached frames (the training `resize`).
        modalities: Streams to cache; rows without a stream are skipped for it.
        workers: Parallel encoder processes.
        force: Re-encode clips that are already cached.
        progress: Progress factory (one bar, `cache`, advanced per clip file).

    Returns:
        Counts of written and skipped clips and the failures (logged, never raised).
    """
    root = data if isinstance(data, DataRoot) else DataRoot(Path(data))
    clips = read_frame(root.clips_manifest, ClipRecord)
    report = CacheReport()
    jobs: list[_Job] = []
    for row in clips.to_dict("records"):
        for m in modalities:
            rel = row[f"{m}_path"]
            if pd.isna(rel):
                continue
            tag = f"{_TAG_PREFIX}:s{size}:{row[f'{m}_sha256']}:{int(row['num_frames'])}"
            target = cache_path(root, size, m, row["clip_id"])
            if not force and target.exists() and read_clip_tag(target) == tag:
                report.skipped += 1
                continue
            jobs.append(
                _Job(root.root / rel, target, m, size, int(row["num_frames"]), row["fps"], tag)
            )
    with (
        stage_bar(progress, f"cache s{size}", report.skipped + len(jobs), "clip") as bar,
        ProcessPoolExecutor(workers) if workers > 1 else _Inline() as pool,
    ):
        bar.update(report.skipped)
        for job, error in zip(jobs, pool.map(_run_job, jobs), strict=True):
            if error:
                log.warning("cannot cache %s: %s", job.source, error)
                report.failed.append(f"{job.source}: {error}")
            else:
                report.written += 1
            bar.update(1)
    return report


class _Inline:
    """A serial stand-in for a process pool (no pickling, easier to debug)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, items):
        return map(fn, items)


def _run_job(job: _Job) -> str | None:
    try:
        frames = read_clip_frames(
            job.source, np.arange(job.num_frames), modality=job.modality, size=job.size
        )
        _encode(job, frames)
    except (MediaError, OSError, av.FFmpegError) as e:
        return str(e)
    return None


def _encode(job: _Job, frames: np.ndarray) -> None:
    depth = job.modality == "depth"
    with atomic_path(job.target) as tmp:
        fmt = "matroska" if job.target.suffix == ".mkv" else "mp4"
        with av.open(str(tmp), "w", format=fmt) as out:
            out.metadata["comment"] = job.tag
            stream = out.add_stream("ffv1" if depth else "libx264", rate=Fraction(job.fps))
            stream.width = stream.height = job.size
            stream.pix_fmt = "gray16le" if depth else "yuv420p"
            stream.codec_context.gop_size = _GOP
            if not depth:
                stream.options = {"crf": _CRF, "preset": "veryfast", "sc_threshold": "0"}
            for i, a in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(a, format="gray16le" if depth else "rgb24")
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        got = count_decoded_frames(tmp)
        if got != job.num_frames:
            raise MediaError(f"{tmp} decodes to {got} frames, expected {job.num_frames}")
