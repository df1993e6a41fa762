"""Stream facts needed before cutting: frame rate, size, an exact frame count and the frames'
timestamps, from demuxing packets (no decoding) or listing an image folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import MediaError

IMAGE_SUFFIXES = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".bmp": "bmp",
    ".tif": "tiff",
    ".tiff": "tiff",
}
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class StreamInfo:
    """What a stream is, without decoding it."""

    path: Path
    kind: str
    """'video', or the image format of a folder of frames ('png', 'jpeg', ...)."""
    fps: Fraction | None
    """The container's frame rate; None for an image folder (its rate comes from sync.json,
    its timestamps file or the RGB stream)."""
    frames: int
    """Exact number of frames: packets counted by demuxing (no decode), or image files."""
    width: int
    height: int
    pix_fmt: str
    bytes: int
    """Total size on disk."""
    pts: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Video: every frame's presentation timestamp in `time_base` units, in presentation
    order (None when a packet has none); the decode pass checks frames against them."""
    time_base: Fraction | None = None
    rates: tuple[Fraction, ...] = ()
    """Video: the container's average and guessed frame rates, distinct, in that order."""
    numbers: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Image folder: the frame number in each file name, increasing (the frames' order)."""
    declared_frames: int | None = None
    """Video: the frame count the container's index declares (MP4/MOV; None when it keeps
    none), when more than the packets found: the file is truncated."""

    @property
    def truncated(self) -> str | None:
        """'ir.mp4 is truncated: container says 1608 frames, 974 in the file', or None."""
        if self.declared_frames is None:
            return None
        return (
            f"{self.path.name} is truncated: container says {self.declared_frames} frames, "
            f"{self.frames} in the file"
        )


def frame_number(path: Path) -> int | None:
    """The frame number of an image file: the last integer in its name (`depth_0012.png` -> 12)."""
    found = _NUMBER.findall(path.stem)
    return int(found[-1]) if found else None


def frame_files(folder: Path) -> list[tuple[int, Path]]:
    """The image frames of a folder as (number, path), in numeric order (never text order:
    `10.png` comes after `9.png`). A file without a number or a repeated number is an error."""
    by_number: dict[int, Path] = {}
    for p in folder.iterdir():
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            continue
        number = frame_number(p)
        if number is None:
            raise MediaError(f"{p}: no frame number in the file name; name frames like 000012.png")
        if number in by_number:
            raise MediaError(
                f"{folder}: {by_number[number].name} and {p.name} both say frame {number}"
            )
        by_number[number] = p
    return sorted(by_number.items())


def probe_stream(path: str | os.PathLike, *, depth: bool = False) -> StreamInfo:
    """Probe a video file or an image folder; raises MediaError with the decoder's message.

    `depth`: an image folder must hold single-channel 16-bit frames (millimetres).
    """
    path = Path(path)
    if path.is_dir():
        return _probe_folder(path, depth)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = container.streams.video[0]
            fps = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not fps:
                raise MediaError(f"{path}: frame rate unknown")
            pts, packets = _packet_pts(container, stream)
            declared = stream.frames if stream.frames > packets else None
            ctx = stream.codec_context
            rates = tuple(
                dict.fromkeys(Fraction(r) for r in (stream.average_rate, stream.guessed_rate) if r)
            )
            info = StreamInfo(
                path,
                "video",
                Fraction(fps),
                len(pts),
                ctx.width,
                ctx.height,
                ctx.format.name if ctx.format else "unknown",
                path.stat().st_size,
                None if any(p is None for p in pts) else np.sort(np.asarray(pts, np.int64)),
                Fraction(stream.time_base) if stream.time_base else None,
                rates,
                declared_frames=declared,
            )
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e
    if info.frames == 0:
        raise MediaError(
            f"{path}: the video has no frames" + (f" ({info.truncated})" if declared else "")
        )
    return info


def _packet_pts(container: av.container.InputContainer, stream: av.VideoStream) -> tuple[list, int]:
    """Timestamps of the non-empty packets (one per frame), and the number of packets in the
    file (empty ones too: AVI marks a dropped frame so; not the demuxer's final flush)."""
    pts, packets = [], 0
    for p in container.demux(stream):
        if p.size:
            pts.append(p.pts)
        packets += bool(p.size) or p.pts is not None
    return pts, packets


def count_packets(path: str | os.PathLike) -> int:
    """Frames of a video by demuxing (no decode): one non-empty packet per frame."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def read_image(path: Path) -> np.ndarray:
    """An image frame as stored: HxW (8 or 16 bit) or HxWx3 RGB; MediaError if unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MediaError(f"{path}: not a readable image")
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[..., :3]
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if img.dtype != np.uint8:
            raise MediaError(f"{path}: colour frames must be 8-bit")
    return img


def _probe_folder(folder: Path, depth: bool) -> StreamInfo:
    files = frame_files(folder)
    if not files:
        raise MediaError(
            f"{folder}: no image frames ({', '.join(sorted(set(IMAGE_SUFFIXES)))}) in the folder"
        )
    first = read_image(files[0][1])
    if depth and (first.dtype != np.uint16 or first.ndim != 2):
        raise MediaError(
            f"{files[0][1]}: depth PNG is {first.dtype} with shape {first.shape}; "
            "expected single-channel 16-bit millimetres"
        )
    h, w = first.shape[:2]
    kinds = {IMAGE_SUFFIXES[p.suffix.lower()] for _, p in files}
    pix_fmt = "rgb24" if first.ndim == 3 else ("gray16le" if first.dtype == np.uint16 else "gray")
    return StreamInfo(
        folder,
        kinds.pop() if len(kinds) == 1 else "images",
        None,
        len(files),
        w,
        h,
        pix_fmt,
        sum(p.stat().st_size for _, p in files),
        numbers=np.asarray([n for n, _ in files], np.int64),
    )
