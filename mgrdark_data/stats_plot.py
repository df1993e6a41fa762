"""The brightness table: its rows, merging with earlier runs, Parquet/CSV files, the terminal
table and the figures (Fig. 4 bars and histograms).

Figures are drawn on `matplotlib.figure.Figure` objects directly (no pyplot), so no GUI backend
or global state is involved.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from .paths import atomic_path
from .stats import CHANNELS, STATS_COLUMNS, StatsError, VideoHistogram, histogram_moments

CHANNEL_COLOURS = {"R": "#d62728", "G": "#2ca02c", "B": "#1f77b4"}

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


def plot_brightness(table: pd.DataFrame, png: str | os.PathLike) -> list[Path]:
    """Draw Fig. 4 (mean and std bars per channel per dataset) and `<stem>_hist.png`.

    Every dataset in `table` is drawn, in table order. Returns both paths.
    """
    png = Path(png)
    if table.empty:
        raise StatsError("the brightness table is empty: nothing to plot")
    datasets = list(dict.fromkeys(table["dataset"]))
    values = {
        (d, c): row
        for d, c, row in zip(
            table["dataset"], table["channel"], table.to_dict("records"), strict=True
        )
    }
    x = np.arange(len(datasets))
    width = 0.8 / len(CHANNELS)
    fig = Figure(figsize=(max(6.0, 1.6 * len(datasets) + 2), 4.0), layout="constrained")
    for ax, stat, title in zip(
        fig.subplots(1, 2), ("mean", "std"), ("Brightness (mean)", "Contrast (std)"), strict=True
    ):
        for i, c in enumerate(CHANNELS):
            heights = [values[(d, c)][stat] for d in datasets]
            ax.bar(x + (i - 1) * width, heights, width, label=c, color=CHANNEL_COLOURS[c])
        ax.set_xticks(x, datasets, rotation=20, ha="right")
        ax.set_ylabel(f"{stat} of 8-bit value / 255")
        ax.set_title(title)
        ax.set_ylim(0, 1 if stat == "mean" else 0.5)
        ax.legend(title="channel")
    _save(fig, png)

    hist_png = png.with_name(f"{png.stem}_hist.png")
    cols = min(3, len(datasets))
    rows = -(-len(datasets) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).ravel()
    for ax, d in zip(axes, datasets, strict=False):
        for c in CHANNELS:
            h = np.asarray(values[(d, c)]["hist"], dtype=float)
            ax.plot(np.arange(256), h / max(h.sum(), 1), color=CHANNEL_COLOURS[c], label=c)
        ax.set_title(d)
        ax.set_xlim(0, 255)
        ax.set_xlabel("8-bit value")
        ax.set_ylabel("fraction of pixels")
    for ax in axes[len(datasets) :]:
        ax.set_visible(False)
    axes[0].legend()
    _save(fig, hist_png)
    return [png, hist_png]


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
