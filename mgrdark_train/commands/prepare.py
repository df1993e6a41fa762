"""`mgrtrain prepare`: write the pre-resized clip cache."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import data_option, data_root, quiet_option, setup_logging


@click.command()
@data_option
@click.option(
    "--size",
    type=int,
    default=256,
    show_default=True,
    help="Side of the cached frames (the training resize).",
)
@click.option(
    "--modality",
    "modalities",
    multiple=True,
    type=click.Choice(["rgb", "ir", "depth"]),
    help="Streams to cache (default: all).",
)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--force", is_flag=True, help="Re-encode clips already cached.")
@quiet_option
def prepare(data, size, modalities, workers, force, quiet) -> None:
    """Re-encode every clip once at SIZE x SIZE into DATA/cache/ (then train with --cache)."""
    from tqdm import tqdm

    from ..data.cache import prepare_cache

    setup_logging(quiet)
    root = data_root(data)
    with tqdm(desc="cache", unit="clip", disable=quiet) as bar:
        report = prepare_cache(
            root,
            size=size,
            modalities=modalities or ("rgb", "ir", "depth"),
            workers=workers,
            force=force,
            progress=bar.update,
        )
    click.echo(
        f"cache s{size}: {report.written} written, {report.skipped} already cached, "
        f"{len(report.failed)} failed"
    )
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} clip(s) failed; see the warnings")
