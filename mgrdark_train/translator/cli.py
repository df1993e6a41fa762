"""`mgrtrain translator`: train the RGB -> pseudo-IR translator on aligned RGB/IR clip pairs."""

from __future__ import annotations

from pathlib import Path

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging

from ..commands.options import device_option, seed_option, split_option, workers_option
from ..engine.config import ConfigError, dotted, merge, parse_set, resolve_config
from .config import TRANSLATOR_PRESETS, TranslatorConfig
from .networks import TRANSLATORS


@click.command()
@data_option
@split_option
@click.option(
    "--preset",
    type=click.Choice(["paper", "tiny"]),
    default="paper",
    show_default=True,
    help="Settings bundle for the data sampling and the translator.",
)
@click.option(
    "--name",
    type=click.Choice(list(TRANSLATORS)),
    default="gan",
    show_default=True,
    help="Translator; grayscale and identity need no training (their L1 is reported).",
)
@click.option("--epochs", type=int, default=None)
@click.option(
    "--gan-weight",
    type=float,
    default=None,
    help="Weight of the PatchGAN term against L1 (0: L1 alone).",
)
@workers_option
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
def translator(
    data, split, preset, name, epochs, gan_weight, workers, seed, device, sets, out, quiet
) -> None:
    """Train a paired translator (U-Net, L1 + optional PatchGAN) and report its L1 to the real
    IR on the evaluation subset next to the grayscale and identity baselines."""
    from .stage import train_translator_stage

    setup_logging(quiet)
    parsed = parse_set(sets)
    tsets = {k[len("translator.") :]: v for k, v in parsed.items() if k.startswith("translator.")}
    flags = {
        "data.root": data,
        "data.split": split,
        "data.workers": workers,
        "run.seed": seed,
        "run.device": device,
    }
    cfg = resolve_config(
        preset=preset,
        overrides=flags,
        sets={k: v for k, v in parsed.items() if not k.startswith("translator.")},
    )
    layers = merge(TranslatorConfig().__dict__, TRANSLATOR_PRESETS[preset], f"preset {preset}")
    layers = merge(
        layers, dotted({"name": name, "epochs": epochs, "gan_weight": gan_weight}), "command line"
    )
    layers = merge(layers, tsets, "--set")
    try:
        tcfg = TranslatorConfig(**layers)
    except TypeError as e:
        raise ConfigError(f"translator settings: {e}") from e
    out_dir = Path(out) if out else Path("runs") / f"translator_{tcfg.name}_{cfg.data.split}"

    def report(epoch: int, metrics: dict) -> None:
        if not quiet:
            shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k != "seconds")
            click.echo(f"epoch {epoch}/{tcfg.epochs}: {shown}")

    summary = train_translator_stage(cfg, tcfg, out_dir, progress=report)
    if summary["l1"] and not quiet:
        scores = " ".join(f"{k}={v:.4f}" for k, v in summary["l1"].items())
        click.echo(f"{out_dir}: L1 to real IR on {summary['eval_subset']}: {scores}")
