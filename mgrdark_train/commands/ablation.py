"""`mgrtrain ablation`: the paper's Table 4 rows over several seeds, stages shared per seed."""

from __future__ import annotations

from pathlib import Path

import click

from mgrdark_data.cli.progress import progress_factory

from ..mtcd.cli import mtcd_options, resolve_mtcd_options
from ..mtcd.config import ABLATIONS
from .options import echo_result, notes_printer


def _rows(ctx, param, value: str | None) -> list[str] | None:
    if value is None:
        return None
    rows = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ABLATIONS]
    if unknown or not rows:
        raise click.BadParameter(
            f"{value!r}: expected a comma-separated list of {', '.join(ABLATIONS)}", ctx, param
        )
    return rows


def _seeds(ctx, param, value: str) -> list[int]:
    try:
        seeds = [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise click.BadParameter(f"{value!r}: expected comma-separated integers", ctx, param)
    return seeds


@click.command()
@mtcd_options
@click.option(
    "--rows",
    default=None,
    callback=_rows,
    help=f"Rows, comma-separated, among {', '.join(ABLATIONS)} (default: every row the "
    "--assistant-mode can run; teacher+irp needs online).",
)
@click.option(
    "--seeds",
    default="0,1,2",
    show_default=True,
    callback=_seeds,
    help="Seeds, comma-separated; each trains its own translator, teacher and assistants.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: runs/ablation_<split>). Re-running on it reads finished "
    "rows back, skips finished stages and resumes an unfinished one; more --seeds or --rows "
    "add to it.",
)
def ablation(rows, seeds, out, quiet, **options) -> None:
    """Table 4: train every --rows row for every seed (per seed one translator, teacher and
    assistant shared by the rows) and write OUT/table.md and OUT/table.csv: the student's test
    top-1 per row, mean, std and per seed, next to the paper's numbers."""
    from ..mtcd.ablation import format_markdown, run_ablation, valid_rows

    cfg, mcfg, _ = resolve_mtcd_options(None, quiet, options)
    out_dir = Path(out) if out else Path("runs") / f"ablation_{cfg.data.split}"
    table = run_ablation(
        cfg,
        mcfg,
        out_dir,
        rows=rows or valid_rows(mcfg),
        seeds=seeds,
        progress=progress_factory(quiet),
        notes=notes_printer(quiet),
    )
    echo_result(format_markdown(table).rstrip("\n"))
    echo_result(f"written to {out_dir / 'table.md'} and {out_dir / 'table.csv'}")
