"""The MTCD pipeline: translator -> IR teacher -> pseudo-IR assistant -> RGB student -> eval.

The run directory's layout is in `layout.py`. Every network stage is an ordinary engine run
(`Trainer`: checkpoints, metrics, precise BN) in its own folder and writes `done.json` when it
has finished; a finished stage is skipped, an unfinished one resumes from its last checkpoint,
so a killed pipeline continues where it was.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress, prefixed
from mgrdark_data.vocabulary import load_vocabulary

from ..builders import build_dataset, require_clips
from ..engine.checkpoint import LAST, RunDirError
from ..engine.config import TrainConfig, resolve_config, write_config
from ..engine.steps import ClassificationStep
from ..engine.trainer import Trainer
from ..stages.run import evaluate_run, seed_everything
from ..translator.stage import load_translator, train_translator_stage
from .config import MTCDConfig, load_run_configs, resolve_mtcd_config, write_mtcd_config
from .layout import (
    ASSISTANT_STAGE,
    DONE,
    RESULTS,
    STUDENT_STAGE,
    TEACHER_STAGE,
    write_inputs,
)
from .stages import build_network, load_network
from .steps import AssistantStep, StudentStep

log = logging.getLogger(__name__)


def _kd_kwargs(mcfg: MTCDConfig) -> dict[str, Any]:
    d = mcfg.distill
    return {"distance": d.kd_distance, "reduction": d.kd_reduction, "temperature": d.temperature}


def train_network_stage(
    cfg: TrainConfig,
    step: nn.Module,
    stage_dir: str | Path,
    *,
    modalities: Sequence[str],
    eval_modalities: Sequence[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train one network stage with the engine's trainer, resuming a killed run.

    Args:
        cfg: Training config of the stage (``cfg.stage`` names it for ``mgrtrain eval``).
        step: The stage's step module.
        stage_dir: Stage folder.
        modalities: Streams the step reads while training.
        eval_modalities: Streams it reads in eval mode (per-epoch validation).
        progress: Progress factory (bars named by the caller, e.g. ``teacher: epoch 3/60``).

    Returns:
        The stage summary written to ``done.json`` (last epoch's metrics).
    """
    stage_dir = Path(stage_dir)
    train_set = require_clips(
        build_dataset(cfg, "train", tuple(modalities)),
        cfg,
        "; MTCD needs aligned IR clips for training",
    )
    eval_set = None
    if cfg.data.eval_subset:
        eval_set = build_dataset(cfg, cfg.data.eval_subset, tuple(eval_modalities))
    write_config(cfg, stage_dir / "config.yaml")
    trainer = Trainer(
        step, train_set, cfg=cfg, run_dir=stage_dir, eval_set=eval_set, progress=progress
    )
    if (stage_dir / "checkpoints" / LAST).exists():
        trainer.resume()
    rows = trainer.fit()
    summary = {"stage": cfg.stage, "epochs": cfg.optim.epochs, "last": rows[-1] if rows else {}}
    with atomic_path(stage_dir / DONE) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary


def _stage_cfg(cfg: TrainConfig, stage: str) -> TrainConfig:
    return dataclasses.replace(cfg, stage=stage)


def _needs(mcfg: MTCDConfig) -> dict[str, bool]:
    sw = mcfg.switches
    return {
        "teacher": sw["ir_kd"] or sw["fusion_kd"],
        "assistant": sw["fusion_kd"],
        "translator": sw["fusion_kd"],
    }


