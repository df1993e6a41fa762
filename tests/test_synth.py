"""`mgrdata synth`: layout, labels, truth, brightness, geometry, timing and determinism of the
synthetic raw recordings, all at tiny scales."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.media import iter_frames, probe_stream
from mgrdark_data.synth import (
    LABEL_COLUMNS,
    plan_dataset,
    synthesize,
    synthesize_recording,
    write_labels,
)
from mgrdark_data.synth.cameras import Camera, Optics, make_rig
from mgrdark_data.synth.figure import person_figure
from mgrdark_data.synth.motions import (
    GestureStyle,
    gesture_pose,
    mirror_pose,
)
from mgrdark_data.synth.plan import make_subject
from mgrdark_data.synth.render import draw_figure
from mgrdark_data.synth.scene import depth_background
from mgrdark_data.synth.writer import build_composers
from mgrdark_data.vocabulary import load_vocabulary

TINY = dict(subjects=2, scenes=1, scale=0.05, seed=3, gesture_frames=(10, 16), rest_frames=(3, 6))


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "RAW"
    synthesize(root, **TINY)
    return root


@pytest.fixture(scope="module")
def labels(raw) -> list[dict[str, str]]:
    with open(raw / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def truth(raw) -> dict:
    return json.loads((raw / "truth.json").read_text())


def frame_at(path: Path, index: int, fmt: str) -> np.ndarray:
    for i, frame in iter_frames(path, stop=index + 1):
        if i == index:
            return frame.to_ndarray(format=fmt)
    raise AssertionError(f"{path} has no frame {index}")


def all_frames(path: Path, fmt: str) -> list[np.ndarray]:
    return [f.to_ndarray(format=fmt) for _, f in iter_frames(path)]


def depth_path(folder: Path) -> Path:
    return folder / "depth" if (folder / "depth").is_dir() else folder / "depth.mkv"


def test_layout_streams_and_sizes(raw, truth):
    ids = sorted(truth["recordings"])
    assert ids == ["S01/dark/hall", "S01/daylight/hall", "S02/dark/hall", "S02/daylight/hall"]
    png_per_subject: dict[str, int] = {}
    for rid in ids:
        folder = raw / rid
        depth_kind = "depth" if (folder / "depth").is_dir() else "depth.mkv"
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["rgb.mp4", "ir.mp4", "sync.json", depth_kind]
        )
        png_per_subject[rid[:3]] = png_per_subject.get(rid[:3], 0) + (depth_kind == "depth")
        rgb = probe_stream(folder / "rgb.mp4")
        ir = probe_stream(folder / "ir.mp4")
        depth = probe_stream(depth_path(folder))
        assert (rgb.width, rgb.height, float(rgb.fps)) == (96, 54, 25.0)
        assert (ir.width, ir.height, float(ir.fps)) == (70, 54, 30.0)
        assert (depth.width, depth.height, depth.pix_fmt) == (26, 22, "gray16le")
        assert depth.frames == rgb.frames
    assert png_per_subject == {"S01": 1, "S02": 1}
    # Nothing but recordings and the two annotation files at the top of RAW.
    assert sorted(p.name for p in raw.iterdir()) == ["S01", "S02", "labels.csv", "truth.json"]


@pytest.mark.parametrize(
    "scale, rgb, depth, ir",
    [
        (1.0, (1920, 1080), (512, 424), (1408, 1068)),
        (0.5, (960, 540), (256, 212), (704, 534)),
        (0.1, (192, 108), (52, 42), (140, 106)),
    ],
)
def test_resolutions_follow_scale(scale, rgb, depth, ir):
    rig = make_rig(scale, 0.9, (300.0, 20.0))
    assert (rig.rgb.width, rig.rgb.height) == rgb
    assert (rig.depth.width, rig.depth.height) == depth
    assert (rig.ir.width, rig.ir.height) == ir
    # Shifts are in pixels of the files as written: they scale with the RGB size.
    assert rig.ir.shift_x == pytest.approx(300.0 * rgb[0] / 1920)


def test_labels_are_valid_and_separated_by_rests(raw, labels, truth):
    vocab = load_vocabulary()
    assert list(labels[0]) == list(LABEL_COLUMNS)
    by_recording: dict[str, list[dict[str, str]]] = {}
    for row in labels:
        by_recording.setdefault(row["recording"], []).append(row)
    assert sorted(by_recording) == sorted(truth["recordings"])
    for rid, rows in by_recording.items():
        subject, light, scene = rid.split("/")
        frames = probe_stream(raw / rid / "rgb.mp4").frames
        ir_frames = probe_stream(raw / rid / "ir.mp4").frames
        t = truth["recordings"][rid]
        assert sorted(r["gesture"] for r in rows) == sorted(vocab.names)  # each class once
        spans = [(int(r["start_frame"]), int(r["end_frame"])) for r in rows]
        assert spans == sorted(spans)
        for r, (start, end) in zip(rows, spans, strict=True):
            assert (r["subject"], r["light"], r["scene"]) == (subject, light, scene)
            assert start > 0 and end < frames - 1
            assert 10 <= end - start + 1 <= 16
            for i in (start, end):  # the IR stream covers every annotated frame
                j = math.floor((i / t["rgb_fps"] + t["ir_offset_s"]) * t["ir_fps"] + 0.5)
                assert 0 <= j < ir_frames
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start - end - 1 >= 3  # a rest of at least rest_frames[0] between gestures


def test_truth_format_matches_sync(raw, truth):
    assert set(truth) == {"version", "recordings"} and truth["version"] == 2
    keys = {
        "subject",
        "light",
        "scene",
        "ir_scale",
        "ir_shift_x",
        "ir_shift_y",
        "ir_offset_s",
        "ir_fps",
        "rgb_fps",
    }
    for rid, t in truth["recordings"].items():
        if t["light"] == "dark":
            assert t.pop("dark_noise") == 7.5  # the default sensor noise, recorded
        t = {k: v for k, v in t.items() if k not in ("streams", "gestures")}  # test_synth_rig
        assert set(t) == keys
        assert [t["subject"], t["light"], t["scene"]] == rid.split("/")
        assert all(isinstance(t[k], float) for k in keys - {"subject", "light", "scene"})
        assert 0.75 < t["ir_scale"] < 1.0
        assert abs(t["ir_offset_s"]) <= 0.2
        assert (t["ir_fps"], t["rgb_fps"]) == (30.0, 25.0)
        # IR pixel 0 lands a few hundred full-resolution pixels right of RGB pixel 0.
        assert 100 < t["ir_shift_x"] * 1920 / 96 < 700
        sync = json.loads((raw / rid / "sync.json").read_text())
        assert sync == {"ir_offset_s": t["ir_offset_s"], "depth_offset_frames": 0}


def test_dark_is_dim_and_noisy_daylight_bright(raw):
    for subject in ("S01", "S02"):
        dark = np.stack(all_frames(raw / subject / "dark/hall/rgb.mp4", "rgb24")).astype(float)
        day = np.stack(all_frames(raw / subject / "daylight/hall/rgb.mp4", "rgb24"))
        assert 0.05 <= dark.mean() / 255 <= 0.15
        assert 0.40 <= day.astype(float).mean() / 255 <= 0.50
        # Sensor noise: a static corner of the room flickers from frame to frame in the dark.
        flicker = dark[:, :8, :8].std(axis=0).mean()
        assert flicker > 1.5


def test_ir_is_equally_clear_in_dark_and_daylight(raw):
    contrasts = []
    for light in ("dark", "daylight"):
        frames = np.stack(all_frames(raw / "S01" / light / "hall/ir.mp4", "gray")).astype(float)
        person = np.percentile(frames, 99.5, axis=(1, 2))
        room = np.median(frames, axis=(1, 2))
        contrasts.append(float(np.median(person - room)))
    assert min(contrasts) > 60
    assert abs(contrasts[0] - contrasts[1]) < 20


def test_depth_is_millimetres_with_the_person_at_2_to_4_m(raw):
    plans = {p.recording: p for p in plan_dataset(**TINY)}
    for rid in ("S01/dark/hall", "S02/dark/hall", "S01/daylight/hall"):
        plan = plans[rid]
        empty = depth_background(plan.scene, plan.rig.optics, plan.rig.depth).astype(int)
        inst = plan.gestures[3]
        i = (inst.start + inst.end) // 2
        frame = frame_at(depth_path(raw / rid), i, "gray16le")
        assert frame.dtype == np.uint16
        person = (np.abs(frame.astype(int) - empty) > 150) & (frame > 0)
        assert person.sum() >= 10
        assert frame[person].min() >= 2000 and frame[person].max() <= 4000
        top = frame[0][frame[0] > 0]  # the far wall, above the person
        assert top.min() > 4000


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest connected region (4:2:0 chroma leaves thin outlines at coloured edges)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _inside(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of mask `a` that lies inside mask `b`."""
    return float((a & b).sum() / max(a.sum(), 1))


