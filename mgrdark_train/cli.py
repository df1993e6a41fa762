"""`mgrtrain`: the training command line. Commands parse options and call one library function."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import MgrGroup, run_main

from . import __version__
from .commands.ablation import ablation
from .commands.baseline import baseline
from .commands.evaluate import evaluate
from .commands.prepare import prepare
from .mtcd.cli import mtcd
from .translator.cli import translator


@click.group(cls=MgrGroup, name="mgrtrain")
@click.version_option(__version__, prog_name="mgrtrain")
def cli() -> None:
    """Train and evaluate gesture recognisers (baselines, MTCD) on an mgrdark dataset."""


for _command in (baseline, evaluate, prepare, mtcd, ablation, translator):
    cli.add_command(_command)


def main() -> None:
    run_main(cli)
