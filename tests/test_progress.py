"""The one progress type: plain lines off a terminal, nothing when quiet, stage names kept."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.cli.progress import LineBar, progress_factory
from mgrdark_data.progress import NullBar, open_bar, prefixed
from mgrdark_data.testing import make_recording, write_annotations


def test_quiet_gives_no_factory_and_library_gets_a_silent_bar():
    assert progress_factory(True) is None
    assert isinstance(open_bar(None, "segment", 10, "clip"), NullBar)


def test_off_a_terminal_progress_is_plain_lines_at_most_about_twenty_per_stage():
    out = io.StringIO()
    factory = progress_factory(False, stream=out, interval=0.0)
    bar = factory("segment", 100, "clip")
    assert isinstance(bar, LineBar)
    for _ in range(100):
        bar.update(1)
    bar.set_postfix(loss=0.3125)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 21  # every 5th of 100 updates, plus the closing line
    assert lines[0].startswith("segment: 5/100 clip (5%) ")
    assert lines[-1].startswith("segment: 100/100 clip (100%) ")
    assert lines[-1].endswith(" loss=0.3125")


def test_line_bar_waits_for_its_interval():
    out = io.StringIO()
    bar = LineBar("stats", 1000, "video", stream=out, interval=3600.0)
    for _ in range(1000):
        bar.update()
    assert out.getvalue().count("\n") == 1  # the first step only; the rest within the hour
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("stats: 1000/1000 video (100%)")


def test_closing_does_not_repeat_the_last_line():
    out = io.StringIO()
    bar = LineBar("align", 4, "recording", stream=out, interval=0.0)
    for _ in range(4):
        bar.update()
    bar.close()
    assert [line.split(" (")[0] for line in out.getvalue().splitlines()] == [
        f"align: {n}/4 recording" for n in (1, 2, 3, 4)
    ]


def test_prefixed_names_the_stage():
    seen = []

    def factory(stage, total, unit):
        seen.append((stage, total, unit))
        return NullBar()

    prefixed(factory, "teacher")("epoch 1/3", 7, "batch")
    assert seen == [("teacher: epoch 1/3", 7, "batch")]
    assert prefixed(None, "teacher") is None


# --- the data commands, run as a batch job would: stderr is not a terminal ---------------


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    make_recording(raw, "S01/dark/hall", rgb_frames=30, ir_frames=36, ir_fps=30)
    write_annotations(raw / "labels.csv", [("S01/dark/hall", "S01", "stop", 2, 11)])
    return raw


def _stage_lines(stderr: str, stage: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{stage}: ")]


def test_commands_write_plain_progress_lines_off_a_terminal(raw, tmp_path):
    data = tmp_path / "data"
    runs = {
        "segment": ["segment", raw, "--ann", raw / "labels.csv", "-d", data, "--workers", "1"],
        "validate": ["validate", "-d", data],
        "stats": ["stats", "-d", data],
        "align": ["align", raw, "--out", tmp_path / "align.csv"],
    }
    finals = {
        "segment": [("align", "1/1 recording (100%)"), ("segment", "3/3 clip (100%)")],
        "validate": [("validate", "3/3 file (100%)")],
        "stats": [("stats", "1/1 video (100%)")],
        "align": [("align", "1/1 recording (100%)")],
    }
    for command, args in runs.items():
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code == 0, (command, result.output)
        assert "\r" not in result.stderr, command
        for stage, final in finals[command]:
            lines = _stage_lines(result.stderr, stage)
            assert lines, (command, stage, result.stderr)
            assert lines[-1].startswith(f"{stage}: {final} "), (command, lines)
        assert not _stage_lines(result.stdout, finals[command][0][0]), "progress goes to stderr"


def test_quiet_commands_write_no_progress(raw, tmp_path):
    args = ["segment", raw, "--ann", raw / "labels.csv", "-d", tmp_path / "d", "--workers", "1"]
    result = CliRunner().invoke(cli, [*map(str, args), "-q"])
    assert result.exit_code == 0, result.output
    assert not _stage_lines(result.stderr, "segment") and not _stage_lines(result.stderr, "align")
    assert "clips: 1 in manifest" in result.stdout, "--quiet silences progress, never the result"
