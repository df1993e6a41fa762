"""Video backbones and the factory that builds them by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .inflate import inflate_state_dict, load_inflated
from .resnet3d import STAGE_NAMES, ResNet3d, create_resnet3d

MODELS: dict[str, Callable[..., nn.Module]] = {"resnet3d": create_resnet3d}
"""Builders by name; each takes keyword arguments only."""


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model by name.

    Raises:
        ValueError: `name` is not registered.
    """
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None
    return builder(**kwargs)


__all__ = [
    "MODELS",
    "STAGE_NAMES",
    "ResNet3d",
    "create_model",
    "create_resnet3d",
    "inflate_state_dict",
    "load_inflated",
]