@pytest.mark.parametrize("dark_noise", [0.0, 3.0, 7.5])
def test_dark_noise_sets_the_sensor_noise_of_dark_rgb_only(dark_noise):
    from mgrdark_data.synth.plan import plan_take
    from mgrdark_data.synth.scene import make_scene

    def noise_std(light: str) -> float:
        plan = plan_take(
            "S01/x/hall",
            subject=make_subject("S01", 2),
            light=light,
            scene=make_scene("hall", 2),
            seed=2,
            rgb_size=(192, 108),
            repeats=0,
            min_gestures=1,
            dark_noise=dark_noise,
        )
        rgb, _, _ = build_composers(plan, np.random.default_rng(list(plan.seed_words)))
        return float(rgb.noise.frames.astype(np.float32).std())

    # Blotchy noise is drawn at half resolution and interpolated (std about 0.7 sigma), plus
    # per-pixel grain of 2 levels; rounding to whole levels adds 1/12 of variance.
    expected = math.sqrt((0.7 * dark_noise) ** 2 + 2.0**2 + 1 / 12)
    assert noise_std("dark") == pytest.approx(expected, rel=0.1)
    assert noise_std("daylight") < 1.5  # daylight takes keep their own, low noise


def test_ir_shows_the_person_where_truth_maps_it(tmp_path):
    raw = tmp_path / "RAW"
    res = synthesize_recording(
        raw,
        "S01/daylight/hall",
        width=192,
        height=108,
        light="daylight",
        seed=5,
        gestures=4,
        gesture_frames=(20, 30),
        rest_frames=(4, 6),
    )
    t = res.truth
    from mgrdark_data.synth.plan import plan_take
    from mgrdark_data.synth.scene import make_scene

    plan = plan_take(
        "S01/daylight/hall",
        subject=make_subject("S01", 5),
        light="daylight",
        scene=make_scene("hall", 5),
        seed=5,
        rgb_size=(192, 108),
        repeats=0,
        min_gestures=4,
        gesture_frames=(20, 30),
        rest_frames=(4, 6),
    )
    assert plan.truth() == t
    rgb_c, _, ir_c = build_composers(plan, np.random.default_rng(list(plan.seed_words)))
    empty_rgb = np.clip(rgb_c.background * rgb_c.gain, 0, 255)
    rgb = all_frames(raw / "S01/daylight/hall/rgb.mp4", "rgb24")
    ir = all_frames(raw / "S01/daylight/hall/ir.mp4", "gray")
    for row in res.labels:
        i = (int(row["start_frame"]) + int(row["end_frame"])) // 2
        j = math.floor((i / t["rgb_fps"] + t["ir_offset_s"]) * t["ir_fps"] + 0.5)
        rgb_mask = _largest_blob(np.abs(rgb[i].astype(float) - empty_rgb).max(axis=2) > 30)
        ir_mask = _largest_blob(ir[j].astype(float) - ir_c.background > 40)
        # The warm silhouette, carried into the RGB view by the true map, lies on the person
        # (the IR mask can miss parts that are as warm as a radiator behind them, so this
        # checks IR-inside-RGB rather than equality). A map 80 full-res pixels off does not.
        inside = {}
        for dx in (0, -8, 8):
            m = np.float32(
                [[t["ir_scale"], 0, t["ir_shift_x"] + dx], [0, t["ir_scale"], t["ir_shift_y"]]]
            )
            seen = cv2.warpAffine(ir_mask.astype(np.uint8), m, (192, 108)) > 0
            inside[dx] = _inside(seen, rgb_mask)
        assert inside[0] > 0.85 and max(inside[-8], inside[8]) < inside[0] - 0.2, inside
        # The IR image is heat, not a grey copy of the RGB frame: the person is its brightest
        # part whatever the clothes' colours.
        assert ir[j][ir_mask].mean() > np.percentile(ir[j], 90)


