"""`mgrtrain`: the training command line. Commands parse options and call one library function."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import MgrGroup, run_main

from . import __version__


@click.group(cls=MgrGroup, name="mgrtrain")
@click.version_option(__version__, prog_name="mgrtrain")
def cli() -> None:
    """Train and evaluate gesture recognisers (baselines, MTCD) on an mgrdark dataset."""


def main() -> None:
    run_main(cli)


# Command registration: each command module appends its lines below.
from .commands.baseline import baseline  # noqa: E402
from .commands.evaluate import evaluate  # noqa: E402
from .commands.prepare import prepare  # noqa: E402

cli.add_command(baseline)
cli.add_command(evaluate)
cli.add_command(prepare)
from .mtcd.cli import mtcd  # noqa: E402

cli.add_command(mtcd)
from .translator.cli import translator  # noqa: E402

cli.add_command(translator)
