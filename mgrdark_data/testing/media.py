"""Factories for tiny recordings whose frames say which source frame they are.

RGB and IR frames carry their index as a 4x4 grid of black/white cells (16 bits), which
survives H.264 at any sane quality; depth frames hold `depth_value(i)` in every pixel, a
16-bit value above 255 so that an 8-bit path would be caught.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

GRID = 4
DEPTH_BASE = 500
DEPTH_STEP = 37


def index_image(i: int, height: int, width: int, channels: int = 3) -> np.ndarray:
    """An image whose 4x4 cells spell `i` in binary (cell 0 = least significant bit)."""
    bits = [(i >> b) & 1 for b in range(GRID * GRID)]
    cells = np.array(bits, np.uint8).reshape(GRID, GRID) * 255
    img = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.repeat(img[..., None], channels, axis=2) if channels == 3 else img


def decode_index(img: np.ndarray) -> int:
    """Read back the index written by `index_image` (from the centre of each cell)."""
    gray = img.mean(axis=2) if img.ndim == 3 else img.astype(float)
    h, w = gray.shape
    value = 0
    for b in range(GRID * GRID):
        r, c = divmod(b, GRID)
        y, x = int((r + 0.5) * h / GRID), int((c + 0.5) * w / GRID)
        if gray[y, x] > 127:
            value |= 1 << b
    return value


def depth_value(i: int) -> int:
    return DEPTH_BASE + DEPTH_STEP * i


def write_index_video(
    path: str | Path,
    frames: int,
    *,
    fps: Fraction | int = 25,
    size: tuple[int, int] = (64, 48),
    kind: str = "rgb",
    codec: str | None = None,
    ticks: Sequence[int] | None = None,
) -> Path:
    """Write `frames` index frames; kind 'rgb' | 'ir' (gray) | 'depth' (gray16le, FFV1).

    rgb/ir default to lossless H.264 (qp 0) in .mp4/.avi/.mkv; depth to FFV1 in .mkv.
    `ticks`: frame i is presented at ticks[i] / fps (a variable rate or dropped frames, as
    capture software writes them); default i / fps.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    with av.open(str(path), "w") as out:
        if kind == "depth":
            stream = out.add_stream(codec or "ffv1", rate=Fraction(fps))
            stream.pix_fmt = "gray16le"
        else:
            stream = out.add_stream(codec or "libx264", rate=Fraction(fps))
            stream.pix_fmt = "yuv444p" if stream.codec_context.name == "libx264" else "yuv420p"
            if stream.codec_context.name == "libx264":
                stream.options = {"qp": "0", "preset": "ultrafast"}
        stream.width, stream.height = w, h
        if ticks is not None:
            assert len(ticks) == frames
            stream.codec_context.time_base = 1 / Fraction(fps)
        for i in range(frames):
            if kind == "depth":
                img = np.full((h, w), depth_value(i), np.uint16)
                frame = av.VideoFrame.from_ndarray(img, format="gray16le")
            elif kind == "ir":
                frame = av.VideoFrame.from_ndarray(index_image(i, h, w, 1), format="gray")
            else:
                frame = av.VideoFrame.from_ndarray(index_image(i, h, w, 3), format="rgb24")
            if ticks is not None:
                frame.pts, frame.time_base = int(ticks[i]), 1 / Fraction(fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_lossless_rgb(path: str | Path, frames: np.ndarray, fps: Fraction | int = 25) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames as lossless H.264 (yuv444p, qp 0): what is read
    back is exactly what was drawn."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for a in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def write_depth_pngs(
    folder: str | Path,
    frames: int,
    size: tuple[int, int] = (32, 24),
    *,
    numbers: Sequence[int] | None = None,
    pad: int = 6,
) -> Path:
    """16-bit PNG frames holding `depth_value(number)`, named by frame number (`pad` digits,
    zero-padded; 0: unpadded, as `0.png ... 1465.png`). `numbers`: which frame numbers exist
    (a missing number is a dropped frame); default 0..frames-1."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    for n in range(frames) if numbers is None else numbers:
        img = np.full((h, w), depth_value(n), np.uint16)
        cv2.imwrite(str(folder / f"{n:0{pad}d}.png"), img)
    return folder


def write_index_images(
    folder: str | Path,
    numbers: Sequence[int],
    *,
    size: tuple[int, int] = (64, 48),
    kind: str = "rgb",
    ext: str = ".png",
    pad: int = 0,
) -> Path:
    """An rgb/ir folder of frames named by number, each showing its number (`index_image`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    for n in numbers:
        img = index_image(n, h, w, 3 if kind == "rgb" else 1)
        cv2.imwrite(str(folder / f"{n:0{pad}d}{ext}"), img)
    return folder


def depth_index(value: int) -> int:
    """The frame number a `depth_value` encodes."""
    return (int(value) - DEPTH_BASE) // DEPTH_STEP


def write_timestamps(path: str | Path, values: Sequence, column: str = "time_s") -> Path:
    """A `<stream>.timestamps.csv`: one row per frame, one column."""
    path = Path(path)
    path.write_text(column + "\n" + "".join(f"{v}\n" for v in values))
    return path


def make_recording(
    raw: str | Path,
    recording: str,
    *,
    rgb_frames: int = 60,
    fps: int = 25,
    rgb_size: tuple[int, int] = (64, 48),
    rgb_ext: str = ".mp4",
    depth: str | None = "video",
    depth_frames: int | None = None,
    depth_size: tuple[int, int] = (32, 24),
    ir_frames: int | None = None,
    ir_fps: Fraction | int | None = None,
    ir_size: tuple[int, int] = (44, 34),
    sync: dict | None = None,
) -> Path:
    """A raw recording folder (README, "Raw layout and annotations") of index-encoded streams.

    `depth` is 'video', 'png' or None; `ir_frames=0` leaves IR out.
    """
    folder = Path(raw) / recording
    folder.mkdir(parents=True, exist_ok=True)
    write_index_video(folder / f"rgb{rgb_ext}", rgb_frames, fps=fps, size=rgb_size)
    n_depth = rgb_frames if depth_frames is None else depth_frames
    if depth == "video":
        write_index_video(folder / "depth.mkv", n_depth, fps=fps, size=depth_size, kind="depth")
    elif depth == "png":
        write_depth_pngs(folder / "depth", n_depth, size=depth_size)
    n_ir = rgb_frames if ir_frames is None else ir_frames
    if n_ir:
        write_index_video(folder / "ir.mp4", n_ir, fps=ir_fps or fps, size=ir_size, kind="ir")
    if sync is not None:
        (folder / "sync.json").write_text(json.dumps(sync))
    return folder


ANNOTATION_COLUMNS = ("recording", "subject", "gesture", "start_frame", "end_frame")


def write_annotations(
    path: str | Path, rows: Iterable[Sequence | dict], extra_columns: Sequence[str] = ()
) -> Path:
    """Write an annotation CSV; rows are dicts or tuples in ANNOTATION_COLUMNS + extra order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(ANNOTATION_COLUMNS) + list(extra_columns)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row if isinstance(row, dict) else dict(zip(columns, row, strict=False)))
    return path
