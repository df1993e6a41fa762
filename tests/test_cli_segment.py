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
