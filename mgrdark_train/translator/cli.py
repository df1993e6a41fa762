"""`mgrtrain translator`: train the RGB -> pseudo-IR translator on aligned RGB/IR clip pairs."""

from __future__ import annotations

from pathlib import Path

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging
from mgrdark_data.cli.progress import progress_factory
from mgrdark_data.progress import prefixed

from ..commands.options import (
    announce,
    device_option,
    echo_result,
    flag_settings,
    light_option,
    seed_option,
    set_values,
    split_option,
    workers_option,
)
from ..engine.config import PRESETS
from .config import resolve_translator_run
from .networks import TRANSLATORS


@click.command()
@data_option
@split_option
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="paper",
    show_default=True,
    help="Settings bundle for the data sampling and the translator.",
)
@click.option(
    "--name",
    type=click.Choice(list(TRANSLATORS)),
    default=None,
    help="Translator (default: gan); grayscale and identity need no training (their L1 is "
    "reported).",
)
@click.option("--epochs", type=int, default=None)
@click.option(
    "--gan-weight",
    type=float,
    default=None,
    help="Weight of the PatchGAN term against L1 (0: L1 alone).",
)
@workers_option
@light_option
@seed_option
@device_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Training settings (data.*) or translator.* settings by dotted name.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Stage folder (default: runs/translator_<name>_<split>); a finished one is "
    "reported, an unfinished one resumes.",
)
@quiet_option
def translator(preset, light, sets, out, quiet, **settings) -> None:
    """Train a paired translator (U-Net, L1 + optional PatchGAN) and report its L1 to the real
    IR on the evaluation subset next to the grayscale and identity baselines."""
    from .stage import train_translator_stage

    setup_logging(quiet)
    flags = flag_settings(
        settings,
        name="translator.name",
        epochs="translator.epochs",
        gan_weight="translator.gan_weight",
    )
    cfg, tcfg = resolve_translator_run(preset=preset, overrides=flags, sets=set_values(light, sets))
    announce(cfg, quiet)
    out_dir = Path(out) if out else Path("runs") / f"translator_{tcfg.name}_{cfg.data.split}"
    progress = prefixed(progress_factory(quiet), "translator")
    summary = train_translator_stage(cfg, tcfg, out_dir, progress=progress)
    if summary["l1"]:
        scores = " ".join(f"{k}={v:.4f}" for k, v in summary["l1"].items())
        echo_result(f"{out_dir}: L1 to real IR on {summary['eval_subset']}: {scores}")
