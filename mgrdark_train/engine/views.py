"""Test-time views, as in the video literature: C temporal clips x K spatial crops per clip,
softmax scores averaged (MMAction2's `average_clips='prob'`; `--views 10x3` is its usual test).

Temporal clips. A sample spreads T frames over the whole clip: the frame covering the centre of
each of T equal segments (`data/sampling.py`). Clip c of C takes, in every segment, the instant
(c + 0.5) / C of the way through it, so frame i of clip c is
``floor((i + (c + 0.5) / C) * n / T) = floor((C*i + c + 0.5) * n / (C*T))``: the C clips
interleave, and together they are the sample of C*T frames, clip c being its frames c, c+C, ...
One clip is the usual sample.

Spatial crops. K windows of side `crop` in the `resize` x `resize` frame, vertically centred
and spread evenly from left to right: ``x_k = floor(k * (resize - crop) / (K - 1))``; one crop
is the centre crop (`data/sampling.crop_origin`), three are left, centre and right
(MMAction2's ThreeCrop, PySlowFast's spatial index 0, 1, 2).

So a dataset item of C*T frames that are not cropped (crop = resize) holds every view of its
clip, and the views are slices of its tensors (`clip_views`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from ..data.sampling import eval_indices
from .resolver import ConfigError


@dataclass(frozen=True)
class Views:
    """C temporal clips x K spatial crops."""

    clips: int = 1
    crops: int = 1

    @property
    def count(self) -> int:
        return self.clips * self.crops

    def __str__(self) -> str:
        return f"{self.clips}x{self.crops}"


def parse_views(text: str) -> Views:
    """'10x3' -> Views(clips=10, crops=3)."""
    m = re.fullmatch(r"\s*(\d+)\s*[x×]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(
            f"views {text!r}: expected CxK, C temporal clips by K spatial crops, e.g. 10x3 or 1x1"
        )
    return Views(int(m.group(1)), int(m.group(2)))


def view_frame_indices(num_frames: int, t: int, clips: int) -> np.ndarray:
    """(clips, t): the clip frames each temporal view holds (module docstring)."""
    return eval_indices(num_frames, clips * t).reshape(t, clips).T


def crop_origins(size: int, crop: int, crops: int) -> list[tuple[int, int]]:
    """Top-left `(y, x)` of each of `crops` windows (module docstring)."""
    if crop > size:
        raise ValueError(f"crop {crop} is larger than the resized frame {size}")
    y = (size - crop) // 2
    if crops == 1:
        return [(y, y)]
    return [(y, k * (size - crop) // (crops - 1)) for k in range(crops)]


def clip_views(x: torch.Tensor, views: Views, crop: int) -> list[torch.Tensor]:
    """Every view of one clip's (C, clips*T, H, W) tensor: `views.count` tensors
    (C, T, crop, crop), clip-major (clip 0 crop 0, clip 0 crop 1, ...)."""
    if x.shape[1] % views.clips or x.shape[2] != x.shape[3]:
        raise ValueError(f"{tuple(x.shape)} is not {views.clips} clips of square frames")
    out = []
    for c in range(views.clips):
        frames = x[:, c :: views.clips]
        for y0, x0 in crop_origins(x.shape[2], crop, views.crops):
            out.append(frames[:, :, y0 : y0 + crop, x0 : x0 + crop])
    return out
