"""`mgrdata segment` (placeholder until the segmentation module lands in this session)."""

import click


@click.command()
def segment() -> None:
    """Cut raw recordings into clips (being written)."""
    raise click.ClickException("segment is being written")