def test_turn_left_is_the_mirror_image_of_turn_right():
    vocab = load_vocabulary()
    left, right = vocab.by_name("turn left").id, vocab.by_name("turn right").id
    subject = make_subject("S07", 0)
    style = GestureStyle(amplitude=1.1, cycles=2, gamma=0.9, lift=0.01, reach=0.02)
    for p in np.linspace(0, 1, 11):
        a = gesture_pose(left, float(p), subject.body, style)
        b = mirror_pose(gesture_pose(right, float(p), subject.body, style))
        np.testing.assert_allclose(a.joints, b.joints, atol=1e-12)
        assert a.hands == b.hands and a.fingers == pytest.approx(b.fingers)
    # Rendered: the person centred in an empty frame, flipped, is the other class's frame.
    cam = Camera(193, 109)
    optics = Optics.for_rgb(193, 109)
    images = []
    for gesture in (left, right):
        pose = gesture_pose(gesture, 0.3, subject.body, style)
        fig = person_figure(pose, subject.body, subject.look, optics, 0.0, 3000.0)
        img = np.zeros((109, 193), np.float32)
        draw_figure(img, fig, cam, (0, 0), "ir", antialias=False)
        images.append(img)
    assert np.abs(images[0] - images[1]).mean() > 1  # not trivially symmetric
    assert np.abs(images[0] - images[1][:, ::-1]).mean() < 0.5


