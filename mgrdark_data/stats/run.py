"""`mgrdata stats` as a library call: which videos form each dataset, their summed histograms,
the merged table and the figures."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MgrdarkError, StatsError
from ..executors import ExecutorLike, TaskFailure, is_local, run_tasks
from ..lock import lock_outputs
from ..manifest import read_frame
from ..paths import DataRoot
from ..progress import Progress, stage_bar
from ..records import ClipRecord
from .histogram import VideoHistogram, video_histogram
from .plot import plot_brightness
from .table import merge_stats, read_stats_table, stats_rows, write_stats_table

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
DATASET_PREFIX = "MGR-Dark"


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
    progress: Progress | None = None,
    executor: ExecutorLike = None,
) -> tuple[dict[str, VideoHistogram], dict[str, int], list[str]]:
    """Sum the histograms of every group's videos (progress stage "stats", one unit a video),
    each video a task on `executor` (`mgrdark_data.executors`; None: local processes).

    Returns (histogram per group, videos counted per group, error messages of skipped videos).
    """
    jobs = [(g.name, (f, frames_per_video)) for g in groups for f in g.files]
    totals = {g.name: VideoHistogram(np.zeros((3, 256), np.int64), 0) for g in groups}
    videos = dict.fromkeys(totals, 0)
    errors: list[str] = []
    args = [a for _, a in jobs]
    if not is_local(executor):  # workers elsewhere may start in another folder
        args = [(path.absolute(), k) for path, k in args]
    found: list[VideoHistogram | str | None] = [None] * len(args)
    chunk = max(1, min(16, len(args) // (4 * workers))) if is_local(executor) else 1
    with stage_bar(progress, "stats", len(jobs), "video") as bar:
        for i, res in run_tasks(_job, args, executor=executor, workers=workers, chunksize=chunk):
            found[i] = f"{args[i][0]}: {res}" if isinstance(res, TaskFailure) else res
            bar.update()
    for (group, _), res in zip(jobs, found, strict=True):
        if isinstance(res, str):
            logger.warning("skipped %s", res)
            errors.append(res)
            continue
        assert res is not None
        totals[group].hist += res.hist
        totals[group].frames += res.frames
        videos[group] += 1
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
    progress: Progress | None = None,
    executor: ExecutorLike = None,
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
        progress: Progress display (stage "stats", one unit a video); None shows nothing.
        executor: Where the videos are decoded (`mgrdark_data.executors`); None: local
            processes.
    """
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
    with lock_outputs(data, "stats", out, plot):
        return _compute(groups, Path(out), plot, frames_per_video, workers, progress, executor)


def _compute(
    groups: Sequence[StatsGroup],
    out: Path,
    plot: str | os.PathLike | None,
    frames_per_video: int,
    workers: int,
    progress: Progress | None,
    executor: ExecutorLike,
) -> StatsResult:
    """Histograms of every group, merged into the table at `out`, and the figures."""
    totals, videos, errors = group_histograms(
        groups, frames_per_video, workers=workers, progress=progress, executor=executor
    )
    empty = [g for g, n in videos.items() if n == 0]
    if empty:
        raise StatsError(f"no readable video in {empty}; first error: {errors[0]}")
    new = stats_rows(totals, videos, frames_per_video)
    table = merge_stats(read_stats_table(out) if out.exists() else None, new)
    write_stats_table(table, out)
    plots = plot_brightness(table, plot) if plot is not None else []
    return StatsResult(table, list(totals), out, plots, errors)
