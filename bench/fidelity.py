"""MTCD over many seeds on a calibrated synth setting, with a paired significance test.

Data (made once into the work folder, each step skipped when its output exists):
`mgrdata synth` with the calibration knobs, 8 subjects in one room, 3 instances of every class
per take: `--distance 1700 2000` (the person 1.7-2.0 m from the cameras instead of 2.7-3.4 m,
larger and nearer the middle of the view), `--dark-exposure 0.30 0.36` (the dark takes' mean
RGB level; default 0.07-0.11) and `--dark-noise 2.0` (default 7.5); dark takes only,
`segment --align FILE` with the rig's true IR geometry from `truth.json` (the automatic
alignment scores 0 when a near person covers most of the room's edges), a split with 2 test
subjects, a raw 32-px cache (`mgrtrain prepare --format raw`). Then `mgrtrain ablation`
(clips in memory from that cache, tiny preset at 32 -> 28 px, 8 frames, 60 epochs a stage)
over the rows and seeds, and, for every row against `baseline`, a paired Wilcoxon
signed-rank test and a paired t-test on the per-seed test top-1 (scipy).

    python bench/fidelity.py --seeds 0-9 --rows baseline,teacher,full --set data.cache=true \
        --set data.cache_format=raw ...            # RESULTS.md, "MTCD fidelity: 10 seeds"
    python bench/fidelity.py --seeds 0 --epochs 2 --no-write   # smoke run

Seeds can run in several processes on one --work (e.g. `--seeds 0,2,4,6,8` and `--seeds
1,3,5,7,9` with `--no-write`), then once more with every seed to read the table back.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import pandas as pd
from scipy import stats

from mgrdark_train.cli import cli as mgrtrain

ROOT = Path(__file__).resolve().parent
SECTION = "## MTCD fidelity: 10 seeds"
ROWS = "baseline,teacher,teacher+irp,full"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / "_work" / "fidelity")
    p.add_argument("--seeds", default="0-9", help="'0-9' or comma-separated")
    p.add_argument("--rows", default=ROWS)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--size", type=int, default=32, help="data.resize")
    p.add_argument("--crop", type=int, default=28, help="data.crop")
    p.add_argument("--frames", type=int, default=8, help="data.num_frames")
    p.add_argument("--translator", default="sda")
    p.add_argument("--distance", nargs=2, type=float, default=(1700.0, 2000.0))
    p.add_argument("--dark-noise", type=float, default=2.0)
    p.add_argument("--dark-exposure", nargs=2, type=float, default=(0.30, 0.36))
    p.add_argument("--scenes", type=int, default=1, help="rooms per subject")
    p.add_argument("--repeats", type=int, default=3, help="instances of a class per take")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    return p.parse_args(argv)


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def make_data(work: Path, args: argparse.Namespace) -> Path:
    """Raw recordings -> dark clips aligned by the rig's true geometry -> split."""
    from mgrdark_data.cli import cli as mgrdata

    raw, data = work / "raw", work / "data"
    synth = ["synth", str(raw), "--subjects", "8", "--scale", "0.125", "-q"]
    synth += ["--scenes", str(args.scenes), "--repeats", str(args.repeats)]
    synth += ["--gesture-frames", "40", "80", "--rest-frames", "8", "16"]
    synth += ["--dark-noise", f"{args.dark_noise:g}"]
    synth += ["--dark-exposure", *(f"{e:g}" for e in args.dark_exposure)]
    synth += ["--distance", *(f"{d:g}" for d in args.distance)]
    steps = [
        (raw / "truth.json", synth),
        (work / "dark_labels.csv", None),
        (
            data / "manifest" / "clips.parquet",
            ["segment", str(raw), "--ann", str(work / "dark_labels.csv"), "-d", str(data)]
            + ["--align", str(work / "align.csv"), "-q"],
        ),
        (
            data / "splits" / "subjects.parquet",
            ["split", "-d", str(data), "--test-subjects", "2", "--seed", "0", "-q"],
        ),
    ]
    for done, argv in steps:
        if done.exists():
            continue
        if argv is None:
            dark_labels_and_alignment(raw, work)
            continue
        print("$ mgrdata " + " ".join(argv), flush=True)
        mgrdata.main(argv, prog_name="mgrdata", standalone_mode=False)
    return data


