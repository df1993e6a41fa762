"""Options every training command shares, declared once."""

from __future__ import annotations

import click

split_option = click.option(
    "--split", default=None, help="Split name in DATA/splits/ (default: subjects)."
)
workers_option = click.option(
    "--workers", type=int, default=None, help="DataLoader workers per process."
)
seed_option = click.option("--seed", type=int, default=None)
device_option = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None
)
