"""Single-modality baseline: a 3D ResNet trained with cross-entropy on rgb, ir or depth."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..builders import build_model
from ..data import CHANNELS
from ..engine.config import TrainConfig
from ..engine.steps import ClassificationStep


def baseline_modalities(cfg: TrainConfig) -> tuple[str, ...]:
    return (cfg.data.modality,)


def build_baseline_step(
    cfg: TrainConfig, num_classes: int, stage_dir: str | Path | None = None
) -> nn.Module:
    model = build_model(cfg, num_classes, CHANNELS[cfg.data.modality])
    return ClassificationStep(model, input_key=cfg.data.modality)


def default_run_dir(cfg: TrainConfig) -> Path:
    return Path("runs") / f"{cfg.stage}_{cfg.data.modality}_{cfg.data.split}"
