"""The brightness table: its schema, its rows, merging with earlier runs, Parquet/CSV files and
the terminal view.

Columns: the contract ones (`dataset, channel, mean, std, pixels, frames`), then the videos
counted, K (frames per video) and the 256-bin histogram of the channel (a list of 256 int64
counts; space-separated integers in CSV).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StatsError
from ..paths import atomic_path
from .histogram import VideoHistogram, histogram_moments

CHANNELS = ("R", "G", "B")
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
STATS_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("mean", pa.float64()),
        pa.field("std", pa.float64()),
        pa.field("pixels", pa.int64(), nullable=False),
        pa.field("frames", pa.int64(), nullable=False),
        pa.field("videos", pa.int64(), nullable=False),
        pa.field("frames_per_video", pa.int64(), nullable=False),
        pa.field("hist", pa.list_(pa.int64()), nullable=False),
    ],
    metadata={b"mgrdark.schema": b"brightness/1"},
)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def write_stats_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write atomically; CSV stores each histogram as 256 space-separated integers."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if _is_csv(path):
            df = table.copy()
            df["hist"] = [" ".join(str(int(x)) for x in h) for h in df["hist"]]
            df.to_csv(tmp, index=False, float_format="%.17g")
        else:
            rows = table[list(STATS_COLUMNS)].to_dict("records")
            pq.write_table(pa.Table.from_pylist(rows, schema=STATS_SCHEMA), tmp)
    return path


def read_stats_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by `write_stats_table` (histograms back as lists of ints)."""
    path = Path(path)
    try:
        if _is_csv(path):
            df = pd.read_csv(path, dtype={"dataset": str, "channel": str, "hist": str})
            df["hist"] = [[int(x) for x in h.split()] for h in df["hist"]]
        else:
            df = pq.read_table(path).to_pandas()
            df["hist"] = [list(map(int, h)) for h in df["hist"]]
    except (OSError, ValueError, KeyError, AttributeError, pa.ArrowException) as e:
        raise StatsError(
            f"{path}: not a brightness table ({e}); delete it or pick another --out"
        ) from e
    missing = [c for c in STATS_COLUMNS if c not in df.columns]
    if missing:
        raise StatsError(f"{path}: missing column(s) {missing}; delete it or pick another --out")
    return df[list(STATS_COLUMNS)]


def stats_rows(
    totals: dict[str, VideoHistogram], videos: dict[str, int], frames_per_video: int
) -> pd.DataFrame:
    """The output table rows (one per dataset and channel) for summed histograms."""
    rows = []
    for name, vh in totals.items():
        for c, channel in enumerate(CHANNELS):
            mean, std, n = histogram_moments(vh.hist[c])
            rows.append(
                {
                    "dataset": name,
                    "channel": channel,
                    "mean": mean,
                    "std": std,
                    "pixels": n,
                    "frames": vh.frames,
                    "videos": videos[name],
                    "frames_per_video": frames_per_video,
                    "hist": [int(x) for x in vh.hist[c]],
                }
            )
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))


def merge_stats(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Earlier rows with the new datasets' rows replaced in place; new datasets appended."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    order = list(dict.fromkeys([*old["dataset"], *new["dataset"]]))
    kept = old[~old["dataset"].isin(set(new["dataset"]))]
    merged = pd.concat([kept, new], ignore_index=True)
    rank = {d: i for i, d in enumerate(order)}
    crank = {c: i for i, c in enumerate(CHANNELS)}
    key = merged["dataset"].map(rank) * 3 + merged["channel"].map(crank)
    return merged.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def format_stats_table(table: pd.DataFrame) -> str:
    """A terminal table: one line per dataset with mean and std of R, G, B."""
    name_w = max([len("dataset"), *(len(d) for d in table["dataset"])])
    head = f"{'dataset':<{name_w}}  " + "  ".join(f"{'mean ' + c:>7}" for c in CHANNELS)
    head += "  " + "  ".join(f"{'std ' + c:>7}" for c in CHANNELS) + f"  {'frames':>9}  videos"
    lines = [head, "-" * len(head)]
    for dataset, g in table.groupby("dataset", sort=False):
        by = g.set_index("channel")
        means = "  ".join(f"{by.at[c, 'mean']:7.4f}" for c in CHANNELS)
        stds = "  ".join(f"{by.at[c, 'std']:7.4f}" for c in CHANNELS)
        frames, videos = int(g["frames"].iloc[0]), int(g["videos"].iloc[0])
        lines.append(f"{dataset:<{name_w}}  {means}  {stds}  {frames:>9}  {videos:>6}")
    return "\n".join(lines)
