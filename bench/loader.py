"""Loader throughput: clips/s of one worker for T frames at a crop, segmented clips vs cache.

Builds (once, under bench/_work/loader) a dataset root of synthetic clips at the dataset's
native sizes -- RGB and aligned IR 1920x1080 H.264 (crf 18, veryfast, keyframe every 25
frames, as `mgrdata segment` writes them), depth 512x424 FFV1 gray16le -- then times
`ClipDataset.__getitem__` (decode + resize + crop + normalise) in this process, which is
exactly the work one DataLoader worker does per clip. Also times seeking to each needed group
of pictures against the sequential decode the loader uses.

    python bench/loader.py                      # T=32, 256 -> 224, 100-frame clips
    python bench/loader.py --data DATA          # an existing dataset root instead
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgrdark_train.data import ClipDataset, eval_indices, prepare_cache  # noqa: E402
from mgrdark_train.testing import ClipSpec, write_dataset_root  # noqa: E402

WORK = Path(__file__).resolve().parent / "_work" / "loader"


def _texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    small = (rng.random((h // 16, w // 16, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _writer(path: Path, modality: str, spec: ClipSpec, k: int, size: tuple[int, int]) -> None:
    """Textured, moving content: H.264 has real work to do (flat frames decode too fast)."""
    rng = np.random.default_rng(k)
    w, h = size
    base = _texture(rng, w + 8 * spec.num_frames, h)
    path.parent.mkdir(parents=True, exist_ok=True)
    depth = modality == "depth"
    with av.open(str(path), "w", format="matroska" if depth else "mp4") as out:
        s = out.add_stream("ffv1" if depth else "libx264", rate=Fraction(25))
        s.width, s.height = w, h
        s.pix_fmt = "gray16le" if depth else "yuv420p"
        s.codec_context.gop_size = 25
        if not depth:
            s.options = {"crf": "18", "preset": "veryfast", "sc_threshold": "0"}
        for i in range(spec.num_frames):
            img = base[:, 8 * i : 8 * i + w]
            if depth:
                frame = av.VideoFrame.from_ndarray(
                    (500 + img[..., 0].astype(np.uint16) * 14), format="gray16le"
                )
            else:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            out.mux(s.encode(frame))
        out.mux(s.encode(None))


def build_root(clips: int, frames: int) -> Path:
    root = WORK / f"c{clips}_f{frames}"
    if (root / "manifest" / "clips.parquet").exists():
        return root
    specs = [ClipSpec("S01", k % 10, frames) for k in range(clips)]
    sizes = {"rgb": (1920, 1080), "ir": (1920, 1080), "depth": (512, 424)}
    write_dataset_root(root, specs, {"S01": "train"}, sizes=sizes, writer=_writer)
    return root


def time_items(ds: ClipDataset, repeats: int) -> tuple[float, float]:
    """(wall clips/s, clips per CPU-second) over `repeats` passes over the dataset.

    On a shared machine the wall rate depends on the load; the CPU rate is what one worker
    with a core to itself delivers.
    """
    wall = cpu = 0.0
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(len(ds)):
            ds[(i, r)]
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    n = len(ds) * repeats
    return n / wall, n / cpu


def seek_decode(path: Path, indices: np.ndarray, gop: int = 25) -> int:
    """Decode the sampled frames by seeking to each needed group of pictures."""
    decoded = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        tb = s.time_base
        rate = s.average_rate
        for g in sorted({int(i) // gop for i in indices}):
            need = [int(i) for i in indices if int(i) // gop == g]
            start_pts = int(Fraction(g * gop) / rate / tb)
            c.seek(start_pts, stream=s, backward=True, any_frame=False)
            for frame in c.decode(s):
                idx = round(float(frame.pts * tb * rate))
                if idx in need:
                    frame.reformat(width=256, height=256, format="rgb24").to_ndarray()
                    decoded += 1
                if idx >= max(need):
                    break
    return decoded


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="Existing dataset root (default: synthetic).")
    p.add_argument("--split", default="subjects")
    p.add_argument("--subset", default="train")
    p.add_argument("--clips", type=int, default=6)
    p.add_argument("--clip-frames", type=int, default=100)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--resize", type=int, default=256)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    import torch

    torch.set_num_threads(1)  # what a DataLoader worker gets
    root = Path(a.data) if a.data else build_root(a.clips, a.clip_frames)
    common = dict(
        split=a.split,
        subset=a.subset,
        num_frames=a.frames,
        resize=a.resize,
        crop=a.crop,
        light=None,
        train=True,
    )
    print(
        f"root {root}  T={a.frames} resize {a.resize} crop {a.crop}, one worker (1 thread), "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for m in ("rgb", "ir", "depth"):
        ds = ClipDataset(root, modalities=(m,), **common)
        wall, cpu = time_items(ds, a.repeats)
        print(f"  segmented   {m:5s}  {wall:7.2f} clips/s wall  {cpu:7.2f} clips/CPU-s")
    t0, c0 = time.perf_counter(), time.process_time()
    rep = prepare_cache(root, size=a.resize, workers=1, force=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"  prepare_cache: {rep.written} clip files in {wall:.1f} s wall, "
        f"{cpu / max(rep.written, 1):.2f} CPU-s per clip file (all modalities)"
    )
    for m in ("rgb", "ir", "depth"):
        ds = ClipDataset(root, modalities=(m,), cache=True, **common)
        wall, cpu = time_items(ds, a.repeats)
        print(f"  cache s{a.resize}  {m:5s}  {wall:7.2f} clips/s wall  {cpu:7.2f} clips/CPU-s")
    ds = ClipDataset(root, modalities=("rgb",), **common)
    path, _ = ds.clip_file(0, "rgb")
    idx = eval_indices(int(ds.clips.loc[0, "num_frames"]), a.frames)
    from mgrdark_train.data import read_clip_frames

    for name, fn in (
        ("sequential", lambda: read_clip_frames(path, idx, modality="rgb", size=a.resize)),
        ("seek/GOP", lambda: seek_decode(path, idx)),
    ):
        fn()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.repeats):
            fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"  rgb decode {name:10s}  {a.repeats / wall:6.2f} clips/s wall  "
            f"{a.repeats / cpu:6.2f} clips/CPU-s"
        )


if __name__ == "__main__":
    main()
