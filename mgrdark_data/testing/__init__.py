"""Tiny self-describing media for tests: every frame encodes its own index."""

from .media import (
    decode_index,
    depth_index,
    depth_value,
    index_image,
    make_recording,
    write_annotations,
    write_depth_pngs,
    write_index_images,
    write_index_video,
    write_lossless_rgb,
    write_timestamps,
)

__all__ = [
    "decode_index",
    "depth_index",
    "depth_value",
    "index_image",
    "make_recording",
    "write_annotations",
    "write_depth_pngs",
    "write_index_images",
    "write_index_video",
    "write_lossless_rgb",
    "write_timestamps",
]
