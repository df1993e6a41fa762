"""Optimizers by name (`optim.name`) and the step decay of the learning rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn


class OptimSettings(Protocol):
    """What the builders read of `config.OptimSettings` (a protocol, so that this module does
    not import the config, which imports `OPTIMIZERS` for its choices)."""

    name: str
    lr: float
    momentum: float
    weight_decay: float
    lr_step: int
    lr_gamma: float


def _sgd(params: list[nn.Parameter], optim: OptimSettings) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
    )


def _adamw(params: list[nn.Parameter], optim: OptimSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=optim.lr, weight_decay=optim.weight_decay)


OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], OptimSettings], torch.optim.Optimizer]] = {
    # The paper's recipe (uses `momentum`).
    "sgd": _sgd,
    # Trains a small network from scratch in far fewer epochs (the `tiny` preset).
    "adamw": _adamw,
}


def build_optimizer(params: list[nn.Parameter], optim: OptimSettings) -> torch.optim.Optimizer:
    """The optimizer `optim.name` names (the config resolver has checked the name)."""
    return OPTIMIZERS[optim.name](params, optim)


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimSettings
) -> torch.optim.lr_scheduler.StepLR:
    """Multiply the learning rate by `optim.lr_gamma` every `optim.lr_step` epochs."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=optim.lr_step, gamma=optim.lr_gamma)
