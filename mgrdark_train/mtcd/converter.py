"""Attentive feature converter (paper eq. 8-9).

    F' = F + (F + Conv(F) * Att_s) * Att_t                      (eq. 8)
    Att_s = sigmoid(Conv3x3(F)),  Att_t = sigmoid(Conv(avgpool(F)))   (eq. 9)

Reading of the paper used here (the paper gives the formula, not the tensor shapes):

* ``Att_s`` is a *spatial* map: a 1x3x3 convolution from C channels to one channel, so every
  channel of a location shares one weight, shape (B, 1, T, H, W).
* ``Att_t`` is a *temporal* weight: ``avgpool`` averages over height and width, and a
  ``temporal_kernel``x1x1 convolution maps C channels to one, shape (B, 1, T, 1, 1).
* ``Conv(F)`` is a 1x1x1 convolution C -> C (a per-location re-mixing of channels).

With all convolution weights and biases zero, ``Conv(F) = 0`` and both attentions are 0.5, so
the converter returns ``F + 0.5 * F = 1.5 * F`` (tests check exactly this).
"""

from __future__ import annotations

import torch
from torch import nn


class AttentiveFeatureConverter(nn.Module):
    """``F + (F + Conv(F) * Att_s) * Att_t`` on a (B, C, T, H, W) feature map (eq. 8-9).

    Args:
        channels: C, the channel count of the input feature map (kept at the output).
        temporal_kernel: Temporal extent of the convolution inside ``Att_t`` (odd).
    """

    def __init__(self, channels: int, *, temporal_kernel: int = 3) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}")
        # Conv(F) of eq. 8.
        self.transform = nn.Conv3d(channels, channels, kernel_size=1)
        # Conv3x3 of Att_s (eq. 9): spatial only, so frames are not mixed here.
        self.spatial = nn.Conv3d(channels, 1, kernel_size=(1, 3, 3), padding=(0, 1, 1))
        # Conv of Att_t (eq. 9): temporal only, applied after the spatial average pool.
        pad = temporal_kernel // 2
        self.temporal = nn.Conv3d(
            channels, 1, kernel_size=(temporal_kernel, 1, 1), padding=(pad, 0, 0)
        )

    def attentions(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(Att_s, Att_t)`` of shapes (B, 1, T, H, W) and (B, 1, T, 1, 1) (eq. 9)."""
        att_s = torch.sigmoid(self.spatial(f))  # eq. 9: Att_s = sigmoid(Conv3x3(F))
        pooled = f.mean(dim=(3, 4), keepdim=True)  # avgpool over H, W
        att_t = torch.sigmoid(self.temporal(pooled))  # eq. 9: Att_t = sigmoid(Conv(avgpool(F)))
        return att_s, att_t

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if f.dim() != 5:
            raise ValueError(f"expected a (B, C, T, H, W) feature map, got shape {tuple(f.shape)}")
        att_s, att_t = self.attentions(f)
        return f + (f + self.transform(f) * att_s) * att_t  # eq. 8
