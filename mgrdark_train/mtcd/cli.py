"""`mgrtrain mtcd`: the whole MTCD pipeline into one run directory."""

from __future__ import annotations

from pathlib import Path

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging

from ..commands.options import (
    cache_option,
    device_option,
    in_memory_option,
    seed_option,
    split_option,
    workers_option,
)
from ..engine.config import load_config, parse_set, resolve_config
from .config import ABLATIONS, load_mtcd_config, resolve_mtcd_config


@click.command()
@data_option
@split_option
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
    type=click.Choice(["gan", "grayscale", "identity"]),
    default=None,
    help="RGB -> pseudo-IR translator (default: gan, trained on aligned pairs).",
)
@click.option("--batch-size", type=int, default=None, help="Global batch size.")
@click.option("--lr", type=float, default=None)
@workers_option
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
def mtcd(
    data,
    split,
    preset,
    config_file,
    mtcd_file,
    epochs,
    ablation,
    translator,
    batch_size,
    lr,
    workers,
    seed,
    device,
    cache,
    in_memory,
    sets,
    out,
    quiet,
) -> None:
    """Train MTCD: translator -> IR teacher -> pseudo-IR assistant -> RGB student, then test
    the student on RGB alone (report in RUN_DIR/student/eval/)."""
    from ..commands.progress import tqdm_factory
    from .pipeline import run_mtcd

    setup_logging(quiet)
    parsed = parse_set(sets)
    train_sets = {k: v for k, v in parsed.items() if not k.startswith("mtcd.")}
    mtcd_sets = {k[len("mtcd.") :]: v for k, v in parsed.items() if k.startswith("mtcd.")}
    flags = {
        "data.root": data,
        "data.split": split,
        "optim.epochs": epochs,
        "optim.batch_size": batch_size,
        "optim.lr": lr,
        "data.workers": workers,
        "run.seed": seed,
        "run.device": device,
        "data.cache": cache,
        "data.in_memory": in_memory,
    }
    mtcd_flags = {"ablation": ablation, "translator.name": translator, **mtcd_sets}
    run_dir = Path(out) if out else None
    base = mbase = None
    if run_dir and (run_dir / "config.yaml").exists() and (run_dir / "mtcd.yaml").exists():
        base = load_config(run_dir / "config.yaml").to_dict()
        mbase = load_mtcd_config(run_dir / "mtcd.yaml").to_dict()
    chosen = None if base else (preset or "paper")
    cfg = resolve_config(
        preset=chosen, yaml_path=config_file, overrides=flags, sets=train_sets, base=base
    )
    cfg.stage = "mtcd"
    mcfg = resolve_mtcd_config(preset=chosen, yaml_path=mtcd_file, overrides=mtcd_flags, base=mbase)
    run_dir = run_dir or Path("runs") / f"mtcd_{mcfg.ablation}_{cfg.data.split}"
    res = run_mtcd(cfg, mcfg, run_dir, progress=tqdm_factory(quiet))
    test = res.get("test")
    if test and not quiet:
        click.echo(
            f"{run_dir} ({mcfg.ablation}, student on RGB, {test['clips']} test clips): "
            f"top1={test['top1']:.4f} top5={test['top5']:.4f} "
            f"mean class accuracy={test['mean_class_accuracy']:.4f}"
        )
