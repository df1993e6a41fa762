"""Timelines: sidecar files, container timestamps (snapped to their grid or kept raw), numbered
image folders, sync.json's new keys, and what `describe` says about a stream."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from mgrdark_data.errors import MediaError
from mgrdark_data.media.probe import frame_files, probe_stream
from mgrdark_data.recordings import SyncFileError, probe_recording, read_sync, recording_files
from mgrdark_data.testing import write_depth_pngs, write_index_video, write_timestamps
from mgrdark_data.timeline import (
    Timeline,
    TimestampsError,
    describe,
    from_numbers,
    from_pts,
    read_timestamps,
)


@pytest.mark.parametrize(
    ("column", "values", "ns"),
    [
        ("time_s", ["0", "0.0333333", "0.1"], [0, 33_333_300, 100_000_000]),
        ("time_ms", ["12.5", "45.0000004", "80"], [12_500_000, 45_000_000, 80_000_000]),
        ("time_us", ["1700000000000000", "1700000000033333", "1700000000066667"], None),
    ],
)
def test_sidecar_columns_are_read_to_the_nanosecond(tmp_path, column, values, ns):
    path = write_timestamps(tmp_path / "ir.timestamps.csv", values, column)
    got = read_timestamps(path, 3)
    if ns is None:
        ns = [int(v) * 1000 for v in values]
    assert got.tolist() == ns and got.dtype == np.int64


@pytest.mark.parametrize(
    ("text", "frames", "message"),
    [
        ("seconds\n0\n1\n", 2, "expected one column named time_s, time_ms, time_us"),
        ("time_s\n0\n0.1\n", 3, "has 2 rows but the stream has 3 frames"),
        ("time_s\n0\n0.2\n0.1\n", 3, "times do not increase at rows 3-4"),
        ("time_s\n0\n0\n", 2, "times do not increase at rows 2-3"),
        ("time_s\n0\nabc\n", 2, "row 3: ['abc'] is not a number"),
        ("time_s,time_ms\n0,0\n", 1, "expected one column"),
    ],
)
def test_bad_sidecars_say_what_is_wrong(tmp_path, text, frames, message):
    path = tmp_path / "rgb.timestamps.csv"
    path.write_text(text)
    with pytest.raises(TimestampsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_timestamps(path, frames)


def test_container_timestamps_snap_to_their_grid():
    # Matroska rounds 30 fps to milliseconds; the frames are still exactly j / 30.
    mkv = from_pts([0, 33, 67, 100, 133, 167], Fraction(1, 1000), [Fraction(30)])
    assert (mkv.ticks.tolist(), mkv.unit, mkv.source, mkv.constant) == (
        list(range(6)),
        Fraction(1, 30),
        "pts",
        True,
    )
    # A 30 -> 15 fps switch (average rate 22.5, guessed 30) lands on the 30 fps grid.
    vfr = from_pts([0, 512, 1024, 2048, 3072, 3584], Fraction(1, 15360), [Fraction(45, 2), 30])
    assert vfr.ticks.tolist() == [0, 1, 2, 4, 6, 7] and vfr.rate == 30 and not vfr.constant
    # Jittery capture timestamps stay as they are, counted from the first frame.
    raw = from_pts([1000, 1034, 1066, 1101], Fraction(1, 1000), [Fraction(30)])
    assert raw.ticks.tolist() == [0, 34, 66, 101] and raw.unit == Fraction(1, 1000)
    with pytest.raises(TimestampsError, match="duplicate"):
        from_pts([0, 10, 10, 20], Fraction(1, 1000), [Fraction(7)])


def test_image_folders_are_numbered_not_sorted_as_text(tmp_path):
    folder = write_depth_pngs(tmp_path / "depth", 0, numbers=[0, 1, 2, 9, 10, 11, 100], pad=0)
    assert [n for n, _ in frame_files(folder)] == [0, 1, 2, 9, 10, 11, 100]
    info = probe_stream(folder, depth=True)
    tl = from_numbers(info.numbers, Fraction(30))
    assert tl.seconds.tolist() == pytest.approx([n / 30 for n in (0, 1, 2, 9, 10, 11, 100)])
    (folder / "frame_9.png").write_bytes((folder / "9.png").read_bytes())
    with pytest.raises(MediaError, match="both say frame 9"):
        frame_files(folder)
    (folder / "frame_9.png").unlink()
    (folder / "cover.png").write_bytes(b"")
    with pytest.raises(MediaError, match="no frame number in the file name"):
        frame_files(folder)


def test_describe_finds_rate_segments_drops_and_gaps():
    ticks = [*range(0, 30), *range(30, 60, 2), *range(60, 90)]  # 30, 15, 30 fps
    ticks.remove(75)  # one dropped frame
    facts = describe(Timeline(np.array(ticks), Fraction(1, 30), Fraction(30), "pts"))
    assert [(s.start_s, s.fps) for s in facts.segments] == pytest.approx(
        [(0.0, 30.0), (1.0, 15.0), (2.0, 30.0)]
    )
    assert (facts.dropped, facts.vfr, facts.frames) == (1, True, 74)
    assert facts.largest_gap_s == pytest.approx(2 / 30)
    assert facts.duration_s == pytest.approx(90 / 30)
    cfr = describe(Timeline.cfr(50, 25))
    assert (cfr.dropped, cfr.vfr, cfr.measured_fps) == (0, False, pytest.approx(25.0))


def test_sync_json_new_keys(tmp_path):
    path = tmp_path / "sync.json"
    path.write_text(json.dumps({"ir_offset_s": 0.1, "depth_offset_s": -0.02, "depth_fps": 29.97}))
    sync = read_sync(path)
    assert (sync.depth_offset_s, sync.depth_fps, sync.rgb_fps) == (-0.02, Fraction(2997, 100), None)
    path.write_text(json.dumps({"depth_offset_s": 0.1, "depth_offset_frames": 2}))
    with pytest.raises(SyncFileError, match="not both"):
        read_sync(path)
    path.write_text(json.dumps({"ir_fps": 0}))
    with pytest.raises(SyncFileError, match="ir_fps must be positive"):
        read_sync(path)


def test_recording_timelines_and_the_shared_sidecar_clock(tmp_path):
    rec = tmp_path / "S01/dark/a"
    write_index_video(rec / "rgb.mp4", 30, fps=30)
    write_depth_pngs(rec / "depth", 30, pad=0)
    (rec / "sync.json").write_text(json.dumps({"depth_offset_frames": 2}))
    info = probe_recording(recording_files(tmp_path, "S01/dark/a"))
    assert info.depth.timeline.source == "filename" and info.depth.fps == 30  # the RGB rate
    assert info.offset("depth") == Fraction(2, 30)
    # Without an RGB timestamps file, depth's times are on the RGB stream's clock as written.
    write_timestamps(
        rec / "depth.timestamps.csv", [2 + 1000 * i / 30 for i in range(30)], "time_ms"
    )
    info = probe_recording(recording_files(tmp_path, "S01/dark/a"))
    assert info.depth.timeline.seconds[0] == pytest.approx(0.002)
    # Sidecars share the capture clock: RGB's first frame is time 0 for all of them.
    write_timestamps(
        rec / "rgb.timestamps.csv", [5_000_000 + 33_333 * i for i in range(30)], "time_us"
    )
    write_timestamps(
        rec / "depth.timestamps.csv", [5_100_000 + 33_333 * i for i in range(30)], "time_us"
    )
    info = probe_recording(recording_files(tmp_path, "S01/dark/a"))
    assert info.rgb.timeline.seconds[0] == 0 and info.depth.timeline.seconds[0] == pytest.approx(
        0.1
    )
    assert (info.rgb.timeline.source, info.rgb.fps) == ("sidecar", 30)
