"""MTCD ablation (the paper's Table 4 rows) over several seeds, at CPU scale.

Rows: ``baseline`` (RGB student, CE), ``teacher`` (+ beta * L_kd(IR->RGB)), ``teacher+assistant``
(+ alpha * L_kd(Fusion->RGB), assistant trained with CE only), ``full`` (the assistant is also
distilled from the teacher, L_kd(IR->IRp)). Within one seed the rows share the translator, the
teacher and (per assistant kind) the assistant, exactly as separate `mgrtrain mtcd` runs with
the same seed would train them.

Data: by default the real pipeline on `mgrdata synth` recordings, made once into the work
folder: 8 subjects x 2 rooms x dark/daylight, 2 instances of each of the 10 classes per take,
at --scale of full resolution; `mgrdata segment --align auto` (IR warped into the RGB view) and
a split with 2 test subjects. The paper's premise holds there: the tiny IR baseline reaches
about 60% test top-1, the dark RGB one stays near chance. ``--toy GAIN`` uses the stripe toy
of `mgrdark_train.mtcd.synthetic` instead; ``--data DIR`` any dataset root with aligned
``rgb``/``ir`` clips and a subject split.

Writes the table to stdout and to the ``## ablation`` section of bench/RESULTS.md.

    python bench/ablation.py                      # 4 rows x 3 seeds on synth data
    python bench/ablation.py --seeds 0 --epochs 3 --no-write   # smoke run
    python bench/ablation.py --toy 0.025         # the stripe toy at contrast 0.025
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

from mgrdark_data.synth.plan import DARK_NOISE_SIGMA
from mgrdark_train.builders import build_dataset
from mgrdark_train.engine.config import resolve_config
from mgrdark_train.mtcd.config import ABLATIONS, resolve_mtcd_run
from mgrdark_train.mtcd.losses import KD_DISTANCES
from mgrdark_train.mtcd.pipeline import run_mtcd
from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset
from mgrdark_train.stages.run import evaluate_run
from mgrdark_train.translator.apply import translate_clip
from mgrdark_train.translator.networks import TRANSLATORS
from mgrdark_train.translator.stage import load_translator

ROOT = Path(__file__).resolve().parent
SECTION = "## ablation"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / "_work" / "ablation")
    p.add_argument("--data", type=Path, default=None, help="existing dataset root")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--rows", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of every network stage (default: the tiny preset's)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate of every stage (default: the tiny preset's)",
    )
    p.add_argument(
        "--toy",
        type=float,
        default=None,
        metavar="GAIN",
        help="use the stripe toy with this dark-RGB contrast instead of synth data",
    )
    p.add_argument("--scale", type=float, default=0.125, help="synth resolution scale")
    p.add_argument(
        "--dark-noise",
        type=float,
        default=DARK_NOISE_SIGMA,
        metavar="LEVELS",
        help="`mgrdata synth --dark-noise`: how hard dark RGB is",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="resize = crop side (default: the tiny preset's 64 -> 56; 32 for the toy)",
    )
    p.add_argument("--frames", type=int, default=8)
    p.add_argument(
        "--cache",
        action="store_true",
        help="read the pre-resized clips of `mgrtrain prepare --size <resize>`",
    )
    p.add_argument("--translator", default="gan", choices=list(TRANSLATORS))
    p.add_argument("--kd-distance", default="mse_l2", choices=list(KD_DISTANCES))
    p.add_argument("--threads", type=int, default=1, help="torch threads (the VM is shared)")
    p.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    return p.parse_args(argv)


def configs(args: argparse.Namespace, data: Path, seed: int, row: str):
    sets = {"data.num_frames": args.frames, "run.tensorboard": False, "data.cache": args.cache}
    if args.size is not None:
        sets.update({"data.resize": args.size, "data.crop": args.size})
    cfg, mcfg, _ = resolve_mtcd_run(
        preset="tiny",
        overrides={
            "data.root": str(data),
            "optim.epochs": args.epochs,
            "optim.lr": args.lr,
            "run.seed": seed,
            "data.workers": 0,
            "mtcd.ablation": row,
            "mtcd.translator.name": args.translator,
            "mtcd.distill.kd_distance": args.kd_distance,
        },
        sets=sets,
    )
    return cfg, mcfg


def make_synth_data(work: Path, scale: float, dark_noise: float, cache: int | None) -> Path:
    """Raw recordings -> aligned clips -> split (-> cache), with the commands a user runs
    (once; each step is skipped when its output exists)."""
    from click.testing import CliRunner

    from mgrdark_data.cli import cli as mgrdata
    from mgrdark_train.cli import cli as mgrtrain

    raw, data = work / "raw", work / "data"
    steps = [
        (
            mgrdata,
            raw / "truth.json",
            [
                "synth",
                str(raw),
                "--subjects",
                "8",
                "--repeats",
                "2",
                "--scale",
                str(scale),
                "--gesture-frames",
                "40",
                "80",
                "--rest-frames",
                "8",
                "16",
                "--dark-noise",
                str(dark_noise),
                "-q",
            ],
        ),
        (
            mgrdata,
            data / "manifest" / "clips.parquet",
            [
                "segment",
                str(raw),
                "--ann",
                str(raw / "labels.csv"),
                "-d",
                str(data),
                "--align",
                "auto",
                "-q",
            ],
        ),
        (
            mgrdata,
            data / "splits" / "subjects.parquet",
            ["split", "-d", str(data), "--test-subjects", "2", "--seed", "0", "-q"],
        ),
    ]
    if cache:
        steps.append(
            (
                mgrtrain,
                data / "cache" / f"s{cache}" / "ir",
                [
                    "prepare",
                    "-d",
                    str(data),
                    "--size",
                    str(cache),
                    "--modality",
                    "rgb",
                    "--modality",
                    "ir",
                ],
            )
        )
    for cli, done, argv in steps:
        if done.exists():
            continue
        name = "mgrtrain" if cli is mgrtrain else "mgrdata"
        print(f"$ {name} " + " ".join(argv), flush=True)
        r = CliRunner().invoke(cli, argv, catch_exceptions=False)
        if r.exit_code:
            sys.exit(f"{name} {argv[0]} failed:\n{r.output}")
    return data


def pseudo_ir_timing(cfg, translator_dir: Path) -> dict[str, float]:
    """Seconds per batch: decoding the RGB batch, decoding an IR batch as well (what reading a
    cached pseudo-IR stream would add), and translating the RGB batch on the fly."""
    translator = load_translator(translator_dir)
    out: dict[str, float] = {}
    for name, mods in (("rgb", ("rgb",)), ("rgb+ir", ("rgb", "ir"))):
        loader = DataLoader(
            build_dataset(cfg, "train", mods, one_pass=True), batch_size=cfg.optim.batch_size
        )
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
    if args.data is not None:
        data = args.data
    elif args.toy is not None:
        data = args.work / f"toy_{args.toy}"
        args.size = args.size or 32
        if not (data / "manifest" / "clips.parquet").exists():
            write_dark_ir_dataset(
                data,
                classes=4,
                train_subjects=6,
                test_subjects=3,
                clips_per_class=4,
                size=args.size,
                gain=args.toy,
                seed=1234,
            )
    else:
        name = f"synth_{args.scale}" + (
            f"_noise{args.dark_noise:g}" if args.dark_noise != DARK_NOISE_SIGMA else ""
        )
        resize = resolve_config(preset="tiny").data.resize if args.size is None else args.size
        data = make_synth_data(
            args.work / name, args.scale, args.dark_noise, resize if args.cache else None
        )
    acc: dict[str, list[float]] = {row: [] for row in args.rows}
    teacher_acc, l1, timing = [], {}, {}
    start = time.perf_counter()
    for seed in args.seeds:
        seed_dir = args.work / f"{data.parent.name}_{data.name}" / f"seed{seed}"
        for row in args.rows:
            cfg, mcfg = configs(args, data, seed, row)
            assistant = "assistant_kd" if ABLATIONS[row]["assistant_kd"] else "assistant_ce"
            # Stages shared between rows live apart from the row folders (a row is named
            # "teacher" too).
            stage_dirs = {
                "translator": seed_dir / "stages" / "translator",
                "teacher": seed_dir / "stages" / "teacher",
                "assistant": seed_dir / "stages" / assistant,
            }
            t0 = time.perf_counter()
            res = run_mtcd(cfg, mcfg, seed_dir / row, stage_dirs=stage_dirs)
            acc[row].append(res["test"]["top1"])
            print(
                f"seed {seed} {row:18s} test top1 {res['test']['top1']:.3f} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        if (seed_dir / "stages" / "teacher" / "done.json").exists():
            teacher_acc.append(evaluate_run(seed_dir / "stages" / "teacher", subset="test")["top1"])
        tj = seed_dir / "stages" / "translator" / "translator.json"
        if tj.exists():
            for k, v in json.loads(tj.read_text())["l1"].items():
                l1.setdefault(k, []).append(v)
            if not timing:
                timing = pseudo_ir_timing(cfg, seed_dir / "stages" / "translator")
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
    lines.append(f"seeds {args.seeds}, {cfg.optim.epochs} epochs per stage, {minutes:.1f} min")
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
    cfg, _ = configs(args, Path("."), 0, "full")
    if args.data:
        what, data = f"data {args.data.name}", f"dataset root {args.data}"
    elif args.toy is not None:
        what = f"toy gain {args.toy}"
        data = (
            "toy data (`mgrdark_train.mtcd.synthetic`): 4 stripe-orientation classes, 6 "
            "train / 3 test subjects, 4 clips per class and subject, "
            f"{args.size}x{args.size}; dark RGB stripes at contrast {args.toy} under noise "
            "0.03, aligned IR bright and clean"
        )
    else:
        what = f"synth scale {args.scale}, dark noise {args.dark_noise:g}"
        data = (
            f"`mgrdata synth` at scale {args.scale} and `--dark-noise {args.dark_noise:g}` "
            "(8 subjects x 2 rooms, 2 instances of each of the 10 classes per take), "
            "`segment --align auto`, 2 test subjects: 240 dark train clips, 80 dark test "
            "clips, chance 10%"
        )
    label = f"### {what}, translator {args.translator}, kd {args.kd_distance}"
    sub = f"""{label}

{data}. Tiny preset (ResNet-10 x0.25, {cfg.data.num_frames} frames, {cfg.data.resize} -> \
{cfg.data.crop}, batch {cfg.optim.batch_size}), {cfg.optim.name} lr {cfg.optim.lr},
{cfg.optim.epochs} epochs per network stage, precise BN before evaluations and after the last epoch.

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
