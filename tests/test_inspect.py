"""`mgrdata inspect RAW`: per stream frames, rates, variable-rate segments, drops, gaps and the
overlap on the RGB clock; broken streams are reported, never raised."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.inspection import inspect_raw
from mgrdark_data.testing import write_timestamps
from mgrdark_data.testing.sync import build_raw


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    raw = build_raw(tmp_path_factory.mktemp("inspect_raw"))
    broken = raw / "S09/dark/broken"
    shutil.copytree(raw / "S02/daylight/png", broken)
    (broken / "rgb.mp4").write_bytes(b"not a video" * 50)
    write_timestamps(raw / "S02/daylight/png/depth.timestamps.csv", range(5))  # 39 PNGs
    return raw


def test_surveys_give_the_facts_per_stream(raw):
    surveys = {s.recording: s for s in inspect_raw(raw)}
    vfr = {st.name: st for st in surveys["S01/dark/vfr"].streams}
    rgb, ir, depth = vfr["rgb"].facts, vfr["ir"].facts, vfr["depth"].facts
    assert (rgb.frames, rgb.nominal_fps, rgb.vfr, rgb.dropped) == (120, 30.0, True, 0)
    assert [s.fps for s in rgb.segments] == [30.0, 15.0, 30.0]
    assert (ir.frames, ir.dropped, ir.largest_gap_s) == (110, 16, pytest.approx(0.64))
    assert vfr["ir"].start_s == pytest.approx(-0.1)  # IR starts 0.1 s before RGB frame 0
    assert vfr["depth"].time_source == "sidecar" and depth.frames == 150
    assert surveys["S01/dark/vfr"].overlap == pytest.approx((0.0, 4.9))
    png = surveys["S02/daylight/png"]
    assert "depth.timestamps.csv has 5 rows but the stream has 39 frames" in png.errors["depth"]
    assert "rgb.mp4" in surveys["S09/dark/broken"].errors["recording"]


def test_cli_prints_every_recording(raw):
    result = CliRunner().invoke(cli, ["inspect", str(raw), "-q"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "variable frame rate: 0.000-2.000 s at 30 fps (61 frames); 2.000-4.000 s at 15 fps" in out
    )
    assert "overlap: 0.000-4.900 s (4.900 s) covered by all 3 streams" in out
    assert "depth  left out: recording S02/daylight/png, depth: depth.timestamps.csv" in out
    assert "S09/dark/broken\n  cannot be read:" in out
    assert out.rstrip().endswith("3 recording(s), 2 with a stream that cannot be used")
