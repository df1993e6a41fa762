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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress, prefixed
from mgrdark_data.vocabulary import load_vocabulary

from ..builders import build_dataset, require_clips
from ..engine.checkpoint import LAST, RunDirError
from ..engine.config import TrainConfig, resolve_config, write_config
from ..engine.distributed import barrier, broadcast_object, current, init_distributed
from ..engine.trainer import Trainer
from ..models import pretrained_reports
from ..stages.run import evaluate_run, seed_everything
from ..translator.stage import DONE as TRANSLATOR_DONE
from ..translator.stage import load_translator, train_translator_stage
from .config import MTCDConfig, load_run_configs, resolve_mtcd_config, write_mtcd_config
from .layout import (
    ASSISTANT_STAGE,
    DONE,
    ONLINE_STAGE,
    RESULTS,
    STUDENT_STAGE,
    TEACHER_STAGE,
    write_inputs,
)
from .stages import (
    assistant_training_step,
    load_network,
    online_training_step,
    student_training_step,
    teacher_step,
)

log = logging.getLogger(__name__)

Notes = Callable[[str], None]
"""Receives one line for the user (a command prints it on stderr)."""


def train_network_stage(
    cfg: TrainConfig,
    step: nn.Module,
    stage_dir: str | Path,
    *,
    modalities: Sequence[str],
    eval_modalities: Sequence[str],
    progress: Progress | None = None,
    notes: Notes | None = None,
) -> dict[str, Any]:
    """Train one network stage with the engine's trainer, resuming a killed run.

    Args:
        cfg: Training config of the stage (``cfg.stage`` names it for ``mgrtrain eval``).
        step: The stage's step module.
        stage_dir: Stage folder.
        modalities: Streams the step reads while training.
        eval_modalities: Streams it reads in eval mode (per-epoch validation).
        progress: Progress factory (bars named by the caller, e.g. ``teacher: epoch 3/60``).
        notes: Receives, on rank 0 before the first epoch, whether the stage resumes a killed
            run, what was loaded from `model.pretrained` and the parameter count with the
            step's memory estimate (default: logged at INFO).

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
    main = current().is_main
    if main:
        write_config(cfg, stage_dir / "config.yaml")
    trainer = Trainer(
        step, train_set, cfg=cfg, run_dir=stage_dir, eval_set=eval_set, progress=progress
    )
    resumed = _on_main(lambda: (stage_dir / "checkpoints" / LAST).exists())
    if resumed:
        trainer.resume()
    if main:
        say = notes or log.info
        if resumed:
            say(f"{stage_dir.name}: resuming after epoch {trainer.start_epoch}")
        for report in [] if resumed else pretrained_reports(step):  # resumed: last.pt's weights
            say(f"{stage_dir.name}: {report.summary()}")
        say(f"{stage_dir.name}: {trainer.describe()}")
    rows = trainer.fit()
    summary = {"stage": cfg.stage, "epochs": cfg.optim.epochs, "last": rows[-1] if rows else {}}
    if main:
        with atomic_path(stage_dir / DONE) as tmp:
            tmp.write_text(json.dumps(summary, indent=2))
    barrier()  # every rank reads the finished stage's files next
    return summary


def _on_main(question: Callable[[], Any]) -> Any:
    """Rank 0's answer on every rank: decisions read from files rank 0 writes."""
    return broadcast_object(question() if current().is_main else None)


def _finished(stage_dir: Path, notes: Notes | None, marker: str = DONE) -> bool:
    """Whether the stage in `stage_dir` has finished (then it is skipped, and said so)."""
    done = _on_main(lambda: (stage_dir / marker).exists())
    if done and notes is not None and current().is_main:
        notes(f"{stage_dir.name}: finished earlier in {stage_dir}; skipped")
    return done


def _stage_cfg(cfg: TrainConfig, stage: str) -> TrainConfig:
    return dataclasses.replace(cfg, stage=stage)


def _needs(mcfg: MTCDConfig) -> dict[str, bool]:
    """The stages a row trains before its student: in online mode the assistant trains inside
    the student's stage (so it has no folder of its own)."""
    sw = mcfg.switches
    return {
        "teacher": sw["ir_kd"] or sw["fusion_kd"] or sw["assistant_kd"],
        "assistant": mcfg.uses_assistant and mcfg.assistant_mode == "offline",
        "translator": mcfg.uses_assistant,
    }


def _student_streams(mcfg: MTCDConfig, needs: dict[str, bool]) -> tuple[str, ...]:
    """Streams the student's stage reads while training: its own, IR for the teacher, RGB
    for the translator."""
    streams = [mcfg.student]
    if needs["teacher"]:
        streams.append("ir")
    if needs["translator"]:
        streams.append("rgb")
    return tuple(dict.fromkeys(streams))


