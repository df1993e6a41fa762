"""`mgrtrain mtcd`: the whole MTCD pipeline into one run directory; the options and the
config resolution it shares with `mgrtrain ablation`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mgrdark_data.cli.common import data_option, quiet_option, setup_logging
from mgrdark_data.cli.progress import progress_factory

from ..commands.options import (
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
    set_values,
    split_option,
    workers_option,
)
from ..engine.config import TrainConfig
from ..engine.preflight import check_preset_device
from ..translator.networks import TRANSLATORS
from .config import (
    ABLATIONS,
    ASSISTANT_MODES,
    STUDENT_MODALITIES,
    MTCDConfig,
    load_run_configs,
    resolve_mtcd_run,
)

_SHARED = [
    data_option,
    split_option,
    classes_option,
    preset_option,
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, exists=True),
        default=None,
        help="YAML file with any subset of the training settings.",
    ),
    click.option(
        "--mtcd-config",
        "mtcd_file",
        type=click.Path(dir_okay=False, exists=True),
        default=None,
        help="YAML file with any subset of the MTCD settings (mtcd.yaml).",
    ),
    click.option("--epochs", type=int, default=None, help="Epochs of each network stage."),
    click.option(
        "--translator",
        type=click.Choice(list(TRANSLATORS)),
        default=None,
        help="RGB -> pseudo-IR translator (default: gan, pix2pix on aligned pairs; sda: "
        "also keeps identity through two pre-trained re-ID encoders, eq. 1-4).",
    ),
    click.option(
        "--student",
        type=click.Choice(list(STUDENT_MODALITIES)),
        default=None,
        help="The student's input stream (default: rgb); the teacher is IR either way.",
    ),
    click.option(
        "--assistant-mode",
        type=click.Choice(list(ASSISTANT_MODES)),
        default=None,
        help="offline (default): the assistant is trained and frozen before the student; "
        "online: it trains together with the student (Table 4 row 3 needs it).",
    ),
    click.option("--batch-size", type=int, default=None, help="Global batch size."),
    click.option("--lr", type=float, default=None),
    pretrained_option,
    workers_option,
    light_option,
    device_option,
    cache_option,
    in_memory_option,
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Any setting by dotted name, e.g. --set optim.lr=0.01 or "
        "--set mtcd.distill.kd_distance=kl_logits (repeatable).",
    ),
    allow_cpu_option,
    quiet_option,
]


def mtcd_options(f: Callable) -> Callable:
    """The options of `mgrtrain mtcd` that `mgrtrain ablation` shares."""
    for option in reversed(_SHARED):
        f = option(f)
    return f


def resolve_mtcd_options(
    out: str | None, quiet: bool, options: dict[str, Any]
) -> tuple[TrainConfig, MTCDConfig, Path]:
    """Both configs from the shared options, checked (a GPU preset on a CPU is refused) and
    announced before any work.

    Args:
        out: `--out` (a run directory that holds both configs is continued).
        quiet: `--quiet`.
        options: The command's other parameters by name; the shared options' are consumed,
            those left are flags of the resolver's flag layer (`--seed`, `--ablation`).
    """
    setup_logging(quiet)
    preset, allow_cpu = options.pop("preset"), options.pop("allow_cpu")
    sets = set_values(options.pop("light"), options.pop("sets"))
    config_file, mtcd_file = options.pop("config_file"), options.pop("mtcd_file")
    flags = flag_settings(
        options,
        ablation="mtcd.ablation",
        translator="mtcd.translator.name",
        student="mtcd.student",
        assistant_mode="mtcd.assistant_mode",
    )
    continued = out is not None and load_run_configs(out) is not None
    cfg, mcfg, run_dir = resolve_mtcd_run(
        run_dir=out,
        preset=preset,
        yaml_path=config_file,
        mtcd_yaml_path=mtcd_file,
        overrides=flags,
        sets=sets,
    )
    check_preset_device(cfg, None if continued else preset or "paper", allow_cpu=allow_cpu)
    announce(cfg, quiet)
    return cfg, mcfg, run_dir


@click.command()
@mtcd_options
@click.option(
    "--ablation",
    type=click.Choice(list(ABLATIONS)),
    default=None,
    help="Which loss terms are on (default: full): baseline = CE; teacher = + eq. 5; "
    "teacher+irp = + eq. 6 on an online assistant (Table 4 row 3); teacher+fusion = + eq. 7 "
    "with a CE-only assistant; full = eq. 5, 6 and 7.",
)
@seed_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/mtcd_<ablation>_<split>). Re-running on it "
    "skips finished stages and resumes an unfinished one.",
)
def mtcd(out, quiet, **options) -> None:
    """Train MTCD: translator -> IR teacher -> pseudo-IR assistant -> RGB student, then test
    the student on RGB alone (report in RUN_DIR/student/eval/; `mgrtrain eval RUN_DIR`).
    Under torchrun every stage trains with DDP across the processes."""
    from .pipeline import run_mtcd

    cfg, mcfg, run_dir = resolve_mtcd_options(out, quiet, options)
    res = run_mtcd(cfg, mcfg, run_dir, progress=progress_factory(quiet), notes=notes_printer(quiet))
    test = res.get("test")
    if test:
        echo_result(
            f"{run_dir} ({mcfg.ablation}, student on RGB, {test['clips']} test clips): "
            f"top1={test['top1']:.4f} top5={test['top5']:.4f} "
            f"mean class accuracy={test['mean_class_accuracy']:.4f}"
        )
