"""`mgrdata`: the data command line. Each command lives in its own module and only parses
options, calls one library function and reports."""

from __future__ import annotations

import click

from .. import __version__
from .common import MgrGroup, run_main


@click.group(cls=MgrGroup, name="mgrdata")
@click.version_option(__version__, prog_name="mgrdata")
def cli() -> None:
    """Raw Kinect V2 RGB-D + IR recordings -> frame-exact multimodal gesture clips."""


def main() -> None:
    run_main(cli)


# Command registration: one line per command module.
from .segment import segment  # noqa: E402

cli.add_command(segment)
from .stats import stats  # noqa: E402

cli.add_command(stats)
from .split import split  # noqa: E402

cli.add_command(split)
from .validate import validate  # noqa: E402

cli.add_command(validate)
from .export import export  # noqa: E402

cli.add_command(export)
from .align import align  # noqa: E402

cli.add_command(align)
from .synth import synth  # noqa: E402

cli.add_command(synth)
from .inspect import inspect  # noqa: E402

cli.add_command(inspect)
from .preview import preview  # noqa: E402

cli.add_command(preview)
from .importer import import_group  # noqa: E402

cli.add_command(import_group)
