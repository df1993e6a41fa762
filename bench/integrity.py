"""What verified re-runs cost: a no-op re-run of `mgrdata segment` against the full run.

    python bench/integrity.py                        # a synthetic 1280x720 take
    python bench/integrity.py --baseline-src DIR     # also main's no-op re-run, side by side

A re-run keeps a clip only after comparing its size and sha256 with the manifest record it
reuses (and re-cuts it otherwise). Per repeat, in one session: (1) a full run into a fresh
root, (2) a no-op re-run of the same command on it (every clip kept, every clip hashed),
(3) sha256 of every clip file alone, in this process, and with `--baseline-src`, (4) the
no-op re-run of another checkout on a copy of the same root. Prints the wall times and the
ratios no-op/full and hash/full, and appends them to bench/RESULTS.md with the command.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from segment import make_recording  # noqa: E402  (bench/segment.py's synthetic take)


def _segment(src: Path, raw: Path, data: Path, workers: int) -> float:
    cmd = [sys.executable, "-m", "mgrdark_data", "segment", str(raw), "--ann"]
    cmd += [str(raw / "labels.csv"), "-d", str(data), "--align", "none", "-q"]
    cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode:
        raise SystemExit(f"segment failed in {src}: {done.stderr}")
    return wall


def _hash_all(data: Path) -> tuple[float, int, int]:
    t = time.perf_counter()
    files = sorted(p for p in (data / "clips").rglob("*") if p.is_file())
    size = 0
    for p in files:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        size += p.stat().st_size
    return time.perf_counter() - t, len(files), size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--gestures", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--work", type=Path, default=HERE / "_work" / "integrity")
    p.add_argument("--baseline-src", type=Path, help="another checkout: its no-op re-run too")
    p.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    args = p.parse_args()

    work = args.work.resolve()
    raw = work / "raw"
    if not (raw / "labels.csv").exists():
        shutil.rmtree(raw, ignore_errors=True)
        make_recording(raw, args.seconds, args.gestures, 0)
    src = HERE.parent
    rows: dict[str, list[float]] = {"full": [], "noop": [], "hash": [], "base": []}
    for r in range(args.repeat):
        data = work / "data"
        shutil.rmtree(data, ignore_errors=True)
        rows["full"].append(_segment(src, raw, data, args.workers))
        rows["noop"].append(_segment(src, raw, data, args.workers))
        wall, n, size = _hash_all(data)
        rows["hash"].append(wall)
        if args.baseline_src is not None:
            copy = work / "data_base"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(data, copy)
            rows["base"].append(_segment(args.baseline_src.resolve(), raw, copy, args.workers))
        print(f"run {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items() if v))
    best = {k: min(v) for k, v in rows.items() if v}
    lines = [
        f"full run:                       {best['full']:8.2f} s",
        f"no-op re-run (size + sha256):   {best['noop']:8.2f} s   "
        f"no-op/full = {best['noop'] / best['full']:.3f}",
        f"sha256 of every clip alone:     {best['hash']:8.2f} s   "
        f"hash/full = {best['hash'] / best['full']:.4f}  ({n} files, {size / 2**20:.1f} MiB)",
    ]
    if "base" in best:
        lines.append(
            f"baseline no-op re-run:          {best['base']:8.2f} s   "
            f"ours/baseline = {best['noop'] / best['base']:.2f}"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_results:
        cmd = "python bench/integrity.py " + " ".join(sys.argv[1:])
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(
                f"\n## Segment: integrity\n\n{args.seconds:g} s synthetic 1280x720 take, "
                f"{args.gestures} gestures, --workers {args.workers}, best of {args.repeat} "
                f"({machine}).\n\n```\n{cmd.strip()}\n\n{text}\n```\n"
            )


if __name__ == "__main__":
    main()
