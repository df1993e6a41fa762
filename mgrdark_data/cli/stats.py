"""`mgrdata stats`: brightness and contrast per RGB channel (the paper's Fig. 4)."""

from __future__ import annotations

import click

from ..stats import compute_brightness_stats, format_stats_table
from .common import (
    data_option,
    data_root,
    executor_option,
    quiet_option,
    setup_logging,
    workers_option,
)
from .progress import progress_factory


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@data_option
@click.option(
    "--name",
    help="Dataset name for PATHs (default: each folder/file name); "
    "for DATA's clips it replaces the 'MGR-Dark' prefix.",
)
@click.option(
    "--frames-per-video",
    "frames_per_video",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Frames counted per video (uniform); 0 = every frame.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Output table, .parquet or .csv (default DATA/stats/brightness.parquet); "
    "rows of the same dataset name are replaced, others kept.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    help="PNG of the Fig. 4 bar charts for every dataset in the table; histograms go "
    "to <stem>_hist.png.",
)
@workers_option("Videos decoded", default=1)
@executor_option
@quiet_option
def stats(paths, data, name, frames_per_video, out, plot, workers, executor, quiet) -> None:
    """Pixel-pooled mean and std of R, G, B (in [0, 1]) per dataset.

    With no PATH: DATA's RGB clips, one dataset per light condition. A PATH (video file or a
    folder searched recursively for videos) is an external dataset.
    """
    setup_logging(quiet)
    result = compute_brightness_stats(
        paths,
        data=data_root(data),
        name=name,
        frames_per_video=frames_per_video,
        out=out,
        plot=plot,
        workers=workers,
        progress=progress_factory(quiet),
        executor=executor,
    )
    click.echo(format_stats_table(result.table))
    click.echo(f"computed {', '.join(result.computed)}; table: {result.out}")
    for p in result.plots:
        click.echo(f"figure: {p}")
    if result.errors:
        click.echo(f"{len(result.errors)} video(s) could not be decoded and were skipped", err=True)
