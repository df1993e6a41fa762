"""Decode the sampled frames of one clip, resized, in one sequential pass (PyAV).

Clips are short (45-210 frames) with a keyframe every 25 frames, and T=32 sampled frames land
in every group of pictures, so a seek would save nothing and costs a demuxer reset per group:
we decode sequentially up to the last sampled index and convert only the sampled frames
(`bench/loader.py` measures both). Frames are numbered by decode order, like the manifest's.
FFV1 depth is no exception: its non-key frames reuse the previous frame's entropy-coder state,
so they cannot be decoded out of order either.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from mgrdark_data.errors import MediaError

log = logging.getLogger(__name__)

# Depth is resized with nearest neighbour: averaging across an object edge would invent
# "flying pixels" at depths where nothing is.
_INTERP = {"rgb": "AREA", "ir": "AREA", "depth": "POINT"}
_FORMAT = {"rgb": "rgb24", "ir": "rgb24", "depth": "gray16le"}


def read_clip_frames(
    path: str | os.PathLike,
    indices: Sequence[int] | np.ndarray,
    *,
    modality: str,
    size: int | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Decode the frames at `indices` of a clip, each resized to `size` x `size`.

    Args:
        path: Clip file (rgb/ir H.264 .mp4, depth FFV1 gray16le .mkv).
        indices: Clip frame indices, 0-based; repeats allowed (short clips), any order.
        modality: 'rgb', 'ir' (decoded as 3-channel RGB, so pseudo-colour IR keeps its
            colours and IR models take the same input shape as RGB ones) or 'depth'.
        size: Output side in pixels; None keeps the stored size (e.g. a pre-resized cache).
        threads: Decoder threads; 1 inside DataLoader workers, which already run in parallel.

    Returns:
        (T, H, W, 3) uint8 for rgb/ir, (T, H, W) uint16 millimetres for depth, in the order of
        `indices`.

    Raises:
        MediaError: The file cannot be decoded or ends before the last requested frame.
    """
    if modality not in _FORMAT:
        raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(_FORMAT)}")
    idx = np.asarray(indices, dtype=np.int64)
    wanted = {int(i) for i in np.unique(idx)}
    last = max(wanted)
    got: dict[int, np.ndarray] = {}
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = threads
            stream.thread_type = "AUTO" if threads != 1 else "SLICE"
            for i, frame in _decode_sequential(container, stream, wanted, last):
                got[i] = _convert(frame, modality, size)
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e
    if len(got) != len(wanted):
        raise MediaError(
            f"{path}: decoded {len(got) and max(got) + 1} frames but frame {last} was needed; "
            "the clip is shorter than its manifest row says (re-run `mgrdata segment`)"
        )
    return np.stack([got[int(i)] for i in idx])


def _decode_sequential(
    container: av.container.InputContainer, stream: av.VideoStream, wanted: set[int], last: int
) -> Iterator[tuple[int, av.VideoFrame]]:
    for i, frame in enumerate(container.decode(stream)):
        if i in wanted:
            yield i, frame
        if i >= last:
            return


def _convert(frame: av.VideoFrame, modality: str, size: int | None) -> np.ndarray:
    fmt = _FORMAT[modality]
    if modality == "depth":
        # swscale's gray16 point scaling is exact, but doing it in OpenCV keeps one code path
        # for PNG-like arrays and makes the nearest-neighbour choice explicit.
        a = frame.to_ndarray(format=fmt)
        if size is not None and a.shape != (size, size):
            a = cv2.resize(a, (size, size), interpolation=cv2.INTER_NEAREST)
        return a
    if size is None or (frame.width, frame.height) == (size, size):
        return frame.to_ndarray(format=fmt)
    # One swscale call converts YUV->RGB and resizes: cheaper than converting at full
    # resolution and resizing afterwards.
    return frame.reformat(
        width=size, height=size, format=fmt, interpolation=_INTERP[modality]
    ).to_ndarray()
