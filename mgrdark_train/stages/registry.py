"""The stage registry: every kind of training step by name, filled here and nowhere else.

A run's `config.yaml` names its stage (`stage`); `mgrtrain eval` rebuilds the step through this
dict, so a new kind of run adds one entry here and gets evaluation for free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..engine.config import ConfigError, TrainConfig
from ..mtcd import stages as mtcd
from ..mtcd.layout import ASSISTANT_STAGE, ONLINE_STAGE, STUDENT_STAGE, TEACHER_STAGE
from .baseline import baseline_modalities, build_baseline_step


@dataclass(frozen=True)
class Stage:
    """How to build one kind of run."""

    build_step: Callable[..., nn.Module]
    """`(config, num_classes, stage_dir=None)` -> the step module (its state_dict is what
    checkpoints hold); `stage_dir` locates what a step needs besides its own weights (the
    assistant's translator)."""
    modalities: Callable[[TrainConfig], tuple[str, ...]]
    """Streams the dataset must load for training."""
    eval_modalities: Callable[[TrainConfig], tuple[str, ...]] | None = None
    """Streams needed at evaluation, when fewer than for training (None: the same)."""

    def evaluation_modalities(self, cfg: TrainConfig) -> tuple[str, ...]:
        return (self.eval_modalities or self.modalities)(cfg)


def _ir(cfg: TrainConfig) -> tuple[str, ...]:
    return ("ir",)


def _rgb(cfg: TrainConfig) -> tuple[str, ...]:
    return ("rgb",)


def _rgb_ir(cfg: TrainConfig) -> tuple[str, ...]:
    return ("rgb", "ir")


def _student(cfg: TrainConfig) -> tuple[str, ...]:
    return (cfg.data.modality,)


def _student_ir(cfg: TrainConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((cfg.data.modality, "rgb", "ir")))


STAGES: dict[str, Stage] = {
    "baseline": Stage(build_baseline_step, baseline_modalities),
    TEACHER_STAGE: Stage(mtcd.teacher_step, _ir),
    ASSISTANT_STAGE: Stage(mtcd.assistant_inference_step, _rgb_ir, _rgb),
    STUDENT_STAGE: Stage(mtcd.student_inference_step, _student_ir, _student),
    ONLINE_STAGE: Stage(mtcd.online_inference_step, _student_ir, _student),
}


def get_stage(name: str) -> Stage:
    """The registered stage `name`, or ConfigError listing the known ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise ConfigError(f"unknown stage {name!r}; expected one of {sorted(STAGES)}") from None
