"""The translator stage: train (or set up) a translator in its folder, and load it back.

Stage folder::

    translator.json     name, settings and L1 of every translator on the evaluation subset;
                        written last, so its presence means "stage complete"
    translator.pt       U-Net weights ('gan' only)
    checkpoint.pt       resumable training state ('gan' only)
    metrics.csv         per-epoch L1 / GAN / critic losses ('gan' only)

Pseudo-IR is computed on the fly from each RGB batch rather than cached on disk: the frozen
translator costs a fraction of the data loading it would replace, and a cache would have to be
rebuilt for every crop size and every retrained translator (``bench/ablation.py`` measures it).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress

from ..builders import build_dataset, require_clips
from ..data import CHANNELS, ClipSampler
from ..engine.checkpoint import CheckpointError
from ..engine.config import TrainConfig
from ..engine.device import resolve_device
from .config import TranslatorConfig
from .networks import create_translator
from .train import evaluate_l1, fit_translator, load_translator_weights

log = logging.getLogger(__name__)

DONE = "translator.json"
WEIGHTS = "translator.pt"


def build_translator(tcfg: TranslatorConfig) -> nn.Module:
    """The translator ``tcfg`` describes, untrained (RGB channels in, IR channels out)."""
    return create_translator(
        tcfg.name,
        in_channels=CHANNELS["rgb"],
        out_channels=CHANNELS["ir"],
        base_channels=tcfg.base_channels,
        depth=tcfg.depth,
    )


def train_translator_stage(
    cfg: TrainConfig,
    tcfg: TranslatorConfig,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train the translator into ``out_dir``; a completed folder is returned as it is.

    Args:
        cfg: Training config: which data, split, sampling, device and seed.
        tcfg: Translator settings.
        out_dir: Stage folder.
        progress: Progress factory (bars ``epoch 2/8``, ``val L1``, ``L1 <translator>``).

    Returns:
        The stage summary (also in ``translator.json``): name, settings, and ``l1`` (mean
        per-pixel L1 to the real IR on the evaluation subset) for this translator and the two
        parameter-free baselines, for comparison.
    """
    out_dir = Path(out_dir)
    done = out_dir / DONE
    if done.exists():
        log.info("translator stage in %s is complete; skipped", out_dir)
        return json.loads(done.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.run.seed)
    device = resolve_device(cfg.run.device)
    eval_loader = None
    if cfg.data.eval_subset:
        eval_set = build_dataset(cfg, cfg.data.eval_subset, ("rgb", "ir"), train=False)
        if len(eval_set):
            eval_loader = DataLoader(
                eval_set, batch_size=tcfg.batch_size, num_workers=cfg.data.workers
            )
    translator = build_translator(tcfg)
    train_metrics: dict[str, float] = {}
    if tcfg.name == "gan":
        train_set = require_clips(
            build_dataset(cfg, "train", ("rgb", "ir")),
            cfg,
            "; the paired translator needs aligned IR clips",
        )
        loader = DataLoader(
            train_set,
            batch_size=tcfg.batch_size,
            sampler=ClipSampler(len(train_set), shuffle=True, seed=cfg.run.seed),
            num_workers=cfg.data.workers,
        )
        train_metrics = fit_translator(
            translator,
            loader,
            out_dir=out_dir,
            epochs=tcfg.epochs,
            lr=tcfg.lr,
            gan_weight=tcfg.gan_weight,
            hot_weight=tcfg.hot_weight,
            frames_per_batch=tcfg.frames_per_batch,
            val_loader=eval_loader,
            device=device,
            progress=progress,
        )
        torch.save(translator.state_dict(), out_dir / WEIGHTS)
    l1: dict[str, float] = {}
    if eval_loader is not None:
        # The baselines' L1 says what the trained translator buys over no training at all.
        candidates = {tcfg.name: translator}
        for name in ("grayscale", "identity"):
            candidates.setdefault(name, build_translator(dataclasses.replace(tcfg, name=name)))
        for name, t in candidates.items():
            l1[name] = evaluate_l1(
                t.to(device), eval_loader, device=device, progress=progress, stage=f"L1 {name}"
            )
        log.info("translator L1 on %s: %s", cfg.data.eval_subset, l1)
    summary = {
        "name": tcfg.name,
        "settings": dataclasses.asdict(tcfg),
        "train": train_metrics,
        "eval_subset": cfg.data.eval_subset if l1 else None,
        "l1": l1,
    }
    with atomic_path(done) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary


def load_translator(stage_dir: str | Path) -> nn.Module:
    """The translator of a completed stage folder, in eval mode on the CPU.

    Raises:
        CheckpointError: The stage has not completed.
    """
    stage_dir = Path(stage_dir)
    done = stage_dir / DONE
    if not done.exists():
        raise CheckpointError(f"{stage_dir} holds no finished translator ({DONE} missing)")
    summary = json.loads(done.read_text())
    translator = build_translator(TranslatorConfig(**summary["settings"]))
    if summary["name"] == "gan":
        load_translator_weights(
            translator,
            torch.load(stage_dir / WEIGHTS, map_location="cpu", weights_only=True),
            stage_dir,
        )
    return translator.eval()