def run_mtcd(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    run_dir: str | Path,
    *,
    stage_dirs: dict[str, str | Path] | None = None,
    evaluate: bool = True,
    progress: Progress | None = None,
    notes: Notes | None = None,
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
        notes: Receives, on rank 0, a line per stage that is skipped because it has finished.

    Under ``torchrun`` every stage trains with DDP across the ranks (the engine's trainer; the
    translator averages its gradients itself), rank 0 writes every file and evaluates the
    student at the end, and every rank returns the same results.

    Returns:
        What ``results.json`` holds: the student's test metrics (when evaluated) and the stage
        folders.
    """
    run_dir = Path(run_dir)
    dist = init_distributed(cfg.run.device)
    progress = progress if dist.is_main else None
    _check_same_settings(run_dir, cfg, mcfg)
    barrier()  # every rank has read the saved settings before rank 0 rewrites them
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(cfg, run_dir / "config.yaml")
        write_mtcd_config(mcfg, run_dir / "mtcd.yaml")
    dirs = {name: run_dir / name for name in ("translator", "teacher", "assistant", "student")}
    dirs.update({k: Path(v) for k, v in (stage_dirs or {}).items()})
    needs = _needs(mcfg)
    num_classes = len(load_vocabulary(cfg.data.classes))

    translator = teacher = assistant = None
    if needs["translator"]:
        _finished(dirs["translator"], notes, TRANSLATOR_DONE)
        train_translator_stage(
            cfg, mcfg.translator, dirs["translator"], progress=prefixed(progress, "translator")
        )
        translator = load_translator(dirs["translator"])
    if needs["teacher"]:
        tcfg = _stage_cfg(cfg, TEACHER_STAGE)
        if not _finished(dirs["teacher"], notes):
            seed_everything(cfg.run.seed)
            step = teacher_step(tcfg, num_classes)
            train_network_stage(
                tcfg,
                step,
                dirs["teacher"],
                modalities=("ir",),
                eval_modalities=("ir",),
                progress=prefixed(progress, "teacher"),
                notes=notes,
            )
        teacher = load_network(tcfg, num_classes, "ir", dirs["teacher"], "model")
    if needs["assistant"]:
        acfg = _stage_cfg(cfg, ASSISTANT_STAGE)
        use_kd = mcfg.switches["assistant_kd"]
        if not _finished(dirs["assistant"], notes):
            seed_everything(cfg.run.seed)
            step = assistant_training_step(
                acfg, mcfg, num_classes, translator=translator, teacher=teacher
            )
            if dist.is_main:
                write_inputs(
                    dirs["assistant"], translator=dirs["translator"], teacher=dirs["teacher"]
                )
            train_network_stage(
                acfg,
                step,
                dirs["assistant"],
                modalities=("rgb", "ir") if use_kd else ("rgb",),
                eval_modalities=("rgb",),
                progress=prefixed(progress, "assistant"),
                notes=notes,
            )
        assistant = load_network(acfg, num_classes, "ir", dirs["assistant"], "assistant")
    online = mcfg.uses_assistant and mcfg.assistant_mode == "online"
    scfg = _stage_cfg(cfg, ONLINE_STAGE if online else STUDENT_STAGE)
    scfg = dataclasses.replace(scfg, data=dataclasses.replace(scfg.data, modality=mcfg.student))
    if not _finished(dirs["student"], notes):
        seed_everything(cfg.run.seed)
        if online:
            step = online_training_step(
                scfg, mcfg, num_classes, teacher=teacher, translator=translator
            )
        else:
            step = student_training_step(
                scfg, mcfg, num_classes, teacher=teacher, assistant=assistant, translator=translator
            )
        frozen = {k: dirs[k] for k, needed in needs.items() if needed}
        if dist.is_main:
            write_inputs(dirs["student"], **frozen)
        train_network_stage(
            scfg,
            step,
            dirs["student"],
            modalities=_student_streams(mcfg, needs),
            eval_modalities=(mcfg.student,),
            progress=prefixed(progress, "student"),
            notes=notes,
        )
    results: dict[str, Any] = {
        "ablation": mcfg.ablation,
        # Only the stages this row uses: `mgrtrain eval RUN --member teacher` of a baseline row
        # must not find a teacher that other rows share.
        "stages": {k: str(v) for k, v in dirs.items() if k == "student" or needs[k]},
    }
    if dist.is_main:
        # One process reads the test set once; the other ranks wait at the broadcast.
        if evaluate:
            results["test"] = evaluate_run(
                dirs["student"], subset="test", progress=prefixed(progress, "student")
            )
        with atomic_path(run_dir / RESULTS) as tmp:
            tmp.write_text(json.dumps(results, indent=2, default=str))
    return broadcast_object(results)


def comparable_settings(cfg: TrainConfig, mcfg: MTCDConfig) -> dict[str, Any]:
    """The settings a finished stage depends on: all but `data.workers` and `run.device`,
    which change nothing that a stage learnt; `data.root` as an absolute path (the same data
    named from another folder is the same data)."""
    c = cfg.to_dict()
    c["data"].pop("workers")
    c["run"].pop("device")
    if c["data"]["root"] is not None:
        c["data"]["root"] = str(Path(c["data"]["root"]).resolve())
    return {"config": c, "mtcd": mcfg.to_dict()}


def _check_same_settings(run_dir: Path, cfg: TrainConfig, mcfg: MTCDConfig) -> None:
    """Refuse to continue a run directory with other settings (finished stages are reused)."""
    saved = load_run_configs(run_dir)
    if saved is None:
        return
    before = resolve_config(base=saved[0]), resolve_mtcd_config(base=saved[1])
    if comparable_settings(*before) != comparable_settings(cfg, mcfg):
        raise RunDirError(
            f"{run_dir} holds an MTCD run with other settings (see its config.yaml and "
            "mtcd.yaml); pass --out for a new run directory"
        )
