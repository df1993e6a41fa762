"""Segmentation: exact frames per modality, every reject reason, broken media, re-runs."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from mgrdark_data.manifest import read_frame
from mgrdark_data.media import count_decoded_frames, iter_frames, probe_stream
from mgrdark_data.records import ClipRecord, RecordingRecord, RejectRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing import decode_index, depth_value, make_recording, write_annotations
from mgrdark_data.timemap import ir_index

IR_FPS = 30
IR_OFFSET = 0.1


@pytest.fixture(scope="session")
def raw(tmp_path_factory) -> Path:
    """Two recordings: IR at 30 fps with a 0.1 s offset and PNG depth; IR/depth at 25 fps."""
    raw = tmp_path_factory.mktemp("raw")
    make_recording(
        raw,
        "S01/dark/hall",
        rgb_frames=80,
        ir_fps=IR_FPS,
        ir_frames=100,
        depth="png",
        sync={"ir_offset_s": IR_OFFSET},
    )
    make_recording(raw, "S02/daylight/lab", rgb_frames=60, depth="video", rgb_ext=".avi")
    return raw


def _decoded(data: Path, rel: str, fmt: str = "rgb24") -> list[int]:
    return [decode_index(f.to_ndarray(format=fmt)) for _, f in iter_frames(data / rel)]


@pytest.fixture(scope="session")
def good_run(raw, tmp_path_factory):
    ann = write_annotations(
        tmp_path_factory.mktemp("ann") / "labels.csv",
        [
            ("S01/dark/hall", "S01", "forward", 5, 20, "take 1"),
            ("S01/dark/hall", "S01", "turn left", 30, 79, ""),
            ("S02/daylight/lab", "S02", "3", 0, 59, "x"),
        ],
        extra_columns=["notes"],
    )
    data = tmp_path_factory.mktemp("data")
    report = segment_dataset(raw, ann, data, align="none", workers=1)
    return data, report, read_frame(data / "manifest/clips.parquet", ClipRecord)


def test_rgb_clip_frame_k_is_source_frame_start_plus_k(good_run):
    data, _, clips = good_run
    for row in clips.itertuples():
        assert _decoded(data, row.rgb_path) == list(range(row.start_frame, row.end_frame + 1))
        info = probe_stream(data / row.rgb_path)
        assert (info.fps, info.frames, info.pix_fmt) == (Fraction(25), row.num_frames, "yuv420p")


def test_ir_frames_follow_the_time_mapping_at_another_rate_and_offset(good_run):
    data, _, clips = good_run
    row = clips.set_index("clip_id").loc["S01__dark__hall__000005_000020"]
    expected = [ir_index(i, Fraction(25), Fraction(IR_FPS), IR_OFFSET) for i in range(5, 21)]
    # (5/25 + 0.1) * 30 + 0.5 = 9.5 -> 9; IR frames 12 and 18 are skipped at 30 fps -> 25 fps
    assert expected[:5] == [9, 10, 11, 13, 14]
    assert _decoded(data, row.ir_path, "gray") == expected
    assert (row.ir_start_frame, row.ir_end_frame) == (expected[0], expected[-1])
    assert probe_stream(data / row.ir_path).fps == Fraction(25)


def test_depth_is_lossless_16bit_from_png_folder_and_from_video(good_run):
    data, _, clips = good_run
    for row in clips.itertuples():
        values = []
        for _, frame in iter_frames(data / row.depth_path):
            img = frame.to_ndarray()
            assert img.dtype.name == "uint16" and (img == img[0, 0]).all()
            values.append(int(img[0, 0]))
        assert values == [depth_value(i) for i in range(row.start_frame, row.end_frame + 1)]
        assert max(values) > 255 and probe_stream(data / row.depth_path).pix_fmt == "gray16le"


def test_manifest_columns_labels_extra_and_light(good_run):
    _, report, clips = good_run
    assert report.clips == report.written == 3 and report.rejected == 0
    by_id = clips.set_index("clip_id")
    lab = by_id.loc["S02__daylight__lab__000000_000059"]
    assert (lab.gesture, lab.label, lab.light, lab.notes) == ("keep down", 3, "daylight", "x")
    hall = by_id.loc["S01__dark__hall__000030_000079"]
    assert (hall.num_frames, hall.light, hall.notes) == (50, "dark", "")  # carried unchanged
    assert hall.rgb_path == "clips/rgb/S01__dark__hall__000030_000079.mp4"
    assert hall.depth_path.endswith(".mkv") and hall.ir_path.endswith(".mp4")
    assert not hall.ir_aligned
    assert len(hall.rgb_sha256) == 64 and hall.rgb_bytes > 0


def test_recordings_manifest(good_run):
    data, _, _ = good_run
    recs = read_frame(data / "manifest/recordings.parquet", RecordingRecord).set_index("recording")
    hall = recs.loc["S01/dark/hall"]
    assert (hall.rgb_frames, hall.ir_frames, hall.ir_fps, hall.ir_offset_s) == (80, 100, 30.0, 0.1)
    assert (hall.depth_kind, hall.sync_source, hall.align_mode) == ("png", "sync.json", "none")
    assert recs.loc["S02/daylight/lab"].sync_source == "default"


BAD_ROWS = [
    # (row, expected reason code or None when accepted)
    (("S02/daylight/lab", "S02", "stop", 0, 9), None),
    (("S02/daylight/lab", "S02", "stop", 20, 10), "start_after_end"),
    (("S02/daylight/lab", "S02", "stop", 50, 60), "outside_stream"),
    (("S02/daylight/lab", "S02", "stop", "1.5", 9), "non_integer_frame"),
    (("S02/daylight/lab", "S02", "stop", "", 9), "non_integer_frame"),
    (("S02/daylight/lab", "S02", "jump", 12, 14), "unknown_class"),
    (("S02/daylight/lab", "S02", "10", 12, 14), "unknown_class"),
    (("S02/daylight/lab", "", "stop", 12, 14), "missing_subject"),
    (("../S02/daylight/lab", "S02", "stop", 12, 14), "unsafe_recording"),
    (("/etc/S02", "S02", "stop", 12, 14), "unsafe_recording"),
    (("S09/dark/nowhere", "S09", "stop", 12, 14), "unknown_recording"),
    (("S02/daylight/lab", "S02", "stop", 0, 9), "duplicate"),
    (("S02/daylight/lab", "S02", "upward", 30, 40), "overlap"),
    (("S02/daylight/lab", "S02", "quiet", 35, 45), "overlap"),
    (("S01/short/ir", "S01", "stop", 10, 30), "ir_not_covering"),
    (("S01/short/ir", "S01", "stop", 0, 3), "ir_not_covering"),
    (("S01/short/depth", "S01", "stop", 25, 35), "depth_not_covering"),
    (("S01/short/depth", "S01", "stop", 0, 9), None),
]


@pytest.fixture(scope="session")
def bad_run(raw, tmp_path_factory):
    raw2 = tmp_path_factory.mktemp("raw2")
    shutil.copytree(raw / "S02", raw2 / "S02")
    # IR 20 frames starting 0.2 s late: covers RGB frames 5..24 only
    make_recording(raw2, "S01/short/ir", rgb_frames=40, ir_frames=20, sync={"ir_offset_s": -0.2})
    make_recording(raw2, "S01/short/depth", rgb_frames=40, depth_frames=30)
    ann = write_annotations(raw2 / "labels.csv", [r for r, _ in BAD_ROWS])
    data = tmp_path_factory.mktemp("data_bad")
    report = segment_dataset(raw2, ann, data, align="none", workers=2)
    return raw2, data, report


def test_each_bad_row_is_rejected_with_its_reason_and_good_rows_survive(bad_run):
    _, data, report = bad_run
    rejects = read_frame(data / "manifest/rejects.parquet", RejectRecord)
    got = dict(zip(rejects.source_row, rejects.reason_code, strict=True))
    expected = {n + 2: code for n, (_, code) in enumerate(BAD_ROWS) if code}
    assert got == expected
    clips = read_frame(data / "manifest/clips.parquet", ClipRecord)
    assert sorted(clips.source_row) == [n + 2 for n, (_, c) in enumerate(BAD_ROWS) if c is None]
    assert report.reject_counts["overlap"] == 2 and report.rejected == len(expected)


def test_reject_messages_name_the_values(bad_run):
    _, data, _ = bad_run
    reasons = read_frame(data / "manifest/rejects.parquet", RejectRecord).set_index("source_row")
    assert reasons.loc[3].reason == "start_frame 20 > end_frame 10"
    assert "60 frames, last index 59" in reasons.loc[4].reason
    assert reasons.loc[5].start_frame == "1.5"
    assert reasons.loc[13].reason == "duplicate of row 2"
    assert "IR stream has 20 frames" in reasons.loc[16].reason


def test_broken_media_rejects_only_its_recording(raw, tmp_path):
    raw2 = tmp_path / "raw"
    shutil.copytree(raw, raw2)
    (raw2 / "S02/daylight/lab/rgb.avi").write_bytes(b"not a video at all" * 100)
    ann = write_annotations(
        tmp_path / "labels.csv",
        [
            ("S01/dark/hall", "S01", "forward", 5, 20),
            ("S02/daylight/lab", "S02", "stop", 0, 9),
        ],
    )
    report = segment_dataset(raw2, ann, tmp_path / "data", align="none", workers=1)
    assert (report.clips, report.rejected, report.failed_recordings) == (1, 1, 1)
    rej = read_frame(tmp_path / "data/manifest/rejects.parquet", RejectRecord).iloc[0]
    assert rej.reason_code == "media_error" and "rgb.avi" in rej.reason
    recs = read_frame(tmp_path / "data/manifest/recordings.parquet", RecordingRecord)
    assert recs.set_index("recording").loc["S02/daylight/lab"].status == "error"


def test_truncated_stream_keeps_clips_before_the_damage(tmp_path):
    raw = tmp_path / "raw"
    rec = make_recording(raw, "S01/dark/a", rgb_frames=200, depth=None, ir_frames=0)
    data = (rec / "rgb.mp4").read_bytes()
    (rec / "rgb.mp4").write_bytes(data[: len(data) * 2 // 3])
    ann = write_annotations(
        tmp_path / "l.csv",
        [
            ("S01/dark/a", "S01", "stop", 0, 20),
            ("S01/dark/a", "S01", "stop", 190, 199),
        ],
    )
    report = segment_dataset(raw, ann, tmp_path / "data", align="none", workers=1)
    rejects = read_frame(tmp_path / "data/manifest/rejects.parquet", RejectRecord)
    # A cut mp4 loses its index, so the damage shows when probing; either way, nothing
    # half-written is listed and the run finishes.
    assert report.clips + report.rejected == 2
    assert set(rejects.reason_code) <= {"media_error", "outside_stream"}


def test_rerun_skips_verified_clips_and_yields_the_same_manifest(raw, good_run, tmp_path):
    data, _, first = good_run
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    ann = tmp_path / "labels.csv"
    write_annotations(
        ann,
        [
            ("S01/dark/hall", "S01", "forward", 5, 20, "take 1"),
            ("S01/dark/hall", "S01", "turn left", 30, 79, ""),
            ("S02/daylight/lab", "S02", "3", 0, 59, "x"),
        ],
        extra_columns=["notes"],
    )
    again = segment_dataset(raw, ann, copy, align="none", workers=1)
    assert (again.written, again.skipped) == (0, 3)
    second = read_frame(copy / "manifest/clips.parquet", ClipRecord)
    assert second.drop(columns="source_row").equals(first.drop(columns="source_row"))
    forced = segment_dataset(raw, ann, copy, align="none", workers=1, force=True)
    assert (forced.written, forced.skipped) == (3, 0)


def test_changed_encoder_settings_re_encode(raw, tmp_path):
    from mgrdark_data.media.write import EncoderSettings

    ann = write_annotations(tmp_path / "l.csv", [("S01/dark/hall", "S01", "stop", 0, 9)])
    segment_dataset(raw, ann, tmp_path / "d", align="none", workers=1)
    r = segment_dataset(
        raw, ann, tmp_path / "d", align="none", workers=1, settings=EncoderSettings(crf=30)
    )
    assert (r.written, r.skipped) == (1, 0)


def test_packet_verification_writes_the_same_clips(raw, good_run, tmp_path):
    from mgrdark_data.media.write import EncoderSettings

    data, _, first = good_run
    ann = write_annotations(
        tmp_path / "labels.csv",
        [
            ("S01/dark/hall", "S01", "forward", 5, 20, "take 1"),
            ("S01/dark/hall", "S01", "turn left", 30, 79, ""),
            ("S02/daylight/lab", "S02", "3", 0, 59, "x"),
        ],
        extra_columns=["notes"],
    )
    segment_dataset(
        raw,
        ann,
        tmp_path / "d",
        align="none",
        workers=1,
        settings=EncoderSettings(verify="packets"),
    )
    again = read_frame(tmp_path / "d/manifest/clips.parquet", ClipRecord)
    assert again.rgb_sha256.tolist() == first.rgb_sha256.tolist()
    assert again.depth_sha256.tolist() == first.depth_sha256.tolist()


def test_index_base_one(raw, tmp_path):
    ann = write_annotations(
        tmp_path / "l.csv",
        [
            ("S02/daylight/lab", "S02", "stop", 1, 10),
            ("S02/daylight/lab", "S02", "stop", 0, 5),
            ("S02/daylight/lab", "S02", "stop", 55, 61),
        ],
    )
    segment_dataset(raw, ann, tmp_path / "d", align="none", workers=1, index_base=1)
    clips = read_frame(tmp_path / "d/manifest/clips.parquet", ClipRecord)
    assert (clips.start_frame.tolist(), clips.end_frame.tolist()) == ([0], [9])
    assert _decoded(tmp_path / "d", clips.rgb_path[0]) == list(range(10))
    rejects = read_frame(tmp_path / "d/manifest/rejects.parquet", RejectRecord)
    assert rejects.reason_code.tolist() == ["negative_frame", "outside_stream"]
    assert "frames 55-61" in rejects.reason[1] and "last index 60" in rejects.reason[1]


def test_missing_streams_leave_columns_null(tmp_path):
    raw = tmp_path / "raw"
    make_recording(raw, "S03/dark/x", rgb_frames=30, depth=None, ir_frames=0)
    ann = write_annotations(tmp_path / "l.csv", [("S03/dark/x", "S03", "stop", 3, 12)])
    segment_dataset(raw, ann, tmp_path / "d", align="auto", workers=1)
    clip = read_frame(tmp_path / "d/manifest/clips.parquet", ClipRecord).iloc[0]
    assert pd.isna(clip.depth_path) and pd.isna(clip.ir_path) and clip.num_frames == 10
    assert count_decoded_frames(tmp_path / "d" / clip.rgb_path) == 10


def test_bad_sync_json_rejects_its_rows(tmp_path):
    raw = tmp_path / "raw"
    rec = make_recording(raw, "S03/dark/x", rgb_frames=30, depth=None)
    (rec / "sync.json").write_text("{not json")
    ann = write_annotations(tmp_path / "l.csv", [("S03/dark/x", "S03", "stop", 3, 12)])
    report = segment_dataset(raw, ann, tmp_path / "d", align="none", workers=1)
    rej = read_frame(tmp_path / "d/manifest/rejects.parquet", RejectRecord).iloc[0]
    assert report.clips == 0 and rej.reason_code == "bad_sync" and "sync.json" in rej.reason


def test_span_rejects_keep_the_csv_numbering(tmp_path):
    """Duplicate and overlap rejects, like every other reject, give frames as the CSV has them."""
    from mgrdark_data.annotations import parse_annotations
    from mgrdark_data.vocabulary import load_vocabulary

    ann = write_annotations(
        tmp_path / "l.csv",
        [
            ("S01/dark/x", "S01", "stop", 1, 10),
            ("S01/dark/x", "S01", "stop", 1, 10),
            ("S01/dark/x", "S01", "quiet", 20, 30),
            ("S01/dark/x", "S01", "upward", 25, 35),
        ],
    )
    _, rejects = parse_annotations(ann, load_vocabulary(), index_base=1)
    by_row = {r.source_row: r for r in rejects}
    assert by_row[3].reason_code == "duplicate"
    assert (by_row[3].start_frame, by_row[3].end_frame) == ("1", "10")
    assert by_row[4].reason == "frames 20-30 overlap row 5 (25-35)"
    assert by_row[5].reason == "frames 25-35 overlap row 4 (20-30)"
    assert (by_row[5].start_frame, by_row[5].end_frame) == ("25", "35")
