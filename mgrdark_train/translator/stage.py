"""The translator stage: train (or set up) a translator in its folder, and load it back.

Stage folder::

    translator.json     name, settings and L1 of every translator on the evaluation subset;
                        written last, so its presence means "stage complete"
    translator.pt       U-Net weights ('gan', 'sda')
    checkpoint.pt       resumable training state ('gan', 'sda')
    metrics.csv         per-epoch L1 / GAN / critic (/ identity) losses ('gan', 'sda')
    reid_encoders.pt    'sda': the pre-trained re-ID encoders (eq. 1), reused on resume

Pseudo-IR is computed on the fly from each RGB batch rather than cached on disk: the frozen
translator costs a fraction of the data loading it would replace, and a cache would have to be
rebuilt for every crop size and every retrained translator (bench/RESULTS.md, "ablation": a
batch translated in 0.006-0.025 s against 0.01-0.09 s to decode one more stream).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress

from ..builders import build_dataset, require_clips
from ..data import CHANNELS, ClipSampler
from ..engine.checkpoint import CheckpointError
from ..engine.config import ConfigError, TrainConfig
from ..engine.device import resolve_device
from ..engine.distributed import barrier, broadcast_object, current, init_distributed
from ..engine.workers import loader_workers
from .config import TranslatorConfig
from .networks import create_translator
from .reid import IdentityTerm, ReIDEncoder, identity_frames, pretrain_encoders
from .train import evaluate_l1, fit_translator, load_translator_weights

log = logging.getLogger(__name__)

DONE = "translator.json"
WEIGHTS = "translator.pt"
ENCODERS = "reid_encoders.pt"
TRAINED = ("gan", "sda")
"""Translators with weights to train (the others have no parameters)."""


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
    dist = init_distributed(cfg.run.device)
    if broadcast_object(done.exists()):
        log.info("translator stage in %s is complete; skipped", out_dir)
        return json.loads(done.read_text())
    if tcfg.batch_size % dist.world_size:
        raise ConfigError(
            f"translator.batch_size {tcfg.batch_size} is not divisible by {dist.world_size} "
            "ranks; the batch size is global"
        )
    progress = progress if dist.is_main else None
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.run.seed)
    device = resolve_device(cfg.run.device, dist)
    eval_loader = None
    if cfg.data.eval_subset:
        eval_set = build_dataset(cfg, cfg.data.eval_subset, ("rgb", "ir"), train=False)
        if len(eval_set):
            eval_loader = translator_loader(eval_set, cfg, tcfg, shuffle=False)
    translator = build_translator(tcfg)
    train_metrics: dict[str, float] = {}
    if tcfg.name in TRAINED:
        train_set = require_clips(
            build_dataset(cfg, "train", ("rgb", "ir")),
            cfg,
            "; the paired translator needs aligned IR clips",
        )
        identity = None
        if tcfg.name == "sda":
            encoders, train_metrics["reid"] = _reid_encoders(
                cfg, tcfg, train_set, out_dir, device, progress
            )
            identity = IdentityTerm(
                encoders, triplet_weight=tcfg.reid_triplet_weight, margin=tcfg.reid_margin
            )
        frames = tcfg.frames_per_batch
        train_metrics |= fit_translator(
            translator,
            translator_loader(train_set, cfg, tcfg, shuffle=True),
            out_dir=out_dir,
            epochs=tcfg.epochs,
            lr=tcfg.lr,
            gan_weight=tcfg.gan_weight,
            hot_weight=tcfg.hot_weight,
            identity=identity,
            identity_weight=tcfg.identity_weight,
            # The frame budget is per global batch, like the batch size.
            frames_per_batch=None if frames is None else -(-frames // dist.world_size),
            val_loader=eval_loader,
            device=device,
            sync_batchnorm=cfg.run.sync_batchnorm,
            progress=progress,
        )
        if dist.is_main:
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
    if dist.is_main:
        with atomic_path(done) as tmp:
            tmp.write_text(json.dumps(summary, indent=2))
    barrier()
    return summary


def _reid_encoders(
    cfg: TrainConfig,
    tcfg: TranslatorConfig,
    train_set: Dataset,
    out_dir: Path,
    device: torch.device,
    progress: Progress | None,
) -> tuple[list[ReIDEncoder], list[dict[str, float]]]:
    """The `sda` translator's frozen re-ID encoders: pre-trained on the training subjects once
    (rank 0; `reid_encoders.pt`), read back by every rank and by a resumed stage."""
    path = out_dir / ENCODERS
    if current().is_main and not path.exists():
        frames, ids, num_ids = identity_frames(train_set)
        encoders, metrics = pretrain_encoders(
            frames, ids, num_ids, tcfg, seed=cfg.run.seed, device=device, progress=progress
        )
        state = {"num_ids": num_ids, "metrics": metrics}
        state["encoders"] = [e.cpu().state_dict() for e in encoders]
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    barrier()
    state = torch.load(path, map_location="cpu", weights_only=True)
    encoders = []
    for weights in state["encoders"]:
        enc = ReIDEncoder(
            in_channels=CHANNELS["ir"], num_ids=state["num_ids"], channels=tcfg.reid_channels
        )
        enc.load_state_dict(weights)
        encoders.append(enc.to(device).eval())
    return encoders, state["metrics"]


def translator_loader(
    dataset: Dataset, cfg: TrainConfig, tcfg: TranslatorConfig, *, shuffle: bool
) -> DataLoader:
    """This rank's share of the global batch of `translator.batch_size` clips."""
    dist = current()
    sampler = ClipSampler(
        len(dataset),
        shuffle=shuffle,
        seed=cfg.run.seed,
        rank=dist.rank,
        world_size=dist.world_size,
    )
    return DataLoader(
        dataset,
        batch_size=tcfg.batch_size // dist.world_size,
        sampler=sampler,
        num_workers=loader_workers(cfg.data.workers),
    )


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
    if summary["name"] in TRAINED:
        load_translator_weights(
            translator,
            torch.load(stage_dir / WEIGHTS, map_location="cpu", weights_only=True),
            stage_dir,
        )
    return translator.eval()
