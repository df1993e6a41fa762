"""Decoded frames -> one sample's (C, T, H, W) clip: the crop window, the flip, the layout.

Pure functions on arrays; the dataset decides the window once per clip and applies it to every
modality. Values stay as decoded (uint8, uint16 millimetres): the training steps normalise on
their device (`normalize.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mgrdark_data.errors import MediaError

CHANNELS: dict[str, int] = {"rgb": 3, "ir": 3, "depth": 1}
"""Input channels a model needs for each modality."""

Planes = Sequence[np.ndarray]
"""One frame as (H, W) planes in channel order (R, G, B; or depth)."""


@dataclass(frozen=True)
class Window:
    """The square a sample keeps of each resized frame, and whether it is mirrored."""

    y: int
    """Top row."""
    x: int
    """Left column."""
    size: int
    """Side in pixels."""
    flip: bool = False
    """Mirror left-right (after cropping)."""

    def cut(self, plane: np.ndarray) -> np.ndarray:
        """The window of an (H, W) plane, as a view."""
        a = plane[self.y : self.y + self.size, self.x : self.x + self.size]
        return a[:, ::-1] if self.flip else a


def gather_clip(
    frames: Iterable[tuple[int, Planes]],
    indices: np.ndarray,
    window: Window | None = None,
    *,
    source: str = "clip",
) -> np.ndarray:
    """Copy each frame's planes, cut to `window`, into the slots of a (C, T, H, W) clip.

    Args:
        frames: `(frame index, planes)` for every distinct index in `indices`, in any order.
        indices: The sampled frame index of each of the T slots (repeats allowed).
        window: Crop and flip (None: whole frames).
        source: Named in the error when `frames` runs out early.

    Raises:
        MediaError: `frames` ended before every index was produced.
    """
    slots: dict[int, list[int]] = {}
    for k, i in enumerate(np.asarray(indices, dtype=np.int64).tolist()):
        slots.setdefault(i, []).append(k)
    out: np.ndarray | None = None
    seen = 0
    for i, planes in frames:
        cut = [window.cut(p) if window else p for p in planes]
        if out is None:
            # Native byte order: PNG depth decodes big-endian, torch wants native.
            dtype = cut[0].dtype.newbyteorder("=")
            out = np.empty((len(cut), len(indices), *cut[0].shape), dtype=dtype)
        first, *repeats = slots[i]
        for c, plane in enumerate(cut):
            out[c, first] = plane
        for k in repeats:  # a clip shorter than T: the same frame in several slots
            out[:, k] = out[:, first]
        seen += 1
    if out is None or seen != len(slots):
        raise MediaError(
            f"{source}: ends before frame {max(slots)}; the clip is shorter than its "
            "manifest row says (re-run `mgrdata segment`, then `mgrtrain prepare`)"
        )
    return out
