"""The whole pipeline on built-in synthetic data, as a new user would run it command by command.

    python -m mgrdark_train.demo --out demo-out          every step in a few minutes
    python -m mgrdark_train.demo --learn --out demo-out  long enough to learn (20-25 min, 2 cores)

(into demo-out/quick and demo-out/learn respectively).

synth -> align -> segment (IR aligned to RGB) -> stats (Fig. 4) -> split -> validate ->
prepare (cache) -> MTCD (translator, IR teacher, pseudo-IR assistant, RGB student) -> eval.
Each step is the real command line, printed before it runs, so the output doubles as a
tutorial. The default run uses tiny data and one epoch per network: it shows that every step
works, not that anything is learnt. `--learn` renders more and larger recordings and trains
the `tiny` preset's 60 epochs per network.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Plan:
    """How big the demo is: the data, the cache/crop size and the training length."""

    subjects: int
    repeats: int
    scale: float
    gesture_frames: tuple[int, int]
    rest_frames: tuple[int, int]
    size: int
    """Side of the cached frames (the training resize)."""
    train: tuple[str, ...]
    """Extra `mgrtrain mtcd` arguments."""


QUICK = Plan(
    subjects=4,
    repeats=1,
    scale=0.05,  # RGB 96x54
    gesture_frames=(20, 30),
    rest_frames=(5, 10),
    size=32,
    train=(
        "--epochs",
        "1",
        "--set",
        "mtcd.translator.epochs=1",
        "--set",
        "data.resize=32",
        "--set",
        "data.crop=28",
    ),
)
LEARN = Plan(
    subjects=8,
    repeats=2,
    scale=0.125,  # RGB 240x135, plenty for the tiny preset's 64x64
    gesture_frames=(40, 80),
    rest_frames=(8, 16),
    size=64,
    train=(),
)


def _run(title: str, tool: str, *args: str | Path) -> float:
    argv = [str(a) for a in args]
    shown = " ".join(shlex.quote(a) for a in [tool, *argv])
    print(f"\n=== {title}\n$ {shown}", flush=True)
    module = {"mgrdata": "mgrdark_data", "mgrtrain": "mgrdark_train"}[tool]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", module, *argv])
    if done.returncode != 0:
        sys.exit(f"demo: step '{title}' failed (exit {done.returncode}); see the message above")
    return time.perf_counter() - started


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="where everything goes (a folder per mode)",
    )
    p.add_argument(
        "--learn",
        action="store_true",
        help="8 subjects at scale 0.125 and the tiny preset's full training (about 20-25 min on "
        "2 cores) instead of every step on tiny data with one epoch per network",
    )
    p.add_argument("--subjects", type=int, default=None, help="a quarter of them are test subjects")
    p.add_argument("--repeats", type=int, default=None, help="instances of each class per take")
    p.add_argument("--scale", type=float, default=None, help="of 1920x1080 RGB")
    p.add_argument(
        "--dark-noise",
        type=float,
        default=2.5,
        help="sensor noise of the dark takes in 8-bit levels (synth's default 7.5 "
        "leaves the tiny student nothing to learn; 2.5 is the ablation's data)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="epochs per MTCD network stage")
    p.add_argument("--skip-training", action="store_true", help="stop after the data steps")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    plan = LEARN if args.learn else QUICK
    subjects = args.subjects or plan.subjects
    # One folder per mode: the quick run's tiny recordings must never feed --learn.
    out: Path = args.out / ("learn" if args.learn else "quick")
    raw, data = out / "raw", out / "data"
    labels, table = raw / "labels.csv", out / "alignment.csv"
    fig4 = data / "stats" / "fig4.png"
    run = out / "runs" / "mtcd_tiny"
    started = time.perf_counter()
    q = ["-q"]
    print(
        "mgrdark demo: "
        + (
            "the tiny preset's full training on 8 synthetic subjects (about 20-25 min on 2 cores)."
            if args.learn
            else "every step of the pipeline on tiny data, one epoch per network: it shows "
            "that each step works, not learning (accuracies will be near chance). "
            "`python -m mgrdark_train.demo --learn` trains long enough to learn."
        ),
        flush=True,
    )
    if not labels.exists():
        _run(
            "1. synthetic raw recordings (dark + daylight takes, RGB / depth / IR)",
            "mgrdata",
            "synth",
            raw,
            "--subjects",
            str(subjects),
            "--repeats",
            str(args.repeats or plan.repeats),
            "--scale",
            str(args.scale or plan.scale),
            "--seed",
            str(args.seed),
            "--dark-noise",
            str(args.dark_noise),
            "--gesture-frames",
            *map(str, plan.gesture_frames),
            "--rest-frames",
            *map(str, plan.rest_frames),
            *([] if args.learn else ["--scenes", "1"]),
            *q,
        )
    _run(
        "2. IR -> RGB alignment per recording (overlays to check by eye)",
        "mgrdata",
        "align",
        raw,
        "--ann",
        labels,
        "--out",
        table,
        "--overlay",
        out / "alignment_overlays",
        *q,
    )
    _run(
        "3. frame-exact clips for every modality, IR in the RGB view",
        "mgrdata",
        "segment",
        raw,
        "--ann",
        labels,
        "-d",
        data,
        "--align",
        table,
        *q,
    )
    _run(
        "4. brightness statistics and the Fig. 4 plot",
        "mgrdata",
        "stats",
        "-d",
        data,
        "--plot",
        fig4,
        *q,
    )
    _run(
        "5. subject-disjoint split",
        "mgrdata",
        "split",
        "-d",
        data,
        "--name",
        "subjects",
        "--test-subjects",
        str(max(1, subjects // 4)),
        "--seed",
        str(args.seed),
    )
    _run("6. validation of the whole dataset root", "mgrdata", "validate", "-d", data, *q)
    if not args.skip_training:
        _train(args, plan, data, run, q)
    _summary(args, out, raw, table, data, fig4, run, started)


def _train(args: argparse.Namespace, plan: Plan, data: Path, run: Path, q: list[str]) -> None:
    size = str(plan.size)
    _run(
        f"7. decode-once cache of the RGB and IR clips at {size}x{size}",
        "mgrtrain",
        "prepare",
        "-d",
        data,
        "--size",
        size,
        "--modality",
        "rgb",
        "--modality",
        "ir",
        *q,
    )
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    _run(
        "8. MTCD (tiny preset): translator -> IR teacher -> pseudo-IR assistant -> RGB student",
        "mgrtrain",
        "mtcd",
        "-d",
        data,
        "--split",
        "subjects",
        "--preset",
        "tiny",
        "--set",
        "data.cache=true",
        "--out",
        run,
        *plan.train,
        *epochs,
        # The quick run shows the stage-named progress lines; 60 epochs of them would flood.
        *(q if args.learn else []),
    )
    # `mgrtrain mtcd` ends by testing the student; `mgrtrain eval` does it again at any time.
    _run("9. evaluation of the run: its RGB student (the default)", "mgrtrain", "eval", run, *q)
    _run("10. evaluation of its IR teacher", "mgrtrain", "eval", run, "--member", "teacher", *q)


def _summary(args, out, raw, table, data, fig4, run, started) -> None:
    minutes = (time.perf_counter() - started) / 60
    print(f"\n=== done in {minutes:.1f} min. Where everything is:")
    rows = [
        ("raw recordings + labels", raw),
        ("alignment table", table),
        ("alignment overlays", out / "alignment_overlays"),
        ("clips", data / "clips"),
        ("manifests", data / "manifest"),
        ("Fig. 4", fig4),
        ("split", data / "splits"),
    ]
    if not args.skip_training:
        rows += [
            ("MTCD run (config, metrics, checkpoints)", run),
            ("student evaluation (`mgrtrain eval RUN`)", run / "student" / "eval"),
            ("teacher evaluation (`--member teacher`)", run / "teacher" / "eval"),
        ]
    for name, path in rows:
        print(f"  {name:48s} {os.fspath(path)}")
    if args.skip_training:
        return
    for stage, sees in (("teacher", "IR"), ("assistant", "pseudo-IR")):
        rows_csv = run / stage / "metrics.csv"
        if rows_csv.exists():
            with open(rows_csv, newline="") as f:
                last = list(csv.DictReader(f))[-1]
            if last.get("test_top1"):
                print(
                    f"{stage} on {sees}: test top-1 {float(last['test_top1']):.2f} "
                    f"(epoch {last['epoch']}, {rows_csv})"
                )
    report = run / "student" / "eval" / "metrics.json"
    if report.exists():
        m = json.loads(report.read_text())
        print(
            f"\nstudent on dark RGB: top-1 {m['top1']:.2f}, top-5 {m['top5']:.2f} over "
            f"{m['clips']} test clips (chance {1 / len(m['per_class']):.2f})."
        )
    if not args.learn:
        print(
            "These numbers come from one epoch per network on a few tiny clips: they show that "
            "the steps run, not what MTCD learns. `python -m mgrdark_train.demo --learn` trains "
            "the tiny preset fully (about 20-25 min on 2 cores)."
        )
    else:
        print(
            "The tiny preset shows the pipeline, not the paper's accuracy: at 56x56 the IR "
            "teacher learns the gestures, while dark RGB, and pseudo-IR made from it, stay hard "
            "for a network this small (bench/RESULTS.md, sections 'tiny' and 'ablation')."
        )


if __name__ == "__main__":
    main()
