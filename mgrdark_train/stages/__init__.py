"""Training stages by name: how a config becomes a step module and which streams it reads.

`mgrtrain eval` rebuilds a run's step through this registry (the config's `stage` key), so a
new stage (MTCD) registers a `Stage` here and gets evaluation for free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..engine.config import ConfigError, TrainConfig
from .baseline import baseline_modalities, build_baseline_step


@dataclass(frozen=True)
class Stage:
    """How to build one kind of run."""

    build_step: Callable[[TrainConfig, int], nn.Module]
    """(config, num_classes) -> the step module (its state_dict is what checkpoints hold)."""
    modalities: Callable[[TrainConfig], tuple[str, ...]]
    """Streams the dataset must load for training."""
    eval_modalities: Callable[[TrainConfig], tuple[str, ...]] | None = None
    """Streams needed at evaluation, when fewer than for training (None: the same)."""


STAGES: dict[str, Stage] = {
    "baseline": Stage(build_baseline_step, baseline_modalities),
}


def get_stage(name: str) -> Stage:
    if name not in STAGES:
        # MTCD's stages register themselves when their package is imported; importing it here
        # lets library callers (not only the CLI) evaluate MTCD runs.
        import mgrdark_train.mtcd  # noqa: F401
    try:
        return STAGES[name]
    except KeyError:
        raise ConfigError(f"unknown stage {name!r}; expected one of {sorted(STAGES)}") from None


__all__ = ["STAGES", "Stage", "get_stage"]
