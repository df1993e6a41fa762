"""The whole pipeline on built-in synthetic data, as a new user would run it command by command.

    python -m mgrdark_train.demo --out demo-out        (what `make demo` runs)

synth -> align -> segment (IR aligned to RGB) -> stats (Fig. 4) -> split -> validate ->
prepare (64x64 cache) -> tiny MTCD (translator, IR teacher, pseudo-IR assistant, RGB student)
-> eval. Each step is the real command line, printed before it runs, so the output doubles as
a tutorial.
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
from pathlib import Path


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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="where everything goes")
    p.add_argument("--subjects", type=int, default=8, help="a quarter of them are test subjects")
    p.add_argument("--repeats", type=int, default=2, help="instances of each class per take")
    p.add_argument(
        "--scale",
        type=float,
        default=0.125,
        help="of 1920x1080 RGB (0.125: 240x135, plenty for the tiny preset's 64x64)",
    )
    p.add_argument(
        "--dark-noise",
        type=float,
        default=2.5,
        help="sensor noise of the dark takes in 8-bit levels (synth's default 7.5 "
        "leaves the tiny student nothing to learn; 2.5 is the ablation's data)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="epochs per MTCD stage (tiny preset)")
    p.add_argument("--skip-training", action="store_true", help="stop after the data steps")
    args = p.parse_args(argv)

    out: Path = args.out
    raw, data = out / "raw", out / "data"
    labels, table = raw / "labels.csv", out / "alignment.csv"
    fig4, run = data / "stats" / "fig4.png", out / "runs" / "mtcd_tiny"
    started = time.perf_counter()
    q = ["-q"]
    if not labels.exists():
        _run(
            "1. synthetic raw recordings (dark + daylight takes, RGB / depth / IR)",
            "mgrdata",
            "synth",
            raw,
            "--subjects",
            str(args.subjects),
            "--repeats",
            str(args.repeats),
            "--scale",
            str(args.scale),
            "--seed",
            str(args.seed),
            "--dark-noise",
            str(args.dark_noise),
            "--gesture-frames",
            "40",
            "80",
            "--rest-frames",
            "8",
            "16",
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
        str(max(1, args.subjects // 4)),
        "--seed",
        str(args.seed),
    )
    _run("6. validation of the whole dataset root", "mgrdata", "validate", "-d", data, *q)
    if not args.skip_training:
        epochs = ["--epochs", str(args.epochs)] if args.epochs else []
        _run(
            "7. decode-once cache of the dark RGB and IR clips at the tiny preset's 64x64",
            "mgrtrain",
            "prepare",
            "-d",
            data,
            "--size",
            "64",
            "--modality",
            "rgb",
            "--modality",
            "ir",
            *q,
        )
        _run(
            "8. tiny MTCD: translator -> IR teacher -> pseudo-IR assistant -> RGB student",
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
            *epochs,
            *q,
        )
        # `mgrtrain mtcd` ends by evaluating the student on dark RGB alone; the same report
        # comes from `mgrtrain eval RUN/student` at any later time.

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
            ("student evaluation (`mgrtrain eval` report)", run / "student" / "eval"),
        ]
    for name, path in rows:
        print(f"  {name:48s} {os.fspath(path)}")
    for stage, sees in (("teacher", "IR"), ("assistant", "pseudo-IR")):
        rows_csv = run / stage / "metrics.csv"
        if not args.skip_training and rows_csv.exists():
            with open(rows_csv, newline="") as f:
                last = list(csv.DictReader(f))[-1]
            if last.get("test_top1"):
                print(
                    f"{stage} on {sees}: test top-1 {float(last['test_top1']):.2f} "
                    f"(epoch {last['epoch']}, {rows_csv})"
                )
    report = run / "student" / "eval" / "metrics.json"
    if not args.skip_training and report.exists():
        m = json.loads(report.read_text())
        print(
            f"\nstudent on dark RGB: top-1 {m['top1']:.2f}, top-5 {m['top5']:.2f} over "
            f"{m['clips']} test clips (chance {1 / len(m['per_class']):.2f}). The tiny preset "
            "shows the pipeline, not the paper's accuracy: at 56x56 the IR teacher learns "
            "the gestures, while dark RGB, and pseudo-IR made from it, stay hard for a "
            "network this small (bench/RESULTS.md, sections 'tiny' and 'ablation')."
        )


if __name__ == "__main__":
    main()
