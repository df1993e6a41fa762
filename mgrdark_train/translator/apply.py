"""Apply a frame translator to whole clips."""

from __future__ import annotations

import torch
from torch import nn


def clip_to_frames(clip: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) clip -> (B * T, C, H, W) frames, frame order b-major then t."""
    b, c, t, h, w = clip.shape
    return clip.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)


def frames_to_clip(frames: torch.Tensor, batch: int) -> torch.Tensor:
    """Inverse of :func:`clip_to_frames`."""
    n, c, h, w = frames.shape
    return frames.reshape(batch, n // batch, c, h, w).permute(0, 2, 1, 3, 4).contiguous()


def translate_clip(translator: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """Translate every frame of a (B, C, T, H, W) clip independently.

    The translator is a per-frame 2D network: the paper's translator works on images, and
    translating after the loader's crop gives the same frames as cropping a translated clip up
    to border effects, which lets pseudo-IR be computed on the fly (no cache to invalidate).
    """
    if clip.dim() != 5:
        raise ValueError(f"expected a (B, C, T, H, W) clip, got shape {tuple(clip.shape)}")
    return frames_to_clip(translator(clip_to_frames(clip)), clip.shape[0])
