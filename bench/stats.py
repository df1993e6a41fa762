"""Benchmark `mgrdata stats` against `ffmpeg -i F -pix_fmt rgb24 -f null -` on the same files.

Usage: python bench/stats.py [--videos 3] [--frames 300] [--size 1280x720] [--repeat 3]

Writes textured 720p H.264 test videos (the clip encoder's settings: yuv420p, crf 18, veryfast,
keyframe every 25 frames) into a temporary folder, then times, best of `--repeat`:
  * ffmpeg decoding every file to rgb24 and discarding it (one file after another);
  * our all-frames statistics (`frames_per_video=0`) with 1 worker and with 2 workers;
  * our sampled statistics (`frames_per_video=8`).
It prints frames per second, the throughput ratio ours / ffmpeg and the sampled-mode speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from mgrdark_data.media import ffmpeg_exe
from mgrdark_data.stats import compute_brightness_stats


def write_textured_video(path: Path, frames: int, size: tuple[int, int], seed: int) -> Path:
    """A smooth random texture panning across the frame plus fine noise (camera-like content)."""
    w, h = size
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (h // 8 + 64, w // 8 + 64, 3), np.uint8)
    texture = cv2.resize(
        cv2.GaussianBlur(big, (5, 5), 0), None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC
    )
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = 25
        stream.options = {"crf": "18", "preset": "veryfast", "sc_threshold": "0"}
        for i in range(frames):
            dx, dy = (3 * i) % 256, (2 * i) % 256
            img = texture[dy : dy + h, dx : dx + w]
            noise = rng.integers(-6, 7, img.shape, np.int16)
            img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    ffmpeg = ffmpeg_exe()

    with tempfile.TemporaryDirectory(prefix="mgrdark-bench-") as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        files = [
            write_textured_video(folder / f"v{i}.mp4", args.frames, size, i)
            for i in range(args.videos)
        ]
        total = args.videos * args.frames
        out = Path(tmp) / "stats.parquet"

        def run_ffmpeg() -> None:
            for f in files:
                subprocess.run(
                    [ffmpeg, "-v", "error", "-i", str(f), "-pix_fmt", "rgb24", "-f", "null", "-"],
                    check=True,
                )

        def ours(k: int, workers: int):
            return lambda: compute_brightness_stats(
                [folder], name="bench", frames_per_video=k, out=out, workers=workers
            )

        t_ff = best_of(args.repeat, run_ffmpeg)
        t_all1 = best_of(args.repeat, ours(0, 1))
        t_all2 = best_of(args.repeat, ours(0, 2))
        t_s8 = best_of(args.repeat, ours(8, 1))

    fps = {name: total / t for name, t in [("ffmpeg", t_ff), ("all1", t_all1), ("all2", t_all2)]}
    print(
        f"{args.videos} videos x {args.frames} frames, {size[0]}x{size[1]} H.264 yuv420p "
        f"(crf 18, veryfast, gop 25); best of {args.repeat}; ffmpeg {ffmpeg}"
    )
    print(f"{'run':<44} {'seconds':>8} {'frames/s':>9} {'vs ffmpeg':>10}")
    for label, t, f in [
        ("ffmpeg -i F -pix_fmt rgb24 -f null - (each F)", t_ff, fps["ffmpeg"]),
        ("stats --frames-per-video 0 --workers 1", t_all1, fps["all1"]),
        ("stats --frames-per-video 0 --workers 2", t_all2, fps["all2"]),
    ]:
        print(f"{label:<44} {t:8.2f} {f:9.1f} {f / fps['ffmpeg']:9.2f}x")
    print(
        f"{'stats --frames-per-video 8 --workers 1':<44} {t_s8:8.2f} "
        f"{'':>9} {t_all1 / t_s8:8.1f}x faster than all frames ({8 * args.videos} frames)"
    )


if __name__ == "__main__":
    sys.exit(main())