def dark_labels_and_alignment(raw: Path, work: Path) -> None:
    """The dark annotation rows, and the IR->RGB alignment table from `truth.json` (the
    geometry the synthesizer used: what a calibrated rig would give)."""
    truth = json.loads((raw / "truth.json").read_text())
    recordings = truth.get("recordings", truth)
    with open(work / "align.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["recording", "scale", "shift_x", "shift_y"])
        for rid, r in recordings.items():
            w.writerow([rid, r["ir_scale"], r["ir_shift_x"], r["ir_shift_y"]])
    labels = pd.read_csv(raw / "labels.csv")
    labels[labels["light"] == "dark"].to_csv(work / "dark_labels.csv", index=False)


COMPARISONS = (("teacher", "teacher+irp"), ("teacher", "full"))
"""Beyond every row against `baseline`: what rows 3 and 4 add to row 2 (the IR teacher alone)."""


def paired_tests(table: pd.DataFrame, seeds: list[int], ref: str = "baseline") -> list[dict]:
    """Each row against `ref`, then the `COMPARISONS`, over the seeds both rows have: mean
    difference, wins/ties/losses, Wilcoxon signed-rank and paired t-test p-values."""
    by_row = table.set_index("row")
    rows = [r for r in by_row.index if not r.startswith("(")]
    pairs = [(ref, r) for r in rows if r != ref and ref in rows]
    pairs += [(a, b) for a, b in COMPARISONS if a in rows and b in rows]
    out = []
    for base, row in pairs:
        got = [
            (by_row.loc[row, f"top1_seed{s}"], by_row.loc[base, f"top1_seed{s}"])
            for s in seeds
            if pd.notna(by_row.loc[row, f"top1_seed{s}"])
            and pd.notna(by_row.loc[base, f"top1_seed{s}"])
        ]
        if len(got) < 2:
            continue
        diff = [a - b for a, b in got]
        nonzero = [d for d in diff if d != 0]
        w = stats.wilcoxon(nonzero) if nonzero else None
        t = stats.ttest_rel([a for a, _ in got], [b for _, b in got]) if any(diff) else None
        out.append(
            {
                "row": row,
                "against": base,
                "n": len(got),
                "mean_diff": float(sum(diff) / len(diff)),
                "wins": int(sum(d > 0 for d in diff)),
                "ties": int(sum(d == 0 for d in diff)),
                "losses": int(sum(d < 0 for d in diff)),
                "wilcoxon_p": None if w is None else float(w.pvalue),
                "ttest_p": None if t is None else float(t.pvalue),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = seeds_of(args.seeds)
    work = args.work
    tag = f"d{args.distance[0]:g}-{args.distance[1]:g}_n{args.dark_noise:g}"
    tag += f"_e{args.dark_exposure[0]:g}-{args.dark_exposure[1]:g}_s{args.scenes}r{args.repeats}"
    data = make_data(work / tag, args)
    if not (data / "cache" / f"raw-s{args.size}").exists():
        prep = ["prepare", "-d", str(data), "--size", str(args.size), "--format", "raw", "-q"]
        prep += ["--modality", "rgb", "--modality", "ir"]
        print("$ mgrtrain " + " ".join(prep), flush=True)
        mgrtrain.main(prep, prog_name="mgrtrain", standalone_mode=False)
    out = work / tag / f"ablation_{args.translator}_{args.size}_{args.crop}_e{args.epochs}"
    argv = ["ablation", "-d", str(data), "--preset", "tiny", "--out", str(out)]
    argv += ["--seeds", ",".join(map(str, seeds)), "--rows", args.rows]
    argv += ["--epochs", str(args.epochs), "--translator", args.translator]
    argv += ["--assistant-mode", "online", "--in-memory", "--workers", "0"]
    sets = [
        f"data.resize={args.size}",
        f"data.crop={args.crop}",
        f"data.num_frames={args.frames}",
        "run.tensorboard=false",
        *args.sets,
    ]
    for item in sets:
        argv += ["--set", item]
    print("$ mgrtrain " + " ".join(argv), flush=True)
    start = time.perf_counter()
    mgrtrain.main(argv, prog_name="mgrtrain", standalone_mode=False)
    minutes = (time.perf_counter() - start) / 60
    table = pd.read_csv(out / "table.csv")
    tests = paired_tests(table, seeds)
    text = report(table, tests, seeds, minutes)
    print(text)
    (out / "tests.json").write_text(json.dumps(tests, indent=2))
    if not args.no_write:
        write_section(text, "python bench/fidelity.py " + " ".join(sys.argv[1:]), argv)
    return 0


def report(table: pd.DataFrame, tests: list[dict], seeds: list[int], minutes: float) -> str:
    text = tables(table, tests, seeds)
    return text + f"\n\n{minutes:.1f} min wall (finished rows and stages are read back)"


def tables(table: pd.DataFrame, tests: list[dict], seeds: list[int]) -> str:
    """Markdown: per row mean, std and per-seed top-1 (`mean_top1`, `std_top1`,
    `top1_seed<N>` columns), then the paired tests (`paired_tests`)."""
    head = ["row", "mean", "std", *(f"s{s}" for s in seeds)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [r["row"], _f(r["mean_top1"]), _f(r["std_top1"])]
        cells += [_f(r[f"top1_seed{s}"]) for s in seeds]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| row | against | seeds | mean diff (points) | wins/ties/losses | Wilcoxon p "
        "| paired t-test p |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in tests:
        lines.append(
            f"| {t['row']} | {t['against']} | {t['n']} | {t['mean_diff']:+.2f} | "
            f"{t['wins']}/{t['ties']}/{t['losses']} | {_f(t['wilcoxon_p'], 3)} | "
            f"{_f(t['ttest_p'], 3)} |"
        )
    return "\n".join(lines)


def _f(x, digits: int = 1) -> str:
    return "-" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def write_section(text: str, command: str, argv: list[str]) -> None:
    """Replace (or append) this script's section at the end of bench/RESULTS.md."""
    path = ROOT / "RESULTS.md"
    body = path.read_text()
    head, found, rest = body.partition(SECTION)
    notes = ""
    if found:
        nxt = rest.find("\n## ")
        old = rest if nxt < 0 else rest[:nxt]
        marker = "\n### Notes"
        notes = old[old.find(marker) :] if marker in old else ""
        rest = "" if nxt < 0 else rest[nxt:]
    section = (
        f"{SECTION}\n\n```\n{command}\n# runs: mgrtrain {' '.join(argv)}\n```\n\n{text}\n{notes}"
    )
    path.write_text(head.rstrip("\n") + "\n\n" + section + rest)


if __name__ == "__main__":
    sys.exit(main())
