"""`mgrdata synth` capture options: variable-rate dark RGB, IR drops and a dropout, depth
timestamps with jitter, image folders, and truth.json's frame times and reject expectations,
checked against the files as written (decoded with PyAV, read from folders and CSV files)."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.errors import OptionError
from mgrdark_data.synth import (
    CaptureOptions,
    clip_expectation,
    expected_sources,
    plan_dataset,
    read_truth,
    synthesize,
)
from mgrdark_data.synth.capture import capture_options
from mgrdark_data.synth.render import read_stamp, stamp_index
from mgrdark_data.synth.truth import expand_runs, frame_times, pts_runs
from mgrdark_data.synth.writer import build_composers, figure_at

SMALL = dict(
    subjects=1, scenes=1, scale=0.0625, seed=2, gesture_frames=(16, 24), rest_frames=(4, 8)
)
RIG = CaptureOptions(
    rgb_dark_fps=15,
    ir_drops=3,
    ir_dropout_s=0.25,
    timestamps=("depth",),
    depth_jitter_ms=4.0,
    stamp=True,
)
TAKES = ("S01/dark/hall", "S01/daylight/hall")


@pytest.fixture(scope="module")
def default_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("default") / "RAW"
    synthesize(raw, **SMALL)
    return raw


@pytest.fixture(scope="module")
def rig_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("rig") / "RAW"
    synthesize(raw, **SMALL, capture=RIG)
    return raw


KINECT_ARGS = ["--subjects", "1", "--scenes", "1", "--scale", "0.0625", "--seed", "4"]
KINECT_ARGS += ["--gesture-frames", "20", "28", "--rest-frames", "5", "8"]


@pytest.fixture(scope="module")
def kinect_raw(tmp_path_factory) -> Path:
    """`--rig kinect` with image folders, stamps and labels in seconds, through the CLI."""
    raw = tmp_path_factory.mktemp("kinect") / "RAW"
    args = ["synth", str(raw), *KINECT_ARGS, "--rig", "kinect", "--stream-format", "folder"]
    result = CliRunner().invoke(cli, [*args, "--stamp", "--label-seconds", "-q"])
    assert result.exit_code == 0, result.output
    assert "2 gestures must be rejected" in result.output  # one IR dropout per take
    return raw


def decoded(path: Path, fmt: str) -> tuple[list[Fraction], list[np.ndarray]]:
    """Exact presentation times and frames of a video, in decode order."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        return [f.pts * s.time_base for f in frames], [f.to_ndarray(format=fmt) for f in frames]


def folder_numbers(folder: Path) -> list[int]:
    return sorted(int(p.stem) for p in folder.glob("*.png"))


