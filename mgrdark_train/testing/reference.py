"""The loader's normalisation as it was before clips left the workers as uint8: the reference
`tests/test_loader_normalize.py` and `bench/loader.py` compare the device normalisation with."""

from __future__ import annotations

import numpy as np
import torch

from ..data.normalize import Normalization


def normalize_before(frames: np.ndarray, norm: Normalization) -> torch.Tensor:
    """(T, H, W[, C]) decoded frames -> float32 (C, T, H, W), step by step, as workers did."""
    a = frames if frames.ndim == 4 else frames[..., None]
    t = torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)
    t = t.permute(3, 0, 1, 2).div_(norm.scale)
    if norm.clip:
        t.clamp_(0.0, 1.0)
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(-1, 1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(-1, 1, 1, 1)
    return t.sub_(mean).div_(std).contiguous()
