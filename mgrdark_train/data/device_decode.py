"""JPEG decoding on the training device (`data.gpu_decode`): nvJPEG through torchvision.

With the `jpeg` cache, a worker can hand over the sampled frames still compressed (about a
tenth of the decoded bytes) and skip their decoding, its largest cost; the step then decodes
the batch on its GPU in one batched call, cuts each clip's window and normalises it
(`normalize.clip_input`). Workers still decode depth (PNG).

torchvision is optional: without it a CUDA run fails at its first batch with a message saying
what to install. On a CPU device the frames are decoded with PyAV's decoder, exactly as the
workers decode them, which is what the tests check the hand-off with; CPU decoding in the
workers stays the default and the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np
import torch

from mgrdark_data.errors import MgrdarkError

from .decode import PlaneConverter


class DeviceDecodeError(MgrdarkError):
    """Decoding on the device is not available here."""


def decode_window_batch(
    frames: Sequence[Sequence[bytes]], window: torch.Tensor, modality: str
) -> torch.Tensor:
    """Compressed frames of a batch -> (B, 3, T, h, w) uint8 clips on `window`'s device.

    Args:
        frames: T sequences of B JPEG frames, as the default collate hands over a batch of
            per-clip lists (`ClipDataset(encoded=True)`).
        window: (B, 4) int64: top row, left column, side and flip of each clip's window.
        modality: 'rgb' or 'ir'.
    """
    t, b = len(frames), len(frames[0])
    flat = [f for per_slot in frames for f in per_slot]  # slot-major
    device = window.device
    images = _nvjpeg(flat, device) if device.type == "cuda" else _pyav(flat, modality)
    side = images[0].shape[-1]
    clips = torch.stack(images).to(device).view(t, b, 3, side, side).permute(1, 2, 0, 3, 4)
    out = []
    for clip, (y, x, size, flip) in zip(clips, window.tolist(), strict=True):
        cut = clip[..., y : y + size, x : x + size]
        out.append(cut.flip(-1) if flip else cut)
    return torch.stack(out)


def _pyav(frames: list[bytes], modality: str) -> list[torch.Tensor]:
    ctx = av.CodecContext.create("mjpeg", "r")
    convert = PlaneConverter(modality, None)
    out = []
    for data in frames:
        (frame,) = ctx.decode(av.Packet(data))
        out.append(torch.from_numpy(np.stack(convert(frame))))
    return out


def _nvjpeg(frames: list[bytes], device: torch.device) -> list[torch.Tensor]:
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError as e:
        raise DeviceDecodeError(
            "data.gpu_decode needs torchvision built for this torch with CUDA "
            "(`pip install torchvision`); or set data.gpu_decode=false"
        ) from e
    data = [torch.frombuffer(bytearray(f), dtype=torch.uint8) for f in frames]
    return decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
