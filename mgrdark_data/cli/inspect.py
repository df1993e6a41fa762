"""`mgrdata inspect RAW`: streams, rates, variable frame rate, gaps and overlap per recording."""

from __future__ import annotations

import click

from ..inspection import format_survey, inspect_raw
from .common import quiet_option, setup_logging
from .progress import progress_factory


@click.command()
@click.argument("raw", type=click.Path(exists=True, file_okay=False))
@quiet_option
def inspect(raw, quiet) -> None:
    """Show every recording's streams on one clock, before cutting (nothing is decoded)."""
    setup_logging(quiet)
    surveys = inspect_raw(raw, progress=progress_factory(quiet))
    for survey in surveys:
        click.echo("\n".join(format_survey(survey)))
    bad = sum(bool(s.errors) for s in surveys)
    click.echo(f"{len(surveys)} recording(s), {bad} with a stream that cannot be used")
