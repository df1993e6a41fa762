"""`mgrtrain prepare`: write the pre-resized clip cache."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import (
    data_option,
    data_root,
    executor_option,
    quiet_option,
    setup_logging,
)
from mgrdark_data.cli.progress import progress_factory
from mgrdark_data.errors import MediaError
from mgrdark_data.lock import data_lock

from ..data.cache import CACHE_FORMATS


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(CACHE_FORMATS),
    default=CACHE_FORMATS[0],
    show_default=True,
    help="jpeg: every frame decodable alone, the loader decodes only the sampled ones; h264: "
    "a third of jpeg's bytes, decoded up to the last sampled frame; raw: nothing to decode, "
    "uncompressed (bytes in bench/RESULTS.md). Train with --cache --set data.cache_format=FMT.",
)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--force", is_flag=True, help="Re-encode clips already cached.")
@executor_option
@quiet_option
def prepare(data, size, modalities, fmt, workers, force, executor, quiet) -> None:
    """Re-encode every clip once at SIZE x SIZE into DATA/cache/ (then train with --cache)."""
    from ..data.cache import prepare_cache

    setup_logging(quiet)
    with data_lock(data_root(data), "prepare"):
        report = prepare_cache(
            data_root(data),
            size=size,
            modalities=modalities or ("rgb", "ir", "depth"),
            fmt=fmt,
            workers=workers,
            force=force,
            progress=progress_factory(quiet),
            executor=executor,
        )
    click.echo(
        f"cache {fmt} s{size}: {report.written} written, {report.skipped} already cached, "
        f"{len(report.failed)} failed; {report.bytes / 2**20:.1f} MiB"
    )
    if report.failed:
        raise MediaError(f"{len(report.failed)} clip(s) failed; see the warnings")
