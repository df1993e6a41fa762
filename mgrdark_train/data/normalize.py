"""How decoded values become network inputs, applied by the steps on the training device.

DataLoader workers hand clips over as they were decoded (uint8 RGB/IR, uint16 depth in
millimetres): a quarter of float32's bytes to copy into shared memory, pin and transfer. A step
turns them into network inputs with `clip_input`, one fused multiply-add per element in the
autocast dtype, so normalising costs the workers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def normalize_clip(
    clip: torch.Tensor, norm: Normalization, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Decoded (..., C, T, H, W) integer values -> normalised network input.

    Computes `value * (1 / (scale * std)) + (-mean / std)` in float32 (one `addcmul`; the
    factors are rounded once from float64), within 2 ulp of the step-by-step formula, then casts
    to `dtype` (default float32). Clipping (depth) clamps the result to the values of 0 and
    `scale`: rounding is monotone, so that equals clipping the input first.
    """
    if clip.is_floating_point():
        raise TypeError(f"expected decoded integer values, got a {clip.dtype} clip")
    channels = clip.shape[-4]
    if len(norm.mean) != channels or len(norm.std) != channels:
        raise ValueError(f"normalisation has {len(norm.mean)} channels, the clip has {channels}")
    shape = (channels, 1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float64)
    gain = (1.0 / (norm.scale * std)).to(torch.float32).view(shape).to(clip.device)
    bias = (-torch.tensor(norm.mean, dtype=torch.float64) / std).to(torch.float32)
    bias = bias.view(shape).to(clip.device)
    out = torch.addcmul(bias, clip, gain)
    if norm.clip:
        top = torch.addcmul(bias, torch.full(shape, norm.scale, device=clip.device), gain)
        out = torch.minimum(torch.maximum(out, bias), top)
    return out if dtype in (None, torch.float32) else out.to(dtype)


def clip_input(
    batch: Mapping[str, Any],
    key: str,
    *,
    modality: str | None = None,
    normalization: Mapping[str, Normalization] | None = None,
) -> torch.Tensor:
    """The network input of one clip in a batch: `batch[key]` normalised for its modality.

    Integer clips (what the loader hands over) are normalised in the current autocast dtype of
    their device (float32 without autocast); floating clips are taken as already normalised
    (synthetic batches, a translator's pseudo-IR); compressed frames (`data.gpu_decode`) are
    decoded on the device of `batch["window"]` first (`device_decode.py`).

    Args:
        batch: A batch on the step's device.
        key: Its key (`rgb`, `ir`, `depth`).
        modality: Which normalisation applies (default: `key`).
        normalization: Overrides of `DEFAULT_NORMALIZATION`.
    """
    x = batch[key]
    if isinstance(x, list | tuple):  # still compressed (data.gpu_decode)
        from .device_decode import decode_window_batch

        x = decode_window_batch(x, batch["window"], modality or key)
    if x.is_floating_point():
        return x
    norm = {**DEFAULT_NORMALIZATION, **(normalization or {})}[modality or key]
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    return normalize_clip(x, norm, dtype)
