"""The paper's Table 4 over several seeds (`mgrtrain ablation`).

Every row of `ABLATIONS` (`config.py`: a row name -> the switches of the student's loss terms)
is an ordinary MTCD run directory. Within one seed the rows share their stages: one translator,
one IR teacher, and (offline) one assistant per kind the rows ask for (trained with or without
L_kd(IR->IRp)), so the rows differ in the student's loss only, and the teacher and translator
are trained once per seed instead of once per row. In online mode each row with an assistant
trains its own, inside the row's student stage. Everything is resumable: a finished row is
read back, a finished stage skipped, an unfinished one continued from its last checkpoint.

    OUT/
      ablation.yaml                 the settings shared by every row (a re-run must match)
      seed0/stages/translator/      shared stage folders of seed 0
      seed0/stages/teacher/
      seed0/stages/assistant_ce/    offline: the assistant of 'teacher+fusion' (CE only)
      seed0/stages/assistant_kd/    offline: the assistant of 'full' (CE + L_kd(IR->IRp))
      seed0/<row>/                  an MTCD run directory per row (student/, results.json)
      table.md, table.csv           test top-1 per row: mean, std, per seed, the paper's number
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress, prefixed

from ..engine.checkpoint import RunDirError
from ..engine.config import ConfigError, TrainConfig, resolve_config
from ..engine.distributed import broadcast_object, current, init_distributed
from ..engine.resolver import read_yaml
from ..stages.run import evaluate_run
from .config import ABLATIONS, MTCDConfig, resolve_mtcd_config
from .layout import DONE, RESULTS
from .pipeline import Notes, comparable_settings, run_mtcd

log = logging.getLogger(__name__)

PAPER_TOP1: dict[str, float] = {
    "baseline": 75.58,
    "teacher": 79.15,
    "teacher+irp": 81.13,
    "full": 85.26,
}
"""The paper's Table 4: test top-1 (%) of the RGB student on its dark RGB test set (rows 1-4;
'teacher+fusion' is no paper row)."""

PAPER_REFERENCES: dict[str, tuple[dict[str, float], str]] = {
    "table4": (PAPER_TOP1, "the paper's Table 4 (MGR-Dark, RGB students)"),
    "depth": ({"full": 87.45}, "the paper's Table 2 (MGR-Dark, MTCD with a depth student)"),
    "nvgesture": ({"full": 87.97}, "the paper's Table 3 (NvGesture, MTCD)"),
}
"""What the 'paper' column shows, by what the table measured (`paper_reference`)."""


def paper_reference(settings: dict[str, Any]) -> tuple[dict[str, float], str]:
    """The paper's numbers comparable with a table of these settings, and their source: Table
    3's MTCD on the `nvgesture` split, Table 2's depth MTCD for depth students, else Table 4."""
    if settings.get("split") == "nvgesture":
        return PAPER_REFERENCES["nvgesture"]
    if settings.get("student") == "depth":
        return PAPER_REFERENCES["depth"]
    return PAPER_REFERENCES["table4"]


TEACHER_ROW = "(IR teacher, on IR)"
"""The table line of the shared IR teachers' own test top-1, for reference."""

SETTINGS = "ablation.yaml"


def shared_stage_dirs(seed_dir: Path, mcfg: MTCDConfig) -> dict[str, Path]:
    """The stage folders a row of one seed uses, shared with the other rows of that seed."""
    stages = seed_dir / "stages"
    assistant = "assistant_kd" if mcfg.switches["assistant_kd"] else "assistant_ce"
    return {
        "translator": stages / "translator",
        "teacher": stages / "teacher",
        "assistant": stages / assistant,
    }


