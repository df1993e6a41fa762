"""Which ffmpeg binary to run: `$MGRDARK_FFMPEG`, else imageio-ffmpeg's bundled one, else PATH."""

from __future__ import annotations

import os
import shutil

from ..errors import MediaError

FFMPEG_ENV = "MGRDARK_FFMPEG"


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary used for command-line work (benchmarks, exports)."""
    override = os.environ.get(FFMPEG_ENV)
    if override:
        if shutil.which(override) is None and not os.access(override, os.X_OK):
            raise MediaError(f"${FFMPEG_ENV}={override!r} is not an executable ffmpeg")
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise MediaError(f"no ffmpeg found: `pip install imageio-ffmpeg` or set ${FFMPEG_ENV}")
