"""Per-sensor annotation ranges (`ir_start_frame`/`ir_end_frame`, `depth_start_frame`/
`depth_end_frame`): the linear map, the row checks, and the clips they give in the MGR-Dark
layout (frame-coded streams, so every clip frame names its source frame)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import av
import pandas as pd
import pytest

from mgrdark_data.annotations import read_instances
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing.media import (
    decode_index,
    depth_index,
    make_recording,
    write_annotations,
)
from mgrdark_data.timemap import linear_frames
from mgrdark_data.vocabulary import load_vocabulary

SENSOR = ("ir_start_frame", "ir_end_frame", "depth_start_frame", "depth_end_frame")


def _formula(start: int, end: int, n: int) -> list[int]:
    return [
        start + math.floor(Fraction(k * (end - start), n - 1) + Fraction(1, 2)) for k in range(n)
    ]


def test_linear_frames_is_the_contract_formula_exactly():
    m = linear_frames(161, 253, 80)  # NvGesture's example: 93 DUO frames over 80 colour frames
    assert m.given and m.indices[0] == 161 and m.indices[-1] == 253 and len(m.indices) == 80
    assert m.indices.tolist() == _formula(161, 253, 80)
    assert m.indices[:6].tolist() == [161, 162, 163, 164, 166, 167]  # 1.1772 frames per step
    assert linear_frames(10, 14, 5).indices.tolist() == [10, 11, 12, 13, 14]
    assert linear_frames(0, 2, 5).indices.tolist() == [0, 1, 1, 2, 2]  # halfway rounds up
    assert linear_frames(7, 7, 3).indices.tolist() == [7, 7, 7]
    assert linear_frames(4, 9, 1).indices.tolist() == [4]
    rng = random.Random(0)
    for _ in range(300):
        start, n = rng.randrange(0, 10**6), rng.randrange(2, 400)
        end = start + rng.randrange(0, 3 * n)
        assert linear_frames(start, end, n).indices.tolist() == _formula(start, end, n)


def _rows(path, rows, base=0):
    write_annotations(path, rows, extra_columns=SENSOR)
    vocab = load_vocabulary()
    return read_instances(path, vocab, index_base=base)


def test_bad_per_sensor_cells_are_rejected_with_reasons(tmp_path):
    rec = ("r", "S01", "forward", 10, 20)
    kept, rejects = _rows(
        tmp_path / "a.csv",
        [
            (*rec, 5, 15, "", ""),
            ("r", "S01", "forward", 30, 40, 7, "", "", ""),
            ("r", "S01", "forward", 50, 60, "x", 9, "", ""),
            ("r", "S01", "forward", 70, 80, "", "", 9, 3),
            ("r", "S01", "forward", 90, 99, "", "", "", 12),
        ],
    )
    assert [(i.source_row, i.sensor_ranges) for i in kept] == [(2, {"ir": (5, 15)})]
    assert [(r.source_row, r.reason_code, r.reason) for r in rejects] == [
        (3, "incomplete_sensor_range", "ir_start_frame is given but ir_end_frame is empty"),
        (4, "non_integer_frame", "ir_start_frame 'x' is not an integer"),
        (5, "start_after_end", "depth_start_frame 9 > depth_end_frame 3"),
        (6, "incomplete_sensor_range", "depth_end_frame is given but depth_start_frame is empty"),
    ]
    kept, rejects = _rows(
        tmp_path / "b.csv",
        [(*rec, 5, 15, 1, 2), ("r", "S01", "forward", 30, 40, 0, 4, "", "")],
        base=1,
    )
    assert kept[0].sensor_ranges == {"ir": (4, 14), "depth": (0, 1)}  # same index base
    assert (rejects[0].reason_code, rejects[0].reason) == (
        "negative_frame",
        "ir_start_frame 0 is below the index base 1",
    )


def _decoded(path, depth=False):
    with av.open(str(path)) as c:
        if depth:
            return [depth_index(f.to_ndarray(format="gray16le")[0, 0]) for f in c.decode(video=0)]
        return [decode_index(f.to_ndarray(format="gray")) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    base = tmp_path_factory.mktemp("sensor_ranges")
    raw = base / "raw"
    make_recording(raw, "S01/dark/hall", rgb_frames=60, fps=25, ir_frames=40, ir_fps=20)
    rows = [
        # IR and depth given per sensor
        {"recording": "S01/dark/hall", "subject": "S01", "gesture": "forward", "start_frame": 5}
        | {"end_frame": 16, "ir_start_frame": 3, "ir_end_frame": 30}
        | {"depth_start_frame": 40, "depth_end_frame": 45},
        # depth only: IR keeps the time mapping
        {"recording": "S01/dark/hall", "subject": "S01", "gesture": "stop", "start_frame": 20}
        | {"end_frame": 29, "depth_start_frame": 50, "depth_end_frame": 59},
        # the IR range runs past the IR stream (40 frames)
        {"recording": "S01/dark/hall", "subject": "S01", "gesture": "quiet", "start_frame": 40}
        | {"end_frame": 49, "ir_start_frame": 30, "ir_end_frame": 40},
    ]
    ann = write_annotations(base / "labels.csv", [], extra_columns=SENSOR)
    pd.DataFrame(rows).to_csv(ann, index=False)
    report = segment_dataset(raw, ann, base / "data", align="none", workers=1)
    clips = pd.read_parquet(base / "data" / "manifest" / "clips.parquet").set_index("source_row")
    rejects = pd.read_parquet(base / "data" / "manifest" / "rejects.parquet")
    return base / "data", report, clips, rejects


def test_per_sensor_ranges_override_the_time_mapping(segmented):
    data, report, clips, _ = segmented
    assert report.clips == 2
    first = clips.loc[2]
    assert _decoded(data / first["rgb_path"]) == list(range(5, 17))
    assert _decoded(data / first["ir_path"]) == _formula(3, 30, 12)
    assert _decoded(data / first["depth_path"], depth=True) == _formula(40, 45, 12)
    assert pd.isna(first["ir_sync_error_ms"]) and pd.isna(first["depth_sync_error_ms"])
    second = clips.loc[3]
    assert _decoded(data / second["depth_path"], depth=True) == list(range(50, 60))
    # IR by time: floor(i / 25 * 20 + 1/2) for RGB frames 20..29, with its sync error measured
    expected = [math.floor(Fraction(i * 20, 25) + Fraction(1, 2)) for i in range(20, 30)]
    assert _decoded(data / second["ir_path"]) == expected
    assert second["ir_sync_error_ms"] == 20.0 and pd.isna(second["depth_sync_error_ms"])


def test_a_per_sensor_range_past_its_stream_is_rejected(segmented):
    _, report, _, rejects = segmented
    assert report.reject_counts == {"ir_not_covering": 1}
    r = rejects.iloc[0]
    assert (r["source_row"], r["reason"]) == (
        4,
        "ir_end_frame 40 is past the ir stream (40 frames, last index 39)",
    )