def test_every_class_is_a_distinct_motion():
    vocab = load_vocabulary()
    body = make_subject("S01", 0).body
    phases = np.linspace(0, 1, 25)
    tracks = np.stack(
        [
            np.stack([gesture_pose(c.id, float(p), body, GestureStyle()).joints for p in phases])
            for c in vocab.classes
        ]
    )
    for a in range(len(vocab)):
        for b in range(a + 1, len(vocab)):
            gap = np.abs(tracks[a] - tracks[b]).max(axis=(1, 2)).mean()
            assert gap > 0.04, (vocab.names[a], vocab.names[b], gap)
    # Every gesture starts and ends at rest, so instances join without a jump.
    np.testing.assert_allclose(tracks[:, 0], tracks[:1, 0].repeat(len(vocab), 0), atol=1e-9)
    np.testing.assert_allclose(tracks[:, -1], tracks[:1, 0].repeat(len(vocab), 0), atol=1e-9)


def test_same_seed_same_output_other_seed_differs(tmp_path):
    small = dict(TINY, subjects=1)
    a = synthesize(tmp_path / "a", **small)
    b = synthesize(tmp_path / "b", **small)
    c = synthesize(tmp_path / "c", **dict(small, seed=4))
    assert (tmp_path / "a/labels.csv").read_bytes() == (tmp_path / "b/labels.csv").read_bytes()
    assert (tmp_path / "a/truth.json").read_bytes() == (tmp_path / "b/truth.json").read_bytes()
    assert a.recordings == b.recordings == c.recordings
    for rid in a.recordings:
        for name, fmt, k in (("rgb.mp4", "rgb24", 20), ("ir.mp4", "gray", 20)):
            fa = frame_at(tmp_path / "a" / rid / name, k, fmt)
            assert np.array_equal(fa, frame_at(tmp_path / "b" / rid / name, k, fmt))
            assert not np.array_equal(fa, frame_at(tmp_path / "c" / rid / name, k, fmt))
        da = frame_at(depth_path(tmp_path / "a" / rid), 20, "gray16le")
        assert np.array_equal(da, frame_at(depth_path(tmp_path / "b" / rid), 20, "gray16le"))
    assert (tmp_path / "a/labels.csv").read_bytes() != (tmp_path / "c/labels.csv").read_bytes()


