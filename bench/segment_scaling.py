"""`python bench/segment.py --scaling`: `mgrdata segment` with 1, 2, ... workers on local
processes and on a Dask LocalCluster, side by side, and the engines' overhead on a tiny dataset.

Two datasets, both synthesized once under WORK:

  scaling   RECORDINGS recordings (rgb, depth, ir) at WIDTHxHEIGHT: 3 x RECORDINGS stream tasks,
            enough to keep every worker busy
  tiny      three 64x48 recordings of the test helpers (9 streams, 18 clips): nearly no work,
            so the wall time is what the executor costs

Every run is `python -m mgrdark_data segment ... --align none -q` in a fresh DATA, so each
wall time includes starting Python and, for `dask-local`, starting the cluster (processes,
scheduler) and stopping it. `dask://` runs on a LocalCluster this script started beforehand:
what a lab's running scheduler costs per run. Runs alternate in order (forward, then
backward) and each configuration keeps its best time. Every run's manifests and clip hashes
are compared with the first local run's: the table says whether they are identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent


def make_scaling_raw(raw: Path, recordings: int, width: int, seconds: float) -> Path:
    from mgrdark_data.synth.dataset import synthesize_recording, write_labels

    rows = []
    for k in range(recordings):
        result = synthesize_recording(
            raw,
            f"S{k + 1:02d}/dark/hall",
            width=width,
            height=width * 9 // 16 // 2 * 2,
            seconds=seconds,
            gestures=4,
            gesture_frames=(45, 75),
            rest_frames=(10, 30),
            light="dark",
            seed=k,
        )
        rows += result.labels
    return write_labels(raw / "labels.csv", rows)


def make_tiny_raw(raw: Path) -> Path:
    from mgrdark_data.testing import make_recording, write_annotations

    rows = []
    for k, rec in enumerate(["S01/dark/hall", "S01/daylight/hall", "S02/dark/lab"]):
        make_recording(raw, rec, ir_fps=30, ir_frames=80, depth="png" if k == 1 else "video")
        subject = rec.split("/")[0]
        rows += [(rec, subject, "forward", 2, 20), (rec, subject, "stop", 25, 50)]
    return write_annotations(raw / "labels.csv", rows)


def fingerprint(data: Path) -> tuple:
    """Every manifest row (clip sha256 included) of a dataset root."""
    return tuple(
        (name, tuple(map(str, pq.read_table(data / "manifest" / f"{name}.parquet").to_pylist())))
        for name in ("clips", "recordings", "rejects", "frames")
    )


def run_segment(raw: Path, data: Path, workers: int, executor: str) -> float:
    shutil.rmtree(data, ignore_errors=True)
    cmd = [sys.executable, "-m", "mgrdark_data", "segment", str(raw), "--ann"]
    cmd += [str(raw / "labels.csv"), "-d", str(data), "--align", "none", "-q"]
    cmd += ["--workers", str(workers), "--executor", executor]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=HERE.parent)
    return time.perf_counter() - t


def alternate(configs: list[tuple[str, Path, int, str]], work: Path, repeat: int):
    """Best wall time of each (label, raw, workers, executor), and whether its output equals
    the first configuration's of the same raw tree."""
    best: dict[str, float] = {}
    same: dict[str, bool] = {}
    reference: dict[Path, tuple] = {}
    for r in range(repeat):
        for label, raw, workers, executor in configs if r % 2 == 0 else configs[::-1]:
            data = work / "data" / label.replace(" ", "_").replace("/", "_").replace(":", "_")
            wall = run_segment(raw, data, workers, executor)
            best[label] = min(best.get(label, wall), wall)
            got = fingerprint(data)
            want = reference.setdefault(raw, got)
            same[label] = same.get(label, True) and got == want
            print(f"  run {r + 1}: {label:<28} {wall:7.2f} s", flush=True)
    return best, same


def scaling(work: Path, repeat: int, recordings: int, width: int, seconds: float) -> list[str]:
    from dask.distributed import LocalCluster

    big, tiny = work / "raw_scaling", work / "raw_tiny"
    for raw, make in (
        (big, lambda: make_scaling_raw(big, recordings, width, seconds)),
        (tiny, lambda: make_tiny_raw(tiny)),
    ):
        if not (raw / "labels.csv").exists():
            shutil.rmtree(raw, ignore_errors=True)
            make()
    cores = os.cpu_count() or 1
    counts = [1, 2] + [n for n in (4, 8, 16) if n <= cores and n <= 3 * recordings]
    with LocalCluster(
        n_workers=max(counts), threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        running = cluster.scheduler_address.replace("tcp://", "dask://")
        configs = []
        for n in counts:
            configs += [
                (f"local w{n}", big, n, "local"),
                (f"dask-local w{n}", big, n, "dask-local"),
            ]
        configs += [
            ("tiny local w2", tiny, 2, "local"),
            ("tiny dask-local w2", tiny, 2, "dask-local"),
            (f"tiny dask:// ({max(counts)} workers)", tiny, 2, running),
        ]
        best, same = alternate(configs, work, repeat)
    load = os.getloadavg()
    lines = [
        f"scaling dataset: {recordings} recordings x 3 streams at {width} px wide, "
        f"{seconds:g} s each; {cores} cores; load average at the end {load[0]:.1f}",
        f"best of {repeat} runs each, order alternating; wall s of `mgrdata segment`",
        "",
        "| workers | local (s) | dask-local (s) | dask-local / local | local speed-up "
        "| dask-local speed-up |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in counts:
        loc, dsk = best[f"local w{n}"], best[f"dask-local w{n}"]
        lines.append(
            f"| {n} | {loc:.2f} | {dsk:.2f} | {dsk / loc:.2f} | {best['local w1'] / loc:.2f} "
            f"| {best['dask-local w1'] / dsk:.2f} |"
        )
    t_loc, t_dl = best["tiny local w2"], best["tiny dask-local w2"]
    t_run = best[f"tiny dask:// ({max(counts)} workers)"]
    lines += [
        "",
        "engine overhead on the tiny dataset (9 streams, 18 clips), 2 workers:",
        f"  local processes              {t_loc:6.2f} s",
        f"  dask-local (start a cluster) {t_dl:6.2f} s   +{t_dl - t_loc:.2f} s, "
        f"{t_dl / t_loc:.2f}x",
        f"  dask:// (a running cluster)  {t_run:6.2f} s   +{t_run - t_loc:.2f} s, "
        f"{t_run / t_loc:.2f}x",
        "",
        "manifests and clip hashes identical to the first local run: "
        + ("all runs" if all(same.values()) else f"NOT {[k for k, v in same.items() if not v]}"),
    ]
    return lines
