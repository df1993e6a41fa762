"""`mgrdata preview [-d DATA] CLIP_ID [--out PNG]`: a contact sheet to check sync by eye."""

from __future__ import annotations

import click

from ..preview import write_preview
from .common import data_option, quiet_option, setup_logging


@click.command()
@data_option
@click.argument("clip_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG to write [default: CLIP_ID.png in the current folder].",
)
@click.option(
    "--frames",
    "count",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Clip frames shown, one row each.",
)
@quiet_option
def preview(data, clip_id, out, count, quiet) -> None:
    """RGB | IR | depth frames of one clip, each labelled with its source frame, time and
    sync error."""
    setup_logging(quiet)
    sheet = write_preview(data, clip_id, out, count=count)
    click.echo(f"wrote {sheet.path} (clip frames {', '.join(map(str, sheet.frames))})")
