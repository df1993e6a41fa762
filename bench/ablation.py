"""MTCD ablation (the paper's Table 4 rows) over several seeds: data made once, then
`mgrtrain ablation`, whose table goes into bench/RESULTS.md.

Rows: ``baseline`` (RGB student, CE), ``teacher`` (+ beta * L_kd(IR->RGB)), ``teacher+fusion``
(+ alpha * L_kd(Fusion->RGB), assistant trained with CE only; called ``teacher+assistant`` in
the runs below), ``full`` (the assistant is also distilled from the teacher, L_kd(IR->IRp));
``teacher+irp`` (Table 4 row 3) needs ``--set mtcd.assistant_mode=online``.
`mgrtrain ablation` trains, per seed, one translator, one teacher and one assistant of each
kind, shared by the rows; it is resumable, so re-running this script after a kill (or with
more seeds) trains only what is missing.

Data: by default the real pipeline on `mgrdata synth` recordings, made once into the work
folder: 8 subjects x 2 rooms x dark/daylight, 2 instances of each of the 10 classes per take,
at --scale of full resolution; `mgrdata segment --align auto` (IR warped into the RGB view) and
a split with 2 test subjects. ``--toy GAIN`` uses the stripe toy of
`mgrdark_train.mtcd.synthetic` instead; ``--data DIR`` any dataset root with aligned
``rgb``/``ir`` clips and a subject split.

    python bench/ablation.py                                  # 4 rows x 3 seeds, tiny preset
    python bench/ablation.py --seeds 0 --epochs 3 --no-write  # smoke run
    python bench/ablation.py --toy 0.025                      # the stripe toy at contrast 0.025
    python bench/ablation.py --preset paper --data DATA   # on a GPU server
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from mgrdark_data.synth.plan import DARK_NOISE_SIGMA
from mgrdark_train.cli import cli as mgrtrain
from mgrdark_train.engine.config import resolve_config
from mgrdark_train.mtcd.config import ABLATIONS
from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset

ROOT = Path(__file__).resolve().parent
SECTION = "## ablation"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / "_work" / "ablation")
    p.add_argument("--data", type=Path, default=None, help="existing dataset root")
    p.add_argument("--preset", default="tiny", choices=["tiny", "paper"])
    p.add_argument("--seeds", default="0,1,2", help="comma-separated")
    p.add_argument(
        "--rows",
        default=",".join(r for r in ABLATIONS if r != "teacher+irp"),
        help="comma-separated (teacher+irp needs --set mtcd.assistant_mode=online)",
    )
    p.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    p.add_argument(
        "--workers", default=None, help="DataLoader workers per process, or auto (the preset's)"
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
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to mgrtrain ablation (e.g. mtcd.distill.kd_distance=kl_logits)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (shared machines)")
    p.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    return p.parse_args(argv)


def dataset(args: argparse.Namespace) -> Path:
    if args.data is not None:
        return args.data
    if args.toy is not None:
        data = args.work / f"toy_{args.toy}"
        if not (data / "manifest" / "clips.parquet").exists():
            write_dark_ir_dataset(
                data,
                classes=4,
                train_subjects=6,
                test_subjects=3,
                clips_per_class=4,
                size=32,
                gain=args.toy,
                seed=1234,
            )
        return data
    noise = f"_noise{args.dark_noise:g}" if args.dark_noise != DARK_NOISE_SIGMA else ""
    return make_synth_data(args.work / f"synth_{args.scale}{noise}", args.scale, args.dark_noise)


def make_synth_data(work: Path, scale: float, dark_noise: float) -> Path:
    """Raw recordings -> aligned clips -> split, with the commands a user runs (once; each
    step is skipped when its output exists)."""
    from mgrdark_data.cli import cli as mgrdata

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
    for cli, done, argv in steps:
        if done.exists():
            continue
        print("$ mgrdata " + " ".join(argv), flush=True)
        cli.main(argv, prog_name="mgrdata", standalone_mode=False)
    return data


def ablation_argv(args: argparse.Namespace, data: Path, out: Path) -> list[str]:
    argv = ["ablation", "-d", str(data), "--preset", args.preset, "--out", str(out)]
    argv += ["--seeds", args.seeds, "--rows", args.rows]
    if args.workers is not None:
        argv += ["--workers", args.workers]
    if args.epochs is not None:
        argv += ["--epochs", str(args.epochs)]
    if args.toy is not None:
        argv += ["--set", "data.resize=32", "--set", "data.crop=32"]
    for item in ["run.tensorboard=false", *args.sets]:
        argv += ["--set", item]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = dataset(args)
    out = args.work / f"{data.parent.name}_{data.name}" / args.preset
    argv = ablation_argv(args, data, out)
    print("$ mgrtrain " + " ".join(argv), flush=True)
    start = time.perf_counter()
    # In this process, with its progress on stderr as a user sees it.
    mgrtrain.main(argv, prog_name="mgrtrain", standalone_mode=False)
    minutes = (time.perf_counter() - start) / 60
    table = (out / "table.md").read_text()
    print(table + f"\n{minutes:.1f} min (finished rows and stages are read back)")
    if not args.no_write:
        write_section(args, table, "mgrtrain " + " ".join(argv))
    return 0


INTRO = """MTCD ablation (paper Table 4 rows): test top-1 of the RGB student, mean +- sample std
over seeds. Each subsection below is one invocation of `bench/ablation.py` (re-running one
replaces only its own subsection; this paragraph and any notes above the first subsection are
kept)."""


def write_section(args: argparse.Namespace, table: str, command: str) -> None:
    """Replace this run's subsection of ``## ablation`` in bench/RESULTS.md, keep the rest."""
    cfg = resolve_config(preset=args.preset)
    if args.data:
        what, data = f"data {args.data.name}", f"dataset root {args.data}"
    elif args.toy is not None:
        what = f"toy gain {args.toy}"
        data = (
            "toy data (`mgrdark_train.mtcd.synthetic`): 4 stripe-orientation classes, 6 "
            "train / 3 test subjects, 4 clips per class and subject, 32x32; dark RGB stripes "
            f"at contrast {args.toy} under noise 0.03, aligned IR bright and clean"
        )
    else:
        what = f"synth scale {args.scale}, dark noise {args.dark_noise:g}"
        data = (
            f"`mgrdata synth` at scale {args.scale} and `--dark-noise {args.dark_noise:g}` "
            "(8 subjects x 2 rooms, 2 instances of each of the 10 classes per take), "
            "`segment --align auto`, 2 test subjects: 240 dark train clips, 80 dark test "
            "clips, chance 10%"
        )
    label = f"### {what}, preset {args.preset}" + "".join(f", {s}" for s in args.sets)
    body = table.split("\n", 2)[2].strip()  # without its '# MTCD ablation' title
    sub = f"""{label}

{data}. {cfg.optim.epochs if args.epochs is None else args.epochs} epochs per network stage.

```
python bench/ablation.py {" ".join(sys.argv[1:])}
# runs: {command}
```

{body}
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
