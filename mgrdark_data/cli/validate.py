"""`mgrdata validate`: check a dataset root against its manifests and splits."""

from __future__ import annotations

import sys

import click

from ..validate import validate_dataset
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
@data_option
@click.option(
    "--quick",
    is_flag=True,
    help="Metadata only: no hashing or decoding (container frame counts instead).",
)
@workers_option("Clip files checked", default=1)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Examples shown per kind of problem.",
)
@executor_option
@quiet_option
def validate(data, quick, workers, examples, executor, quiet) -> None:
    """Report every inconsistency; exit code 1 when anything other than a warning is found."""
    setup_logging(quiet)
    report = validate_dataset(
        data_root(data),
        quick=quick,
        workers=workers,
        progress=progress_factory(quiet),
        executor=executor,
    )
    click.echo(report.format(examples))
    if not report.ok:
        sys.exit(1)