def read_timestamps(path: Path) -> tuple[str, list[Fraction]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    unit = {"time_s": 1, "time_ms": 1000, "time_us": 1_000_000}[rows[0][0]]
    return rows[0][0], [Fraction(r[0]) / unit for r in rows[1:]]


def test_default_options_write_constant_rate_videos_without_timestamps(default_raw):
    truth = read_truth(default_raw / "truth.json")
    assert truth["version"] == 2 and not list(default_raw.rglob("*.timestamps.csv"))
    for rid in TAKES:
        folder, entry = default_raw / rid, truth["recordings"][rid]
        assert json.loads((folder / "sync.json").read_text()).keys() == {
            "ir_offset_s",
            "depth_offset_frames",
        }
        rgb_pts, _ = decoded(folder / "rgb.mp4", "rgb24")
        ir_pts, _ = decoded(folder / "ir.mp4", "gray")
        assert rgb_pts == [Fraction(i, 25) for i in range(len(rgb_pts))]
        assert ir_pts == [Fraction(j, 30) for j in range(len(ir_pts))]
        streams = entry["streams"]
        assert streams["rgb"]["pts"] == [[0, 1, len(rgb_pts)]]
        assert streams["rgb"]["time_base"] == "1/25" and streams["ir"]["time_base"] == "1/30"
        assert frame_times(streams["ir"]) == ir_pts
        assert streams["depth"]["frames"] == len(rgb_pts)
        assert {s["timeline"] for s in streams.values()} <= {"pts", "names"}
        assert not any(g["expect_reject"] for g in entry["gestures"])
        assert "rate_switch" not in streams["rgb"] and "dropped" not in streams["ir"]


def test_dark_rgb_switches_to_15_fps_inside_its_first_gesture(rig_raw):
    truth = read_truth(rig_raw / "truth.json")
    with open(rig_raw / "labels.csv", newline="") as f:
        labels = [r for r in csv.DictReader(f)]
    for rid in TAKES:
        entry = truth["recordings"][rid]
        pts, frames = decoded(rig_raw / rid / "rgb.mp4", "rgb24")
        assert pts == frame_times(entry["streams"]["rgb"])  # the container holds true times
        gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
        if rid.endswith("daylight/hall"):
            assert set(gaps) == {Fraction(1, 25)} and "rate_switch" not in entry["streams"]["rgb"]
        else:
            switch = entry["streams"]["rgb"]["rate_switch"]
            s, first = switch["frame"], entry["gestures"][0]
            assert switch["fps"] == 15.0 and first["start_frame"] < s <= first["end_frame"]
            assert set(gaps[: s - 1]) == {Fraction(1, 25)}
            assert set(gaps[s - 1 :]) == {Fraction(1, 15)}
        # Every frame carries its position in the stream: annotations index stream order.
        assert [read_stamp(f, "rgb") for f in frames] == list(range(len(frames)))
        rows = [r for r in labels if r["recording"] == rid]
        spans = [(int(r["start_frame"]), int(r["end_frame"])) for r in rows]
        assert spans == [(g["start_frame"], g["end_frame"]) for g in entry["gestures"]]
        for g in entry["gestures"]:
            assert (g["start_s"], g["end_s"]) == (
                float(pts[g["start_frame"]]),
                float(pts[g["end_frame"]]),
            )


def test_ir_drops_and_one_dropout_that_forces_one_reject(rig_raw):
    truth = read_truth(rig_raw / "truth.json")
    for rid in TAKES:
        entry = truth["recordings"][rid]
        ir = entry["streams"]["ir"]
        pts, frames = decoded(rig_raw / rid / "ir.mp4", "gray")
        assert pts == frame_times(ir) and ir["timeline"] == "pts"
        numbers = [int(t * 30) for t in pts]
        assert [t * 30 for t in pts] == numbers  # on the 30 fps grid, gaps where frames are lost
        first, last = ir["dropout"]
        assert last - first + 1 == 8  # 0.25 s at 30 fps, rounded
        dropped = ir["dropped"]
        assert (
            len(dropped) == 3 and min(b - a for a, b in zip(dropped, dropped[1:], strict=False)) > 1
        )
        lost = set(range(first, last + 1)) | set(dropped)
        assert sorted(set(range(numbers[-1] + 1)) - set(numbers)) == sorted(lost)
        assert 0 not in lost and [read_stamp(f, "ir") for f in frames] == list(range(len(frames)))
        # Exactly one gesture must be rejected: the one the dropout lies over.
        rejected = [g for g in entry["gestures"] if g["expect_reject"]]
        assert [g["expect_reject"] for g in rejected] == ["sync_gap"]
        g = rejected[0]
        on_ir_clock = [g["start_s"] + ir["offset_s"], g["end_s"] + ir["offset_s"]]
        assert on_ir_clock[0] < last / 30 and first / 30 < on_ir_clock[1]
        assert f"IR frames {first}-{last} lost" in g["why"]
        for fps in (None, 25):
            for h in entry["gestures"]:
                exp = clip_expectation(truth, rid, h["start_frame"], h["end_frame"], fps=fps)
                assert exp.reject == h["expect_reject"]
                assert exp.gap_stream == ("ir" if h is g else None)
                if h is g:
                    assert exp.errors["ir"] > Fraction(3, 2) / 30
                else:  # single drops and jitter stay inside the tolerance
                    assert exp.errors["ir"] <= Fraction(1, 30)
                    assert exp.errors["depth"] <= Fraction(1, 50) + Fraction(4, 1000)


def test_depth_timestamps_file_carries_the_jittered_true_times(rig_raw):
    truth = read_truth(rig_raw / "truth.json")
    for rid in TAKES:
        folder, depth = rig_raw / rid, truth["recordings"][rid]["streams"]["depth"]
        column, times = read_timestamps(folder / "depth.timestamps.csv")
        assert column == "time_us" and depth["timeline"] == "timestamps"
        assert times == frame_times(depth) and depth["jitter_ms"] == 4.0
        if (folder / "depth").is_dir():
            files = sorted((folder / "depth").glob("*.png"))
            images = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in files]
        else:
            pts, images = decoded(folder / "depth.mkv", "gray16le")
            # The container only counts frames at the nominal rate; the file has the truth.
            assert pts == [Fraction(round(k * 40), 1000) for k in range(len(pts))]
        assert len(images) == len(times) == depth["frames"]
        assert [read_stamp(img, "depth") for img in images] == list(range(len(images)))
        jitter = [t - Fraction(k, 25) for k, t in enumerate(times)]
        assert max(abs(j) for j in jitter) <= Fraction(4, 1000) and jitter[0] >= 0
        assert sum(j != 0 for j in jitter) > 0.9 * len(jitter)
        assert all(a < b for a, b in zip(times, times[1:], strict=False))
        # On a variable-rate take depth keeps its nominal rate: more frames than RGB.
        rgb = truth["recordings"][rid]["streams"]["rgb"]
        assert len(times) == round(float(frame_times(rgb)[-1]) * 25) + 1


