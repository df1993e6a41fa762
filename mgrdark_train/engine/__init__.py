"""Training engine: config resolver, the step contract, trainer, checkpoints, DDP, metrics,
precise BatchNorm, evaluation.

The trainer takes any `nn.Module` step whose forward returns `{"loss", "output", <terms>}`
(`steps.py`); stages (`mgrdark_train.stages`) decide what the step is.
"""

from .config import PRESETS, TrainConfig, load_config, resolve_config, write_config
from .resolver import ConfigError
from .steps import ClassificationStep, output_logits
from .trainer import Trainer

__all__ = [
    "PRESETS",
    "ClassificationStep",
    "ConfigError",
    "Trainer",
    "TrainConfig",
    "load_config",
    "output_logits",
    "resolve_config",
    "write_config",
]
