"""`mgrtrain ablation`: Table 4 rows x seeds with shared stages, the table, and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mgrdark_train.cli import cli
from mgrdark_train.mtcd.ablation import PAPER_TOP1, TEACHER_ROW, AblationTable, format_markdown
from mgrdark_train.testing.mtcd import TINY_MTCD_ARGS, write_tiny_dark_ir_dataset

ROWS = ["baseline", "teacher", "teacher+fusion", "full"]
"""The rows offline mode runs by default ('teacher+irp', row 3, needs online)."""
TINY = TINY_MTCD_ARGS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation") / "data"
    write_tiny_dark_ir_dataset(root)
    return root


def _ablation(data, out, *args):
    return CliRunner().invoke(cli, ["ablation", "-d", str(data), *TINY, "--out", str(out), *args])


@pytest.fixture(scope="module")
def two_seeds(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ablation"
    res = _ablation(data, out, "--seeds", "0,1")
    assert res.exit_code == 0, res.output
    return out, res.output


def test_every_row_and_seed_lands_in_the_table(two_seeds):
    out, output = two_seeds
    table = pd.read_csv(out / "table.csv")
    assert table["row"].tolist() == [*ROWS, TEACHER_ROW]
    assert table["seeds"].tolist() == [2] * 5
    for seed in (0, 1):
        for row in ROWS:
            results = json.loads((out / f"seed{seed}" / row / "results.json").read_text())
            line = table[table["row"] == row].iloc[0]
            assert line[f"top1_seed{seed}"] == pytest.approx(100 * results["test"]["top1"])
    for row in ROWS:
        line = table[table["row"] == row].iloc[0]
        values = [line["top1_seed0"], line["top1_seed1"]]
        assert line["mean_top1"] == pytest.approx(sum(values) / 2, abs=1e-3)
        assert line["std_top1"] == pytest.approx(pd.Series(values).std(), abs=1e-3)
        if row in PAPER_TOP1:
            assert line["paper_top1"] == PAPER_TOP1[row]
        else:  # 'teacher+fusion' is no paper row
            assert pd.isna(line["paper_top1"])
    md = (out / "table.md").read_text()
    assert "| full | 85.26 |" in md and "seed 1" in md
    # -q silences progress, never the result: the table is printed.
    assert "| baseline | 75.58 |" in output and "table.csv" in output


def test_rows_of_a_seed_share_one_translator_teacher_and_assistant_per_kind(two_seeds):
    out, _ = two_seeds
    stages = out / "seed0" / "stages"
    assert sorted(p.name for p in stages.iterdir()) == [
        "assistant_ce",
        "assistant_kd",
        "teacher",
        "translator",
    ]
    used = {
        row: json.loads((out / "seed0" / row / "results.json").read_text())["stages"]
        for row in ROWS
    }
    for row in ("teacher", "teacher+fusion", "full"):
        assert used[row]["teacher"] == str(stages / "teacher")
    assert used["teacher+fusion"]["assistant"] == str(stages / "assistant_ce")
    assert set(used["baseline"]) == {"student"} and "assistant" not in used["teacher"]
    assert used["full"]["assistant"] == str(stages / "assistant_kd")
    for row in ROWS:  # each row trains its own student only
        folders = [p.name for p in (out / "seed0" / row).iterdir() if p.is_dir()]
        assert folders == ["student"]
    # The teacher trained once per seed, not once per row: one epoch in its log.
    assert len(pd.read_csv(stages / "teacher" / "metrics.csv")) == 1
    assert (out / "seed1" / "stages" / "teacher" / "done.json").exists()


def test_rerun_reads_finished_rows_back_and_refuses_other_settings(two_seeds, data, monkeypatch):
    out, _ = two_seeds
    marks = {p: p.stat().st_mtime_ns for p in out.rglob("last.pt")}
    monkeypatch.chdir(data.parent)  # the same data named from another folder
    res = _ablation(Path(data.name), out, "--seeds", "0,1")
    assert res.exit_code == 0, res.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("last.pt")} == marks

    res = _ablation(data, out, "--seeds", "0", "--lr", "0.5")
    assert res.exit_code == 1
    assert "other settings" in res.output and len(res.output.strip().splitlines()) == 1


def test_a_killed_ablation_resumes_where_it_stopped(data, tmp_path, monkeypatch):
    from mgrdark_train.mtcd import pipeline

    real = pipeline.train_network_stage

    def killed_in_the_full_rows_student(cfg, step, stage_dir, **kwargs):
        if cfg.stage == "mtcd_student" and stage_dir.parent.name == "full":
            raise KeyboardInterrupt
        return real(cfg, step, stage_dir, **kwargs)

    out = tmp_path / "ablation"
    monkeypatch.setattr(pipeline, "train_network_stage", killed_in_the_full_rows_student)
    res = _ablation(data, out, "--rows", "teacher,full", "--seeds", "0")
    assert res.exit_code != 0 and not (out / "table.md").exists()
    stages = out / "seed0" / "stages"
    finished = [
        stages / "translator" / "translator.json",
        stages / "teacher" / "checkpoints" / "last.pt",
        stages / "assistant_kd" / "checkpoints" / "last.pt",
        out / "seed0" / "teacher" / "results.json",
    ]
    marks = {p: p.stat().st_mtime_ns for p in finished}

    monkeypatch.setattr(pipeline, "train_network_stage", real)
    res = CliRunner().invoke(
        cli,
        ["ablation", "-d", str(data), *[a for a in TINY if a != "-q"], "--out", str(out)]
        + ["--rows", "teacher,full", "--seeds", "0"],
    )
    assert res.exit_code == 0, res.output
    assert {p: p.stat().st_mtime_ns for p in finished} == marks
    assert "seed 0 teacher: finished earlier" in res.output
    assert "seed 0 full: teacher: finished earlier" in res.output
    table = pd.read_csv(out / "table.csv")
    assert table["row"].tolist() == ["teacher", "full", TEACHER_ROW]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "teacher,nope"], "expected a comma-separated list of baseline, teacher"),
        (["--seeds", "0,x"], "expected comma-separated integers"),
    ],
)
def test_bad_rows_and_seeds_are_usage_errors(data, tmp_path, args, message):
    res = _ablation(data, tmp_path / "x", *args)
    assert res.exit_code == 2 and message in res.output


def test_markdown_states_missing_spreads_and_the_paper():
    table = AblationTable(["baseline", "full"], [3], {"baseline": {3: 0.5}, "full": {3: 0.75}})
    md = format_markdown(table)
    assert "| baseline | 75.58 | 50.00 | - | 50.00 |" in md
    assert "| full | 85.26 | 75.00 | - | 75.00 |" in md
    assert "'paper': the paper's Table 4 (MGR-Dark, RGB students)" in md


@pytest.mark.parametrize(
    "settings, full, source",
    [
        ({"split": "nvgesture", "student": "rgb"}, "87.97", "Table 3 (NvGesture, MTCD)"),
        ({"split": "subjects", "student": "depth"}, "87.45", "Table 2 (MGR-Dark, MTCD with a"),
    ],
)
def test_the_paper_column_follows_what_was_measured(settings, full, source):
    rows = {"baseline": {0: 0.5}, "full": {0: 0.75}}
    md = format_markdown(AblationTable(["baseline", "full"], [0], rows, settings=settings))
    assert "| baseline | - | 50.00 | - | 50.00 |" in md  # no comparable paper number
    assert f"| full | {full} | 75.00 | - | 75.00 |" in md
    assert f"'paper': the paper's {source}" in md


def test_the_paper_preset_is_refused_on_a_cpu(data, tmp_path):
    for command in ("ablation", "mtcd"):
        args = [command, "-d", str(data), "--device", "cpu", "--out", str(tmp_path / command)]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1 and "--preset tiny" in res.output, res.output
        assert not (tmp_path / command).exists()


def test_a_row_evaluates_only_the_members_it_used(two_seeds):
    out, _ = two_seeds
    res = CliRunner().invoke(cli, ["eval", str(out / "seed0" / "baseline"), "--member", "teacher"])
    assert res.exit_code == 1 and "has no teacher" in res.output
    res = CliRunner().invoke(
        cli, ["eval", str(out / "seed0" / "full"), "--member", "assistant", "-q"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(
        (out / "seed0" / "stages" / "assistant_kd" / "eval" / "metrics.json").read_text()
    )
    assert report["member"] == "assistant" and report["clips"] == 3


def test_row3_is_refused_offline_and_trains_its_assistant_online(data, tmp_path):
    res = _ablation(data, tmp_path / "off", "--rows", "teacher+irp", "--seeds", "0")
    assert res.exit_code == 1
    assert "assistant_mode=online" in res.output and len(res.output.strip().splitlines()) == 1
    out = tmp_path / "on"
    res = _ablation(
        data, out, "--rows", "teacher,teacher+irp", "--seeds", "0", "--assistant-mode", "online"
    )
    assert res.exit_code == 0, res.output
    # Online, the assistant trains inside the row's own stage: no shared assistant folder.
    assert sorted(p.name for p in (out / "seed0" / "stages").iterdir()) == [
        "teacher",
        "translator",
    ]
    table = pd.read_csv(out / "table.csv")
    assert table["row"].tolist() == ["teacher", "teacher+irp", TEACHER_ROW]
    assert table.loc[1, "paper_top1"] == PAPER_TOP1["teacher+irp"] == 81.13
