"""Modality translators RGB frame -> pseudo-IR frame, and the PatchGAN critic.

All translators map (N, in_channels, H, W) frames to (N, out_channels, H, W) frames in the same
value domain as the clips the data loader produces (they are trained on those tensors), so the
pseudo-IR they produce can be fed to an IR-trained network directly.

* ``gan``: a U-Net generator (pix2pix-style encoder/decoder with skip connections), trained with
  L1 plus an optional PatchGAN term (``mgrdark_train.translator.train``).
* ``sda``: the same U-Net, trained with an identity-preservation term besides (paper eq. 1-4,
  ``mgrdark_train.translator.reid``).
* ``grayscale``: ITU-R BT.601 luma replicated to ``out_channels``; no parameters.
* ``identity``: the RGB frame itself (needs ``out_channels == in_channels``); no parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# ITU-R BT.601 luma weights for R, G, B.
_LUMA = (0.299, 0.587, 0.114)


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


def _down(
    cin: int, cout: int, *, norm: bool = True, norm_layer: type[nn.Module] | None = None
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append((norm_layer or nn.BatchNorm2d)(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
        _instance_norm(cout),
        nn.ReLU(inplace=True),
    )


class UNetTranslator(nn.Module):
    """U-Net generator: ``depth`` stride-2 encoder stages, mirrored decoder, skip connections.

    Frames of any size are padded to a multiple of ``2 ** depth`` and cropped back. Features
    are instance-normalised (each frame on its own), as pix2pix's BatchNorm at batch size 1
    effectively is: with BatchNorm over batches of a few clips, the eval-mode running
    statistics matched no recording's exposure and the validation L1 swung between 0.3 and 1.9
    from one epoch to the next (bench/RESULTS.md, "translator"). The output
    layer is linear (no tanh), so the generator regresses frames in whatever normalisation the
    loader uses.

    Args:
        in_channels: Channels of the RGB frame.
        out_channels: Channels of the IR frame.
        base_channels: Channels of the first encoder stage (doubled per stage, capped at 8x).
        depth: Number of down-sampling stages.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 32,
        depth: int = 4,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        self.in_channels, self.out_channels = in_channels, out_channels
        widths = [base_channels * min(2**i, 8) for i in range(depth)]
        self.encoder = nn.ModuleList(
            _down(
                in_channels if i == 0 else widths[i - 1], w, norm=i > 0, norm_layer=_instance_norm
            )
            for i, w in enumerate(widths)
        )
        # Decoder stage i takes the previous decoder output concatenated with encoder skip i.
        self.decoder = nn.ModuleList()
        for i in reversed(range(1, depth)):
            cin = widths[i] if i == depth - 1 else 2 * widths[i]
            self.decoder.append(_up(cin, widths[i - 1]))
        last_in = widths[0] if depth == 1 else 2 * widths[0]
        self.head = nn.ConvTranspose2d(last_in, out_channels, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Pad to a multiple of 2 ** depth (reflect: no dark border for the network to learn)
        # and crop back, so any crop size works (e.g. 56 = 7 * 8 in the tiny preset).
        multiple = 2**self.depth
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % multiple, -w % multiple
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        skips = []
        y = x
        for enc in self.encoder:
            y = enc(y)
            skips.append(y)
        skips.pop()  # the bottleneck is the decoder's input, not a skip
        for dec in self.decoder:
            y = torch.cat([dec(y), skips.pop()], dim=1)
        return self.head(y)[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """PatchGAN critic on (RGB, IR) pairs: one real/fake logit per overlapping patch.

    Args:
        in_channels: Channels of the RGB frame plus channels of the IR frame.
        base_channels: Channels of the first layer.
        layers: Number of stride-2 layers (the receptive field grows with it).
    """

    def __init__(self, *, in_channels: int = 6, base_channels: int = 32, layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        cin = in_channels
        for i in range(layers):
            cout = base_channels * min(2**i, 8)
            blocks.append(_down(cin, cout, norm=i > 0))
            cin = cout
        blocks.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*blocks)

    def forward(self, rgb: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([rgb, ir], dim=1))


class GrayscaleTranslator(nn.Module):
    """Luma of the RGB frame, replicated to ``out_channels`` (a parameter-free baseline)."""

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        if in_channels != 3:
            raise ValueError(f"grayscale translation needs 3 input channels, got {in_channels}")
        self.out_channels = out_channels
        self.register_buffer("weights", torch.tensor(_LUMA).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        luma = (x * self.weights.to(x.dtype)).sum(dim=1, keepdim=True)
        return luma.expand(-1, self.out_channels, -1, -1).contiguous()


class IdentityTranslator(nn.Module):
    """Returns the RGB frame unchanged: the 'no translation' baseline."""

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(
                f"identity translation needs in_channels == out_channels, "
                f"got {in_channels} and {out_channels}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _unet(*, in_channels: int, out_channels: int, base_channels: int, depth: int) -> nn.Module:
    return UNetTranslator(
        in_channels=in_channels, out_channels=out_channels, base_channels=base_channels, depth=depth
    )


def _grayscale(*, in_channels: int, out_channels: int, **_: int) -> nn.Module:
    return GrayscaleTranslator(in_channels=in_channels, out_channels=out_channels)


def _identity(*, in_channels: int, out_channels: int, **_: int) -> nn.Module:
    return IdentityTranslator(in_channels=in_channels, out_channels=out_channels)


TRANSLATORS: dict[str, Callable[..., nn.Module]] = {
    "gan": _unet,
    "sda": _unet,  # the same generator, trained with the identity term (translator/reid.py)
    "grayscale": _grayscale,
    "identity": _identity,
}
"""Translator builders by name (keyword arguments: channels in/out, U-Net width and depth)."""


def create_translator(
    name: str,
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    # U-Net only
    base_channels: int = 32,
    depth: int = 4,
) -> nn.Module:
    """Build a translator by name: ``gan``, ``sda``, ``grayscale`` or ``identity``.

    Args:
        name: Translator kind.
        in_channels: Channels of the RGB frame.
        out_channels: Channels of the (pseudo-)IR frame.
        base_channels: U-Net width (``gan``, ``sda``).
        depth: U-Net down-sampling stages (``gan``, ``sda``).

    Raises:
        ValueError: ``name`` is not a known translator.
    """
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; expected one of {list(TRANSLATORS)}")
    return TRANSLATORS[name](
        in_channels=in_channels,
        out_channels=out_channels,
        base_channels=base_channels,
        depth=depth,
    )
