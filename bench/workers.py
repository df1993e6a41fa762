"""Decoding in the training process (0 workers) against one DataLoader worker, with and without
`data.in_memory`: what `data.workers: auto` should be on a small machine.

Whole `train_run`s of the tiny preset (4 epochs, no evaluation) on pattern clips, in rounds
(a shared machine drifts); prints the wall time and each epoch's clips/s and data wait.

    python bench/workers.py                # results: bench/RESULTS.md, "workers"
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgrdark_train.engine.config import resolve_config  # noqa: E402
from mgrdark_train.engine.workers import usable_cores  # noqa: E402
from mgrdark_train.stages.run import train_run  # noqa: E402
from mgrdark_train.testing import write_pattern_dataset  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1])
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pattern_dataset(
            Path(tmp) / "data",
            train_subjects=4,
            test_subjects=1,
            clips_per_class=4,
            num_frames=(40, 60),
            size=64,
        )
        print(f"{usable_cores()} usable cores", flush=True)
        for rnd in range(a.rounds):
            for in_memory in (True, False):
                for w in a.workers:
                    cfg = resolve_config(
                        preset="tiny",
                        overrides={
                            "data.root": str(root.root),
                            "data.workers": w,
                            "data.in_memory": in_memory,
                            "data.eval_subset": None,
                            "optim.epochs": a.epochs,
                            "run.tensorboard": False,
                        },
                    )
                    t0 = time.perf_counter()
                    rows = train_run(cfg, Path(tmp) / f"run_{rnd}_{in_memory}_{w}")
                    wall = time.perf_counter() - t0
                    rates = " ".join(f"{r['clips_per_s']:.1f}" for r in rows)
                    waits = " ".join(f"{r['data_wait']:.0%}" for r in rows)
                    print(
                        f"round {rnd} in_memory={in_memory} workers={w}: wall {wall:.1f} s; "
                        f"clips/s per epoch {rates}; wait {waits}; "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