def test_single_long_recording_for_benchmarks(tmp_path):
    res = synthesize_recording(
        tmp_path / "RAW",
        "bench/dark/hall",
        width=96,
        height=54,
        seconds=12,
        gestures=12,
        gesture_frames=(8, 12),
        rest_frames=(3, 5),
        depth_kind="png",
    )
    assert len(res.labels) >= 12 and res.rgb_frames >= 12 * 25
    assert len({r["gesture"] for r in res.labels}) == 10  # all classes before any repeats
    folder = tmp_path / "RAW/bench/dark/hall"
    assert probe_stream(folder / "rgb.mp4").frames == res.rgb_frames
    assert probe_stream(folder / "depth").frames == res.rgb_frames
    assert probe_stream(folder / "ir.mp4").frames == res.ir_frames
    path = write_labels(tmp_path / "labels.csv", res.labels)
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == len(res.labels)


def test_cli_synth_without_sync(tmp_path):
    raw = tmp_path / "RAW"
    result = CliRunner().invoke(
        cli,
        [
            "synth",
            str(raw),
            "--subjects",
            "1",
            "--scale",
            "0.05",
            "--seed",
            "2",
            "--scenes",
            "1",
            "--gesture-frames",
            "8",
            "10",
            "--rest-frames",
            "3",
            "4",
            "--no-sync",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("synth: ")][
        -1
    ].startswith("synth: 2/2 recording (100%) "), result.stderr
    assert str(raw / "labels.csv") in result.output and str(raw / "truth.json") in result.output
    assert "2 recordings" in result.output and "20 gestures" in result.output
    assert not list(raw.rglob("sync.json"))
    truth = json.loads((raw / "truth.json").read_text())
    assert sorted(truth["recordings"]) == ["S01/dark/hall", "S01/daylight/hall"]
    bad = CliRunner().invoke(cli, ["synth", str(raw), "--gesture-frames", "20", "10"])
    assert bad.exit_code == 2 and "MIN 20 is above MAX 10" in bad.output


def test_distance_brings_the_person_nearer_larger_and_nearer_the_middle():
    far = plan_dataset(**TINY)
    near = plan_dataset(**TINY, distance_mm=(1700.0, 2000.0))
    for a, b in zip(far, near, strict=True):
        assert all(2700 <= g.dist_mm <= 3400 for g in a.gestures)
        assert all(1700 <= g.dist_mm <= 2000 for g in b.gestures)
        # Nearer means larger: the margin that keeps the person in view narrows the x range.
        cx = b.rig.optics.cx
        assert max(abs(g.x_px - cx) for g in b.gestures) <= max(
            abs(g.x_px - cx) for g in a.gestures
        )
    assert [g.gesture for g in far[0].gestures] == [g.gesture for g in near[0].gestures]


def test_distance_nearer_than_the_view_allows_is_refused():
    from mgrdark_data.errors import OptionError

    with pytest.raises(OptionError, match="1500 <= MIN <= MAX"):
        plan_dataset(**TINY, distance_mm=(1000.0, 2000.0))
    with pytest.raises(OptionError, match="person distance 2500..2000 mm"):
        plan_dataset(**TINY, distance_mm=(2500.0, 2000.0))
