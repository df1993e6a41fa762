"""Options every training command shares, declared once, and what they map to."""

from __future__ import annotations

from typing import Any

import click

from ..builders import light_note
from ..engine.config import PRESETS, TrainConfig

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
preset_option = click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=None,
    help="Settings bundle between the defaults and --config (default: paper).",
)
light_option = click.option(
    "--light",
    type=click.Choice(["dark", "daylight", "all"]),
    default=None,
    help="Clips to use by light condition (default: dark, as in the paper's experiments).",
)
set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any setting by its dotted name, e.g. --set model.depth=18 (repeatable).",
)


def light_sets(light: str | None) -> dict[str, Any]:
    """`--light` as a dotted setting: 'all' is `data.light: null` (so it goes with --set)."""
    if light is None:
        return {}
    return {"data.light": None if light == "all" else light}


def announce(cfg: TrainConfig, quiet: bool) -> None:
    """Say on stderr, before any work, what the settings leave out (the dark-only default)."""
    note = light_note(cfg)
    if note and not quiet:
        click.echo(f"note: {note}", err=True)