@dataclass
class AblationTable:
    """Test top-1 (fractions) of every row and seed, and what they were run with."""

    rows: list[str]
    seeds: list[int]
    top1: dict[str, dict[int, float]]
    """Row -> seed -> the student's test top-1 (the teacher line: the teacher's, on IR)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What the table's caption states: preset, data, split, epochs, batch."""

    def lines(self) -> list[dict[str, Any]]:
        """One dict per table line: row, paper, mean, std, n and each seed's value (in %)."""
        out = []
        paper, _ = paper_reference(self.settings)
        for row in [*self.rows, *([TEACHER_ROW] if TEACHER_ROW in self.top1 else [])]:
            values = [100 * self.top1[row][s] for s in self.seeds if s in self.top1[row]]
            line: dict[str, Any] = {
                "row": row,
                "paper_top1": paper.get(row),
                "mean_top1": statistics.mean(values) if values else None,
                "std_top1": statistics.stdev(values) if len(values) > 1 else None,
                "seeds": len(values),
            }
            line.update({f"top1_seed{s}": _pct(self.top1[row].get(s)) for s in self.seeds})
            out.append(line)
        return out


def _pct(x: float | None) -> float | None:
    return None if x is None else 100 * x


def valid_rows(mcfg: MTCDConfig) -> list[str]:
    """The rows `mcfg`'s settings can run (offline: not 'teacher+irp'), in table order."""
    return [r for r in ABLATIONS if not dataclasses.replace(mcfg, ablation=r).problems()]


def run_ablation(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    out_dir: str | Path,
    *,
    rows: Sequence[str],
    seeds: Sequence[int],
    progress: Progress | None = None,
    notes: Notes | None = None,
) -> AblationTable:
    """Train every row for every seed (skipping what is finished) and write the table.

    Args:
        cfg: Training config shared by every stage (`run.seed` is replaced by each seed).
        mcfg: MTCD config shared by every row (`ablation` is replaced by each row).
        out_dir: Output folder (layout in the module docstring).
        rows: Names of `ABLATIONS` rows, in table order.
        seeds: Seeds, in table order.
        progress: Progress factory; bars start with the seed and row
            (`seed 0 full: student: epoch 3/60`).
        notes: Receives, on rank 0, a line for each row read back and each stage skipped.

    Returns:
        The table, also written to `table.md` and `table.csv` (rank 0 under torchrun).
    """
    unknown = [r for r in rows if r not in ABLATIONS]
    if unknown:
        raise ConfigError(f"unknown ablation rows {unknown}; expected some of {list(ABLATIONS)}")
    for row in rows:
        for key, message in dataclasses.replace(mcfg, ablation=row).problems():
            raise ConfigError(f"mtcd.{key}: {message}")
    if not rows or not seeds:
        raise ConfigError("an ablation needs at least one row and one seed")
    out_dir = Path(out_dir)
    dist = init_distributed(cfg.run.device)
    _check_same_settings(out_dir, cfg, mcfg)
    if dist.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out_dir / SETTINGS) as tmp:
            saved = {"config": cfg.to_dict(), "mtcd": mcfg.to_dict()}
            tmp.write_text(yaml.safe_dump(saved, sort_keys=False))
    top1: dict[str, dict[int, float]] = {row: {} for row in rows}
    for seed in seeds:
        scfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=seed))
        seed_dir = out_dir / f"seed{seed}"
        for row in rows:
            rcfg = dataclasses.replace(mcfg, ablation=row)
            name = f"seed {seed} {row}"
            top1[row][seed] = _row_top1(
                scfg, rcfg, seed_dir, prefixed(progress, name), _prefixed(notes, name)
            )
            log.info("%s: test top-1 %.4f", name, top1[row][seed])
        teacher = seed_dir / "stages" / "teacher"
        if broadcast_object((teacher / DONE).exists()):
            top1.setdefault(TEACHER_ROW, {})[seed] = _teacher_top1(teacher, progress)
    table = AblationTable(list(rows), list(seeds), top1, _caption(cfg, mcfg))
    if dist.is_main:
        write_table(table, out_dir)
    return table


def _row_top1(
    cfg: TrainConfig, mcfg: MTCDConfig, seed_dir: Path, progress, notes: Notes | None
) -> float:
    """The row's student test top-1: read back when the row has finished, else trained."""
    run_dir = seed_dir / mcfg.ablation
    results = broadcast_object(_read_results(run_dir / RESULTS))
    if results is None:
        dirs = shared_stage_dirs(seed_dir, mcfg)
        results = run_mtcd(cfg, mcfg, run_dir, stage_dirs=dirs, progress=progress, notes=notes)
    elif notes is not None and current().is_main:
        notes(f"finished earlier in {run_dir}; read back")
    return float(results["test"]["top1"])


