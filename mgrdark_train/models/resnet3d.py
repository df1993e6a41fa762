"""I3D-style 3D ResNet (depth 10/18/34/50/101) exposing its stage features.

Variant (the default, stated because "I3D ResNet-50" names several networks):

* stem: conv 5x7x7, stride (1, 2, 2), then max-pool 3x3x3 with stride (2, 2, 2), so the
  temporal resolution is halved once, right after the stem (T=32 input -> 16 frames in
  res2-res5), as in I3D;
* res2: plain 2D-shaped bottlenecks (1x1x1, 1x3x3, 1x1x1);
* res3-res5: every bottleneck's first conv is 3x1x1 ("I3D-ResNet / SlowOnly-style
  inflation": temporal modelling only in 1x1 reductions, never in the spatial 3x3 conv);
  basic blocks (depth 10/18/34) get 3x3x3 in their first conv instead;
* no other temporal striding; global average pooling, dropout, a linear classifier.

Module names follow torchvision's 2D ResNet (conv1, bn1, layer1..layer4, fc, downsample.0/1),
so weights of a 2D ImageNet ResNet inflate by name (`models/inflate.py`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch
from torch import nn

log = logging.getLogger(__name__)

STAGE_NAMES = ("stem", "res2", "res3", "res4", "res5")
"""Keys of `output["features"]`, in network order."""

_LAYOUTS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    10: ("basic", (1, 1, 1, 1)),
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}


class BasicBlock3d(nn.Module):
    """Two 3x3 convs; the first one spans `temporal_kernel` frames."""

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None, kt: int
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(
            inplanes, planes, (kt, 3, 3), (1, stride, stride), (kt // 2, 1, 1), bias=False
        )
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, (1, 3, 3), 1, (0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck3d(nn.Module):
    """1x1 reduce (spanning `temporal_kernel` frames), 1x3x3 (strided), 1x1 expand."""

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None, kt: int
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(inplanes, planes, (kt, 1, 1), 1, (kt // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        # Stride on the 3x3 conv, as torchvision's ResNet v1.5, so 2D weights mean the same.
        self.conv2 = nn.Conv3d(
            planes, planes, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False
        )
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet3d(nn.Module):
    """The network built by `create_resnet3d`; see the module docstring for the variant.

    `forward(x)` takes (B, C, T, H, W) and returns::

        {"logits": (B, num_classes),
         "features": {"stem": ..., "res2": ..., "res3": ..., "res4": ..., "res5": ...},
         "pooled": (B, C_res5)}

    where every feature is (B, C, T', H', W') and `pooled` is res5 averaged over space-time.
    """

    def __init__(
        self,
        *,
        block: type[BasicBlock3d] | type[Bottleneck3d],
        layers: Sequence[int],
        num_classes: int,
        in_channels: int,
        widths: Sequence[int],
        stem_temporal_kernel: int,
        pool_temporal_stride: int,
        inflate_stages: Sequence[bool],
        dropout: float,
    ) -> None:
        super().__init__()
        stem = widths[0]
        kt = stem_temporal_kernel
        self.conv1 = nn.Conv3d(
            in_channels, stem, (kt, 7, 7), (1, 2, 2), (kt // 2, 3, 3), bias=False
        )
        self.bn1 = nn.BatchNorm3d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d((3, 3, 3), (pool_temporal_stride, 2, 2), (1, 1, 1))
        self.inplanes = stem
        self.layer1 = self._stage(block, widths[1], layers[0], 1, inflate_stages[0])
        self.layer2 = self._stage(block, widths[2], layers[1], 2, inflate_stages[1])
        self.layer3 = self._stage(block, widths[3], layers[2], 2, inflate_stages[2])
        self.layer4 = self._stage(block, widths[4], layers[3], 2, inflate_stages[3])
        self.num_features = self.inplanes
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

    def _stage(
        self, block: type[nn.Module], planes: int, blocks: int, stride: int, inflate: bool
    ) -> nn.Sequential:
        out = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(
                nn.Conv3d(self.inplanes, out, 1, (1, stride, stride), bias=False),
                nn.BatchNorm3d(out),
            )
        kt = 3 if inflate else 1
        layers = [block(self.inplanes, planes, stride, downsample, kt)]
        self.inplanes = out
        layers += [block(out, planes, 1, None, kt) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> dict:
        stem = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        res2 = self.layer1(stem)
        res3 = self.layer2(res2)
        res4 = self.layer3(res3)
        res5 = self.layer4(res4)
        pooled = self.avgpool(res5).flatten(1)
        logits = self.fc(self.dropout(pooled))
        features = {"stem": stem, "res2": res2, "res3": res3, "res4": res4, "res5": res5}
        return {"logits": logits, "features": features, "pooled": pooled}


def _init_weights(model: ResNet3d, zero_init_residual: bool) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        # Each residual block starts as the identity: trains faster from scratch on small data.
        for m in model.modules():
            if isinstance(m, Bottleneck3d):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock3d):
                nn.init.zeros_(m.bn2.weight)


def resnet3d_problems(
    *,
    depth: int = 50,
    stem_temporal_kernel: int = 5,
    inflate_stages: Sequence[bool] = (False, True, True, True),
    **_: object,
) -> list[tuple[str, str]]:
    """`(argument, message)` for each argument `create_resnet3d` cannot build (builds nothing)."""
    problems = []
    if depth not in _LAYOUTS:
        problems.append(("depth", f"unknown ResNet depth {depth}; expected {sorted(_LAYOUTS)}"))
    if stem_temporal_kernel % 2 == 0:
        problems.append(("stem_temporal_kernel", f"must be odd, got {stem_temporal_kernel}"))
    if len(inflate_stages) != 4:
        problems.append(
            ("inflate_stages", f"needs 4 entries (res2..res5), got {tuple(inflate_stages)}")
        )
    return problems


def create_resnet3d(
    *,
    # Architecture
    depth: int = 50,
    num_classes: int,
    in_channels: int = 3,
    width: float = 1.0,
    # Temporal design (see the module docstring)
    stem_temporal_kernel: int = 5,
    pool_temporal_stride: int = 2,
    inflate_stages: Sequence[bool] = (False, True, True, True),
    # Head
    dropout: float = 0.5,
    # Initialisation
    zero_init_residual: bool = True,
    pretrained_2d: str | os.PathLike | None = None,
) -> ResNet3d:
    """Build an I3D-style 3D ResNet.

    Args:
        depth: 10, 18, 34 (basic blocks), 50 or 101 (bottlenecks).
        num_classes: Size of the classifier output.
        in_channels: 3 for rgb/ir, 1 for depth.
        width: Channel multiplier (0.25 for tiny CPU runs); 2D weights need 1.0.
        stem_temporal_kernel: Frames spanned by the stem conv (odd).
        pool_temporal_stride: Temporal stride of the stem max-pool (1 keeps every frame).
        inflate_stages: For res2..res5, whether blocks get a temporal kernel of 3.
        dropout: Dropout probability before the classifier.
        zero_init_residual: Zero the last BatchNorm scale of every block.
        pretrained_2d: A torchvision-named 2D ResNet state_dict file (`torch.save`) to
            inflate from; the classifier is kept only when its shape matches.

    Returns:
        The network; `forward` returns the dict described in `ResNet3d`.
    """
    for arg, message in resnet3d_problems(
        depth=depth, stem_temporal_kernel=stem_temporal_kernel, inflate_stages=inflate_stages
    ):
        raise ValueError(f"{arg}: {message}")
    kind, layers = _LAYOUTS[depth]
    widths = [max(4, int(round(c * width))) for c in (64, 64, 128, 256, 512)]
    model = ResNet3d(
        block=BasicBlock3d if kind == "basic" else Bottleneck3d,
        layers=layers,
        num_classes=num_classes,
        in_channels=in_channels,
        widths=widths,
        stem_temporal_kernel=stem_temporal_kernel,
        pool_temporal_stride=pool_temporal_stride,
        inflate_stages=tuple(bool(s) for s in inflate_stages),
        dropout=dropout,
    )
    _init_weights(model, zero_init_residual)
    if pretrained_2d is not None:
        from .inflate import load_inflated

        load_inflated(model, pretrained_2d)
    return model
