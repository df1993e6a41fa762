"""The figures of a brightness table: Fig. 4 (mean and std bars per channel per dataset) and
the per-dataset histograms.

Figures are drawn on `matplotlib.figure.Figure` objects directly (no pyplot), so no GUI backend
or global state is involved.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import StatsError
from ..paths import atomic_path
from .table import CHANNELS

CHANNEL_COLOURS = {"R": "#d62728", "G": "#2ca02c", "B": "#1f77b4"}


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
