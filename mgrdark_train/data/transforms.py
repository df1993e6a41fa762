"""Array -> tensor transforms for one modality of one clip: crop, flip, scale, normalise.

Pure functions; the dataset decides the crop and the flip once per clip and applies the same
ones to every modality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Normalization:
    """How decoded values become network inputs: `(value / scale - mean) / std` per channel.

    For depth, `scale` is the far limit in millimetres: values are clipped to [0, 1] after
    dividing, so everything beyond it (and sensor saturation) reads as "far".
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 255.0
    clip: bool = False


DEFAULT_NORMALIZATION: dict[str, Normalization] = {
    # ImageNet statistics, so that weights inflated from a 2D ImageNet model see familiar inputs.
    "rgb": Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "ir": Normalization((0.45, 0.45, 0.45), (0.225, 0.225, 0.225)),
    # Kinect V2 depth is reliable to about 4.5 m.
    "depth": Normalization((0.5,), (0.25,), scale=4500.0, clip=True),
}

CHANNELS: dict[str, int] = {"rgb": 3, "ir": 3, "depth": 1}
"""Input channels a model needs for each modality."""


def crop_frames(frames: np.ndarray, y: int, x: int, crop: int) -> np.ndarray:
    """Crop (T, H, W[, C]) frames to the window with top-left corner (y, x)."""
    return frames[:, y : y + crop, x : x + crop]


def hflip_frames(frames: np.ndarray) -> np.ndarray:
    """Mirror (T, H, W[, C]) frames left-right."""
    return frames[:, :, ::-1]


def to_tensor(frames: np.ndarray, norm: Normalization) -> torch.Tensor:
    """(T, H, W[, C]) uint8/uint16 frames -> normalised float32 tensor (C, T, H, W)."""
    a = frames if frames.ndim == 4 else frames[..., None]
    t = torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)
    t = t.permute(3, 0, 1, 2).div_(norm.scale)
    if norm.clip:
        t.clamp_(0.0, 1.0)
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(-1, 1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(-1, 1, 1, 1)
    if mean.numel() != t.shape[0]:
        raise ValueError(f"normalisation has {mean.numel()} channels, frames have {t.shape[0]}")
    return t.sub_(mean).div_(std).contiguous()
