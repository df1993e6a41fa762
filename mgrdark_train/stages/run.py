"""Whole runs: train a stage into a run directory, evaluate a finished run."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.vocabulary import load_vocabulary

from ..engine.checkpoint import LAST, load_checkpoint
from ..engine.config import TrainConfig, load_config, write_config
from ..engine.distributed import DistInfo, init_distributed
from ..engine.evaluate import predict, summarize, write_report
from ..engine.trainer import ProgressFactory, Trainer, autocast_dtype, resolve_device
from . import get_stage
from .baseline import build_dataset

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
    progress: ProgressFactory | None = None,
) -> list[dict[str, float]]:
    """Train `cfg.stage` into `run_dir` (works the same under `torchrun`).

    Args:
        cfg: Resolved configuration (written to `run_dir/config.yaml`).
        run_dir: Output directory; without `resume` it must not hold a checkpoint yet.
        resume: Continue from `run_dir/checkpoints/last.pt`.
        progress: Progress-bar factory for rank 0.

    Returns:
        The metric rows of the epochs trained by this call.
    """
    run_dir = Path(run_dir)
    if not resume and (run_dir / "checkpoints" / LAST).exists():
        raise MgrdarkError(
            f"{run_dir} already holds a run; pass --resume to continue it or --out for a new one"
        )
    device_type = (
        "cuda" if cfg.run.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
    )
    dist = init_distributed(device_type)
    seed_everything(cfg.run.seed + dist.rank)
    stage = get_stage(cfg.stage)
    train_set = build_dataset(cfg, "train", stage.modalities(cfg))
    if not len(train_set):
        raise MgrdarkError(
            f"no training clips for split {cfg.data.split!r} with light={cfg.data.light!r} and "
            f"modalities {stage.modalities(cfg)}; check `mgrdata split` and --set data.light"
        )
    eval_set = None
    if cfg.data.eval_subset:
        eval_mods = (stage.eval_modalities or stage.modalities)(cfg)
        eval_set = build_dataset(cfg, cfg.data.eval_subset, eval_mods)
        if not len(eval_set):
            log.info("subset %s is empty: no per-epoch evaluation", cfg.data.eval_subset)
    step = stage.build_step(cfg, train_set.num_classes)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(cfg, run_dir / "config.yaml")
    trainer = Trainer(
        step, train_set, cfg=cfg, run_dir=run_dir, eval_set=eval_set, progress=progress
    )
    if resume:
        trainer.resume()
    return trainer.fit()


def evaluate_run(
    run_dir: str | Path,
    *,
    subset: str = "test",
    checkpoint: str = LAST,
    device: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    out_dir: str | Path | None = None,
    data: str | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint on one subset and write the report.

    Writes `metrics.json`, `per_class.csv`, `confusion.png` and `predictions.parquet` into
    `out_dir` (default: `run_dir/eval` for the test subset, `run_dir/eval_<subset>` otherwise).

    Returns:
        The metrics (also in metrics.json).
    """
    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.yaml")
    if data is not None:
        cfg.data.root = data
    if workers is not None:
        cfg.data.workers = workers
    stage = get_stage(cfg.stage)
    dev = resolve_device(device or cfg.run.device, DistInfo())  # evaluation is one process
    state = load_checkpoint(run_dir / "checkpoints" / checkpoint, map_location="cpu")
    mods = (stage.eval_modalities or stage.modalities)(cfg)
    dataset = build_dataset(cfg, subset, mods, train=False, one_pass=True)
    vocab = load_vocabulary(cfg.data.classes)
    step = stage.build_step(cfg, len(vocab))
    step.load_state_dict(state["step"])
    pred = predict(
        step,
        dataset,
        device=dev,
        batch_size=batch_size or cfg.optim.batch_size,
        workers=cfg.data.workers,
        amp=autocast_dtype(cfg.run.amp, dev),
        progress=progress,
    )
    if not pred.clip_ids:
        raise MgrdarkError(f"subset {subset!r} of split {cfg.data.split!r} has no clips")
    summary = summarize(pred, vocab.names)
    extra = {
        "run": str(run_dir),
        "subset": subset,
        "checkpoint": checkpoint,
        "epoch": int(state["epoch"]) + 1,
    }
    out = Path(out_dir) if out_dir else run_dir / ("eval" if subset == "test" else f"eval_{subset}")
    write_report(out, pred, summary, vocab.names, extra)
    return {**extra, **summary}
