"""Uncompressed clip files (the `raw` cache): resized frames as one memory-mapped array.

Layout: a 4096-byte header (`MGRDRAW1`, then JSON: the tag, the array's shape (frames,
channels, height, width), its little-endian dtype and the CRC-32 of the data) followed by the
frames, each frame's planes contiguous, so the sampled frames of a clip are T contiguous reads.
No decoding at all: the loader's cost is copying the crops, at 196,608 bytes per 256x256 RGB
frame on disk (about 5-15x a JPEG frame).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mgrdark_data.errors import MediaError
from mgrdark_data.paths import atomic_path

from .decode import StaleFileError
from .transforms import Planes

MAGIC = b"MGRDRAW1"
HEADER_BYTES = 4096


def write_raw(path: str | os.PathLike, frames: np.ndarray, tag: str) -> Path:
    """Write (n, C, H, W) uint8/uint16 frames atomically, read them back and check the CRC."""
    path = Path(path)
    data = np.ascontiguousarray(frames, dtype=frames.dtype.newbyteorder("<"))
    header = {
        "tag": tag,
        "shape": list(data.shape),
        "dtype": data.dtype.str,
        "crc32": zlib.crc32(data),
    }
    head = MAGIC + json.dumps(header).encode()
    if len(head) > HEADER_BYTES:
        raise ValueError(f"raw header of {len(head)} bytes is too long")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(head.ljust(HEADER_BYTES, b" "))
            f.write(data.tobytes())
        verify_raw(tmp)
    return path


def read_raw_header(path: str | os.PathLike) -> dict | None:
    """The header of a raw clip file, or None when it is not one (or unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_BYTES)
    except OSError:
        return None
    if len(head) != HEADER_BYTES or not head.startswith(MAGIC):
        return None
    try:
        return json.loads(head[len(MAGIC) :].decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def open_raw(path: str | os.PathLike, tag: str | None = None) -> np.memmap:
    """The frames of a raw clip file, memory-mapped (n, C, H, W).

    Raises:
        MediaError: Not a raw clip file, or its size disagrees with its header (truncated).
        StaleFileError: `tag` is given and the file's differs.
    """
    header = read_raw_header(path)
    if header is None:
        raise MediaError(f"{path}: not a raw clip file (no {MAGIC.decode()} header)")
    if tag is not None and header["tag"] != tag:
        raise StaleFileError(f"{path}: tagged {header['tag']!r}, expected {tag!r}")
    dtype, shape = np.dtype(header["dtype"]), tuple(header["shape"])
    expected = HEADER_BYTES + int(np.prod(shape)) * dtype.itemsize
    size = Path(path).stat().st_size
    if size != expected:
        raise MediaError(f"{path}: {size} bytes, its header says {expected} (truncated?)")
    return np.memmap(path, dtype=dtype, mode="r", offset=HEADER_BYTES, shape=shape)


def raw_is_complete(path: str | os.PathLike, tag: str, num_frames: int) -> bool:
    """Whether a raw clip file carries `tag`, holds `num_frames` frames and is not truncated."""
    try:
        frames = open_raw(path, tag)
    except MediaError:
        return False
    return len(frames) == num_frames


def verify_raw(path: str | os.PathLike) -> int:
    """Read the whole file and check its CRC; returns the frame count (MediaError if bad)."""
    frames = open_raw(path)
    crc = read_raw_header(path)["crc32"]
    if zlib.crc32(np.ascontiguousarray(frames)) != crc:
        raise MediaError(f"{path}: data does not match its checksum (damaged)")
    return len(frames)


def raw_frames(
    path: str | os.PathLike, wanted: np.ndarray, *, tag: str | None = None
) -> Iterator[tuple[int, Planes]]:
    """`(index, planes)` of the frames `wanted` of a raw clip file."""
    frames = open_raw(path, tag)
    for i in wanted:
        if i >= len(frames):
            return
        yield int(i), frames[int(i)]
