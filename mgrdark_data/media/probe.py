"""Stream facts needed before cutting: frame rate, size and an exact frame count."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2

from ..errors import MediaError

PNG_SUFFIXES = (".png",)


@dataclass(frozen=True)
class StreamInfo:
    """What a stream is, without decoding it."""

    path: Path
    kind: str
    """'video' or 'png' (a folder of frames, order = sorted file names)."""
    fps: Fraction | None
    """Frames per second; None for a PNG folder (it follows RGB frame by frame)."""
    frames: int
    """Exact number of frames: packets counted by demuxing (no decode), or PNG files."""
    width: int
    height: int
    pix_fmt: str
    bytes: int
    """Total size on disk."""


def png_frames(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PNG_SUFFIXES)


def probe_stream(path: str | os.PathLike) -> StreamInfo:
    """Probe a video file or a PNG folder; raises MediaError with the decoder's message."""
    path = Path(path)
    if path.is_dir():
        return _probe_png_folder(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = container.streams.video[0]
            fps = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not fps:
                raise MediaError(f"{path}: frame rate unknown")
            frames = _count(container, stream)
            ctx = stream.codec_context
            info = StreamInfo(
                path,
                "video",
                Fraction(fps),
                frames,
                ctx.width,
                ctx.height,
                ctx.format.name if ctx.format else "unknown",
                path.stat().st_size,
            )
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e
    if info.frames == 0:
        raise MediaError(f"{path}: the video has no frames")
    return info


def _count(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    return sum(1 for p in container.demux(stream) if p.size)


def count_packets(path: str | os.PathLike) -> int:
    """Frames of a video by demuxing (no decode): one non-empty packet per frame."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            return _count(container, container.streams.video[0])
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def _probe_png_folder(folder: Path) -> StreamInfo:
    files = png_frames(folder)
    if not files:
        raise MediaError(f"{folder}: depth folder has no .png frames")
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    if first is None:
        raise MediaError(f"{files[0]}: not a readable PNG")
    if first.dtype != "uint16" or first.ndim != 2:
        raise MediaError(
            f"{files[0]}: depth PNG is {first.dtype} with shape {first.shape}; "
            "expected single-channel 16-bit millimetres"
        )
    h, w = first.shape
    size = sum(f.stat().st_size for f in files)
    return StreamInfo(folder, "png", None, len(files), w, h, "gray16le", size)
