"""Whole runs: train a stage into a run directory, evaluate any kind of run directory."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgrdark_data.progress import Progress
from mgrdark_data.vocabulary import load_vocabulary

from ..builders import build_dataset, no_validation_note, require_clips
from ..engine.checkpoint import BEST, LAST, RunDirError, load_checkpoint, load_weights
from ..engine.config import TrainConfig, resolve_config, write_config
from ..engine.device import autocast_dtype, resolve_device
from ..engine.distributed import DistInfo, init_distributed
from ..engine.evaluate import predict, summarize, write_report
from ..engine.resolver import read_yaml
from ..engine.trainer import Trainer
from ..engine.views import Views, parse_views
from ..engine.workers import loader_workers
from ..models import pretrained_reports
from ..mtcd.layout import is_mtcd_run, member_dir
from .registry import get_stage

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train_run(
    cfg: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    notes: Callable[[str], None] | None = None,
) -> list[dict[str, float]]:
    """Train `cfg.stage` into `run_dir` (works the same under `torchrun`).

    Args:
        cfg: Resolved configuration (written to `run_dir/config.yaml`).
        run_dir: Output directory; without `resume` it must not hold a checkpoint yet.
        resume: Continue from `run_dir/checkpoints/last.pt`.
        progress: Progress factory for rank 0.
        notes: Receives, on rank 0 before the first epoch, what was loaded from
            `model.pretrained` and the parameter count with the step's memory estimate
            (default: logged at INFO).

    Returns:
        The metric rows of the epochs trained by this call.
    """
    run_dir = Path(run_dir)
    if not resume and (run_dir / "checkpoints" / LAST).exists():
        raise RunDirError(
            f"{run_dir} already holds a run; pass --resume to continue it or --out for a new one"
        )
    stage = get_stage(cfg.stage)
    device_type = (
        "cuda" if cfg.run.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
    )
    dist = init_distributed(device_type)
    seed_everything(cfg.run.seed + dist.rank)
    train_set = require_clips(build_dataset(cfg, "train", stage.modalities(cfg)), cfg)
    eval_set = None
    if cfg.data.eval_subset:
        eval_set = build_dataset(cfg, cfg.data.eval_subset, stage.evaluation_modalities(cfg))
        if not len(eval_set) and dist.is_main:
            log.warning("%s", no_validation_note(cfg))
    step = stage.build_step(cfg, train_set.num_classes, run_dir)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(cfg, run_dir / "config.yaml")
    trainer = Trainer(
        step, train_set, cfg=cfg, run_dir=run_dir, eval_set=eval_set, progress=progress
    )
    if resume:
        trainer.resume()
    if dist.is_main:
        say = notes or log.info
        for report in [] if resume else pretrained_reports(step):  # resumed: last.pt's weights
            say(report.summary())
        say(trainer.describe())
    return trainer.fit()


def evaluated_folder(run_dir: str | Path, member: str | None = None) -> tuple[Path, str | None]:
    """The stage folder `mgrtrain eval` evaluates, and the MTCD member it is (if any).

    A baseline run or a stage folder is evaluated as it is; an MTCD run directory by its
    `member` ('teacher', 'assistant' or 'student', the default).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise RunDirError(f"{run_dir} is not a run directory (it has no config.yaml)")
    if is_mtcd_run(run_dir):
        member = member or "student"
        return member_dir(run_dir, member), member
    if member is not None:
        raise RunDirError(
            f"{run_dir} is a single run, not an MTCD run directory; --member applies to the "
            "latter (evaluate the folder itself)"
        )
    return run_dir, None


def default_checkpoint(folder: str | Path) -> str:
    """The checkpoint `mgrtrain eval` takes: `best.pt` (best validation top-1, kept when the
    split has val subjects) when there is one, else `last.pt`."""
    return BEST if (Path(folder) / "checkpoints" / BEST).exists() else LAST


