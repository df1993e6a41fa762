"""The three MTCD networks: IR teacher, pseudo-IR assistant, RGB student.

Each is the same wrapper around a 3D ResNet backbone from ``mgrdark_train.models``:

    x -> backbone -> F = features[stage] -> converter (eq. 8-9) -> projection T -> avgpool -> fc

The projection ``T`` (a 1x1x1 convolution to ``embed_dim`` channels) is the paper's T_t, T_a or
T_s depending on the network's role. The classifier sits on top of the projected map, so T_t
and T_a are trained by their own network's cross-entropy in their own stage and are already
meaningful (and frozen) when the student is distilled towards them; a projection trained only by
a distillation loss could collapse onto a constant.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from .converter import AttentiveFeatureConverter

logger = logging.getLogger(__name__)

ROLES = ("teacher", "assistant", "student")


class MTCDNetwork(nn.Module):
    """Backbone + attentive converter + projection + classifier.

    Args:
        backbone: A module whose forward returns a dict with ``features[stage]`` of shape
            (B, C, T, H, W) (``mgrdark_train.models.create_resnet3d``).
        feature_channels: C of ``features[stage]``.
        num_classes: Number of gesture classes.
        embed_dim: Channels of the projected space shared by T_t, T_a and T_s (default: C, as
            all three networks share one backbone architecture).
        stage: Which backbone stage feeds the converter.
        use_converter: False replaces the converter by the identity (an ablation).
        temporal_kernel: Temporal kernel of the converter's ``Att_t`` convolution.
        dropout: Dropout before the classifier.
    """

    def __init__(
        self,
        backbone: nn.Module,
        *,
        feature_channels: int,
        num_classes: int,
        # distillation space
        embed_dim: int | None = None,
        stage: str = "res5",
        use_converter: bool = True,
        temporal_kernel: int = 3,
        # head
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.stage = stage
        self.converter: nn.Module = (
            AttentiveFeatureConverter(feature_channels, temporal_kernel=temporal_kernel)
            if use_converter
            else nn.Identity()
        )
        embed_dim = embed_dim or feature_channels
        self.projection = nn.Conv3d(feature_channels, embed_dim, kernel_size=1)  # T_t / T_a / T_s
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``logits`` (B, K), ``embedding`` (B, D, T, H, W) and ``pooled`` (B, D)."""
        out = self.backbone(x)
        try:
            f = out["features"][self.stage]
        except KeyError as e:
            raise KeyError(
                f"backbone exposes no feature stage {self.stage!r}; "
                f"it has {sorted(out['features'])}"
            ) from e
        embedding = self.projection(self.converter(f))
        pooled = embedding.mean(dim=(2, 3, 4))
        logits = self.fc(self.dropout(pooled))
        return {"logits": logits, "embedding": embedding, "pooled": pooled}


def freeze(module: nn.Module) -> nn.Module:
    """Put ``module`` in eval mode with every parameter's ``requires_grad`` off; return it."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
