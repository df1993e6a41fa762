"""Sequential frame reading: one decode pass from frame 0, frames numbered by decode order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from ..errors import MediaError
from .probe import frame_files, read_image


def iter_frames(
    path: str | Path, stop: int | None = None, pts: np.ndarray | None = None
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield `(index, frame)` for frames 0..stop-1 (all when stop is None).

    Frames are numbered by decode order from the first frame (an image folder's in the numeric
    order of its file names), which is how annotations and timelines count them; we never
    seek, because a seek lands on a keyframe whose index a container with imprecise
    timestamps cannot tell exactly. `pts`: the presentation timestamps the probe found
    (`StreamInfo.pts`); a decoded frame whose timestamp differs (a frame the decoder dropped
    or invented) raises MediaError rather than shifting every later frame. A decode error
    mid-stream raises MediaError after every good frame before it has been yielded.
    """
    path = Path(path)
    if path.is_dir():
        yield from _iter_images(path, stop)
        return
    if stop is not None and stop <= 0:
        return
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if pts is not None and frame.pts is not None:
                    _check_pts(path, i, frame.pts, pts)
                yield i, frame
                if stop is not None and i + 1 >= stop:
                    return
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def _check_pts(path: Path, i: int, got: int, pts: np.ndarray) -> None:
    if i >= len(pts) or got != pts[i]:
        want = int(pts[i]) if i < len(pts) else "none"
        raise MediaError(
            f"{path}: decoded frame {i} has timestamp {got}, the packets said {want}; the "
            "decoder dropped or added a frame"
        )


def _iter_images(folder: Path, stop: int | None) -> Iterator[tuple[int, av.VideoFrame]]:
    first = None
    for i, (_, f) in enumerate(frame_files(folder)[:stop]):
        img = read_image(f)
        first = first or (img.dtype, img.shape)
        if (img.dtype, img.shape) != first:
            raise MediaError(
                f"{f}: {img.dtype} {img.shape}, unlike the folder's first frame ({first[0]} "
                f"{first[1]}); every frame of a stream has one size and bit depth"
            )
        yield i, image_frame(img)


def image_frame(img: np.ndarray) -> av.VideoFrame:
    """An image as a video frame: rgb24, gray or gray16le by its shape and depth."""
    img = np.ascontiguousarray(img)
    if img.ndim == 3:
        return av.VideoFrame.from_ndarray(img, format="rgb24")
    fmt = "gray16le" if img.dtype == np.uint16 else "gray"
    return av.VideoFrame.from_ndarray(img, format=fmt)
