"""Media I/O: probing, sequential frame reading and verified, atomic clip writing (PyAV)."""

from .ffmpeg import ffmpeg_exe
from .probe import StreamInfo, probe_stream
from .read import iter_frames
from .write import ClipWriter, EncoderSettings, count_decoded_frames, read_clip_tag

__all__ = [
    "ClipWriter",
    "EncoderSettings",
    "StreamInfo",
    "count_decoded_frames",
    "ffmpeg_exe",
    "iter_frames",
    "probe_stream",
    "read_clip_tag",
]
