"""Both CLIs print every error as one line: domain errors exit 1, usage errors exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata


def _one_line(result) -> str:
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["segment", "--crff", "3"],
            "Error: no such option '--crff'. Did you mean '--crf'? (see 'mgrdata segment --help')",
        ),
        (["segment"], "Error: missing argument 'RAW' (see 'mgrdata segment --help')"),
        (
            ["split", "--test-subjects", "x"],
            "Error: invalid value for '--test-subjects': 'x' is not a valid integer range "
            "(see 'mgrdata split --help')",
        ),
        (
            ["segmnt"],
            "Error: no such command 'segmnt'. Did you mean 'segment'? (see 'mgrdata --help')",
        ),
        (["--bogus"], "Error: no such option '--bogus' (see 'mgrdata --help')"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args, line):
    result = CliRunner().invoke(mgrdata, args)
    assert result.exit_code == 2
    assert _one_line(result) == line


def test_a_bad_value_checked_by_the_command_is_one_line_too(tmp_path):
    result = CliRunner().invoke(mgrdata, ["synth", str(tmp_path), "--gesture-frames", "20", "10"])
    assert result.exit_code == 2
    assert _one_line(result) == (
        "Error: invalid value for --gesture-frames: MIN 20 is above MAX 10 "
        "(see 'mgrdata synth --help')"
    )


def test_domain_errors_stay_one_line_with_exit_code_1(tmp_path):
    result = CliRunner().invoke(mgrdata, ["split", "-d", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        _one_line(result).startswith("Error: ") and "run `mgrdata segment` first" in result.output
    )


def test_help_is_still_help():
    bare = CliRunner().invoke(mgrdata, [])
    assert bare.output.startswith("Usage: mgrdata") and "Commands:" in bare.output
    assert CliRunner().invoke(mgrdata, ["segment", "--help"]).exit_code == 0


def test_the_training_cli_shares_the_one_line_usage_errors():
    from mgrdark_train.cli import cli as mgrtrain

    result = CliRunner().invoke(mgrtrain, ["mtcd", "--epochz", "3"])
    assert result.exit_code == 2
    assert _one_line(result) == (
        "Error: no such option '--epochz'. Did you mean '--epochs'? (see 'mgrtrain mtcd --help')"
    )
    result = CliRunner().invoke(mgrtrain, ["nosuch"])
    assert result.exit_code == 2
    assert _one_line(result) == "Error: no such command 'nosuch' (see 'mgrtrain --help')"