def test_kinect_folders_are_named_by_frame_number(kinect_raw):
    truth = read_truth(kinect_raw / "truth.json")
    for rid in TAKES:
        folder, entry = kinect_raw / rid, truth["recordings"][rid]
        sync = json.loads((folder / "sync.json").read_text())
        assert (sync["rgb_fps"], sync["depth_fps"], sync["ir_fps"]) == (30.0, 30.0, 30.0)
        for name in ("rgb", "ir"):
            stream = entry["streams"][name]
            assert stream["path"] == name and stream["timeline"] == "names"
            numbers = folder_numbers(folder / name)
            assert numbers == expand_runs(stream["numbers"])
            assert [Fraction(n, 30) for n in numbers] == frame_times(stream)
        column, times = read_timestamps(folder / "depth.timestamps.csv")
        assert column == "time_ms" and times == frame_times(entry["streams"]["depth"])
        rgb = folder_numbers(folder / "rgb")
        if "dark" in rid:  # at 15 fps every other 30 fps number is missing: a rate, not drops
            s = entry["streams"]["rgb"]["rate_switch"]["frame"]
            assert rgb[:s] == list(range(s)) and set(np.diff(rgb[s - 1 :])) == {2}
        else:
            assert rgb == list(range(len(rgb)))
        ir = folder_numbers(folder / "ir")
        missing = set(range(ir[-1] + 1)) - set(ir)
        first, last = entry["streams"]["ir"]["dropout"]
        assert missing == set(entry["streams"]["ir"]["dropped"]) | set(range(first, last + 1))


def test_kinect_labels_in_seconds_map_back_to_the_annotated_frames(kinect_raw):
    truth = read_truth(kinect_raw / "truth.json")
    with open(kinect_raw / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "recording",
        "subject",
        "gesture",
        "start_s",
        "end_s",
        "light",
        "scene",
    ]
    for rid in TAKES:
        spans = [(r["start_s"], r["end_s"]) for r in rows if r["recording"] == rid]
        got = [tuple(expected_sources(truth, rid, map(Fraction, s), "rgb")) for s in spans]
        gestures = truth["recordings"][rid]["gestures"]
        assert got == [(g["start_frame"], g["end_frame"]) for g in gestures]


