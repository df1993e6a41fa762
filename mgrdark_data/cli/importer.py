"""`mgrdata import DATASET ROOT`: a public dataset in its own layout -> clips, manifests, split."""

from __future__ import annotations

import click

from ..importers import ImportReport, import_nvgesture
from ..media.write import EncoderSettings
from .common import MgrGroup, clip_encoder_options, data_option, quiet_option, setup_logging
from .progress import progress_factory


@click.group(cls=MgrGroup, name="import")
def import_group() -> None:
    """Import a public dataset: its own lists -> annotation rows -> the normal segmentation."""


@import_group.command(short_help="NvGesture's lists and videos -> clips, manifests, split.")
@click.argument("nvroot", type=click.Path(exists=True, file_okay=False))
@data_option
@click.option(
    "--align",
    default="none",
    show_default=True,
    metavar="none|FILE",
    help="IR (duo_left) geometry: its own view, or a table warping it into the colour view.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel decode processes (default: CPU count).",
)
@clip_encoder_options
@click.option("--strict", is_flag=True, help="Exit non-zero when any list line is rejected.")
@click.option("--force", is_flag=True, help="Re-encode clips that are already written.")
@quiet_option
def nvgesture(nvroot, data, align, workers, crf, preset, strict, force, quiet) -> None:
    """NvGesture (NVROOT: the two v2 .lst files and Video_data/) -> DATA/clips, manifests and
    DATA/splits/nvgesture.parquet; train with --split nvgesture --classes nvgesture."""
    setup_logging(quiet)
    report = import_nvgesture(
        nvroot,
        data,
        align=align,
        workers=workers,
        settings=EncoderSettings(crf=crf, preset=preset),
        force=force,
        progress=progress_factory(quiet),
    )
    _print(report)
    if strict and report.segment.rejected:
        raise click.ClickException(f"--strict: {report.segment.rejected} list line(s) rejected")


def _print(r: ImportReport) -> None:
    s = r.segment
    for w in s.warnings + r.warnings:
        click.echo(f"warning: {w}", err=True)
    lines = ", ".join(f"{n} {name}" for name, n in r.lines.items())
    click.echo(f"list lines: {lines}; annotations written to {r.annotations}")
    click.echo(
        f"clips: {s.clips} in manifest ({s.written} written, {s.skipped} skipped as already "
        f"done), {s.rejected} rejected"
    )
    if s.reject_counts:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s.reject_counts.items()))
        click.echo(f"rejects by reason: {reasons} (DATA/manifest/rejects.parquet)")
    if r.depth_format:
        click.echo(f"depth: sk_depth.avi is {r.depth_format}; clips keep its values")
    if r.split_path is not None:
        counts = ", ".join(f"{len(v)} {k}" for k, v in r.split_subjects.items())
        click.echo(f"split: {r.split_path} ({counts} subjects)")
    click.echo(f"cut {s.video_seconds:.1f} s of video in {s.wall_seconds:.1f} s")