def run_mtcd(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    run_dir: str | Path,
    *,
    stage_dirs: dict[str, str | Path] | None = None,
    evaluate: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every stage the ablation row needs, skipping finished ones, then test the student.

    Args:
        cfg: Training config shared by the network stages (data, backbone, schedule, seed).
        mcfg: MTCD config (translator, losses, ablation row).
        run_dir: Run directory (layout in ``layout.py``).
        stage_dirs: Other folders for some stages (``translator``, ``teacher``, ``assistant``),
            e.g. to share a teacher between ablation rows; default: inside ``run_dir``.
        evaluate: Test the student with ``mgrtrain eval``'s library function at the end.
        progress: Progress factory; each stage's bars start with its name
            (``translator: epoch 2/8``, ``teacher: epoch 3/60``, ``student: eval test``).

    Returns:
        What ``results.json`` holds: the student's test metrics (when evaluated) and the stage
        folders.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_same_settings(run_dir, cfg, mcfg)
    write_config(cfg, run_dir / "config.yaml")
    write_mtcd_config(mcfg, run_dir / "mtcd.yaml")
    dirs = {name: run_dir / name for name in ("translator", "teacher", "assistant", "student")}
    dirs.update({k: Path(v) for k, v in (stage_dirs or {}).items()})
    needs = _needs(mcfg)
    num_classes = len(load_vocabulary(cfg.data.classes))
    kd = _kd_kwargs(mcfg)
    d = mcfg.distill

    translator = teacher = assistant = None
    if needs["translator"]:
        train_translator_stage(
            cfg, mcfg.translator, dirs["translator"], progress=prefixed(progress, "translator")
        )
        translator = load_translator(dirs["translator"])
    if needs["teacher"]:
        tcfg = _stage_cfg(cfg, TEACHER_STAGE)
        if not (dirs["teacher"] / DONE).exists():
            seed_everything(cfg.run.seed)
            step = ClassificationStep(build_network(tcfg, num_classes, "ir"), input_key="ir")
            train_network_stage(
                tcfg,
                step,
                dirs["teacher"],
                modalities=("ir",),
                eval_modalities=("ir",),
                progress=prefixed(progress, "teacher"),
            )
        teacher = load_network(tcfg, num_classes, "ir", dirs["teacher"], "model")
    if needs["assistant"]:
        acfg = _stage_cfg(cfg, ASSISTANT_STAGE)
        use_kd = mcfg.switches["assistant_kd"]
        if not (dirs["assistant"] / DONE).exists():
            seed_everything(cfg.run.seed)
            step = AssistantStep(
                build_network(acfg, num_classes, "ir"),
                translator=translator,
                teacher=teacher if use_kd else None,
                use_kd=use_kd,
                gamma=d.gamma,
                kd=kd,
            )
            write_inputs(dirs["assistant"], translator=dirs["translator"], teacher=dirs["teacher"])
            train_network_stage(
                acfg,
                step,
                dirs["assistant"],
                modalities=("rgb", "ir") if use_kd else ("rgb",),
                eval_modalities=("rgb",),
                progress=prefixed(progress, "assistant"),
            )
        assistant = load_network(acfg, num_classes, "ir", dirs["assistant"], "assistant")
    scfg = _stage_cfg(cfg, STUDENT_STAGE)
    if not (dirs["student"] / DONE).exists():
        seed_everything(cfg.run.seed)
        sw = mcfg.switches
        step = StudentStep(
            build_network(scfg, num_classes, "rgb"),
            teacher=teacher,
            assistant=assistant,
            translator=translator,
            use_fusion_kd=sw["fusion_kd"],
            use_ir_kd=sw["ir_kd"],
            alpha=d.alpha,
            beta=d.beta,
            fusion_weight=d.fusion_weight,
            kd=kd,
        )
        frozen = {k: dirs[k] for k, needed in needs.items() if needed}
        write_inputs(dirs["student"], **frozen)
        train_network_stage(
            scfg,
            step,
            dirs["student"],
            modalities=("rgb", "ir") if needs["teacher"] else ("rgb",),
            eval_modalities=("rgb",),
            progress=prefixed(progress, "student"),
        )
    results: dict[str, Any] = {
        "ablation": mcfg.ablation,
        "stages": {k: str(v) for k, v in dirs.items()},
    }
    if evaluate:
        results["test"] = evaluate_run(
            dirs["student"], subset="test", progress=prefixed(progress, "student")
        )
    with atomic_path(run_dir / RESULTS) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str))
    return results


def _check_same_settings(run_dir: Path, cfg: TrainConfig, mcfg: MTCDConfig) -> None:
    """Refuse to continue a run directory with other settings (finished stages are reused)."""
    saved = load_run_configs(run_dir)
    if saved is None:
        return
    before = (resolve_config(base=saved[0]).to_dict(), resolve_mtcd_config(base=saved[1]).to_dict())
    after = (cfg.to_dict(), mcfg.to_dict())
    # Workers and device change nothing that a finished stage learnt.
    for c in (before[0], after[0]):
        c["data"].pop("workers")
        c["run"].pop("device")
    if before != after:
        raise RunDirError(
            f"{run_dir} holds an MTCD run with other settings (see its config.yaml and "
            "mtcd.yaml); pass --out for a new run directory"
        )
