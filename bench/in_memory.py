"""Training epochs with and without `data.in_memory`, side by side on one dataset root.

The tiny preset trains one IR baseline for a few epochs twice per round, once decoding every
clip each epoch (`data.in_memory=false`) and once keeping the decoded frames after the first
epoch (`true`), alternating so that both see the same machine load. Reports the trainer's own
clips/s (metrics.csv) of the first epoch, which decodes in both, and of the later ones.

    python bench/in_memory.py -d DATA [--cache [--cache-format jpeg]] [--epochs 4] [--rounds 2]

DATA: any dataset root with a `subjects` split (e.g. `demo-out/data`); `--cache` reads the
pre-resized clips of `mgrtrain prepare --size 64 --format FMT`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import pandas as pd
import torch

from mgrdark_train.engine.config import resolve_config
from mgrdark_train.stages.run import train_run


def one_run(
    data: str, in_memory: bool, epochs: int, cache: str | None, modality: str
) -> pd.DataFrame:
    cfg = resolve_config(
        preset="tiny",
        overrides={
            "data.root": data,
            "data.modality": modality,
            "data.cache": cache is not None,
            "data.cache_format": cache or "jpeg",
            "data.in_memory": in_memory,
            "data.eval_subset": None,
            "optim.epochs": epochs,
            "run.tensorboard": False,
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        train_run(cfg, Path(tmp) / "run")
        return pd.read_csv(Path(tmp) / "run" / "metrics.csv")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--data", required=True)
    p.add_argument("--cache", action="store_true")
    p.add_argument("--cache-format", default="jpeg")
    p.add_argument("--modality", default="ir")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(
        f"{a.data} {a.modality} cache={a.cache}, tiny preset, {a.epochs} epochs x "
        f"{a.rounds} rounds, torch threads {a.threads}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    rates: dict[bool, dict[str, list[float]]] = {
        m: {"first": [], "later": []} for m in (False, True)
    }
    for _ in range(a.rounds):
        for in_memory in (False, True):
            cache = a.cache_format if a.cache else None
            m = one_run(a.data, in_memory, a.epochs, cache, a.modality)
            rates[in_memory]["first"].append(float(m["clips_per_s"].iloc[0]))
            rates[in_memory]["later"] += m["clips_per_s"].iloc[1:].astype(float).tolist()
    for in_memory, r in rates.items():
        print(
            f"  in_memory={str(in_memory).lower():5s}  epoch 1 "
            f"{statistics.median(r['first']):7.1f} clips/s   epochs 2-{a.epochs} "
            f"{statistics.median(r['later']):7.1f} clips/s (median)"
        )
    ratio = statistics.median(rates[True]["later"]) / statistics.median(rates[False]["later"])
    print(f"  later epochs, in_memory / per-epoch decoding: {ratio:.2f}x")


if __name__ == "__main__":
    main()
