"""`mgrtrain baseline`: train a single-modality 3D ResNet."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging
from mgrdark_data.cli.progress import progress_factory

from ..engine.preflight import check_preset_device
from .options import (
    allow_cpu_option,
    announce,
    cache_option,
    classes_option,
    device_option,
    echo_result,
    flag_settings,
    in_memory_option,
    light_option,
    notes_printer,
    preset_option,
    pretrained_option,
    seed_option,
    set_option,
    set_values,
    split_option,
    workers_option,
)


@click.command()
@data_option
@split_option
@classes_option
@click.option(
    "--modality",
    type=click.Choice(["rgb", "depth", "ir"]),
    default=None,
    help="Input stream (required for a new run).",
)
@preset_option
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
@pretrained_option
@workers_option
@light_option
@seed_option
@device_option
@cache_option
@in_memory_option
@set_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/baseline_<modality>_<split>).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@allow_cpu_option
@quiet_option
def baseline(
    modality, preset, config_file, light, sets, out, resume, allow_cpu, quiet, **settings
) -> None:
    """Train a 3D ResNet baseline on one modality (settings: defaults < preset < --config <
    flags < --set; the resolved settings are written to RUN_DIR/config.yaml)."""
    from ..stages.baseline import resolve_baseline_run
    from ..stages.run import train_run

    setup_logging(quiet)
    flags = flag_settings({**settings, "modality": modality})
    cfg, run_dir, continued = resolve_baseline_run(
        run_dir=out,
        resume=resume,
        preset=preset,
        yaml_path=config_file,
        overrides=flags,
        sets=set_values(light, sets),
    )
    if not continued and modality is None:
        raise click.UsageError("--modality is required for a new run")
    check_preset_device(cfg, None if continued else preset or "paper", allow_cpu=allow_cpu)
    announce(cfg, quiet)
    rows = train_run(
        cfg,
        run_dir,
        resume=resume,
        progress=progress_factory(quiet),
        notes=notes_printer(quiet),
    )
    if rows:
        last = rows[-1]
        shown = {k: v for k, v in last.items() if k.endswith(("loss", "top1", "top5"))}
        echo_result(
            f"{run_dir}: epoch {int(last['epoch'])} "
            + " ".join(f"{k}={v:.4f}" for k, v in shown.items())
        )
