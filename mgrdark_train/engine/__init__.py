"""Training engine: config, the step contract, trainer, checkpoints, DDP, metrics, evaluation.

The trainer takes any `nn.Module` step whose forward returns `{"loss", "output", <terms>}`
(`steps.py`); stages (`mgrdark_train.stages`) decide what the step is.
"""

from .config import PRESETS, ConfigError, TrainConfig, load_config, resolve_config, write_config
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
