"""`mgrtrain mtcd` end to end on a toy dark-RGB / IR dataset (tiny networks, one epoch)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from mgrdark_train.cli import cli
from mgrdark_train.testing.mtcd import TINY_MTCD_ARGS, write_tiny_dark_ir_dataset

TINY = TINY_MTCD_ARGS


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mtcd") / "data"
    write_tiny_dark_ir_dataset(root)
    return root


@pytest.fixture(scope="module")
def full(data, tmp_path_factory):
    """A full run with progress on (CliRunner's stderr is no terminal: plain lines)."""
    run = tmp_path_factory.mktemp("runs") / "full"
    loud = [a for a in TINY if a != "-q"]
    res = CliRunner().invoke(
        cli, ["mtcd", "-d", str(data), "--split", "subjects", *loud, "--out", str(run)]
    )
    assert res.exit_code == 0, res.output
    return run, res.output


@pytest.fixture(scope="module")
def full_run(full):
    return full[0]


def test_full_run_trains_every_stage_and_tests_the_student(full_run):
    for stage in ("teacher", "assistant", "student"):
        assert (full_run / stage / "done.json").exists()
        assert (full_run / stage / "checkpoints" / "last.pt").exists()
    assert (full_run / "translator" / "translator.pt").exists()
    assert (full_run / "config.yaml").exists() and (full_run / "mtcd.yaml").exists()
    # Raw, unweighted terms are logged per epoch.
    student = pd.read_csv(full_run / "student" / "metrics.csv")
    assert {"train_ce", "train_kd_ir_rgb", "train_kd_fusion_rgb"} <= set(student.columns)
    assistant = pd.read_csv(full_run / "assistant" / "metrics.csv")
    assert "train_kd_ir_irp" in assistant.columns
    results = json.loads((full_run / "results.json").read_text())
    assert 0.0 <= results["test"]["top1"] <= 1.0
    assert (full_run / "student" / "eval" / "confusion.png").exists()
    # The student checkpoint holds the student only: frozen networks are not saved with it.
    state = torch.load(full_run / "student" / "checkpoints" / "last.pt", weights_only=False)
    assert state["step"] and all(k.startswith("student.") for k in state["step"])


def test_rerun_skips_finished_stages(full_run, data):
    ckpt = full_run / "student" / "checkpoints" / "last.pt"
    before = ckpt.stat().st_mtime_ns
    res = CliRunner().invoke(
        cli, ["mtcd", "-d", str(data), "--split", "subjects", *TINY, "--out", str(full_run)]
    )
    assert res.exit_code == 0, res.output
    assert ckpt.stat().st_mtime_ns == before
    # -q silences progress, never the result.
    assert res.output.startswith(f"{full_run} (full, student on RGB, 3 test clips): top1=")


def test_other_settings_on_the_same_run_dir_are_refused(full_run, data):
    res = CliRunner().invoke(
        cli,
        [
            "mtcd",
            "-d",
            str(data),
            "--split",
            "subjects",
            *TINY,
            "--set",
            "mtcd.distill.alpha=0.5",
            "--out",
            str(full_run),
        ],
    )
    assert res.exit_code != 0
    assert "other settings" in res.output


def test_mgrtrain_eval_needs_no_ir(full_run, data, tmp_path):
    # A copy of the dataset whose IR clips are gone: evaluation must only read RGB.
    rgb_only = tmp_path / "rgb_only"
    shutil.copytree(data, rgb_only)
    shutil.rmtree(rgb_only / "clips" / "ir")
    res = CliRunner().invoke(
        cli,
        [
            "eval",
            str(full_run / "student"),
            "-d",
            str(rgb_only),
            "--out",
            str(tmp_path / "report"),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "top1=" in res.output
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["clips"] == 3


def test_baseline_row_trains_the_student_alone(data, tmp_path):
    run = tmp_path / "baseline"
    res = CliRunner().invoke(
        cli,
        [
            "mtcd",
            "-d",
            str(data),
            "--split",
            "subjects",
            *TINY,
            "--ablation",
            "baseline",
            "--out",
            str(run),
        ],
    )
    assert res.exit_code == 0, res.output
    assert not (run / "teacher").exists() and not (run / "translator").exists()
    cols = set(pd.read_csv(run / "student" / "metrics.csv").columns)
    assert "train_ce" in cols and not any("kd" in c for c in cols)


def test_unfinished_stage_resumes_instead_of_restarting(full_run, data):
    (full_run / "student" / "done.json").unlink()  # as if killed after its last checkpoint
    loud = [a for a in TINY if a != "-q"]
    res = CliRunner().invoke(
        cli, ["mtcd", "-d", str(data), "--split", "subjects", *loud, "--out", str(full_run)]
    )
    assert res.exit_code == 0, res.output
    assert "note: teacher: finished earlier in " in res.output
    assert "note: student: resuming after epoch 1" in res.output
    assert (full_run / "student" / "done.json").exists()
    # The finished epoch was not trained again: still one epoch in the log and the checkpoint.
    assert len(pd.read_csv(full_run / "student" / "metrics.csv")) == 1
    state = torch.load(full_run / "student" / "checkpoints" / "last.pt", weights_only=False)
    assert state["epoch"] == 0


def test_translator_command_reports_l1_against_the_baselines(data, tmp_path):
    out = tmp_path / "translator"
    res = CliRunner().invoke(
        cli,
        [
            "translator",
            "-d",
            str(data),
            "--split",
            "subjects",
            "--preset",
            "tiny",
            "--epochs",
            "2",
            "--workers",
            "0",
            "--set",
            "data.resize=16",
            "--set",
            "data.crop=16",
            "--set",
            "data.num_frames=4",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "translator.json").read_text())
    assert set(summary["l1"]) == {"gan", "grayscale", "identity"}
    assert len(pd.read_csv(out / "metrics.csv")) == 2
    assert "L1 to real IR" in res.output


def test_eval_in_a_fresh_process_finds_the_mtcd_stage(full_run, tmp_path):
    # The stage registry is filled at import; a new interpreter must find mtcd_student too.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mgrdark_train",
            "eval",
            str(full_run / "student"),
            "-q",
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "top1=" in proc.stdout


def test_progress_bars_name_their_mtcd_stage(full):
    _, output = full
    lines = output.splitlines()
    assert "\r" not in output
    for stage in ("translator", "teacher", "assistant", "student"):
        assert any(line.startswith(f"{stage}: epoch 1/1: ") for line in lines), (stage, output)
    assert any(line.startswith("translator: val L1: ") for line in lines)
    # mtcd's precise BN (run.precise_bn_batches 200) and the per-epoch test, named by epoch.
    assert any(line.startswith("teacher: epoch 1/1 precise BN: ") for line in lines)
    assert any(line.startswith("assistant: epoch 1/1 test: ") for line in lines)
    assert any(line.startswith("student: eval test: ") for line in lines)
    assert "note: training on dark clips only (data.light=dark); --light all" in output
    # Before its first epoch every network stage says what one training step needs.
    for stage in ("teacher", "assistant", "student"):
        assert any(
            line.startswith(f"note: {stage}: ") and "needs about" in line for line in lines
        ), (stage, output)


def _eval(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args), "-q"])


def test_eval_of_an_mtcd_run_directory_is_the_student_unless_asked(full_run, data, tmp_path):
    res = _eval(full_run, "--out", tmp_path / "student")
    assert res.exit_code == 0, res.output
    prefix = f"{full_run / 'student'} (student, test, 3 clips, last.pt of epoch 1, views 1x1)"
    assert res.output.startswith(prefix)
    student = json.loads((tmp_path / "student" / "metrics.json").read_text())
    same = json.loads((full_run / "student" / "eval" / "metrics.json").read_text())
    assert student["member"] == "student" and student["top1"] == same["top1"]
    assert student["confusion"] == same["confusion"]

    res = _eval(full_run, "--member", "teacher")
    assert res.exit_code == 0, res.output
    teacher = json.loads((full_run / "teacher" / "eval" / "metrics.json").read_text())
    assert teacher["member"] == "teacher" and teacher["clips"] == 3
    assert teacher["run"] == str(full_run / "teacher")

    # The assistant reads RGB through the translator its stage was trained with.
    rgb_only = tmp_path / "rgb_only"
    shutil.copytree(data, rgb_only)
    shutil.rmtree(rgb_only / "clips" / "ir")
    res = _eval(full_run, "--member", "assistant", "-d", rgb_only, "--out", tmp_path / "a")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["clips"] == 3
    assert json.loads((full_run / "assistant" / "inputs.json").read_text())["translator"] == str(
        full_run / "translator"
    )


def test_eval_refuses_members_a_run_does_not_have(full_run, data, tmp_path):
    run = tmp_path / "baseline_row"
    res = CliRunner().invoke(
        cli,
        ["mtcd", "-d", str(data), *TINY, "--ablation", "baseline", "--out", str(run)],
    )
    assert res.exit_code == 0, res.output
    res = _eval(run, "--member", "teacher")
    assert res.exit_code == 1
    assert "has no teacher" in res.output and len(res.output.strip().splitlines()) == 1
    res = _eval(full_run / "student", "--member", "teacher")
    assert res.exit_code == 1 and "not an MTCD run directory" in res.output
    res = _eval(tmp_path)
    assert res.exit_code == 1 and "is not a run directory" in res.output
