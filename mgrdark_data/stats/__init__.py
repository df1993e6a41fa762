"""Brightness statistics of RGB video, the paper's Fig. 4 (README, "mgrdata stats").

Modules: `histogram` (frame and video histograms, exact moments), `table` (the output table's
schema, rows, files and merging), `plot` (the figures), `run` (datasets of videos ->
`compute_brightness_stats`). Each imports only the ones before it.
"""

from ..errors import StatsError
from .histogram import (
    VideoHistogram,
    frame_histogram,
    frame_rgb_histogram,
    histogram_moments,
    video_histogram,
)
from .plot import plot_brightness
from .run import (
    DATASET_PREFIX,
    VIDEO_SUFFIXES,
    StatsGroup,
    StatsResult,
    compute_brightness_stats,
    data_root_groups,
    find_videos,
    group_histograms,
    path_groups,
)
from .table import (
    CHANNELS,
    STATS_COLUMNS,
    STATS_SCHEMA,
    format_stats_table,
    merge_stats,
    read_stats_table,
    stats_rows,
    write_stats_table,
)

__all__ = [
    "CHANNELS",
    "DATASET_PREFIX",
    "STATS_COLUMNS",
    "STATS_SCHEMA",
    "VIDEO_SUFFIXES",
    "StatsError",
    "StatsGroup",
    "StatsResult",
    "VideoHistogram",
    "compute_brightness_stats",
    "data_root_groups",
    "find_videos",
    "format_stats_table",
    "frame_histogram",
    "frame_rgb_histogram",
    "group_histograms",
    "histogram_moments",
    "merge_stats",
    "path_groups",
    "plot_brightness",
    "read_stats_table",
    "stats_rows",
    "video_histogram",
    "write_stats_table",
]
