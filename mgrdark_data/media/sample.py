"""Frame-exact access beyond a sequential pass: threaded decoding and seek-based sampling.

`iter_frames_threaded` decodes in a background thread so the consumer's work on frame i
overlaps the decoding of frame i+1. `iter_sampled_frames` reaches K uniformly spread frames
by seeking to the keyframe before each one and identifying every decoded frame by its
presentation timestamp, so the frames returned are exactly the requested indices; it raises
`SeekUnreliable` (before yielding a wrong frame) when timestamps cannot identify frames.
"""

from __future__ import annotations

import bisect
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av

from ..errors import MediaError


def sample_indices(num_frames: int, k: int) -> list[int]:
    """Frame indices counted in a video of `num_frames` frames when sampling `k` per video.

    The centre of each of `k` equal segments, `floor((2j + 1) * n / (2k))`; every frame when
    `k <= 0` or `k >= num_frames`. Indices are distinct and increasing.
    """
    if k <= 0 or k >= num_frames:
        return list(range(num_frames))
    return [(2 * j + 1) * num_frames // (2 * k) for j in range(k)]


class SeekUnreliable(Exception):
    """Seeking cannot be trusted to reach exact frames in this file; decode sequentially."""


_END = object()


def iter_frames_threaded(path: Path, depth: int = 8) -> Iterator[av.VideoFrame]:
    """Every frame in order, decoded in a background thread.

    PyAV releases the GIL while decoding and cv2/swscale while converting and counting, so the
    histogram of frame i overlaps the decoding of frame i+1; that is what lets a single process
    keep up with `ffmpeg -f null`, which pipelines the same way.
    """
    frames: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            with av.open(str(path)) as container:
                stream = video_stream(container, path)
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    put(frame)
                    if stop.is_set():
                        return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises
            put(e)
        else:
            put(_END)

    worker = threading.Thread(target=produce, name=f"decode {path.name}", daemon=True)
    worker.start()
    try:
        while (item := frames.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise MediaError(f"{path}: no video stream")
    return container.streams.video[0]


@dataclass
class _FrameIndex:
    """Presentation timestamps of every frame (sorted) and which frames are keyframes."""

    pts: list[int]
    keys: list[int]
    """Frame indices (not timestamps) of keyframes, increasing."""
    index_of: dict[int, int] = field(default_factory=dict)

    @classmethod
    def build(cls, container: av.container.InputContainer, stream) -> _FrameIndex:
        pts, key_pts = [], []
        for p in container.demux(stream):
            if not p.size:
                continue
            if p.pts is None:
                raise SeekUnreliable("packets without timestamps")
            pts.append(p.pts)
            if p.is_keyframe:
                key_pts.append(p.pts)
        pts.sort()
        index_of = {p: i for i, p in enumerate(pts)}
        if len(index_of) != len(pts) or not key_pts:
            raise SeekUnreliable("duplicate timestamps or no keyframes")
        return cls(pts, sorted(index_of[p] for p in key_pts), index_of)

    def keyframe_before(self, i: int) -> int:
        """Position in `keys` of the last keyframe at or before frame `i` (0 if none)."""
        return max(bisect.bisect_right(self.keys, i) - 1, 0)


def iter_sampled_frames(path: str | os.PathLike, k: int) -> Iterator[av.VideoFrame]:
    """Decoded frames at `sample_indices(n, k)`, reached by seeking where that saves work.

    Raises `SeekUnreliable` (before yielding a wrong frame) when timestamps cannot identify
    frames exactly; `video_histogram` then falls back to a sequential pass.
    """
    path = Path(path)
    with av.open(str(path)) as container:
        stream = video_stream(container, path)
        index = _FrameIndex.build(container, stream)
        stream.thread_type = "AUTO"
        decoder: Iterator[av.VideoFrame] | None = None
        pos = -1  # index of the last frame the current decoder yielded
        for target in sample_indices(len(index.pts), k):
            key = index.keyframe_before(target)
            while True:
                # Seek only when a keyframe lies between where we are and the target: decoding
                # forward from the current position is otherwise as cheap and always exact.
                fresh = decoder is None or index.keys[key] > pos
                if fresh:
                    container.seek(index.pts[index.keys[key]], backward=True, stream=stream)
                    decoder = container.decode(stream)
                frame, pos = _decode_until(decoder, target, index)
                if frame is not None:
                    yield frame
                    break
                if not fresh or key == 0:
                    raise SeekUnreliable(f"frame {target} was not produced after a seek")
                key -= 1  # the seek overshot the target: try the keyframe before
                decoder = None


def _decode_until(
    decoder: Iterator[av.VideoFrame], target: int, index: _FrameIndex
) -> tuple[av.VideoFrame | None, int]:
    """Decode forward to frame `target`; (None, pos) if the decoder passed it or ended."""
    pos = -1
    for frame in decoder:
        pos = index.index_of.get(frame.pts, -2)
        if pos == -2:
            raise SeekUnreliable(f"decoded a frame with unknown timestamp {frame.pts}")
        if pos == target:
            return frame, pos
        if pos > target:
            return None, pos
    return None, pos
