"""MTCD ablation (the paper's Table 4 rows) over several seeds, at CPU scale.

Rows: ``baseline`` (RGB student, CE), ``teacher`` (+ beta * L_kd(IR->RGB)), ``teacher+assistant``
(+ alpha * L_kd(Fusion->RGB), assistant trained with CE only), ``full`` (the assistant is also
distilled from the teacher, L_kd(IR->IRp)). Within one seed the rows share the translator, the
teacher and (per assistant kind) the assistant, exactly as separate `mgrtrain mtcd` runs with
the same seed would train them.

Data: by default a toy dataset where dark RGB is hard and IR easy
(`mgrdark_train.mtcd.synthetic`), written once into the work folder; ``--data DIR`` runs on any
dataset root with aligned ``rgb``/``ir`` clips and a subject split instead (for example one made
with `mgrdata synth`, `mgrdata segment --align auto` and `mgrdata split`).

Writes the table to stdout and to the ``## ablation`` section of bench/RESULTS.md.

    python bench/ablation.py                      # 4 rows x 3 seeds, about 20 min on 2 cores
    python bench/ablation.py --seeds 0 --epochs 3 --no-write   # smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from mgrdark_train.engine.config import resolve_config
from mgrdark_train.mtcd.config import ABLATIONS, resolve_mtcd_config
from mgrdark_train.mtcd.pipeline import run_mtcd
from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset
from mgrdark_train.stages.baseline import build_dataset
from mgrdark_train.stages.run import evaluate_run
from mgrdark_train.translator.apply import translate_clip
from mgrdark_train.translator.stage import load_translator

ROOT = Path(__file__).resolve().parent
SECTION = "## ablation"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / "_work" / "ablation")
    p.add_argument("--data", type=Path, default=None, help="existing dataset root")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--rows", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    p.add_argument("--epochs", type=int, default=15, help="epochs of every network stage")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate of every stage")
    p.add_argument("--gain", type=float, default=0.05, help="stripe contrast in dark RGB (toy)")
    p.add_argument("--size", type=int, default=32, help="resize = crop side")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--translator", default="gan", choices=["gan", "grayscale", "identity"])
    p.add_argument("--kd-distance", default="mse_l2", choices=["mse_l2", "kl_logits"])
    p.add_argument("--threads", type=int, default=1, help="torch threads (the VM is shared)")
    p.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    return p.parse_args(argv)


def configs(args: argparse.Namespace, data: Path, seed: int, row: str):
    cfg = resolve_config(
        preset="tiny",
        overrides={
            "data.root": str(data),
            "optim.epochs": args.epochs,
            "optim.lr": args.lr,
            "run.seed": seed,
            "data.workers": 0,
        },
        sets={
            "data.resize": args.size,
            "data.crop": args.size,
            "data.num_frames": args.frames,
            "run.tensorboard": False,
        },
    )
    cfg.stage = "mtcd"
    mcfg = resolve_mtcd_config(
        preset="tiny",
        overrides={
            "ablation": row,
            "translator.name": args.translator,
            "distill.kd_distance": args.kd_distance,
        },
    )
    return cfg, mcfg


def pseudo_ir_timing(cfg, translator_dir: Path) -> dict[str, float]:
    """Seconds per batch: decoding the RGB batch, decoding an IR batch as well (what reading a
    cached pseudo-IR stream would add), and translating the RGB batch on the fly."""
    translator = load_translator(translator_dir)
    out: dict[str, float] = {}
    for name, mods in (("rgb", ("rgb",)), ("rgb+ir", ("rgb", "ir"))):
        loader = DataLoader(build_dataset(cfg, "train", mods), batch_size=cfg.optim.batch_size)
        t0 = time.perf_counter()
        batches = list(loader)
        out[f"load_{name}"] = (time.perf_counter() - t0) / len(batches)
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            translate_clip(translator, b["rgb"])
    out["translate"] = (time.perf_counter() - t0) / len(batches)
    return out


def mean_std(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):5.1f} +- {100 * sd:4.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    data = args.data
    if data is None:
        data = args.work / "data"
        if not (data / "manifest" / "clips.parquet").exists():
            write_dark_ir_dataset(
                data,
                classes=4,
                train_subjects=6,
                test_subjects=3,
                clips_per_class=4,
                size=args.size,
                gain=args.gain,
                seed=1234,
            )
    acc: dict[str, list[float]] = {row: [] for row in args.rows}
    teacher_acc, l1, timing = [], {}, {}
    start = time.perf_counter()
    for seed in args.seeds:
        seed_dir = args.work / f"seed{seed}"
        for row in args.rows:
            cfg, mcfg = configs(args, data, seed, row)
            assistant = "assistant_kd" if ABLATIONS[row]["assistant_kd"] else "assistant_ce"
            stage_dirs = {
                "translator": seed_dir / "translator",
                "teacher": seed_dir / "teacher",
                "assistant": seed_dir / assistant,
            }
            t0 = time.perf_counter()
            res = run_mtcd(cfg, mcfg, seed_dir / row, stage_dirs=stage_dirs)
            acc[row].append(res["test"]["top1"])
            print(
                f"seed {seed} {row:18s} test top1 {res['test']['top1']:.3f} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        if (seed_dir / "teacher" / "done.json").exists():
            teacher_acc.append(evaluate_run(seed_dir / "teacher", subset="test")["top1"])
        tj = seed_dir / "translator" / "translator.json"
        if tj.exists():
            for k, v in json.loads(tj.read_text())["l1"].items():
                l1.setdefault(k, []).append(v)
            if not timing:
                timing = pseudo_ir_timing(cfg, seed_dir / "translator")
    minutes = (time.perf_counter() - start) / 60
    lines = [
        f"{'row':18s} {'test top-1 % (mean +- std)':28s} per seed",
        *(
            f"{row:18s} {mean_std(v):28s} " + " ".join(f"{100 * x:5.1f}" for x in v)
            for row, v in acc.items()
        ),
    ]
    if teacher_acc:
        lines.append(
            f"{'(IR teacher, IR)':18s} {mean_std(teacher_acc):28s} "
            + " ".join(f"{100 * x:5.1f}" for x in teacher_acc)
        )
    if l1:
        lines.append(
            "translator L1 to real IR on test (normalised units): "
            + ", ".join(f"{k} {statistics.mean(v):.3f}" for k, v in l1.items())
        )
    if timing:
        lines.append("seconds per batch: " + ", ".join(f"{k} {v:.3f}" for k, v in timing.items()))
    lines.append(f"seeds {args.seeds}, {args.epochs} epochs per stage, {minutes:.1f} min")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section(args, table)
    return 0


INTRO = """MTCD ablation (paper Table 4 rows): test top-1 of the RGB student, mean +- sample std
over seeds. Each subsection below is one invocation of `bench/ablation.py` (re-running one
replaces only its own subsection; this paragraph and any notes above the first subsection are
kept)."""


def write_section(args: argparse.Namespace, table: str) -> None:
    """Replace this run's subsection of ``## ablation`` in bench/RESULTS.md, keep the rest."""
    cmd = "python bench/ablation.py " + " ".join(sys.argv[1:])
    label = f"### gain {args.gain}, translator {args.translator}, kd {args.kd_distance}"
    data = (
        f"dataset root {args.data}"
        if args.data
        else "toy data (`mgrdark_train.mtcd.synthetic`): 4 stripe-orientation classes, 6 "
        "train / 3 test subjects, 4 clips per class and subject, "
        f"{args.size}x{args.size}; dark RGB stripes at contrast {args.gain} under noise 0.03, "
        "aligned IR bright and clean"
    )
    sub = f"""{label}

{data}. Tiny preset (ResNet-10 x0.25, {args.frames} frames, batch 8), SGD lr {args.lr},
{args.epochs} epochs per network stage, precise BN after each stage.

```
{cmd.strip()}
```

```
{table}
```
"""
    path = ROOT / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, found, rest = text.partition(SECTION)
    section, tail = rest, ""
    nxt = rest.find("\n## ")
    if nxt >= 0:
        section, tail = rest[: nxt + 1], rest[nxt + 1 :]
    parts = section.split("\n### ") if found else [f"\n\n{INTRO}\n"]
    intro, subs = parts[0], ["### " + p for p in parts[1:]]
    subs = [x for x in subs if not x.startswith(label + "\n")] + [sub]
    body = SECTION + intro.rstrip("\n") + "\n\n" + "\n".join(x.rstrip("\n") + "\n" for x in subs)
    if not found:
        head = head.rstrip("\n") + "\n\n"
    path.write_text(head + body + ("\n" + tail if tail else ""))


if __name__ == "__main__":
    sys.exit(main())
