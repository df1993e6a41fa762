"""I3D-style 3D ResNet (depth 10/18/34/50/101) exposing its stage features, in two variants.

"I3D ResNet-50" names several networks, so the variant is stated (`model.variant`):

* ``slowonly`` (the default; the `tiny` preset): stem conv 5x7x7, then max-pool 3x3x3 with
  stride (2, 2, 2), so the temporal resolution is halved once, right after the stem; res2 plain
  2D-shaped bottlenecks (1x1x1, 1x3x3, 1x1x1); in res3-res5 every bottleneck's first conv is
  3x1x1 (temporal modelling only in the 1x1 reductions, never in the spatial 3x3 conv; basic
  blocks, depth 10/18/34, get 3x3x3 in their first conv instead). Not PyTorchVideo's
  ``slow_r50``, which has a 1x7x7 stem and inflates res4-res5 only.
* ``i3d`` (the `paper` preset): the I3D ResNet-50 of PyTorchVideo (``i3d_r50``) and MMAction2
  (``I3D R50``), the same parameters in both: stem conv 5x7x7, max-pool 1x3x3, a 2x1x1 max-pool
  (stride 2) after res2, and first convs of temporal size 3,3,3 in res2, alternating 3,1,3,1.. in
  res3 and res4, and 1,3,1 in res5, so their Kinetics-400 checkpoints load one-to-one
  (`models/pretrained.py`). Temporal strides are the settings `stem_temporal_stride` (conv) and
  `pool_temporal_stride` (stem max-pool): PyTorchVideo's 8x8 network uses 1 and 1, MMAction2's
  32x2x1 network 2 and 2 (with the res2 pool: 32 input frames -> 4 at res5).

Everywhere: spatial stride on the 3x3 conv (ResNet v1.5, as torchvision), global average
pooling, dropout, a linear classifier. Module names follow torchvision's 2D ResNet (conv1, bn1,
layer1..layer4, fc, downsample.0/1), so weights of a 2D ImageNet ResNet inflate by name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .checkpointing import checkpoint_block

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


@dataclass(frozen=True)
class Variant:
    """Where a variant puts its temporal kernels and pools (see the module docstring)."""

    block_kernels: tuple[tuple[int, ...], ...]
    """Per residual stage res2..res5: the temporal size of each block's first conv, cycled over
    the stage's blocks (PyTorchVideo's convention)."""
    stem_pool_kernel: int
    """Temporal size of the stem max-pool."""
    res2_pool: bool
    """A 2x1x1 max-pool with stride 2 after res2."""

    def kernels(self, stage: int, blocks: int) -> list[int]:
        """Temporal kernel of each block's first conv in residual stage `stage` (0 = res2)."""
        pattern = self.block_kernels[stage]
        return [pattern[j % len(pattern)] for j in range(blocks)]


VARIANTS: dict[str, Variant] = {
    "slowonly": Variant(((1,), (3,), (3,), (3,)), stem_pool_kernel=3, res2_pool=False),
    "i3d": Variant(((3,), (3, 1), (3, 1), (1, 3)), stem_pool_kernel=1, res2_pool=True),
}
"""`model.variant` choices."""


