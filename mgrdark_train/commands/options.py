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
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
cache_option = click.option(
    "--cache/--no-cache", default=None, help="Read clips pre-resized by `mgrtrain prepare`."
)
in_memory_option = click.option(
    "--in-memory/--no-in-memory",
    default=None,
    help="Keep decoded frames in memory after the first epoch (small data; the tiny preset).",
)
