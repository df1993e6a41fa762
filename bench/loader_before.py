"""The loader as it was before uint8 hand-off, kept as `bench/loader.py`'s reference row.

Packed RGB through a new swscale context per frame (`to_ndarray(format=...)`), sequential
decoding of every file, float32 normalisation in the worker; and the H.264 cache without
`tune fastdecode`. Not used for training.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import av
import cv2
import numpy as np

from mgrdark_train.data import DEFAULT_NORMALIZATION, ClipDataset, prepare_cache
from mgrdark_train.data import cache as cache_module
from mgrdark_train.data.transforms import Window
from mgrdark_train.testing.reference import normalize_before

_FORMAT = {"rgb": "rgb24", "ir": "rgb24", "depth": "gray16le"}


def old_read(path, indices: np.ndarray, modality: str, size: int | None) -> np.ndarray:
    """(T, H, W[, 3]) frames, decoded up to the last index, converted one by one."""
    wanted = {int(i) for i in indices}
    last, got = max(wanted), {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.thread_type = "SLICE"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                got[i] = _convert(frame, modality, size)
            if i >= last:
                break
    return np.stack([got[int(i)] for i in indices])


def _convert(frame: av.VideoFrame, modality: str, size: int | None) -> np.ndarray:
    fmt = _FORMAT[modality]
    if modality == "depth":
        a = frame.to_ndarray(format=fmt)
        if size is not None and a.shape != (size, size):
            a = cv2.resize(a, (size, size), interpolation=cv2.INTER_NEAREST)
        return a
    if size is None or (frame.width, frame.height) == (size, size):
        return frame.to_ndarray(format=fmt)
    return frame.reformat(width=size, height=size, format=fmt, interpolation="AREA").to_ndarray()


class BeforeDataset(ClipDataset):
    """`ClipDataset`'s sampling with the old decoding and float32 samples."""

    def __init__(self, *args, old_cache: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.old_cache = old_cache

    def clip_file(self, index: int, modality: str):
        if not self.old_cache:
            return super().clip_file(index, modality)
        clip_id = self._rows[index]["clip_id"]
        path = cache_module.cache_path(self.root, self.resize, modality, clip_id, "h264")
        return _old_cache_dir(self.root, self.resize) / modality / path.name, None, None

    def _read(self, index: int, modality: str, idx: np.ndarray, window: Window) -> np.ndarray:
        path, size, _ = self.clip_file(index, modality)
        frames = old_read(path, idx, modality, size)
        frames = frames[:, window.y : window.y + window.size, window.x : window.x + window.size]
        if window.flip:
            frames = frames[:, :, ::-1]
        return normalize_before(frames, DEFAULT_NORMALIZATION[modality]).numpy()


def _old_cache_dir(root, size: int):
    return root.root / "cache" / f"before-h264-s{size}"


def old_h264_cache(root, size: int, modalities) -> None:
    """Write the cache as `mgrtrain prepare` wrote it before (no fastdecode), once."""
    target = _old_cache_dir(root, size)
    if target.exists():
        return
    current = cache_module.cache_path(root, size, "rgb", "x", "h264").parent.parent
    aside = current.with_name(current.name + ".aside")
    if current.exists():
        os.replace(current, aside)
    key = ("h264", "color")
    new = cache_module._ENCODINGS[key]
    options = {k: v for k, v in new.options.items() if k != "tune"}
    cache_module._ENCODINGS[key] = replace(new, options=options)
    try:
        prepare_cache(root, size=size, modalities=modalities, fmt="h264")
        os.replace(current, target)
    finally:
        cache_module._ENCODINGS[key] = new
        if aside.exists():
            shutil.rmtree(current, ignore_errors=True)
            os.replace(aside, current)