def test_every_frame_shows_the_scene_at_its_true_time(kinect_raw):
    """Lossless folders: each written frame equals a fresh render at truth.json's time."""
    truth = read_truth(kinect_raw / "truth.json")
    capture = capture_options("kinect", stream_format="folder", stamp=True)
    takes = plan_dataset(
        subjects=1, scenes=1, scale=0.0625, seed=4, gesture_frames=(20, 28), rest_frames=(5, 8),
        capture=capture,
    )  # fmt: skip
    for take in takes:
        entry = truth["recordings"][take.recording]
        assert json.loads(json.dumps(take.truth())) == entry
        rgb_c, _, ir_c = build_composers(take, np.random.default_rng(list(take.seed_words)))
        for name, composer, offset in (("rgb", rgb_c, 0.0), ("ir", ir_c, take.ir_offset_s)):
            stream = entry["streams"][name]
            numbers, times = expand_runs(stream["numbers"]), frame_times(stream)
            picks = {1, len(times) // 3, len(times) // 2, len(times) - 2}
            if "rate_switch" in stream:
                picks |= {stream["rate_switch"]["frame"] + 1}
            for k in sorted(picks):
                path = kinect_raw / take.recording / name / f"{numbers[k]:06d}.png"
                img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if name == "rgb" else img
                want = composer.frame(numbers[k], figure_at(take, float(times[k]) - offset))
                np.testing.assert_array_equal(img, stamp_index(want, k, name))
                # The same frame rendered at its constant-rate time would differ where the
                # person moves, so equality above pins the time, not just the room.
        # Poses follow the annotation's frame count: RGB frame i's true time is frame i.
        rgb_times = frame_times(entry["streams"]["rgb"])
        positions = [take.clocks.rgb_position(float(t)) for t in rgb_times]
        np.testing.assert_allclose(positions, np.arange(len(rgb_times)), atol=1e-4)


def test_oracle_nearest_in_time_with_ties_to_the_later_frame_and_gaps():
    def stream(fps: float, time_base: str, pts: list, offset: float = 0.0) -> dict:
        return {"fps": fps, "time_base": time_base, "pts": pts, "offset_s": offset}

    truth = {
        "recordings": {
            "r": {
                "streams": {
                    "rgb": stream(25.0, "1/25", [[0, 1, 20]]),
                    # Depth frames halfway between RGB frames: every RGB time is a tie.
                    "depth": stream(25.0, "1/50", [[1, 2, 20]]),
                    # IR at 30 fps, 0.1 s late, frames 10-14 lost.
                    "ir": stream(30.0, "1/30", [[0, 1, 10], [15, 1, 15]], offset=0.1),
                }
            }
        }
    }
    times = [Fraction(i, 25) for i in range(20)]
    assert expected_sources(truth, "r", times, "depth") == list(range(20))
    assert expected_sources(truth, "r", [Fraction(3, 25)], "depth", offset_s=0.02) == [3]
    ir = expected_sources(truth, "r", times, "ir")
    assert ir[:5] == [3, 4, 5, 7, 8]  # (t + 0.1 s) x 30 = 3, 4.2, 5.4, 6.6, 7.8
    ok = clip_expectation(truth, "r", 0, 5)
    assert ok.reject is None and ok.sources["depth"] == [0, 1, 2, 3, 4, 5]
    gap = clip_expectation(truth, "r", 5, 12)  # IR clock 0.3-0.58 s, 0.33-0.47 s lost
    assert (gap.reject, gap.gap_stream) == ("sync_gap", "ir")
    assert gap.errors["ir"] == Fraction(7, 25) + Fraction(0.1) - Fraction(9, 30)  # 80 ms
    assert clip_expectation(truth, "r", 5, 12, tolerance_s=0.1).reject is None
    grid = clip_expectation(truth, "r", 0, 4, fps=10)  # 0, 0.1 s ... <= 0.16 s
    assert grid.times == [0, Fraction(1, 10)] and grid.sources["rgb"] == [0, 3]
    assert expand_runs(pts_runs([0, 1, 2, 3, 7, 9, 20])) == [0, 1, 2, 3, 7, 9, 20]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--timestamps", "rgb,thermal"], 2, "unknown streams ['thermal']"),
        (["--ir-dropout", "0.05"], 1, "an IR dropout of 0.05 s cannot be placed"),
        (["--ir-drops", "5000"], 1, "cannot drop 5000 single IR frames"),
        (["--depth-jitter", "30"], 1, "depth jitter must be 0 to 10 ms"),
    ],
)
def test_cli_rejects_impossible_capture_options(tmp_path, args, code, message):
    result = CliRunner().invoke(cli, ["synth", str(tmp_path / "RAW"), *KINECT_ARGS[:8], *args])
    assert result.exit_code == code and message in result.output, result.output
    assert not list(tmp_path.rglob("*.mp4"))  # planned before anything is rendered


def test_capture_options_presets_and_overrides():
    kinect = capture_options("kinect", ir_drops=0, timestamps=())
    assert (kinect.rgb_fps, kinect.rgb_dark_fps, kinect.ir_drops) == (30.0, 15.0, 0)
    assert kinect.timestamps == ("depth",)  # depth jitter needs its timestamps file
    assert capture_options(None) == CaptureOptions()
    assert CaptureOptions(timestamps=("ir", "rgb")).timestamps == ("rgb", "ir")
    with pytest.raises(OptionError, match="unknown rig"):
        capture_options("zed")
    with pytest.raises(OptionError, match="stream_format"):
        CaptureOptions(stream_format="tiff")
