"""Is the distillation gain IR knowledge, or would any teacher do? A control over seeds.

Per seed, on the clips `bench/learnability.py` loads (in memory, the tiny preset's network and
the real step modules, precise BN before testing), three RGB students:

* ``rgb``: CE alone (Table 4 row 1);
* ``kd``: CE + beta * eq. 5 from an IR teacher trained in the same seed (row 2);
* ``kd-untrained``: the same, from an IR teacher that was never trained (its BatchNorm
  statistics set on the IR training clips, so its features are random but not degenerate).

If ``kd-untrained`` gains as much as ``kd``, the gain is regularisation, not what IR knows.
Seeds may run in several processes on one --out; `--summary` reads them all back and prints
the per-seed table and the paired tests of `bench/fidelity.py`.

    python bench/kd_control.py -d DATA --seeds 0,2,4,6,8 --out OUT   # and 1,3,5,7,9 at once
    python bench/kd_control.py -d DATA --summary --out OUT
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pandas as pd
import torch
from fidelity import paired_tests, seeds_of, tables
from learnability import fit, load, precise_bn

from mgrdark_train.engine.config import resolve_config
from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.mtcd.stages import build_network
from mgrdark_train.mtcd.steps import StudentStep

ROWS = ("rgb", "kd", "kd-untrained")


def run_seed(train, test, seed: int, args) -> dict[str, float]:
    cfg = resolve_config(preset="tiny")
    out = {}
    torch.manual_seed(seed)
    teacher = build_network(cfg, 10, "ir")
    out["(IR teacher)"] = fit(
        ClassificationStep(teacher, input_key="ir"),
        train,
        test,
        "ir",
        args.epochs,
        args.crop,
        seed,
        log=f"s{seed} ir",
        eval_every=args.epochs,
    )
    torch.manual_seed(seed + 1000)
    untrained = build_network(cfg, 10, "ir")
    precise_bn(ClassificationStep(untrained, input_key="ir"), train, args.crop)
    for row, t in (("rgb", None), ("kd", teacher), ("kd-untrained", untrained)):
        torch.manual_seed(seed)  # the same student initialisation in every row
        student = build_network(cfg, 10, "rgb")
        if t is None:
            step = ClassificationStep(student, input_key="rgb")
        else:
            step = StudentStep(
                student, teacher=t.eval(), use_fusion_kd=False, use_ir_kd=True, beta=args.beta
            )
        out[row] = fit(
            step,
            train,
            test,
            "rgb",
            args.epochs,
            args.crop,
            seed,
            log=f"s{seed} {row}",
            eval_every=args.epochs,
        )
    return {k: 100.0 * v for k, v in out.items()}


def summary(out_dir: Path) -> str:
    per_seed = {
        int(p.stem[4:]): json.loads(p.read_text()) for p in sorted(out_dir.glob("seed*.json"))
    }
    seeds = sorted(per_seed)
    if not seeds:
        raise SystemExit(f"no seed*.json in {out_dir}: run some seeds first")
    rows = [*ROWS, "(IR teacher)"]
    table = pd.DataFrame(
        [{"row": r, **{f"top1_seed{s}": per_seed[s][r] for s in seeds}} for r in rows]
    )
    vals = table[[f"top1_seed{s}" for s in seeds]]
    table["mean_top1"], table["std_top1"] = vals.mean(axis=1), vals.std(axis=1)
    tests = paired_tests(table, seeds, ref="rgb")
    tests += paired_tests(table[table.row != "rgb"], seeds, ref="kd-untrained")
    return tables(table, tests, seeds)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--data", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", default="0-9")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--crop", type=int, default=28)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--beta", type=float, default=0.3, help="eq. 10's beta (mtcd default)")
    p.add_argument("--summary", action="store_true")
    args = p.parse_args()
    if args.summary:
        print(summary(args.out))
        return
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    args.out.mkdir(parents=True, exist_ok=True)
    # Decoded from the clips, not a cache (the cache resizes alike); kept by learnability.load.
    train = load(args.data, "train", args.size, "dark", False)
    test = load(args.data, "test", args.size, "dark", False)
    for seed in seeds_of(args.seeds):
        path = args.out / f"seed{seed}.json"
        if path.exists():
            continue
        path.write_text(json.dumps(run_seed(train, test, seed, args), indent=2))
        print(f"seed {seed}: {path.read_text()}", flush=True)


if __name__ == "__main__":
    main()
