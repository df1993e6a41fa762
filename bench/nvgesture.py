"""Benchmark `mgrdata import nvgesture` against `mgrdata segment` on the same media.

    python bench/nvgesture.py                       # 24 recordings, 320x240, as NvGesture's
    python bench/nvgesture.py --takes 48 --repeat 3 --workers 2

A synthetic tree in NvGesture's layout (`mgrdark_data.testing.nvgesture`: frame-coded
`sk_color.avi`, 8-bit `sk_depth.avi`, `duo_left.avi` at 35 fps, both v2 lists; windows of 80
colour/depth frames and 93 DUO frames, as in the real lists) is imported, then the same media
are linked into the MGR-Dark layout (`RAW/<recording>/rgb.avi, depth.avi, ir.avi`) and cut with
`mgrdata segment --align none --ann` the importer's own annotation CSV (per-sensor columns
included), so both cut the same source frames (checked: equal `frames.parquet`). Runs
alternate, fresh dataset roots each time; clips/s is instances in the manifest over the wall
time of the whole command (a fresh `python -m mgrdark_data` process each), best of the runs;
the order alternates (import first, then segment first) and CPU seconds (user + sys, workers
included) are measured too, as they suffer less from a busy machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from subprocess import DEVNULL

import pandas as pd

from mgrdark_data.importers.nvgesture import ANNOTATIONS, STREAM_FILES
from mgrdark_data.testing.nvgesture import NvTake, make_nvgesture_tree
from mgrdark_data.vocabulary import default_classes_path

HERE = Path(__file__).resolve().parent
LAYOUT = {"rgb": "rgb.avi", "depth": "depth.avi", "ir": "ir.avi"}


def takes(count: int, frames: int) -> list[NvTake]:
    """`count` recordings over 6 subjects (4 train, 2 test) and the 25 classes; each has an
    80-frame colour/depth window and a 93-frame DUO window, like the real lists."""
    out = []
    for i in range(count):
        subject = (1, 2, 3, 4, 5, 8)[i % 6]
        start = 20 + i % 7
        out.append(
            NvTake(
                i % 25 + 1,
                subject,
                i // 6,
                i % 25 + 1,
                (start, start + 80),
                (start, start + 80),
                (start + 3, start + 96),
                frames=frames,
                duo_frames=frames * 35 // 30,
                list="test" if subject in (5, 8) else "train",
            )
        )
    return out


def mgrdark_layout(nvroot: Path, raw: Path) -> None:
    """The same files as `RAW/<recording>/{rgb,depth,ir}.avi` (symbolic links)."""
    for color in sorted(nvroot.rglob(STREAM_FILES["rgb"])):
        folder = raw / color.parent.relative_to(nvroot)
        folder.mkdir(parents=True, exist_ok=True)
        for modality, name in STREAM_FILES.items():
            (folder / LAYOUT[modality]).symlink_to(color.parent / name)


def run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the command and its worker processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mgrdark_data", *args], check=True, stdout=DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def source_frames(data: Path) -> pd.DataFrame:
    """Every clip frame's source frame per modality (`frames.parquet`): what both commands
    must agree on. (The clip bytes differ: each clip's tag names its source file.)"""
    cols = ["clip_id", "frame", "rgb_frame", "depth_frame", "ir_frame"]
    frames = pd.read_parquet(data / "manifest" / "frames.parquet", columns=cols)
    return frames.sort_values(["clip_id", "frame"]).reset_index(drop=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/bench_nvgesture"))
    p.add_argument("--takes", type=int, default=24)
    p.add_argument("--frames", type=int, default=130, help="Colour/depth frames a recording.")
    p.add_argument("--size", default="320x240")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    nvroot, raw = a.work / "nv", a.work / "raw"
    if not nvroot.exists():
        started = time.perf_counter()
        make_nvgesture_tree(nvroot, takes(a.takes, a.frames), size=(w, h))
        print(f"synthesized {a.takes} recordings in {time.perf_counter() - started:.1f} s")
    workers = ["--workers", str(a.workers), "-q"]
    times: dict[str, list[float]] = {"import": [], "segment": []}
    cpu: dict[str, list[float]] = {"import": [], "segment": []}
    if not raw.exists():
        mgrdark_layout(nvroot, raw)
    for r in range(a.repeat):
        d_import, d_segment = a.work / f"import{r}", a.work / f"segment{r}"
        for d in (d_import, d_segment):
            shutil.rmtree(d, ignore_errors=True)
        commands = {
            "import": ["import", "nvgesture", str(nvroot), "-d", str(d_import), *workers],
            # the importer's own CSV: written by run 0's import, which always goes first
            "segment": ["segment", str(raw), "--ann", str(a.work / "import0" / ANNOTATIONS)]
            + ["-d", str(d_segment), "--align", "none", *workers]
            + ["--classes", str(default_classes_path("nvgesture"))],
        }
        order = ["import", "segment"] if r % 2 == 0 else ["segment", "import"]
        for name in order:
            wall, used = run(commands[name])
            times[name].append(wall)
            cpu[name].append(used)
        same = source_frames(d_import).equals(source_frames(d_segment))
        print(
            f"run {r + 1} ({' then '.join(order)}): "
            + ", ".join(f"{k} {v[-1]:.2f} s (cpu {cpu[k][-1]:.1f} s)" for k, v in times.items())
        )
        assert same, "the importer and segment cut different source frames"
    clips = source_frames(a.work / "import0")["clip_id"].nunique()
    best = {k: min(v) for k, v in times.items()}
    rate = {k: clips / v for k, v in best.items()}
    least = {k: min(v) for k, v in cpu.items()}
    cmd = "python bench/nvgesture.py " + " ".join(sys.argv[1:])
    print(
        f"\n{cmd}\n\n{clips} clips x 3 modalities, {a.takes} recordings {w}x{h}, "
        f"workers={a.workers}, best of {a.repeat}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores\n"
        f"mgrdata import nvgesture:  {best['import']:7.2f} s  {rate['import']:6.2f} clips/s  "
        f"cpu {least['import']:.1f} s\n"
        f"mgrdata segment (same media, MGR-Dark layout, same CSV): {best['segment']:7.2f} s  "
        f"{rate['segment']:6.2f} clips/s  cpu {least['segment']:.1f} s\n"
        f"import/segment: clips/s {rate['import'] / rate['segment']:.2f}, cpu seconds "
        f"{least['import'] / least['segment']:.2f}; same source frames: yes"
    )


if __name__ == "__main__":
    main()
