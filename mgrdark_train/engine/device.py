"""Where a run computes: the device, the autocast precision, and moving batches there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .distributed import DistInfo
from .resolver import ConfigError

DEVICES = ("auto", "cpu", "cuda")
"""`run.device`: 'auto' is cuda when a CUDA device is visible, else cpu."""

AMP_MODES = ("auto", "bf16", "off")
"""`run.amp`: 'auto' is bf16 autocast on CUDA and none on CPU."""


def resolve_device(name: str, dist: DistInfo | None = None) -> torch.device:
    """The torch device `run.device` names (this rank's GPU under torchrun)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("run.device is cuda but no CUDA device is visible; use --device cpu")
        return torch.device("cuda", (dist or DistInfo()).local_rank)
    return torch.device("cpu")


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of `run.amp` on `device`; None: no autocast."""
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return torch.bfloat16 if amp == "bf16" else None


def move_batch(batch: Mapping[str, Any], device: torch.device, channels_last: bool) -> dict:
    """Tensors to `device` (5-D clips in channels_last_3d when asked); other values as they are."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if channels_last and v.dim() == 5:
                v = v.contiguous(memory_format=torch.channels_last_3d)
        out[k] = v
    return out
