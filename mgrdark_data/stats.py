"""Brightness statistics of RGB video (DESIGN section 5; the paper's Fig. 4).

For each dataset (a group of videos) and each channel c in R, G, B we keep the exact 256-bin
histogram h_c[v] of the 8-bit values of every counted pixel (libswscale's rgb24 conversion, the
same one `ffmpeg -pix_fmt rgb24` uses) and derive, in exact integer arithmetic:

    N  = sum_v h[v]                     (pixels counted per channel)
    S1 = sum_v v * h[v]
    S2 = sum_v v^2 * h[v]
    mean = S1 / N / 255
    std  = sqrt((N * S2 - S1^2) / N^2) / 255

i.e. the pixel-pooled population mean and standard deviation over all counted frames of the
group, in [0, 1]. `N * S2 - S1^2` is an exact (Python) integer, so the variance suffers no
cancellation; the only rounding is the final conversion to float64 and the square root.

`frames_per_video=K > 0` counts K frames per video, the centres of K equal segments
(`sample_indices`); they are reached by seeking to the keyframe before each one and decoding
forward, and every decoded frame is identified by its presentation timestamp, so the frames
counted are exactly the requested indices. K = 0 decodes every frame sequentially.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from .errors import MediaError, MgrdarkError
from .manifest import read_frame
from .media.probe import count_packets
from .media.sample import (
    SeekUnreliable,
    iter_frames_threaded,
    iter_sampled_frames,
    sample_indices,
)
from .paths import DataRoot
from .records import ClipRecord

logger = logging.getLogger(__name__)

CHANNELS = ("R", "G", "B")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
DATASET_PREFIX = "MGR-Dark"
STATS_COLUMNS = (
    "dataset",
    "channel",
    "mean",
    "std",
    "pixels",
    "frames",
    "videos",
    "frames_per_video",
    "hist",
)
"""Output table columns: the contract ones, then the videos counted, K, and the 256-bin
histogram of the channel (a list of 256 int64 counts; space-separated integers in CSV)."""


class StatsError(MgrdarkError):
    """The statistics cannot be computed or stored (no videos, unreadable output table)."""


# ----------------------------------------------------------------------------- frame maths


def frame_histogram(rgb: np.ndarray) -> np.ndarray:
    """256-bin counts of each channel of an HxWx3 uint8 image, shape (3, 256), int64."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 image, got {rgb.dtype} {rgb.shape}")
    flat = rgb.reshape(-1, 3)
    return np.stack([np.bincount(flat[:, c], minlength=256) for c in range(3)]).astype(np.int64)


def histogram_moments(hist: Sequence[int]) -> tuple[float, float, int]:
    """(mean, std, N) of one channel from its 256-bin histogram, values divided by 255."""
    counts = [int(h) for h in hist]
    n = sum(counts)
    if n == 0:
        return math.nan, math.nan, 0
    s1 = sum(v * h for v, h in enumerate(counts))
    s2 = sum(v * v * h for v, h in enumerate(counts))
    mean = float(Fraction(s1, 255 * n))
    std = math.sqrt(float(Fraction(n * s2 - s1 * s1, n * n))) / 255
    return mean, std, n


# ----------------------------------------------------------------------------- decoding


@dataclass
class VideoHistogram:
    """Per-channel histograms of the frames counted in one video."""

    hist: np.ndarray
    """Shape (3, 256), int64: counts of R, G, B values."""
    frames: int
    """Frames counted."""


def frame_rgb_histogram(frame: av.VideoFrame) -> np.ndarray:
    """`frame_histogram` of a decoded frame, converted to 8-bit RGB by libswscale.

    We ask swscale for planar RGB (gbrp) rather than packed rgb24: the values are the same (the
    tests compare against `ffmpeg -pix_fmt rgb24`), but each channel is then a contiguous plane
    that calcHist reads without a strided pass, which is ~30% cheaper per frame.
    """
    rgb = frame.reformat(format="gbrp", src_color_range=frame.color_range)
    counts = []
    for plane_no in (2, 0, 1):  # gbrp stores G, B, R planes; we want R, G, B
        plane = rgb.planes[plane_no]
        img = np.frombuffer(plane, np.uint8).reshape(rgb.height, plane.line_size)
        counts.append(cv2.calcHist([img[:, : rgb.width]], [0], None, [256], [0, 256]).ravel())
    return np.stack(counts).astype(np.int64)


def video_histogram(path: str | os.PathLike, frames_per_video: int = 0) -> VideoHistogram:
    """Histograms of every frame (`frames_per_video=0`) or of `sample_indices(n, K)` frames."""
    path = Path(path)
    hist = np.zeros((3, 256), np.int64)
    frames = 0
    wanted: set[int] | None = None  # frames to count in a sequential pass; None: all of them
    try:
        if frames_per_video > 0:
            try:
                for frame in iter_sampled_frames(path, frames_per_video):
                    hist += frame_rgb_histogram(frame)
                    frames += 1
                return VideoHistogram(hist, frames)
            except SeekUnreliable as e:
                logger.info("%s: %s; decoding sequentially", path, e)
                hist[:] = 0
                frames = 0
            wanted = set(sample_indices(count_packets(path), frames_per_video))
        for i, frame in enumerate(iter_frames_threaded(path)):
            if wanted is None or i in wanted:
                hist += frame_rgb_histogram(frame)
                frames += 1
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e
    return VideoHistogram(hist, frames)


# ----------------------------------------------------------------------------- groups


@dataclass
class StatsGroup:
    """A named set of videos whose pixels are pooled into one row per channel."""

    name: str
    files: list[Path]


