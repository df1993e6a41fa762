"""Options every training command shares, declared once, and what they map to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from ..builders import light_note, scratch_note
from ..engine.config import PRESETS, TrainConfig
from ..engine.distributed import is_main_process
from ..engine.preflight import workers_note
from ..engine.resolver import parse_set

split_option = click.option(
    "--split", default=None, help="Split name in DATA/splits/ (default: subjects)."
)


class _Workers(click.ParamType):
    """A worker count or 'auto'."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            n = int(value)
        except ValueError:
            n = -1
        if n < 0:
            self.fail(f"{value!r} is neither 'auto' nor a count >= 0", param, ctx)
        return n


workers_option = click.option(
    "--workers",
    type=_Workers(),
    default=None,
    help="DataLoader workers per process, or 'auto' (default: from the cores this process may "
    "use).",
)
allow_cpu_option = click.option(
    "--allow-cpu",
    is_flag=True,
    help="Run the paper preset even where it would compute on the CPU (it is sized for GPUs).",
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
classes_option = click.option(
    "--classes",
    default=None,
    metavar="FILE|NAME",
    help="Class vocabulary the data was cut with: a classes.csv, or a packaged one by name "
    "('nvgesture' for `mgrdata import nvgesture`; default: MGR-Dark's).",
)
pretrained_option = click.option(
    "--pretrained",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Weights file to fine-tune from: a Kinetics-400 checkpoint of PyTorchVideo (.pyth) or "
    "MMAction2, or a torchvision ImageNet ResNet-50 (inflated); nothing is downloaded.",
)
set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any setting by its dotted name, e.g. --set model.depth=18 (repeatable).",
)


SETTING_OF_FLAG: dict[str, str] = {
    "data": "data.root",
    "split": "data.split",
    "classes": "data.classes",
    "modality": "data.modality",
    "frames": "data.num_frames",
    "workers": "data.workers",
    "cache": "data.cache",
    "in_memory": "data.in_memory",
    "epochs": "optim.epochs",
    "batch_size": "optim.batch_size",
    "lr": "optim.lr",
    "pretrained": "model.pretrained",
    "seed": "run.seed",
    "device": "run.device",
}
"""The dotted setting each shared flag sets (`--epochs` is `optim.epochs`)."""


def flag_settings(params: Mapping[str, Any], **renamed: str) -> dict[str, Any]:
    """A command's flags as dotted settings, for the resolver's flag layer (None: not given).

    Args:
        params: A command's parameters by name; those that set nothing here are left out.
        renamed: Flags that set another key in this command (`epochs="translator.epochs"`).
    """
    keys = {**SETTING_OF_FLAG, **renamed}
    return {keys[name]: value for name, value in params.items() if name in keys}


def set_values(light: str | None, sets: tuple[str, ...]) -> dict[str, Any]:
    """The resolver's --set layer: `--light` first ('all' is `data.light: null`, a value a flag
    layer would drop), then every `--set KEY=VALUE`."""
    light_value = {} if light is None else {"data.light": None if light == "all" else light}
    return {**light_value, **parse_set(sets)}


def announce(cfg: TrainConfig, quiet: bool) -> None:
    """Say on stderr, before any work, what will likely go wrong (from scratch at a fine-tuning
    rate: shown even with -q), what the settings leave out (the dark-only default) and how many
    DataLoader workers each process starts; once under torchrun."""
    if not is_main_process():
        return
    warning = scratch_note(cfg)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    if quiet:
        return
    for note in (light_note(cfg), workers_note(cfg)):
        if note:
            click.echo(f"note: {note}", err=True)


def notes_printer(quiet: bool) -> Callable[[str], None] | None:
    """Where a library's notes during a run go: stderr, once under torchrun, not with -q."""
    if quiet or not is_main_process():
        return None
    return lambda line: click.echo(f"note: {line}", err=True)


def echo_result(line: str) -> None:
    """A command's result line on stdout, also with --quiet (which silences progress only),
    once under torchrun."""
    if is_main_process():
        click.echo(line)
