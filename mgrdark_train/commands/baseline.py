"""`mgrtrain baseline`: train a single-modality 3D ResNet."""

from __future__ import annotations

from pathlib import Path

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging

from ..engine.config import load_config, parse_set, resolve_config
from .options import (
    cache_option,
    device_option,
    in_memory_option,
    seed_option,
    split_option,
    workers_option,
)
from .progress import tqdm_factory


@click.command()
@data_option
@split_option
@click.option(
    "--modality",
    type=click.Choice(["rgb", "depth", "ir"]),
    default=None,
    help="Input stream (required for a new run).",
)
@click.option(
    "--preset",
    type=click.Choice(["paper", "tiny"]),
    default=None,
    help="Settings bundle between the defaults and --config (default: paper).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML file with any subset of the settings.",
)
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None, help="Global batch size.")
@click.option("--lr", type=float, default=None)
@click.option("--frames", type=int, default=None, help="Frames sampled per clip (T).")
@workers_option
@click.option("--light", default=None, help="Light condition to keep: dark, daylight or all.")
@seed_option
@device_option
@cache_option
@in_memory_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any setting by its dotted name, e.g. --set model.depth=18 (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/baseline_<modality>_<split>).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@quiet_option
def baseline(
    data,
    split,
    modality,
    preset,
    config_file,
    epochs,
    batch_size,
    lr,
    frames,
    workers,
    light,
    seed,
    device,
    cache,
    in_memory,
    sets,
    out,
    resume,
    quiet,
) -> None:
    """Train a 3D ResNet baseline on one modality (settings: defaults < preset < --config <
    flags < --set; the resolved settings are written to RUN_DIR/config.yaml)."""
    from ..stages.baseline import default_run_dir
    from ..stages.run import train_run

    setup_logging(quiet)
    flags = {
        "data.root": data,
        "data.split": split,
        "data.modality": modality,
        "optim.epochs": epochs,
        "optim.batch_size": batch_size,
        "optim.lr": lr,
        "data.num_frames": frames,
        "data.workers": workers,
        "run.seed": seed,
        "run.device": device,
        "data.cache": cache,
        "data.in_memory": in_memory,
    }
    extra = parse_set(sets)
    if light is not None:
        extra["data.light"] = None if light == "all" else light
    base = None
    if resume and out and (Path(out) / "config.yaml").exists():
        base = load_config(Path(out) / "config.yaml").to_dict()
    elif modality is None:
        raise click.UsageError("--modality is required for a new run")
    cfg = resolve_config(
        preset=None if base else (preset or "paper"),
        yaml_path=config_file,
        overrides=flags,
        sets=extra,
        base=base,
    )
    run_dir = Path(out) if out else default_run_dir(cfg)
    rows = train_run(cfg, run_dir, resume=resume, progress=tqdm_factory(quiet))
    if rows and not quiet:
        last = rows[-1]
        shown = {k: v for k, v in last.items() if k.endswith(("loss", "top1", "top5"))}
        click.echo(
            f"{run_dir}: epoch {int(last['epoch'])} "
            + " ".join(f"{k}={v:.4f}" for k, v in shown.items())
        )
