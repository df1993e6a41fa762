"""Single-modality baseline: a 3D ResNet trained with cross-entropy on rgb, ir or depth."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from torch import nn

from mgrdark_data.paths import DataRoot
from mgrdark_data.vocabulary import load_vocabulary

from ..data import CHANNELS, MODALITIES, ClipDataset
from ..engine.config import ConfigError, TrainConfig
from ..engine.steps import ClassificationStep
from ..models import create_model

log = logging.getLogger(__name__)


def baseline_modalities(cfg: TrainConfig) -> tuple[str, ...]:
    if cfg.data.modality not in MODALITIES:
        raise ConfigError(f"unknown modality {cfg.data.modality!r}; expected one of {MODALITIES}")
    return (cfg.data.modality,)


def build_model(cfg: TrainConfig, num_classes: int, in_channels: int) -> nn.Module:
    """The backbone named by `cfg.model` (every key but `name` goes to its builder)."""
    kwargs = {k: v for k, v in asdict(cfg.model).items() if k != "name"}
    return create_model(cfg.model.name, num_classes=num_classes, in_channels=in_channels, **kwargs)


def build_baseline_step(cfg: TrainConfig, num_classes: int) -> nn.Module:
    (modality,) = baseline_modalities(cfg)
    model = build_model(cfg, num_classes, CHANNELS[modality])
    return ClassificationStep(model, input_key=modality)


def build_dataset(
    cfg: TrainConfig,
    subset: str,
    modalities: tuple[str, ...],
    *,
    train: bool | None = None,
    one_pass: bool = False,
) -> ClipDataset:
    """The dataset of one subset as the config describes it.

    ``one_pass``: the caller reads every clip once (a final evaluation, a timing), so keeping
    frames in memory (``data.in_memory``) would only decode more and hold it for nothing.
    """
    d = cfg.data
    in_memory = d.in_memory and not one_pass
    ds = ClipDataset(
        DataRoot.resolve(d.root),
        split=d.split,
        subset=subset,
        modalities=modalities,
        light=d.light,
        num_frames=d.num_frames,
        resize=d.resize,
        crop=d.crop,
        train=train,
        flip=d.flip,
        vocabulary=load_vocabulary(d.classes),
        cache=d.cache,
        seed=cfg.run.seed,
        in_memory=in_memory,
    )
    if in_memory:
        log.info(
            "%s %s: %.2f GiB of decoded frames kept in memory (data.in_memory) per process",
            subset,
            "+".join(modalities),
            ds.memory_bytes() / 2**30,
        )
    return ds


def default_run_dir(cfg: TrainConfig) -> Path:
    return Path("runs") / f"{cfg.stage}_{cfg.data.modality}_{cfg.data.split}"
