"""Decode the sampled frames of one clip as planes, resized, in as few decodes as possible (PyAV).

* **All-intra files** (every packet a keyframe: the `jpeg` cache's MJPEG and PNG streams)
  decode only the sampled frames: packet `i` is frame `i`, since no frame depends on another.
* **Other files** (segmented clips and the `h264` cache: a keyframe every 25 frames; FFV1,
  whose non-key frames reuse the previous frame's coder state) decode sequentially up to the
  last sampled frame: T=32 sampled frames land in every group of pictures, so seeking saves
  nothing and costs a decoder reset per group (`bench/RESULTS.md`, loader).

Frames are numbered by decode order, like the manifest's. One swscale context per clip
converts (and resizes) every sampled frame to planar RGB, whose planes are copied straight into
the sample's (C, T, H, W) layout; a new context per frame (`to_ndarray(format=...)`) cost
twice the conversion, and packed RGB needed a transpose afterwards.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from mgrdark_data.errors import MediaError

from .transforms import Planes, Window, gather_clip

log = logging.getLogger(__name__)

# Depth is resized with nearest neighbour: averaging across an object edge would invent
# "flying pixels" at depths where nothing is.
_INTERP = {"rgb": "AREA", "ir": "AREA"}
_DEPTH_FORMATS = {"gray16le": "<u2", "gray16be": ">u2"}


class StaleFileError(MediaError):
    """A file's tag says it was made from another source or with other settings."""


class PlaneConverter:
    """Decoded frame -> planes in channel order (R, G, B or depth), resized to `size`.

    RGB and IR come out of swscale as planar RGB (`gbrp`) at `size` in one call (area
    interpolation), through one reused context; depth keeps its 16-bit values (nearest
    neighbour). The planes are views of the converted frame: copy them before the next call.
    """

    def __init__(self, modality: str, size: int | None) -> None:
        if modality not in ("rgb", "ir", "depth"):
            raise ValueError(f"unknown modality {modality!r}; expected rgb, ir or depth")
        self.modality = modality
        self.size = size
        self._reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> Planes:
        if self.modality == "depth":
            return [self._depth(frame)]
        size = self.size
        rgb = self._reformatter.reformat(
            frame, width=size, height=size, format="gbrp", interpolation=_INTERP[self.modality]
        )
        g, b, r = (_plane(p, np.uint8, rgb.width) for p in rgb.planes)
        return [r, g, b]

    def _depth(self, frame: av.VideoFrame) -> np.ndarray:
        if frame.format.name not in _DEPTH_FORMATS:
            frame = self._reformatter.reformat(frame, format="gray16le")
        a = _plane(frame.planes[0], np.dtype(_DEPTH_FORMATS[frame.format.name]), frame.width)
        if self.size is not None and a.shape != (self.size, self.size):
            size = (self.size, self.size)
            a = cv2.resize(a.astype(np.uint16), size, interpolation=cv2.INTER_NEAREST)
        return a


def _plane(plane: av.video.plane.VideoPlane, dtype: np.dtype, width: int) -> np.ndarray:
    """A frame plane as a (height, width) array view (rows padded to `line_size` bytes)."""
    dtype = np.dtype(dtype)
    rows = np.frombuffer(plane, dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return rows[:, :width]


def decoded_frames(
    path: str | os.PathLike,
    wanted: np.ndarray,
    *,
    modality: str,
    size: int | None = None,
    tag: str | None = None,
) -> Iterator[tuple[int, Planes]]:
    """`(index, planes)` of the frames `wanted` (sorted, unique) of a clip file.

    Args:
        path: Clip file (H.264, MJPEG, FFV1 or PNG stream).
        wanted: Frame indices to produce, increasing.
        modality: 'rgb', 'ir' (decoded as 3-channel RGB, so pseudo-colour IR keeps its colours
            and IR models take the same input shape as RGB ones) or 'depth'.
        size: Output side in pixels; None keeps the stored size (e.g. a pre-resized cache).
        tag: When given, the file's `comment` tag must equal it (StaleFileError otherwise).

    Raises:
        MediaError: The file cannot be decoded or ends before the last wanted frame.
    """
    path = Path(path)
    convert = PlaneConverter(modality, size)
    try:
        with av.open(str(path)) as container:
            _check_tag(container, path, tag)
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            packets = [p for p in container.demux(stream) if p.size]
            ctx = stream.codec_context
            if packets and all(p.is_keyframe for p in packets):
                for i in wanted:
                    if i >= len(packets):
                        break
                    frames = ctx.decode(packets[int(i)])
                    if len(frames) != 1:
                        raise MediaError(f"{path}: frame {int(i)} decodes to {len(frames)} frames")
                    yield int(i), convert(frames[0])
                return
            positions = {int(i): k for k, i in enumerate(wanted)}
            last = int(wanted[-1])
            for i, frame in enumerate(_sequential(ctx, packets)):
                if i in positions:
                    yield i, convert(frame)
                if i >= last:
                    return
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def _check_tag(container: av.container.InputContainer, path: Path, tag: str | None) -> None:
    if tag is None:
        return
    found = container.metadata.get("comment") or container.metadata.get("COMMENT")
    if found != tag:
        raise StaleFileError(f"{path}: tagged {found!r}, expected {tag!r}")


def _sequential(ctx: av.CodecContext, packets: list[av.Packet]) -> Iterator[av.VideoFrame]:
    for p in packets:
        yield from ctx.decode(p)
    yield from ctx.decode(None)  # frames the decoder still holds (reordering delay)


def compressed_frames(
    path: str | os.PathLike, indices: np.ndarray, *, tag: str | None = None
) -> list[bytes]:
    """The packets of frames `indices` of an all-intra file, undecoded, in the order given."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            _check_tag(container, path, tag)
            packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e
    if not all(p.is_keyframe for p in packets):
        raise MediaError(f"{path}: not all-intra; its frames cannot be decoded one by one")
    if int(np.max(indices)) >= len(packets):
        raise MediaError(f"{path}: ends before frame {int(np.max(indices))}")
    return [bytes(packets[int(i)]) for i in indices]


def read_clip(
    path: str | os.PathLike,
    indices: np.ndarray,
    *,
    modality: str,
    size: int | None = None,
    window: Window | None = None,
    tag: str | None = None,
) -> np.ndarray:
    """The frames at `indices` of a clip file as a (C, T, H, W) array, cut to `window`.

    Returns uint8 for rgb/ir (C=3, RGB order), uint16 millimetres for depth (C=1), in the
    order of `indices` (repeats allowed: short clips). See `decoded_frames` for the arguments.
    """
    idx = np.asarray(indices, dtype=np.int64)
    frames = decoded_frames(path, np.unique(idx), modality=modality, size=size, tag=tag)
    return gather_clip(frames, idx, window, source=str(path))
