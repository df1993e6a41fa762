"""Camera-like raw streams: H.264 RGB and IR, FFV1 16-bit depth, 16-bit PNG folders.

These imitate what a recording rig leaves behind, not dataset clips, so they do not use
`mgrdark_data.media.ClipWriter`: no clip tag, a camera's long GOP, and no verification decode
(the benchmark cares about synthesis time). Encoder threads are fixed, because x264's output
depends on its thread count and the same seed must give the same frames on every machine.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..media.write import check_x264_preset
from ..paths import atomic_path, temporary_sibling


@dataclass(frozen=True)
class SynthEncoding:
    """How synthetic raw streams are encoded."""

    crf: int = 15
    """x264 quality of rgb.mp4 and ir.mp4 (lower is better; raw footage is kept high)."""
    preset: str = "ultrafast"
    """x264 preset; ultrafast because dark footage is mostly noise, which slower presets
    spend most of their time on for little gain in size."""
    threads: int = 2
    """x264 threads; fixed so the output does not depend on the machine."""
    png_compression: int = 1
    """zlib level of 16-bit depth PNGs (1: fast, files a little larger)."""

    def __post_init__(self) -> None:
        check_x264_preset(self.preset)


def _limited_range_lut() -> np.ndarray:
    # Full-range 0-255 grey -> BT.601 limited-range luma 16-235, as decoders expect.
    return np.round(16 + np.arange(256) * 219 / 255).astype(np.uint8)


_LUMA = _limited_range_lut()


class VideoStream:
    """Encode frames of one modality into `path`, atomically (renamed on `close`)."""

    def __init__(
        self,
        path: str | os.PathLike,
        kind: str,
        width: int,
        height: int,
        fps: float,
        encoding: SynthEncoding,
        refs: int | None = None,
        time_base: Fraction | None = None,
    ) -> None:
        """
        Args:
            path: the final file (.mp4 for 'rgb'/'ir', .mkv for 'depth').
            kind: 'rgb' (HxWx3 uint8 RGB), 'ir' (HxW uint8 grey) or 'depth' (HxW uint16 mm).
            width: frame width (even for 'rgb' and 'ir').
            height: frame height.
            fps: frame rate.
            encoding: quality settings.
            refs: H.264 reference frames (x264's preset decides when None).
            time_base: unit of the `pts` passed to `write` (default 1 / fps); the container
                then holds true times for variable-rate streams.
        """
        self.kind = kind
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = tmp = temporary_sibling(self.path)
        fmt = "matroska" if self.path.suffix == ".mkv" else "mp4"
        self._container = av.open(str(tmp), "w", format=fmt)
        rate = Fraction(fps).limit_denominator(1001)
        if kind == "depth":
            stream = self._container.add_stream("ffv1", rate=rate)
            stream.pix_fmt = "gray16le"
            stream.options = {"slices": "4", "slicecrc": "1", "level": "3"}
        else:
            stream = self._container.add_stream("libx264", rate=rate)
            stream.pix_fmt = "yuv420p"
            stream.options = {
                "crf": str(encoding.crf),
                "preset": encoding.preset,
                "threads": str(encoding.threads),
            }
            if refs is not None:
                stream.options = {**stream.options, "refs": str(refs)}
            ctx = stream.codec_context
            # cv2's RGB -> I420 conversion is BT.601 limited range; say so in the stream.
            ctx.color_range = 1  # MPEG (limited)
            ctx.colorspace = 6  # SMPTE 170M
            ctx.color_primaries = 6
            ctx.color_trc = 6
        stream.width, stream.height = width, height
        self._stream = stream
        self._time_base = Fraction(1) / rate
        if time_base is not None and time_base != self._time_base:
            stream.codec_context.time_base = self._time_base = time_base
        # Grey has no colour: chroma planes stay constant, only the luma rows are rewritten.
        self._yuv = np.full((height * 3 // 2, width), 128, np.uint8)
        self.frames = 0

    def write(self, img: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame at `pts` (units of the time base; default: the next frame)."""
        if self.kind == "rgb":
            yuv = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        elif self.kind == "ir":
            cv2.LUT(img, _LUMA, dst=self._yuv[: img.shape[0]])
            frame = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        else:
            frame = av.VideoFrame.from_ndarray(img, format="gray16le")
        frame.pts = self.frames if pts is None else pts
        frame.time_base = self._time_base
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder and move the file to its final name."""
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file; a previous file under the final name stays as it was."""
        with contextlib.suppress(Exception):
            self._container.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


class PngStream:
    """A folder of PNG frames named by frame number (numeric order = frame order): 16-bit
    depth, 8-bit RGB or grey IR."""

    def __init__(self, folder: str | os.PathLike, encoding: SynthEncoding, kind: str = "depth"):
        self.kind = kind
        self.path = Path(folder)
        self.path.mkdir(parents=True, exist_ok=True)
        for old in self.path.glob("*.png"):
            old.unlink()
        self._params = [cv2.IMWRITE_PNG_COMPRESSION, encoding.png_compression]
        self.frames = 0

    def write(self, img: np.ndarray, number: int | None = None) -> None:
        """Write one frame as `<number>.png` (default: the next index)."""
        name = self.path / f"{self.frames if number is None else number:06d}.png"
        if self.kind == "rgb":
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(name), img, self._params):
            raise OSError(f"cannot write {name}")
        self.frames += 1

    def close(self) -> Path:
        return self.path

    def abort(self) -> None:
        """Nothing to undo: an interrupted folder is rewritten from scratch by the next run."""


def write_timestamps(path: str | os.PathLike, times_us: list[int], unit: str) -> Path:
    """`<stream>.timestamps.csv`: one column `time_<unit>` (s, ms or us), one row per frame in
    stream order, each an exact decimal of the whole-microsecond time."""
    digits = {"s": 6, "ms": 3, "us": 0}[unit]
    scale = 10**digits
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(f"time_{unit}\n")
        for t in times_us:
            whole, part = divmod(t, scale)
            f.write(f"{whole}.{part:0{digits}d}\n" if digits else f"{whole}\n")
    return path
