"""`mgrdata segment` in-process: summary, exit codes and one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.testing import make_recording, write_annotations


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    make_recording(raw, "S01/dark/hall", rgb_frames=40, depth="video")
    write_annotations(
        raw / "labels.csv",
        [
            ("S01/dark/hall", "S01", "stop", 0, 9),
            ("S01/dark/hall", "S01", "stop", 5, 2),
        ],
    )
    return raw


def _run(*args):
    return CliRunner().invoke(cli, ["segment", *map(str, args), "--workers", "1", "-q"])


def test_summary_and_exit_code_zero_with_rejects(raw, tmp_path):
    result = _run(raw, "--ann", raw / "labels.csv", "-d", tmp_path, "--align", "none")
    assert result.exit_code == 0, result.output
    assert "clips: 1 in manifest (1 written, 0 skipped as already done), 1 rejected" in (
        result.output
    )
    assert "rejects by reason: start_after_end: 1" in result.output
    assert (tmp_path / "manifest/clips.parquet").exists()


def test_strict_fails_on_rejects(raw, tmp_path):
    result = _run(raw, "--ann", raw / "labels.csv", "-d", tmp_path, "--align", "none", "--strict")
    assert result.exit_code == 1
    assert "--strict: 1 annotation row(s) rejected" in result.output


def test_data_root_from_environment(raw, tmp_path, monkeypatch):
    monkeypatch.setenv("MGRDARK_DATA", str(tmp_path / "env-root"))
    result = _run(raw, "--ann", raw / "labels.csv", "--align", "none")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-root/manifest/clips.parquet").exists()


def test_unknown_align_value_is_a_one_line_error(raw, tmp_path):
    result = _run(raw, "--ann", raw / "labels.csv", "-d", tmp_path, "--align", "bogus")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: --align 'bogus': expected 'auto', 'none' or an existing alignment table "
        "written by `mgrdata align`"
    )


def test_annotation_file_without_required_columns(raw, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("recording,subject,start\nS01/dark/hall,S01,3\n")
    result = _run(raw, "--ann", bad, "-d", tmp_path / "d", "--align", "none")
    assert result.exit_code == 1
    assert "missing required column(s) gesture, start_frame, end_frame" in result.output
    assert not (tmp_path / "d/manifest").exists()


def test_dry_run_prints_the_plan_and_writes_nothing(raw, tmp_path):
    data = tmp_path / "d"
    result = _run(raw, "--ann", raw / "labels.csv", "-d", data, "--dry-run", "--fps", "20")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "dry run: 1 instance(s) would be cut, 1 rejected"
    assert lines[1] == ("  row 3 (S01/dark/hall 5-2): start_after_end: start_frame 5 > end_frame 2")
    # 0.1 s on the 20 fps grid is halfway between 25 fps frames 2 and 3: 20 ms to frame 3.
    assert "largest sync error: rgb 20 ms, depth 20 ms, ir 20 ms" in result.output
    assert lines[-1] == "nothing was written" and not data.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--fps", "fast", "--fps must be 'source' or a positive rate like 25, got 'fast'"),
        ("--fps", "0", "--fps must be 'source' or a positive rate like 25, got '0'"),
        ("--sync-tolerance", "-5", "--sync-tolerance must be a positive number of ms, got -5.0"),
    ],
)
def test_bad_sync_options_are_one_line_errors(raw, tmp_path, option, value, message):
    result = _run(raw, "--ann", raw / "labels.csv", "-d", tmp_path, option, value)
    assert result.exit_code == 1 and result.output.strip() == f"Error: {message}"


def test_seconds_columns_replace_the_frame_columns(raw, tmp_path):
    ann = tmp_path / "seconds.csv"
    ann.write_text("recording,subject,gesture,start_s,end_s\nS01/dark/hall,S01,stop,0.1,0.5\n")
    result = _run(raw, "--ann", ann, "-d", tmp_path / "d", "--align", "none")
    assert result.exit_code == 0, result.output
    assert "clips: 1 in manifest" in result.output
    assert (tmp_path / "d/clips/rgb/S01__dark__hall__000003_000013.mp4").exists()
