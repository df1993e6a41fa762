"""Pre-resized clip cache (`mgrtrain prepare`): every clip re-encoded once at `size` x `size`.

Decoding a 1920x1080 clip costs several times its 256x256 version, and a run decodes every
clip once per epoch, so the one-off re-encode pays for itself within a few of the paper's 80
epochs. Three formats (`bench/RESULTS.md`, "Loader: uint8 hand-off and cache formats"):

* `jpeg` (default): rgb/ir as MJPEG, every frame a JPEG (.mkv); depth as 16-bit PNG frames
  (.mov). All-intra: the loader decodes only the T sampled frames.
* `h264`: rgb/ir as H.264 crf 18 with `tune fastdecode` (.mp4), depth as FFV1 (.mkv), a
  keyframe every 25 frames: the loader decodes every frame up to the last sampled one. The
  smallest files.
* `raw`: uncompressed uint8 / uint16 frames (`raw.py`): nothing to decode, the loader copies
  the crops; 196,608 bytes per 256x256 RGB frame.

Files live beside the dataset, `DATA/cache/<format>-s<size>/<modality>/<clip_id>.<ext>`, are
resized exactly as the loader resizes on the fly (area for rgb/ir, nearest for depth), written
atomically and checked after writing (every frame decoded back, or the CRC of raw data). Each
file's tag names its source clip's hash, frame count, size and format: a re-run skips files
whose tag and frame count match, and the loader refuses a file whose tag does not (stale).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd

from mgrdark_data.errors import MediaError, MgrdarkError
from mgrdark_data.executors import ExecutorLike, is_local, run_tasks
from mgrdark_data.manifest import read_frame
from mgrdark_data.media import count_decoded_frames, read_clip_tag
from mgrdark_data.media.probe import count_packets
from mgrdark_data.media.write import ENCODER_THREADS
from mgrdark_data.paths import DataRoot, atomic_path
from mgrdark_data.progress import Progress, stage_bar
from mgrdark_data.records import ClipRecord

from .decode import read_clip
from .raw import raw_is_complete, write_raw

log = logging.getLogger(__name__)

CACHE_FORMATS = ("jpeg", "h264", "raw")
"""`mgrtrain prepare --format` / `data.cache_format`; the first is the default."""

_TAG_PREFIX = "mgrdark:cache"


class CacheError(MgrdarkError):
    """The pre-resized clip cache lacks a clip the settings ask for, or holds a stale one."""


@dataclass(frozen=True)
class _Encoding:
    codec: str
    pix_fmt: str
    container: str
    ext: str
    gop: int
    options: dict[str, str] = field(default_factory=dict)


_ENCODINGS: dict[tuple[str, str], _Encoding] = {
    # crf 18 as `mgrdata segment`'s default: a second generation at this quality is invisible.
    # fastdecode (no CABAC, no deblocking) decodes 2-2.5x faster for ~20% more bytes.
    ("h264", "color"): _Encoding(
        "libx264",
        "yuv420p",
        "mp4",
        ".mp4",
        25,
        {"crf": "18", "preset": "veryfast", "tune": "fastdecode", "sc_threshold": "0"},
    ),
    ("h264", "depth"): _Encoding("ffv1", "gray16le", "matroska", ".mkv", 25),
    # JPEG quantiser 3 (of 2-31): at least H.264 crf 18's PSNR on synth and real footage.
    ("jpeg", "color"): _Encoding(
        "mjpeg", "yuvj420p", "matroska", ".mkv", 1, {"qmin": "3", "qmax": "3"}
    ),
    # PNG decodes ~2.5x faster than FFV1 with one frame per group, for ~25% more bytes.
    ("jpeg", "depth"): _Encoding("png", "gray16be", "mov", ".mov", 1),
}
_RAW_EXT = ".raw"


def _kind(modality: str) -> str:
    return "depth" if modality == "depth" else "color"


def cache_path(
    root: DataRoot, size: int, modality: str, clip_id: str, fmt: str = CACHE_FORMATS[0]
) -> Path:
    """Where the cached `size` x `size` version of a clip lives in format `fmt`."""
    if fmt not in CACHE_FORMATS:
        raise ValueError(f"unknown cache format {fmt!r}; expected one of {CACHE_FORMATS}")
    ext = _RAW_EXT if fmt == "raw" else _ENCODINGS[(fmt, _kind(modality))].ext
    return root.root / "cache" / f"{fmt}-s{size}" / modality / f"{clip_id}{ext}"


def cache_tag(row: dict, modality: str, size: int, fmt: str) -> str:
    """The tag a cached file of a manifest row must carry: source hash, frames, size, format."""
    return f"{_TAG_PREFIX}:{fmt}:s{size}:{row[f'{modality}_sha256']}:{int(row['num_frames'])}"


def prepare_command(root: DataRoot, size: int, fmt: str) -> str:
    """The command that (re)writes this cache, for error messages."""
    return f"mgrtrain prepare -d {root.root} --size {size} --format {fmt}"


@dataclass
class CacheReport:
    """What `prepare_cache` did."""

    written: int = 0
    skipped: int = 0
    """Clips already cached from the same source."""
    failed: list[str] = field(default_factory=list)
    """'path: reason' for each clip that could not be cached."""
    bytes: int = 0
    """Size of the cache files of this format and size after the run (written and skipped)."""


@dataclass(frozen=True)
class _Job:
    source: Path
    target: Path
    modality: str
    size: int
    num_frames: int
    fps: float
    tag: str
    fmt: str


def prepare_cache(
    data: str | os.PathLike | DataRoot,
    *,
    size: int = 256,
    modalities: Sequence[str] = ("rgb", "ir", "depth"),
    fmt: str = CACHE_FORMATS[0],
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    executor: ExecutorLike = None,
) -> CacheReport:
    """Write the pre-resized cache for every clip of the manifest.

    Args:
        data: Dataset root.
        size: Side of the cached frames (the training `resize`).
        modalities: Streams to cache; rows without a stream are skipped for it.
        fmt: One of `CACHE_FORMATS` (module docstring).
        workers: Parallel encoder processes.
        force: Re-encode clips that are already cached.
        progress: Progress factory (one bar, `cache <fmt> s<size>`, advanced per clip file).
        executor: Where the clips are encoded (`mgrdark_data.executors`); None: local
            processes. DATA must be on a file system the workers share.

    Returns:
        Counts of written and skipped clips, the failures (logged, never raised), the bytes.
    """
    if fmt not in CACHE_FORMATS:
        raise CacheError(f"unknown cache format {fmt!r}; use one of {', '.join(CACHE_FORMATS)}")
    root = data if isinstance(data, DataRoot) else DataRoot(Path(data))
    clips = read_frame(root.clips_manifest, ClipRecord)
    report = CacheReport()
    jobs: list[_Job] = []
    done: list[Path] = []
    for row in clips.to_dict("records"):
        for m in modalities:
            rel = row[f"{m}_path"]
            if pd.isna(rel):
                continue
            tag = cache_tag(row, m, size, fmt)
            target = cache_path(root, size, m, row["clip_id"], fmt)
            n = int(row["num_frames"])
            if not force and is_current(target, tag, n):
                report.skipped += 1
                done.append(target)
                continue
            jobs.append(_Job(root.root / rel, target, m, size, n, row["fps"], tag, fmt))
    if not is_local(executor):  # workers elsewhere may start in another folder
        jobs = [replace(j, source=j.source.absolute(), target=j.target.absolute()) for j in jobs]
    errors: list[str | None] = [None] * len(jobs)
    with stage_bar(progress, f"cache {fmt} s{size}", report.skipped + len(jobs), "clip") as bar:
        bar.update(report.skipped)
        for i, error in run_tasks(_run_job, jobs, executor=executor, workers=workers):
            errors[i] = str(error) if error is not None else None
            bar.update(1)
    for job, error in zip(jobs, errors, strict=True):
        if error:
            log.warning("cannot cache %s: %s", job.source, error)
            report.failed.append(f"{job.source}: {error}")
        else:
            report.written += 1
            done.append(job.target)
    report.bytes = sum(p.stat().st_size for p in done)
    return report


def is_current(path: Path, tag: str, num_frames: int) -> bool:
    """Whether a cached file exists with this tag and all its frames (no decode: a header and
    the packet count, which catch a stale source and a truncated file)."""
    if not path.exists():
        return False
    if path.suffix == _RAW_EXT:
        return raw_is_complete(path, tag, num_frames)
    if read_clip_tag(path) != tag:
        return False
    try:
        return count_packets(path) == num_frames
    except MediaError:
        return False


def _run_job(job: _Job) -> str | None:
    try:
        frames = read_clip(
            job.source, np.arange(job.num_frames), modality=job.modality, size=job.size
        )
        if job.fmt == "raw":
            write_raw(job.target, frames.transpose(1, 0, 2, 3), job.tag)
        else:
            _encode(job, frames)
    except (MediaError, OSError, av.FFmpegError) as e:
        return str(e)
    return None


def _encode(job: _Job, frames: np.ndarray) -> None:
    """Encode (C, n, H, W) frames into `job.target`, verified by decoding every frame."""
    enc = _ENCODINGS[(job.fmt, _kind(job.modality))]
    depth = job.modality == "depth"
    with atomic_path(job.target) as tmp:
        # bitexact: no random Matroska segment UID or muxing date, so a run anywhere (any
        # executor) writes the same bytes.
        with av.open(
            str(tmp), "w", format=enc.container, container_options={"fflags": "+bitexact"}
        ) as out:
            out.metadata["comment"] = job.tag
            stream = out.add_stream(enc.codec, rate=Fraction(job.fps))
            stream.width = stream.height = job.size
            stream.pix_fmt = enc.pix_fmt
            stream.codec_context.gop_size = enc.gop
            # x264 slices frames by its thread count: fixed, the bytes do not depend on the
            # CPUs this process may use (the rule `mgrdata segment` follows).
            stream.codec_context.thread_count = ENCODER_THREADS
            stream.options = dict(enc.options)
            for i in range(frames.shape[1]):
                if depth:
                    frame = av.VideoFrame.from_ndarray(frames[0, i], format="gray16le")
                else:
                    rgb = np.ascontiguousarray(frames[:, i].transpose(1, 2, 0))
                    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        got = count_decoded_frames(tmp, full=True)
        if got != job.num_frames:
            raise MediaError(f"{tmp} decodes to {got} frames, expected {job.num_frames}")
