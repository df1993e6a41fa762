"""`mgrdata segment RAW --ann labels.csv`: cut clips and write the manifests."""

from __future__ import annotations

import click

from ..media.write import EncoderSettings
from ..planning import SyncOptions
from ..segment import SegmentReport, segment_dataset
from .common import (
    clip_encoder_options,
    data_option,
    executor_option,
    quiet_option,
    setup_logging,
    workers_option,
)
from .progress import progress_factory


@click.command()
@click.argument("raw", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--ann",
    "annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Annotation CSV (see annotations/README.md).",
)
@data_option
@click.option(
    "--align",
    default="auto",
    show_default=True,
    metavar="auto|none|FILE",
    help="IR geometry: estimate per recording, keep native, or a `mgrdata align` table.",
)
@workers_option("Streams decoded")
@clip_encoder_options
@click.option(
    "--gop",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Keyframe at least every N frames.",
)
@click.option(
    "--verify",
    type=click.Choice(["decode", "packets"]),
    default="decode",
    show_default=True,
    help="Check each written clip by decoding every frame, or by counting packets.",
)
@click.option(
    "--index-base",
    type=click.Choice(["0", "1"]),
    default="0",
    show_default=True,
    help="1 when the CSV counts frames from 1.",
)
@click.option(
    "--classes",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="classes.csv replacing the packaged vocabulary.",
)
@click.option(
    "--fps",
    default="source",
    show_default=True,
    metavar="source|F",
    help="Clip frames: the RGB frames at their own times, or every modality resampled to F "
    "frames per second (the paper: 25).",
)
@click.option(
    "--sync-tolerance",
    type=float,
    default=None,
    metavar="MS",
    help="Largest sync error before an instance is rejected as sync_gap "
    "[default: 1.5 frame periods of each stream].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Plan only: print the clips and the rejects with their reasons; write nothing.",
)
@click.option("--strict", is_flag=True, help="Exit non-zero when any row is rejected.")
@click.option("--force", is_flag=True, help="Re-encode clips that are already written.")
@executor_option
@quiet_option
def segment(
    raw,
    annotations,
    data,
    align,
    workers,
    crf,
    preset,
    gop,
    verify,
    index_base,
    classes,
    fps,
    sync_tolerance,
    dry_run,
    strict,
    force,
    executor,
    quiet,
) -> None:
    """Cut every annotated gesture from every stream of RAW into DATA/clips."""
    setup_logging(quiet)
    sync = SyncOptions.parse(fps, sync_tolerance)
    report = segment_dataset(
        raw,
        annotations,
        data,
        align=align,
        workers=workers,
        settings=EncoderSettings(crf=crf, preset=preset, gop=gop, verify=verify),
        index_base=int(index_base),
        force=force,
        classes=classes,
        progress=None if dry_run else progress_factory(quiet),
        sync=sync,
        dry_run=dry_run,
        executor=executor,
    )
    if dry_run:
        _print_plan(report)
    else:
        _print_summary(report)
    if strict and report.rejected:
        raise click.ClickException(f"--strict: {report.rejected} annotation row(s) rejected")


def _print_plan(r: SegmentReport) -> None:
    for w in r.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"dry run: {r.clips} instance(s) would be cut, {r.rejected} rejected")
    for rej in r.rejects:
        span = (
            f"{rej.start_s}-{rej.end_s} s"
            if rej.start_s is not None
            else f"{rej.start_frame}-{rej.end_frame}"
        )
        click.echo(
            f"  row {rej.source_row} ({rej.recording} {span}): {rej.reason_code}: {rej.reason}"
        )
    _print_errors(r)
    click.echo("nothing was written")


def _print_errors(r: SegmentReport) -> None:
    if r.reject_counts:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(r.reject_counts.items()))
        click.echo(f"rejects by reason: {reasons}")
    if r.sync_error_ms:
        errors = ", ".join(f"{m} {e:g} ms" for m, e in r.sync_error_ms.items())
        click.echo(f"largest sync error: {errors}")


def _print_summary(r: SegmentReport) -> None:
    for w in r.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(
        f"clips: {r.clips} in manifest ({r.written} written, {r.skipped} skipped as already "
        f"done), {r.rejected} rejected"
    )
    click.echo(f"clip files: {r.files_written} written, {r.files_kept} kept from an earlier run")
    for note in r.notes:
        click.echo(f"note: {note}")
    _print_errors(r)
    click.echo(
        f"recordings: {r.recordings} ({r.failed_recordings} unreadable); cut "
        f"{r.video_seconds:.1f} s of video in {r.wall_seconds:.1f} s "
        f"(realtime x{r.realtime_factor:.1f})"
    )
    click.echo(f"clips:     {r.root / 'clips'}")
    click.echo(f"manifests: {r.root / 'manifest'} (clips, recordings, rejects, frames .parquet)")
