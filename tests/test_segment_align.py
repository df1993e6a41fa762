"""`segment --align FILE|auto`: IR clips in the RGB view, alignment recorded per recording."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mgrdark_data.manifest import read_frame
from mgrdark_data.media import iter_frames, probe_stream
from mgrdark_data.records import ClipRecord, RecordingRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing import decode_index, make_recording, write_annotations
from mgrdark_data.timemap import ir_index

SHIFT_X, SHIFT_Y = 12, 8


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    """RGB 64x48, IR 40x32 at 30 fps placed at (12, 8) in the RGB view by a hand table."""
    tmp = tmp_path_factory.mktemp("aligned")
    raw = tmp / "raw"
    make_recording(
        raw,
        "S01/dark/hall",
        rgb_frames=50,
        ir_fps=30,
        ir_frames=60,
        ir_size=(40, 32),
        depth=None,
        sync={"ir_offset_s": 0.0},
    )
    make_recording(raw, "S02/dark/hall", rgb_frames=50, depth=None)
    table = tmp / "align.csv"
    table.write_text(
        f"recording,scale,shift_x,shift_y,score,ir_offset_s\n"
        f"S01/dark/hall,1.0,{SHIFT_X},{SHIFT_Y},0.9,0.1\n"
    )
    ann = write_annotations(
        tmp / "labels.csv",
        [
            ("S01/dark/hall", "S01", "stop", 4, 20),
            ("S02/dark/hall", "S02", "stop", 4, 20),
        ],
    )
    report = segment_dataset(raw, ann, tmp / "data", align=str(table), workers=1)
    clips = read_frame(tmp / "data/manifest/clips.parquet", ClipRecord).set_index("recording")
    recs = read_frame(tmp / "data/manifest/recordings.parquet", RecordingRecord)
    return tmp / "data", report, clips, recs.set_index("recording")


def test_ir_clip_is_in_the_rgb_view_with_frames_by_the_table_offset(aligned):
    data, _, clips, _ = aligned
    clip = clips.loc["S01/dark/hall"]
    assert bool(clip.ir_aligned) and (clip.ir_width, clip.ir_height) == (64, 48)
    # the table's ir_offset_s (0.1 s) overrides sync.json's 0.0
    expected = [ir_index(i, Fraction(25), Fraction(30), 0.1) for i in range(4, 21)]
    got = []
    for _, frame in iter_frames(data / clip.ir_path):
        img = frame.to_ndarray(format="gray")
        outside = np.concatenate([img[: SHIFT_Y - 1].ravel(), img[:, : SHIFT_X - 1].ravel()])
        assert outside.max() < 20  # black where the IR camera sees nothing
        got.append(decode_index(img[SHIFT_Y : SHIFT_Y + 32, SHIFT_X : SHIFT_X + 40]))
    assert got == expected
    assert probe_stream(data / clip.ir_path).fps == Fraction(25)


def test_alignment_and_offsets_are_recorded(aligned):
    _, report, clips, recs = aligned
    s01, s02 = recs.loc["S01/dark/hall"], recs.loc["S02/dark/hall"]
    assert (s01.align_mode, s01.align_scale, s01.align_shift_x, s01.align_shift_y) == (
        "file",
        1.0,
        SHIFT_X,
        SHIFT_Y,
    )
    assert (s01.ir_offset_s, s01.sync_source) == (0.1, "alignment table")
    # not in the table: native IR geometry, and the summary says so
    assert np.isnan(s02.align_scale) and not clips.loc["S02/dark/hall"].ir_aligned
    assert clips.loc["S02/dark/hall"].ir_width == 44
    assert any(w.startswith("S02/dark/hall:") for w in report.warnings)


def test_align_writes_into_the_dataset_root_and_segment_reads_it(tmp_path):
    """`mgrdata align RAW -d DATA` -> DATA/manifest/align.csv -> `segment --align` that file."""
    from click.testing import CliRunner

    from mgrdark_data.align import read_alignment_table
    from mgrdark_data.cli import cli

    raw, data = tmp_path / "raw", tmp_path / "data"
    make_recording(raw, "S01/dark/hall", rgb_frames=30, ir_fps=30, ir_frames=36, depth=None)
    ann = write_annotations(tmp_path / "labels.csv", [("S01/dark/hall", "S01", "stop", 2, 11)])
    r = CliRunner().invoke(cli, ["align", str(raw), "-d", str(data), "-q"])
    assert r.exit_code == 0, r.output
    table_path = data / "manifest" / "align.csv"
    assert f"table written to {table_path}" in r.output
    table = read_alignment_table(table_path)
    assert list(table) == ["S01/dark/hall"]
    args = ["segment", str(raw), "--ann", str(ann), "-d", str(data), "--workers", "1", "-q"]
    r = CliRunner().invoke(cli, [*args, "--align", str(table_path)])
    assert r.exit_code == 0, r.output
    rec = read_frame(data / "manifest/recordings.parquet", RecordingRecord).iloc[0]
    assert (rec.align_mode, rec.align_method) == ("file", table["S01/dark/hall"].method)
