"""Time-based synchronisation end to end, on frame-coded media (every frame shows its index):
a Kinect-like dark take whose RGB halves its rate, an IR camera that drops a frame and then
0.64 s, depth PNGs with a timestamps file, a depth folder missing a file, `--fps 25`, seconds
annotations, bad timestamps files and `--dry-run`. Expected frames come from a brute-force
nearest-in-time search over exact frame times, written here independently of the package."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from mgrdark_data.manifest import read_frame
from mgrdark_data.media import iter_frames, probe_stream
from mgrdark_data.paths import DataRoot
from mgrdark_data.planning import SyncOptions
from mgrdark_data.records import ClipRecord, FrameRecord, RecordingRecord, RejectRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing import (
    decode_index,
    depth_index,
    write_annotations,
    write_index_images,
    write_timestamps,
)
from mgrdark_data.testing.sync import (
    DEPTH_TIMES,
    IR_OFFSET,
    IR_TICKS,
    IR_TIMES,
    RGB_TIMES,
    build_raw,
)
from mgrdark_data.validate import validate_dataset

COLUMNS = ["recording", "subject", "gesture", "start_frame", "end_frame", "start_s", "end_s"]
ROWS = [
    ("S01/dark/vfr", "S01", "stop", 10, 50, "", ""),  # 30 fps part; IR frame 20 dropped
    ("S01/dark/vfr", "S01", "forward", 70, 88, "", ""),  # IR dropout: sync_gap
    ("S01/dark/vfr", "S01", "quiet", 52, 68, "", ""),  # across the 30 -> 15 fps switch
    ("S01/dark/vfr", "S01", "upward", "", "", "4.1", "4.35"),  # seconds; 4.35 is a tie
    ("S02/daylight/png", "S02", "stop", 10, 25, "", ""),  # depth 17.png missing
]


def nearest(times: list[Fraction], t: Fraction) -> int:
    """Index of the frame nearest t; a tie goes to the later frame."""
    return min(range(len(times)), key=lambda j: (abs(times[j] - t), -j))


def _ann(path: Path, rows=ROWS) -> Path:
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in rows]
    return write_annotations(path, rows, extra_columns=["start_s", "end_s"])


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return build_raw(tmp_path_factory.mktemp("sync_raw"))


def _run(raw: Path, tmp: Path, fps: str = "source", rows=ROWS):
    data = tmp / f"data_{fps}"
    report = segment_dataset(
        raw,
        _ann(tmp / "labels.csv", rows),
        data,
        align="none",
        workers=1,
        sync=SyncOptions.parse(fps),
    )
    clips = read_frame(data / "manifest/clips.parquet", ClipRecord).set_index("source_row")
    rejects = read_frame(data / "manifest/rejects.parquet", RejectRecord).set_index("source_row")
    return data, report, clips, rejects


@pytest.fixture(scope="module")
def source_run(raw, tmp_path_factory):
    return _run(raw, tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def grid_run(raw, tmp_path_factory):
    return _run(raw, tmp_path_factory.mktemp("grid"), "25")


def decoded(data: Path, rel: str) -> list[int]:
    if rel.endswith(".mkv"):
        return [depth_index(f.to_ndarray()[0, 0]) for _, f in iter_frames(data / rel)]
    return [decode_index(f.to_ndarray(format="gray")) for _, f in iter_frames(data / rel)]


def expected(times: list[Fraction]) -> dict[str, list[int]]:
    """Source frame of each modality for clip frame times on the RGB clock."""
    return {
        "rgb": [nearest(RGB_TIMES, t) for t in times],
        "ir": [nearest(IR_TIMES, t + IR_OFFSET) for t in times],
        "depth": [nearest(DEPTH_TIMES, t) for t in times],  # depth shows its file number
    }


def test_vfr_rgb_clip_keeps_its_frames_at_their_own_times(source_run):
    data, _, clips, _ = source_run
    clip = clips.loc[4]  # frames 52-68, across the 30 -> 15 fps switch
    times = RGB_TIMES[52:69]
    assert decoded(data, clip.rgb_path) == list(range(52, 69))
    info = probe_stream(data / clip.rgb_path)
    written = [float((p - info.pts[0]) * info.time_base) for p in info.pts]
    assert written == pytest.approx([float(t - times[0]) for t in times], abs=1e-4)
    assert bool(clip.vfr) and clip.grid == "source" and clip.num_frames == 17
    assert clip.fps == pytest.approx(16 / float(times[-1] - times[0]))  # the average rate
    assert (clip.start_s, clip.end_s) == pytest.approx((float(times[0]), float(times[-1])))
    want = expected(times)
    assert decoded(data, clip.ir_path) == want["ir"]
    assert decoded(data, clip.depth_path) == want["depth"]


def test_ir_with_a_dropped_frame_is_matched_by_time_not_index(source_run):
    data, _, clips, _ = source_run
    clip = clips.loc[2]  # frames 10-50 at 30 fps; IR tick 20 (0.8 s) is missing
    want = expected(RGB_TIMES[10:51])
    assert decoded(data, clip.ir_path) == want["ir"]
    ticks = [IR_TICKS[j] for j in want["ir"]]
    assert 20 not in ticks and {19, 21} <= set(ticks)
    assert decoded(data, clip.rgb_path) == list(range(10, 51)) and not clip.vfr
    # The dropped IR frame leaves clip frames 40 ms from the nearest IR frame.
    assert clip.ir_sync_error_ms == pytest.approx(40.0)


def test_depth_pngs_follow_their_timestamps_file_in_numeric_order(source_run):
    data, _, clips, _ = source_run
    for row in (2, 4, 5):
        clip = clips.loc[row]
        times = RGB_TIMES[clip.start_frame : clip.end_frame + 1]
        assert decoded(data, clip.depth_path) == expected(times)["depth"]
    assert clips.loc[2].depth_sync_error_ms == pytest.approx(2.0)  # the sidecar's jitter
    recs = read_frame(data / "manifest/recordings.parquet", RecordingRecord).set_index("recording")
    vfr = recs.loc["S01/dark/vfr"]
    assert (vfr.depth_time_source, vfr.rgb_time_source, vfr.ir_time_source) == (
        "sidecar",
        "pts",
        "pts",
    )
    assert (vfr.rgb_fps, vfr.rgb_segments, vfr.rgb_dropped) == (30.0, 3, 0)
    assert (vfr.ir_dropped, vfr.ir_largest_gap_ms, vfr.ir_start_s) == (16, 640.0, -0.1)


def test_a_dropout_is_rejected_with_sync_gap_naming_stream_and_span(source_run):
    _, report, _, rejects = source_run
    rej = rejects.loc[3]  # frames 70-88: IR has nothing from 2.96 s to 3.60 s
    times = RGB_TIMES[70:89]
    far = [
        t for t in times if abs(IR_TIMES[nearest(IR_TIMES, t + IR_OFFSET)] - t - IR_OFFSET) > 0.06
    ]
    assert rej.reason_code == "sync_gap"
    assert rej.reason == (
        f"ir has no frame within 60 ms of {float(far[0]):.3f}-{float(far[-1]):.3f} s "
        "(largest gap 640 ms; tolerance 60 ms)"
    )
    assert report.reject_counts == {"sync_gap": 1}


def test_a_missing_png_is_a_dropped_frame_never_a_shift(source_run):
    data, _, clips, _ = source_run
    clip = clips.loc[6]  # RGB 10-25 at 25 fps; depth files 0-39 without 17.png
    got = decoded(data, clip.depth_path)
    # RGB 17 is halfway between depth 16 and 18: the later one; every other frame is its own.
    assert got == [*range(10, 17), 18, *range(18, 26)]
    assert clip.depth_sync_error_ms == pytest.approx(40.0)


def test_seconds_annotations_map_to_the_nearest_rgb_frames(source_run):
    data, _, clips, _ = source_run
    clip = clips.loc[5]  # 4.1 s is frame 93; 4.35 s is halfway between 100 and 101 -> 101
    assert (clip.start_frame, clip.end_frame) == (93, 101)
    assert clip.start_s == pytest.approx(4.1) and clip.end_s == pytest.approx(131 / 30)
    assert decoded(data, clip.rgb_path) == list(range(93, 102))


def test_fps_25_resamples_every_modality_frame_by_frame(grid_run):
    data, _, clips, rejects = grid_run
    assert rejects.loc[3].reason_code == "sync_gap"
    for row, clip in clips.iterrows():
        rgb_times = RGB_TIMES if row != 6 else [Fraction(i, 25) for i in range(40)]
        start, end = rgb_times[clip.start_frame], rgb_times[clip.end_frame]
        times = [start + Fraction(k, 25) for k in range(int((end - start) * 25) + 1)]
        want = expected(times)
        if row == 6:  # the CFR recording; depth files 0-39 without 17, at n / 25
            files = [n for n in range(40) if n != 17]
            want = {
                "rgb": [nearest(rgb_times, t) for t in times],
                "depth": [files[nearest([Fraction(n, 25) for n in files], t)] for t in times],
            }
        assert clip.num_frames == len(times) and clip.fps == 25.0 and clip.grid == "25"
        for m, frames in want.items():
            assert decoded(data, clip[f"{m}_path"]) == frames, (row, m)
            assert probe_stream(data / clip[f"{m}_path"]).fps == 25
        assert not clip.vfr
    # The 15 fps stretch repeats RGB frames on the 25 fps grid, within the tolerance.
    assert 0 < clips.loc[4].rgb_sync_error_ms <= 33.334
    frames = read_frame(data / "manifest/frames.parquet", FrameRecord)
    one = frames[frames.clip_id == clips.loc[4].clip_id]
    assert one.time_s.tolist() == pytest.approx([float(RGB_TIMES[52]) + k / 25 for k in range(21)])


def test_both_grids_validate(source_run, grid_run):
    for data, *_ in (source_run, grid_run):
        report = validate_dataset(DataRoot.resolve(data))
        assert report.ok, report.format()


def test_bad_timestamps_files_leave_the_stream_out_or_reject_the_recording(raw, tmp_path):
    raw2 = tmp_path / "raw"
    shutil.copytree(raw, raw2)
    vfr = raw2 / "S01/dark/vfr"
    write_timestamps(vfr / "ir.timestamps.csv", range(10), "time_ms")  # 10 rows, 110 frames
    png = raw2 / "S02/daylight/png"
    write_timestamps(png / "rgb.timestamps.csv", [0, 1, 3, 2] + list(range(4, 40)))
    write_timestamps(png / "depth.timestamps.csv", range(39), "frame_time")
    data, report, clips, rejects = _run(raw2, tmp_path)
    # Without its IR stream, the dropout no longer rejects row 3.
    assert set(clips.index) == {2, 3, 4, 5} and clips.ir_path.isna().all()
    recs = read_frame(data / "manifest/recordings.parquet", RecordingRecord).set_index("recording")
    assert (
        "ir.timestamps.csv has 10 rows but the stream has 110 frames"
        in recs.loc["S01/dark/vfr"].ir_error
    )
    assert recs.loc["S02/daylight/png"].status == "error"
    assert rejects.loc[6].reason_code == "bad_timestamps"
    assert "rgb.timestamps.csv: times do not increase at rows 4-5" in rejects.loc[6].reason
    assert report.failed_recordings == 1


def test_dry_run_plans_without_writing(raw, tmp_path):
    data = tmp_path / "never"
    report = segment_dataset(
        raw, _ann(tmp_path / "l.csv"), data, align="auto", workers=1, dry_run=True
    )
    assert not data.exists()
    assert report.dry_run and report.clips == 4 and report.reject_counts == {"sync_gap": 1}
    assert [r.source_row for r in report.rejects] == [3]
    assert report.sync_error_ms["ir"] == pytest.approx(40.0)


def test_sync_tolerance_option(raw, tmp_path):
    report = segment_dataset(
        raw,
        _ann(tmp_path / "l.csv", ROWS[:1]),
        tmp_path / "d",
        align="none",
        workers=1,
        sync=SyncOptions.parse("source", 30),
        dry_run=True,
    )
    assert [r.reason_code for r in report.rejects] == ["sync_gap"]
    # Only at 0.7 s (IR 0.8 s, the dropped frame) is the nearest IR frame over 30 ms away.
    assert report.rejects[0].reason == (
        "ir has no frame within 30 ms of 0.700 s (largest gap 80 ms; tolerance 30 ms)"
    )


def test_image_folders_for_rgb_and_ir(tmp_path):
    """rgb/ and ir/ folders of PNG/JPEG frames, rates from sync.json, IR missing frame 7."""
    rec = tmp_path / "raw/S03/dark/frames"
    write_index_images(rec / "rgb", range(30), pad=4)
    write_index_images(rec / "ir", [n for n in range(25) if n != 7], kind="ir", ext=".jpg")
    (rec / "sync.json").write_text(json.dumps({"rgb_fps": 30, "ir_fps": 25}))
    rows = [("S03/dark/frames", "S03", "stop", 3, 20, "", "")]
    data, _, clips, _ = _run(tmp_path / "raw", tmp_path, rows=rows)
    clip = clips.loc[2]
    assert decoded(data, clip.rgb_path) == list(range(3, 21))
    ir_numbers = [n for n in range(25) if n != 7]
    ir_times = [Fraction(n, 25) for n in ir_numbers]
    want = [ir_numbers[nearest(ir_times, Fraction(i, 30))] for i in range(3, 21)]
    assert decoded(data, clip.ir_path) == want and 7 not in want


def test_rerun_keeps_variable_rate_and_resampled_clips(raw, source_run, grid_run, tmp_path):
    for (data, first, clips, _), fps in ((source_run, "source"), (grid_run, "25")):
        copy = tmp_path / fps
        shutil.copytree(data, copy)
        again = segment_dataset(
            raw,
            _ann(tmp_path / "labels.csv"),
            copy,
            align="none",
            workers=1,
            sync=SyncOptions.parse(fps),
        )
        assert (again.written, again.skipped, again.clips) == (0, first.clips, first.clips)
        second = read_frame(copy / "manifest/clips.parquet", ClipRecord).set_index("source_row")
        assert second.equals(clips)
