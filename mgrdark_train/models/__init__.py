"""Video backbones and the factory that builds them by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .layouts import WeightsError
from .pretrained import LoadReport, load_pretrained, map_pretrained, pretrained_reports
from .resnet3d import (
    STAGE_NAMES,
    VARIANTS,
    ResNet3d,
    create_resnet3d,
    resnet3d_problems,
    temporal_stride,
)

MODELS: dict[str, Callable[..., nn.Module]] = {"resnet3d": create_resnet3d}
"""Builders by name; each takes keyword arguments only."""

MODEL_PROBLEMS: dict[str, Callable[..., list[tuple[str, str]]]] = {"resnet3d": resnet3d_problems}
"""Per builder: `(argument, message)` for each keyword argument it cannot build (builds
nothing, so a config can be checked before any work)."""


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


def model_problems(name: str, **kwargs: Any) -> list[tuple[str, str]]:
    """What `create_model(name, **kwargs)` would refuse, as `(argument, message)` pairs."""
    if name not in MODELS:
        return [("name", f"unknown model {name!r}; expected one of {sorted(MODELS)}")]
    return MODEL_PROBLEMS[name](**kwargs)


__all__ = [
    "MODELS",
    "MODEL_PROBLEMS",
    "STAGE_NAMES",
    "VARIANTS",
    "LoadReport",
    "ResNet3d",
    "WeightsError",
    "create_model",
    "create_resnet3d",
    "load_pretrained",
    "map_pretrained",
    "model_problems",
    "pretrained_reports",
    "temporal_stride",
]
