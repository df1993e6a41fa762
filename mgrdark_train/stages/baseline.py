"""Single-modality baseline: a 3D ResNet trained with cross-entropy on rgb, ir or depth."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from ..builders import build_model
from ..data import CHANNELS
from ..engine.config import TrainConfig, resolve_config
from ..engine.resolver import read_yaml
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


def resolve_baseline_run(
    *,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
) -> tuple[TrainConfig, Path, bool]:
    """The config and directory of a baseline run, checked before any work.

    Returns:
        `(config, run directory, continued)`: with `resume`, the run directory's saved
        `config.yaml` is the base (no preset) and `continued` is True.
    """
    saved = Path(run_dir) / "config.yaml" if resume and run_dir is not None else None
    base = read_yaml(saved) if saved is not None and saved.exists() else None
    cfg = resolve_config(
        preset=None if base else (preset or "paper"),
        yaml_path=yaml_path,
        overrides=overrides,
        sets=sets,
        base=base,
    )
    return cfg, Path(run_dir) if run_dir else default_run_dir(cfg), base is not None
