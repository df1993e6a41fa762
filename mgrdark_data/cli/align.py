"""`mgrdata align`: estimate the IR->RGB alignment of every recording and write a table."""

from __future__ import annotations

import click

from ..align.resolve import MIN_SCORE
from ..align.run import align_raw
from ..align.sample import DEFAULT_PAIRS
from ..lock import lock_outputs
from .common import (
    data_option,
    data_root,
    executor_option,
    quiet_option,
    setup_logging,
    workers_option,
)
from .progress import progress_factory


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@click.command()
@click.argument("raw", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--ann",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Annotation CSV: light, scene and subject per recording (for fallbacks).",
)
@data_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Alignment table to write, .parquet or .csv (default: DATA/manifest/align.csv).",
)
@click.option(
    "--overlay",
    "overlay_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write a PNG per recording: IR edges over the RGB frame, to check by eye.",
)
@click.option(
    "--sync",
    "estimate_sync",
    is_flag=True,
    help="Estimate ir_offset_s from motion for recordings without sync.json.",
)
@click.option(
    "--frames",
    type=click.IntRange(1),
    default=DEFAULT_PAIRS,
    show_default=True,
    help="Frame pairs read per recording.",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=MIN_SCORE,
    show_default=True,
    help="Estimates below this score fall back to the daylight take, the scene "
    "consensus, or native IR geometry.",
)
@workers_option("Recordings estimated")
@executor_option
@quiet_option
def align(
    raw, ann, data, out, overlay_dir, estimate_sync, frames, min_score, workers, executor, quiet
) -> None:
    """IR->RGB alignment per recording of RAW, written to --out (default DATA/manifest/align.csv).

    `mgrdata segment RAW --align FILE` uses the table (hand edits included).
    """
    setup_logging(quiet)
    root = data_root(data)
    out = out or root.alignment_table
    with lock_outputs(root, "align", out, overlay_dir):
        decisions = align_raw(
            raw,
            out,
            annotations=ann,
            overlay_dir=overlay_dir,
            estimate_sync=estimate_sync,
            frames=frames,
            min_score=min_score,
            progress=progress_factory(quiet),
            workers=workers,
            executor=executor,
        )
    width = max([9] + [len(r) for r in decisions])
    click.echo(
        f"{'recording':<{width}}  {'scale':>7}  {'shift_x':>8}  {'shift_y':>8}  "
        f"{'score':>5}  method / note"
    )
    for rid, d in decisions.items():
        extra = f"  ({d.note})" if d.note else ""
        if d.sync_score is not None:
            extra += f"  ir_offset_s={d.ir_offset_s:.3f} (sync score {d.sync_score:.2f})"
        click.echo(
            f"{rid:<{width}}  {_fmt(d.scale, '7.4f')}  {_fmt(d.shift_x, '8.1f')}  "
            f"{_fmt(d.shift_y, '8.1f')}  {_fmt(d.score, '5.2f')}  {d.method}{extra}"
        )
    aligned = sum(d.aligned for d in decisions.values())
    click.echo(f"{aligned} of {len(decisions)} recording(s) aligned; table written to {out}")
