"""`mgrtrain mtcd`: the whole MTCD pipeline into one run directory."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging
from mgrdark_data.cli.progress import progress_factory

from ..commands.options import (
    announce,
    cache_option,
    device_option,
    flag_settings,
    in_memory_option,
    light_option,
    preset_option,
    pretrained_option,
    seed_option,
    set_values,
    split_option,
    workers_option,
)
from ..translator.networks import TRANSLATORS
from .config import ABLATIONS, resolve_mtcd_run


@click.command()
@data_option
@split_option
@preset_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML file with any subset of the training settings.",
)
@click.option(
    "--mtcd-config",
    "mtcd_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML file with any subset of the MTCD settings (mtcd.yaml).",
)
@click.option("--epochs", type=int, default=None, help="Epochs of each network stage.")
@click.option(
    "--ablation",
    type=click.Choice(list(ABLATIONS)),
    default=None,
    help="Table 4 row: which distillation terms the student gets (default: full).",
)
@click.option(
    "--translator",
    type=click.Choice(list(TRANSLATORS)),
    default=None,
    help="RGB -> pseudo-IR translator (default: gan, trained on aligned pairs).",
)
@click.option("--batch-size", type=int, default=None, help="Global batch size.")
@click.option("--lr", type=float, default=None)
@pretrained_option
@workers_option
@light_option
@seed_option
@device_option
@cache_option
@in_memory_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any setting by dotted name, e.g. --set optim.lr=0.01 or "
    "--set mtcd.distill.kd_distance=kl_logits (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/mtcd_<ablation>_<split>). Re-running on it "
    "skips finished stages and resumes an unfinished one.",
)
@quiet_option
def mtcd(preset, config_file, mtcd_file, light, sets, out, quiet, **settings) -> None:
    """Train MTCD: translator -> IR teacher -> pseudo-IR assistant -> RGB student, then test
    the student on RGB alone (report in RUN_DIR/student/eval/; `mgrtrain eval RUN_DIR`)."""
    from .pipeline import run_mtcd

    setup_logging(quiet)
    flags = flag_settings(
        settings,
        ablation="mtcd.ablation",
        translator="mtcd.translator.name",
    )
    cfg, mcfg, run_dir = resolve_mtcd_run(
        run_dir=out,
        preset=preset,
        yaml_path=config_file,
        mtcd_yaml_path=mtcd_file,
        overrides=flags,
        sets=set_values(light, sets),
    )
    announce(cfg, quiet)
    res = run_mtcd(cfg, mcfg, run_dir, progress=progress_factory(quiet))
    test = res.get("test")
    if test and not quiet:
        click.echo(
            f"{run_dir} ({mcfg.ablation}, student on RGB, {test['clips']} test clips): "
            f"top1={test['top1']:.4f} top5={test['top5']:.4f} "
            f"mean class accuracy={test['mean_class_accuracy']:.4f}"
        )