class BasicBlock3d(nn.Module):
    """Two 3x3 convs; the first one spans `kt` frames."""

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
    """1x1 reduce (spanning `kt` frames), 1x3x3 (strided), 1x1 expand."""

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
    """The network built by `create_resnet3d`; see the module docstring for the variants.

    `forward(x)` takes (B, C, T, H, W) and returns::

        {"logits": (B, num_classes),
         "features": {"stem": ..., "res2": ..., "res3": ..., "res4": ..., "res5": ...},
         "pooled": (B, C_res5)}

    where every feature is (B, C, T', H', W') (res2 before the i3d variant's pool) and `pooled`
    is res5 averaged over space-time.
    """

    def __init__(
        self,
        *,
        block: type[BasicBlock3d] | type[Bottleneck3d],
        layers: Sequence[int],
        num_classes: int,
        in_channels: int,
        widths: Sequence[int],
        variant: Variant,
        stem_temporal_kernel: int,
        stem_temporal_stride: int,
        pool_temporal_stride: int,
        dropout: float,
        checkpoint_stages: int = 0,
    ) -> None:
        super().__init__()
        stem = widths[0]
        kt = stem_temporal_kernel
        self.conv1 = nn.Conv3d(
            in_channels,
            stem,
            (kt, 7, 7),
            (stem_temporal_stride, 2, 2),
            (kt // 2, 3, 3),
            bias=False,
        )
        self.bn1 = nn.BatchNorm3d(stem)
        self.relu = nn.ReLU(inplace=True)
        pk = variant.stem_pool_kernel
        self.maxpool = nn.MaxPool3d((pk, 3, 3), (pool_temporal_stride, 2, 2), (pk // 2, 1, 1))
        self.inplanes = stem
        self.layer1 = self._stage(block, widths[1], layers[0], 1, variant.kernels(0, layers[0]))
        # Parameter-free, so it changes no state_dict key: old slowonly checkpoints still load.
        self.pool2 = nn.MaxPool3d((2, 1, 1), (2, 1, 1)) if variant.res2_pool else nn.Identity()
        self.layer2 = self._stage(block, widths[2], layers[1], 2, variant.kernels(1, layers[1]))
        self.layer3 = self._stage(block, widths[3], layers[2], 2, variant.kernels(2, layers[2]))
        self.layer4 = self._stage(block, widths[4], layers[3], 2, variant.kernels(3, layers[3]))
        self.num_features = self.inplanes
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        self.checkpoint_stages = checkpoint_stages
        self.pretrained_report = None
        """What `create_resnet3d(pretrained=...)` loaded (`pretrained.LoadReport`), else None."""

    def _stage(
        self, block: type[nn.Module], planes: int, blocks: int, stride: int, kts: list[int]
    ) -> nn.Sequential:
        out = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(
                nn.Conv3d(self.inplanes, out, 1, (1, stride, stride), bias=False),
                nn.BatchNorm3d(out),
            )
        layers = [block(self.inplanes, planes, stride, downsample, kts[0])]
        self.inplanes = out
        layers += [block(out, planes, 1, None, kts[j]) for j in range(1, blocks)]
        return nn.Sequential(*layers)

    def stages(self) -> tuple[nn.Sequential, ...]:
        """The residual stages res2..res5 (`layer1`..`layer4`)."""
        return (self.layer1, self.layer2, self.layer3, self.layer4)

    def _run(self, index: int, stage: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        if index < self.checkpoint_stages and self.training and torch.is_grad_enabled():
            for block in stage:
                x = checkpoint_block(block, x)
            return x
        return stage(x)

    def forward(self, x: torch.Tensor) -> dict:
        stem = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        res2 = self._run(0, self.layer1, stem)
        res3 = self._run(1, self.layer2, self.pool2(res2))
        res4 = self._run(2, self.layer3, res3)
        res5 = self._run(3, self.layer4, res4)
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


def temporal_stride(
    *,
    variant: str = "slowonly",
    stem_temporal_stride: int = 1,
    pool_temporal_stride: int = 2,
    **_: object,
) -> int:
    """How many input frames make one frame of res5 (the network's total temporal stride)."""
    pool2 = 2 if VARIANTS[variant].res2_pool else 1
    return stem_temporal_stride * pool_temporal_stride * pool2


def resnet3d_problems(
    *,
    depth: int = 50,
    variant: str = "slowonly",
    stem_temporal_kernel: int = 5,
    stem_temporal_stride: int = 1,
    pool_temporal_stride: int = 2,
    checkpoint_stages: int = 0,
    **_: object,
) -> list[tuple[str, str]]:
    """`(argument, message)` for each argument `create_resnet3d` cannot build (builds nothing)."""
    problems = []
    if depth not in _LAYOUTS:
        problems.append(("depth", f"unknown ResNet depth {depth}; expected {sorted(_LAYOUTS)}"))
    if variant not in VARIANTS:
        problems.append(("variant", f"unknown variant {variant!r}; expected {sorted(VARIANTS)}"))
    if stem_temporal_kernel % 2 == 0:
        problems.append(("stem_temporal_kernel", f"must be odd, got {stem_temporal_kernel}"))
    for name, value in (
        ("stem_temporal_stride", stem_temporal_stride),
        ("pool_temporal_stride", pool_temporal_stride),
    ):
        if value < 1:
            problems.append((name, f"must be at least 1, got {value}"))
    if not 0 <= checkpoint_stages <= 4:
        problems.append(("checkpoint_stages", f"must lie in [0, 4], got {checkpoint_stages}"))
    return problems


def create_resnet3d(
    *,
    # Architecture
    depth: int = 50,
    num_classes: int,
    in_channels: int = 3,
    width: float = 1.0,
    # Temporal design (see the module docstring)
    variant: str = "slowonly",
    stem_temporal_kernel: int = 5,
    stem_temporal_stride: int = 1,
    pool_temporal_stride: int = 2,
    # Head
    dropout: float = 0.5,
    # Memory
    checkpoint_stages: int = 0,
    # Initialisation
    zero_init_residual: bool = True,
    pretrained: str | os.PathLike | None = None,
) -> ResNet3d:
    """Build an I3D-style 3D ResNet.

    Args:
        depth: 10, 18, 34 (basic blocks), 50 or 101 (bottlenecks).
        num_classes: Size of the classifier output.
        in_channels: 3 for rgb/ir, 1 for depth.
        width: Channel multiplier (0.25 for tiny CPU runs); pretrained weights need 1.0.
        variant: 'slowonly' or 'i3d' (`VARIANTS`, module docstring).
        stem_temporal_kernel: Frames spanned by the stem conv (odd).
        stem_temporal_stride: Temporal stride of the stem conv.
        pool_temporal_stride: Temporal stride of the stem max-pool (1 keeps every frame).
        dropout: Dropout probability before the classifier.
        checkpoint_stages: Recompute the blocks of the first N residual stages (res2 first:
            the largest activations) in the backward pass instead of keeping their
            activations; the same outputs and gradients for less memory and more compute.
        zero_init_residual: Zero the last BatchNorm scale of every block.
        pretrained: A weights file to start from (Kinetics-400 3D checkpoints of PyTorchVideo
            or MMAction2, or a 2D torchvision ImageNet ResNet; `models/pretrained.py`). The
            classifier is re-initialised; `model.pretrained_report` says what was loaded.

    Returns:
        The network; `forward` returns the dict described in `ResNet3d`.
    """
    for arg, message in resnet3d_problems(
        depth=depth,
        variant=variant,
        stem_temporal_kernel=stem_temporal_kernel,
        stem_temporal_stride=stem_temporal_stride,
        pool_temporal_stride=pool_temporal_stride,
        checkpoint_stages=checkpoint_stages,
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
        variant=VARIANTS[variant],
        stem_temporal_kernel=stem_temporal_kernel,
        stem_temporal_stride=stem_temporal_stride,
        pool_temporal_stride=pool_temporal_stride,
        dropout=dropout,
        checkpoint_stages=checkpoint_stages,
    )
    _init_weights(model, zero_init_residual)
    if pretrained is not None:
        from .pretrained import load_pretrained

        model.pretrained_report = load_pretrained(model, pretrained)
    return model
