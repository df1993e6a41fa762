"""Both CLIs print every error as one line: domain errors exit 1, usage errors exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata
from mgrdark_data.testing import write_index_video


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


# --- user-caused failures are MgrdarkError kinds, never "unexpected ..." ----------------


def test_an_unwritable_output_path_is_an_output_error(tmp_path):
    from mgrdark_data.errors import OutputError
    from mgrdark_data.paths import atomic_path

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot create folder"), atomic_path(blocker / "x.csv"):
        pass
    video = write_index_video(tmp_path / "v.mp4", 3)
    for args in (
        ["segment", str(tmp_path), "--ann", str(blocker), "-d", str(blocker / "data")],
        ["synth", str(blocker / "raw"), "--scale", "0.05"],
        ["stats", str(video), "--out", str(blocker / "stats.parquet")],
    ):
        result = CliRunner().invoke(mgrdata, [*args, "-q"])
        assert result.exit_code == 1, (args, result.output)
        assert _one_line(result).startswith(f"Error: cannot create folder {blocker}"), args


def test_an_unknown_x264_preset_fails_before_any_work(tmp_path):
    from mgrdark_data.errors import MgrdarkError, OptionError
    from mgrdark_data.media.write import EncoderSettings
    from mgrdark_data.synth import SynthEncoding

    for make in (EncoderSettings, SynthEncoding):
        with pytest.raises(OptionError, match="unknown x264 preset 'bogus'") as e:
            make(preset="bogus")
        assert isinstance(e.value, MgrdarkError) and isinstance(e.value, ValueError)
    result = CliRunner().invoke(mgrdata, ["synth", str(tmp_path / "raw"), "--preset", "bogus"])
    assert result.exit_code == 2 and "invalid value for '--preset'" in _one_line(result)
    assert not (tmp_path / "raw").exists()


def test_unusable_frames_for_the_estimator_are_an_alignment_error():
    import numpy as np

    from mgrdark_data.align import estimate_alignment
    from mgrdark_data.errors import AlignmentError

    rgb = [np.zeros((48, 64, 3), np.uint8)] * 2
    with pytest.raises(AlignmentError, match="same, non-zero number"):
        estimate_alignment(rgb, rgb[:1])
    with pytest.raises(AlignmentError, match="frames differ in size"):
        estimate_alignment(rgb, [np.zeros((10, 10), np.uint8), np.zeros((12, 10), np.uint8)])


def test_bad_synth_arguments_are_option_errors(tmp_path):
    from mgrdark_data.errors import OptionError
    from mgrdark_data.synth import synthesize

    with pytest.raises(OptionError, match="scale must be positive"):
        synthesize(tmp_path / "raw", scale=0)
