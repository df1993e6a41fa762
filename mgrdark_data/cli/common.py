"""What every command shares: the error contract, `-d/--data`, `--quiet`, logging set-up."""

from __future__ import annotations

import logging
import os
import sys

import click

from ..errors import MgrdarkError
from ..paths import DATA_ENV, DEFAULT_DATA_DIR, DataRoot

DEBUG_ENV = "MGRDARK_DEBUG"


class MgrGroup(click.Group):
    """A click group that turns domain errors into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MgrdarkError as e:
            if os.environ.get(DEBUG_ENV):
                raise
            raise click.ClickException(str(e)) from e


def run_main(group: click.Group) -> None:
    """Entry point: unexpected exceptions become one line too (MGRDARK_DEBUG=1 re-raises)."""
    try:
        group.main(prog_name=group.name)
    except Exception as e:  # noqa: BLE001 - the last line of defence for a CLI
        if os.environ.get(DEBUG_ENV):
            raise
        click.echo(
            f"Error: unexpected {type(e).__name__}: {e} "
            f"(set {DEBUG_ENV}=1 for a traceback and please report it)",
            err=True,
        )
        sys.exit(1)


def data_option(f):
    return click.option(
        "-d",
        "--data",
        "data",
        type=click.Path(file_okay=False),
        default=None,
        help=f"Dataset root (default: ${DATA_ENV}, else ./{DEFAULT_DATA_DIR}).",
    )(f)


def quiet_option(f):
    return click.option("-q", "--quiet", is_flag=True, help="No progress bars.")(f)


def data_root(data: str | None) -> DataRoot:
    return DataRoot.resolve(data)


def setup_logging(quiet: bool = False) -> None:
    """Library warnings go to stderr as 'warning: ...' lines."""
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
