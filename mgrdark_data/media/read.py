"""Sequential frame reading: one decode pass from frame 0, frames numbered by decode order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2

from ..errors import MediaError
from .probe import png_frames


def iter_frames(path: str | Path, stop: int | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield `(index, frame)` for frames 0..stop-1 (all when stop is None).

    Frames are numbered by decode order from the first frame, which is how annotations count
    them; we never seek, because a seek lands on a keyframe whose index a container with
    imprecise timestamps cannot tell exactly. A decode error mid-stream raises MediaError after
    every good frame before it has been yielded.
    """
    path = Path(path)
    if path.is_dir():
        yield from _iter_png(path, stop)
        return
    if stop is not None and stop <= 0:
        return
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                yield i, frame
                if stop is not None and i + 1 >= stop:
                    return
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def _iter_png(folder: Path, stop: int | None) -> Iterator[tuple[int, av.VideoFrame]]:
    for i, f in enumerate(png_frames(folder)[:stop]):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None or img.dtype != "uint16" or img.ndim != 2:
            raise MediaError(f"{f}: not a single-channel 16-bit PNG")
        yield i, av.VideoFrame.from_ndarray(img, format="gray16le")
