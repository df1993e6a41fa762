"""Inflate a 2D ResNet's weights (torchvision naming) into a `ResNet3d`.

Each 3D kernel of temporal size t is the 2D kernel repeated t times and divided by t, so a
clip of identical frames produces, away from the temporal borders, exactly the activations the
2D network produces on one frame (I3D's "bootstrapping"). BatchNorm parameters and running
statistics are copied unchanged. Nothing is downloaded: the user supplies the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from mgrdark_data.errors import MgrdarkError

log = logging.getLogger(__name__)


class WeightsError(MgrdarkError):
    """A 2D weights file cannot be read or does not fit the 3D network."""


def inflate_state_dict(
    state_2d: Mapping[str, torch.Tensor], model: nn.Module
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Map a 2D state_dict onto `model`'s parameter shapes.

    Args:
        state_2d: torchvision-named 2D ResNet weights (a `module.` prefix is tolerated).
        model: The 3D network whose `state_dict()` gives the target names and shapes.

    Returns:
        `(state, skipped)`: tensors ready for `load_state_dict(strict=False)` and the target
        keys left at their initial values (a classifier of another size, for instance).

    Raises:
        WeightsError: A backbone tensor is missing or cannot be inflated (wrong depth or width).
    """
    src = {k.removeprefix("module."): v for k, v in state_2d.items()}
    out: dict[str, torch.Tensor] = {}
    skipped: list[str] = []
    for name, target in model.state_dict().items():
        if name not in src:
            raise WeightsError(
                f"2D weights have no {name!r}; expected a torchvision-named ResNet of the same "
                "depth (conv1, bn1, layer1..layer4, fc)"
            )
        w = src[name]
        if name.startswith("fc.") and w.shape != target.shape:
            skipped.append(name)
            continue
        if target.dim() == 5 and w.dim() == 4:
            w = _inflate_conv(name, w, target.shape)
        if w.shape != target.shape:
            raise WeightsError(
                f"2D weight {name!r} has shape {tuple(w.shape)}, the 3D network needs "
                f"{tuple(target.shape)}; inflation needs width 1.0 and the same depth"
            )
        out[name] = w.to(target.dtype)
    return out, skipped


def _inflate_conv(name: str, w: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    out_c, in_c, t = shape[0], shape[1], shape[2]
    if w.shape[1] != in_c:
        if in_c != 1:
            raise WeightsError(f"cannot map {w.shape[1]} input channels of {name!r} to {in_c}")
        # One input channel (depth): a gray image fed as three equal channels gives the same
        # response as their sum applied once.
        w = w.sum(dim=1, keepdim=True)
    if w.shape[0] != out_c:
        return w  # the caller reports the mismatch
    return w.unsqueeze(2).repeat(1, 1, t, 1, 1) / t


def load_inflated(model: nn.Module, path: str | os.PathLike) -> list[str]:
    """Load a 2D ResNet state_dict file into `model` by inflation; returns skipped keys."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as e:
        raise WeightsError(f"cannot read 2D weights {path}: {e}") from e
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    inflated, skipped = inflate_state_dict(state, model)
    model.load_state_dict(inflated, strict=False)
    if skipped:
        log.info("inflated %s; kept initial values for %s", path, ", ".join(skipped))
    return skipped