def find_videos(path: str | os.PathLike) -> list[Path]:
    """The video itself, or every video under a folder (recursive, sorted, hidden skipped)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise StatsError(f"{path} is neither a video file nor a folder")
    return sorted(
        p
        for p in path.rglob("*")
        if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


def path_groups(paths: Iterable[str | os.PathLike], name: str | None = None) -> list[StatsGroup]:
    """External datasets: one group per PATH named after it, or all pooled under `name`."""
    paths = [Path(p) for p in paths]
    groups = [
        StatsGroup(name or (p.stem if p.is_file() else p.resolve().name), find_videos(p))
        for p in paths
    ]
    if name is not None:
        groups = [StatsGroup(name, [f for g in groups for f in g.files])]
    for g in groups:
        if not g.files:
            raise StatsError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) found for {g.name!r}")
    return groups


def data_root_groups(data: DataRoot, name: str | None = None) -> list[StatsGroup]:
    """DATA's RGB clips, one group per `light`: 'MGR-Dark (dark)', 'MGR-Dark (daylight)'."""
    clips = read_frame(data.clips_manifest, ClipRecord)
    prefix = name or DATASET_PREFIX
    light = clips["light"].fillna("light unknown")
    groups = []
    for value in sorted(light.unique()):
        rel = clips.loc[light == value, "rgb_path"]
        groups.append(StatsGroup(f"{prefix} ({value})", [data.root / p for p in rel]))
    if not groups:
        raise StatsError(f"{data.clips_manifest} lists no clips")
    return groups


# ----------------------------------------------------------------------------- the run


def _job(args: tuple[Path, int]) -> VideoHistogram | str:
    """Pool task: a histogram, or the error message (one bad video never stops the run)."""
    path, k = args
    try:
        return video_histogram(path, k)
    except MgrdarkError as e:
        return str(e)


def group_histograms(
    groups: Sequence[StatsGroup],
    frames_per_video: int = 0,
    *,
    workers: int = 1,
    progress: bool = False,
) -> tuple[dict[str, VideoHistogram], dict[str, int], list[str]]:
    """Sum the histograms of every group's videos.

    Returns (histogram per group, videos counted per group, error messages of skipped videos).
    """
    jobs = [(g.name, (f, frames_per_video)) for g in groups for f in g.files]
    totals = {g.name: VideoHistogram(np.zeros((3, 256), np.int64), 0) for g in groups}
    videos = dict.fromkeys(totals, 0)
    errors: list[str] = []
    args = [a for _, a in jobs]
    if workers > 1 and len(jobs) > 1:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_job, args, chunksize=max(1, min(16, len(args) // (4 * workers))))
    else:
        pool, results = None, map(_job, args)
    try:
        bar = tqdm(results, total=len(jobs), unit="video", disable=not progress, desc="stats")
        for (group, _), res in zip(jobs, bar, strict=True):
            if isinstance(res, str):
                logger.warning("skipped %s", res)
                errors.append(res)
                continue
            totals[group].hist += res.hist
            totals[group].frames += res.frames
            videos[group] += 1
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return totals, videos, errors


@dataclass
class StatsResult:
    """What `compute_brightness_stats` did."""

    table: pd.DataFrame
    """The whole output table after merging: earlier datasets and the ones just computed."""
    computed: list[str]
    """Datasets computed in this run."""
    out: Path
    plots: list[Path]
    errors: list[str]
    """Messages of videos that could not be decoded (skipped)."""


def compute_brightness_stats(
    paths: Sequence[str | os.PathLike] = (),
    *,
    data: DataRoot | None = None,
    name: str | None = None,
    frames_per_video: int = 0,
    out: str | os.PathLike | None = None,
    plot: str | os.PathLike | None = None,
    workers: int = 1,
    progress: bool = False,
) -> StatsResult:
    """Compute, merge into `out` (default DATA/stats/brightness.parquet) and optionally plot.

    Args:
        paths: External videos or folders; empty means DATA's RGB clips grouped by light.
        data: Dataset root (required when `paths` is empty or `out` is None).
        name: Dataset name for `paths` (pooled), or the prefix replacing 'MGR-Dark' for DATA.
        frames_per_video: Frames counted per video (uniform); 0 counts every frame.
        out: Parquet or CSV table; rows of datasets computed now replace earlier ones.
        plot: PNG path for the Fig. 4 bar charts; histograms go to `<stem>_hist.png`.
        workers: Videos decoded in parallel processes.
        progress: Show a progress bar.
    """
    from .stats_plot import (
        merge_stats,
        plot_brightness,
        read_stats_table,
        stats_rows,
        write_stats_table,
    )

    if frames_per_video < 0:
        raise StatsError("--frames-per-video must be >= 0 (0 means every frame)")
    if paths:
        groups = path_groups(paths, name)
    else:
        if data is None:
            raise StatsError("no PATH given and no dataset root to read clips from")
        groups = data_root_groups(data, name)
    if out is None:
        if data is None:
            raise StatsError("give --out or a dataset root for the output table")
        out = data.stats_dir / "brightness.parquet"
    out = Path(out)
    totals, videos, errors = group_histograms(
        groups, frames_per_video, workers=workers, progress=progress
    )
    empty = [g for g, n in videos.items() if n == 0]
    if empty:
        raise StatsError(f"no readable video in {empty}; first error: {errors[0]}")
    new = stats_rows(totals, videos, frames_per_video)
    table = merge_stats(read_stats_table(out) if out.exists() else None, new)
    write_stats_table(table, out)
    plots = plot_brightness(table, plot) if plot is not None else []
    return StatsResult(table, list(totals), out, plots, errors)