def _prefixed(notes: Notes | None, name: str) -> Notes | None:
    return None if notes is None else (lambda line: notes(f"{name}: {line}"))


def _read_results(path: Path) -> dict | None:
    if not path.exists():
        return None
    results = json.loads(path.read_text())
    return results if "test" in results else None


def _teacher_top1(stage_dir: Path, progress: Progress | None) -> float:
    """The shared teacher's test top-1 on IR (its `eval/metrics.json`, evaluated once)."""
    metrics = None
    if current().is_main:
        report = stage_dir / "eval" / "metrics.json"
        if report.exists():
            metrics = json.loads(report.read_text())
        else:
            metrics = evaluate_run(stage_dir, subset="test", progress=prefixed(progress, "teacher"))
    return float(broadcast_object(metrics)["top1"])


def _check_same_settings(out_dir: Path, cfg: TrainConfig, mcfg: MTCDConfig) -> None:
    """Refuse to add rows or seeds to an ablation folder trained with other settings."""
    path = out_dir / SETTINGS
    if not path.exists():
        return
    saved = read_yaml(path)
    before = resolve_config(base=saved["config"]), resolve_mtcd_config(base=saved["mtcd"])
    if _shared(*before) != _shared(cfg, mcfg):
        raise RunDirError(
            f"{out_dir} holds an ablation with other settings (see its {SETTINGS}); pass "
            "--out for a new folder"
        )


def _shared(cfg: TrainConfig, mcfg: MTCDConfig) -> dict[str, Any]:
    """What every row and seed shares: the settings but the seed and the row."""
    out = comparable_settings(cfg, mcfg)
    out["config"]["run"].pop("seed")
    out["mtcd"].pop("ablation")
    return out


def _caption(cfg: TrainConfig, mcfg: MTCDConfig) -> dict[str, Any]:
    d, o, m = cfg.data, cfg.optim, cfg.model
    return {
        "data": d.root,
        "split": d.split,
        "light": d.light,
        "model": f"{m.name}-{m.depth} width {m.width:g}",
        "input": f"{d.num_frames} x {d.crop}x{d.crop}",
        "schedule": f"{o.name} lr {o.lr:g}, batch {o.batch_size}, {o.epochs} epochs per stage",
        "student": mcfg.student,
        "assistant": mcfg.assistant_mode,
        "translator": mcfg.translator.name,
        "kd": mcfg.distill.kd_distance,
    }


def write_table(table: AblationTable, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `table.md` and `table.csv` (atomically); returns their paths."""
    out_dir = Path(out_dir)
    lines = table.lines()
    csv_path, md_path = out_dir / "table.csv", out_dir / "table.md"
    with atomic_path(csv_path) as tmp:
        pd.DataFrame(lines).to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(md_path) as tmp:
        tmp.write_text(format_markdown(table, lines))
    return md_path, csv_path


def format_markdown(table: AblationTable, lines: list[dict[str, Any]] | None = None) -> str:
    """The table as Markdown with a caption saying what was measured and how."""
    lines = table.lines() if lines is None else lines
    seeds = ", ".join(map(str, table.seeds))
    head = ["row", "paper", "mean", "std", *(f"seed {s}" for s in table.seeds)]
    out = [
        "# MTCD ablation (Table 4)",
        "",
        f"Test top-1 (%) of the student on its own stream alone; mean and sample std over seeds "
        f"{seeds}. 'paper': {paper_reference(table.settings)[1]} (its data, the paper preset).",
        "",
        "| " + " | ".join(head) + " |",
        "| --- | " + " | ".join("---:" for _ in head[1:]) + " |",
    ]
    for line in lines:
        cells = [line["row"], _cell(line["paper_top1"]), _cell(line["mean_top1"])]
        cells.append(_cell(line["std_top1"]))
        cells += [_cell(line[f"top1_seed{s}"]) for s in table.seeds]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", *(f"* {k}: {v}" for k, v in table.settings.items())]
    return "\n".join(out) + "\n"


def _cell(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"