def evaluate_run(
    run_dir: str | Path,
    *,
    member: str | None = None,
    subset: str = "test",
    checkpoint: str | None = None,
    views: Views | str | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    out_dir: str | Path | None = None,
    data: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint on one subset and write the report.

    Writes `metrics.json`, `per_class.csv`, `confusion.png` and `predictions.parquet` into
    `out_dir` (default: `<folder>/eval` for the test subset, `<folder>/eval_<subset>`
    otherwise, where the folder is the run's or, for an MTCD run, the member's).

    Args:
        run_dir: A baseline run, an MTCD run directory or one of its stage folders.
        member: Of an MTCD run directory: 'teacher', 'assistant' or 'student' (default).
        subset: 'train', 'val' or 'test'.
        checkpoint: File in `<folder>/checkpoints/` (default: `default_checkpoint`).
        views: C temporal clips x K spatial crops per clip, e.g. '10x3' (`engine/views.py`;
            default: the run's `eval.clips` x `eval.crops`, 1x1 unless set).
        device: 'auto', 'cpu' or 'cuda' (default: the run's).
        batch_size: Views per forward pass (default: the run's batch size).
        workers: DataLoader workers (default: the run's).
        out_dir: Report folder.
        data: Dataset root (default: the one the run was trained on).
        progress: Progress factory.

    Returns:
        The metrics (also in metrics.json) with the checkpoint, its epoch and the views.
    """
    folder, member = evaluated_folder(run_dir, member)
    chosen = parse_views(views) if isinstance(views, str) else views
    flags = {
        "data.root": data,
        "data.workers": workers,
        "run.device": device,
        "eval.clips": chosen.clips if chosen else None,
        "eval.crops": chosen.crops if chosen else None,
    }
    # The checkpoint replaces every weight, so the weights a run started from are not read.
    cfg = resolve_config(
        base=read_yaml(folder / "config.yaml"), overrides=flags, sets={"model.pretrained": None}
    )
    views = Views(cfg.eval.clips, cfg.eval.crops)
    stage = get_stage(cfg.stage)
    dev = resolve_device(cfg.run.device, DistInfo())  # evaluation is one process
    checkpoint = checkpoint or default_checkpoint(folder)
    state = load_checkpoint(folder / "checkpoints" / checkpoint, map_location="cpu")
    # Several views are cut from items of clips*T uncropped frames (engine/views.py).
    data_cfg = cfg
    if views.count > 1:
        d = cfg.data
        wide = dataclasses.replace(d, num_frames=d.num_frames * views.clips, crop=d.resize)
        data_cfg = dataclasses.replace(cfg, data=wide)
    modalities = stage.evaluation_modalities(cfg)
    dataset = build_dataset(data_cfg, subset, modalities, train=False, one_pass=True)
    require_clips(dataset, cfg)
    vocab = load_vocabulary(cfg.data.classes)
    step = stage.build_step(cfg, len(vocab), folder)
    load_weights(step, state["step"], folder)
    pred = predict(
        step,
        dataset,
        device=dev,
        batch_size=batch_size or cfg.optim.batch_size,
        workers=loader_workers(cfg.data.workers),
        amp=autocast_dtype(cfg.run.amp, dev),
        progress=progress,
        stage=f"{member}: eval {subset}" if member else f"eval {subset}",
        views=views if views.count > 1 else None,
        crop=cfg.data.crop,
    )
    summary = summarize(pred, vocab.names)
    extra: dict[str, Any] = {
        "run": str(folder),
        "subset": subset,
        "checkpoint": checkpoint,
        "epoch": int(state["epoch"]) + 1,
        "views": str(views),
    }
    if "best" in state:
        extra["selected_by"] = state["best"]
    if member:
        extra["member"] = member
    out = Path(out_dir) if out_dir else folder / ("eval" if subset == "test" else f"eval_{subset}")
    write_report(out, pred, summary, vocab.names, extra)
    return {**extra, **summary}
