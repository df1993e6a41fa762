"""IR -> RGB alignment: accuracy on real photographs and on moving dark scenes, the score,
the warp, the clock offset, the table and the command."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mgrdark_data.align import (
    AlignmentDecision,
    AlignmentTableError,
    alignment_error,
    estimate_alignment,
    estimate_ir_offset,
    motion_energy,
    read_alignment_table,
    resolve_alignments,
    sample_frame_pairs,
    warp_ir_to_rgb,
    write_alignment_table,
)
from mgrdark_data.align.geometry import affine_matrix, from_level, to_level
from mgrdark_data.media import probe_stream

skdata = pytest.importorskip("skimage.data")


def truth(scale: float, sx: float, sy: float) -> SimpleNamespace:
    return SimpleNamespace(scale=scale, shift_x=sx, shift_y=sy)


def view(canvas: np.ndarray, t: SimpleNamespace, size: tuple[int, int]) -> np.ndarray:
    """What a camera with transform `t` sees of `canvas` (drawn in RGB pixel coordinates)."""
    m = affine_matrix(t.scale, t.shift_x, t.shift_y)
    if t.scale > 1.5:
        # Each IR pixel covers several canvas pixels: pre-blur instead of aliasing.
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.4 * t.scale)
    return cv2.warpAffine(canvas, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def heat_from_photo(rgb: np.ndarray, t, size, rng) -> np.ndarray:
    """An 'IR' frame from a photograph: cropped/scaled view, inverted gamma remap, noise."""
    g = view(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), t, size).astype(np.float32) / 255
    g = 1.0 - g**0.5
    return np.clip(255 * g + rng.normal(0, 5, g.shape), 0, 255).astype(np.uint8)


def as_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


# --- moving synthetic scenes ------------------------------------------------------------


def _draw_scene(rgb, heat, objects, person, origin):
    """Shapes with independent colour and temperature, and a warm person, on two canvases."""
    sh = 4
    k = 1 << sh

    def pt(x, y):
        return int(round((x - origin[0]) * k)), int(round((y - origin[1]) * k))

    for kind, cx, cy, size, colour, temp in objects:
        for canvas, value in ((rgb, tuple(int(c) for c in colour)), (heat, temp)):
            if kind == "rect":
                cv2.rectangle(
                    canvas,
                    pt(cx - size / 2, cy - size / 3),
                    pt(cx + size / 2, cy + size / 3),
                    value,
                    -1,
                    cv2.LINE_AA,
                    sh,
                )
            else:
                cv2.circle(canvas, pt(cx, cy), int(size / 2 * k), value, -1, cv2.LINE_AA, sh)
    x, y, height, arm = person
    for canvas, value in ((rgb, (150, 60, 50)), (heat, 235.0)):
        cv2.circle(
            canvas, pt(x, y - height * 3 / 8), int(height / 8 * k), value, -1, cv2.LINE_AA, sh
        )
        cv2.ellipse(
            canvas,
            pt(x, y),
            (int(height / 7 * k), int(height / 3.2 * k)),
            0,
            0,
            360,
            value,
            -1,
            cv2.LINE_AA,
            sh,
        )
        for side in (-1, 1):
            hand = (
                x + side * height * (1 / 8 + np.cos(arm) / 3),
                y - height * (0.2 + np.sin(arm) / 3),
            )
            cv2.line(
                canvas,
                pt(x + side * height / 8, y - height / 5),
                pt(*hand),
                value,
                max(2, int(height / 20)),
                cv2.LINE_AA,
                sh,
            )


def moving_scene(t, *, rgb_size=(1280, 720), ir_size=(938, 712), frames=10, dark=True, seed=0):
    """K frame pairs of a room with a person walking and waving.

    RGB is reflectance (nearly black plus sensor noise when `dark`); IR is heat, unrelated to
    colour except where objects begin and end, seen through transform `t`.
    """
    rng = np.random.default_rng(seed)
    w, h = rgb_size
    objects = [
        (
            rng.choice(["rect", "circle"]),
            rng.uniform(-0.2, 1.2) * w,
            rng.uniform(-0.2, 1.2) * h,
            rng.uniform(0.04, 0.18) * w,
            rng.integers(30, 230, 3),
            float(rng.uniform(40, 140)),
        )
        for _ in range(14)
    ]
    wall = np.clip(rng.normal(120, 30, (h // 40 + 1, w // 40 + 1, 3)), 0, 255).astype(np.float32)
    a, b = rng.uniform(0.1, 0.9, 2) * w
    freq, phase, tall = rng.uniform(3, 9), rng.uniform(0, 6), rng.uniform(0.4, 0.7)
    # The canvas covers both views; its origin is integral so the RGB crop is exact.
    ox = float(np.floor(min(0.0, t.shift_x))) - 4
    oy = float(np.floor(min(0.0, t.shift_y))) - 4
    cw = int(max(w, t.shift_x + t.scale * ir_size[0]) - ox) + 8
    ch = int(max(h, t.shift_y + t.scale * ir_size[1]) - oy) + 8
    canvas_t = truth(t.scale, t.shift_x - ox, t.shift_y - oy)
    rgbs, irs = [], []
    for f in range(frames):
        s = f / max(1, frames - 1)
        person = (
            a + (b - a) * s + 0.05 * w * np.sin(freq * s + phase),
            h * (0.55 + 0.05 * np.cos(5 * s + phase)),
            h * tall,
            1.2 * np.sin(9 * s + phase),
        )
        rgb = cv2.resize(wall, (cw, ch), interpolation=cv2.INTER_CUBIC)
        heat = np.full((ch, cw), 60.0, np.float32) + np.linspace(0, 25, cw, dtype=np.float32)
        _draw_scene(rgb, heat, objects, person, (ox, oy))
        rgb = rgb[int(-oy) : int(-oy) + h, int(-ox) : int(-ox) + w]
        ir = cv2.GaussianBlur(view(heat, canvas_t, ir_size), (0, 0), 1.5)
        ir = ir + rng.normal(0, 1.5, ir.shape)
        rgb = (rgb * 0.05 if dark else rgb) + rng.normal(0, 2.0, rgb.shape)
        rgbs.append(np.clip(rgb, 0, 255).astype(np.uint8))
        irs.append(np.clip(ir, 0, 255).astype(np.uint8))
    return rgbs, irs


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25) -> Path:
    """Near-lossless H.264 of RGB (HxWx3) or gray (HxW) frames."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for f in frames:
            fmt = "rgb24" if f.ndim == 3 else "gray"
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format=fmt)))
        out.mux(stream.encode(None))
    return path


# --- (a) photographs ------------------------------------------------------------------


PHOTOS = [
    ("astronaut", truth(0.8, 60.3, 40.7), (400, 380)),
    ("coffee", truth(1.3, -20.2, 30.5), (380, 260)),
]


@pytest.fixture(scope="module")
def photo_results():
    rng = np.random.default_rng(1)
    out = {}
    for name, t, size in PHOTOS:
        rgb = as_rgb(getattr(skdata, name)())
        ir = heat_from_photo(rgb, t, size, rng)
        out[name] = (estimate_alignment([rgb], [ir]), t, size, rgb, ir)
    return out


@pytest.mark.parametrize("name", [p[0] for p in PHOTOS])
def test_photo_pair_recovers_transform_within_a_pixel(photo_results, name):
    a, t, size, rgb, _ = photo_results[name]
    err = alignment_error(a, t, size, rgb_size=rgb.shape[1::-1])
    assert err < 1.0, (a, err)
    assert a.score > 0.6
    assert a.frames_used == 1 and a.method == "ncc-edges"


# --- (b) moving dark scenes -------------------------------------------------------------


SCENE_TRUTH = truth(1.25, -80.5, -50.2)


def _scene(dark: bool, cache: dict = {}):  # noqa: B006 - a per-session cache on purpose
    if dark not in cache:
        rgb, ir = moving_scene(SCENE_TRUTH, frames=8, dark=dark, seed=4)
        cache[dark] = (estimate_alignment(rgb, ir), rgb, ir)
    return cache[dark]


@pytest.fixture(scope="module")
def dark_scene():
    return _scene(True)


@pytest.mark.parametrize(
    ("dark", "limit"),
    [
        (True, 1.5),
        # The daylight case is the easier one; it runs with -m slow to keep the default suite short.
        pytest.param(False, 1.0, marks=pytest.mark.slow),
    ],
)
def test_moving_scene_error_at_1280_px(dark, limit):
    a, rgb, _ = _scene(dark)
    if dark:
        assert float(np.mean(rgb)) < 12, "the dark take should be nearly black"
    err = alignment_error(a, SCENE_TRUTH, (938, 712), rgb_size=(1280, 720))
    assert err <= limit, (a, err)
    assert a.score >= 0.5 and a.method == "ncc-edges+motion" and a.frames_used == 8


# --- (c) the score separates true pairs from mismatched ones ----------------------------


def test_score_separates_true_from_mismatched_pairs(photo_results, dark_scene):
    true_scores = [r[0].score for r in photo_results.values()] + [dark_scene[0].score]
    astro_ir = photo_results["astronaut"][4]
    other_rgb, _ = moving_scene(SCENE_TRUTH, frames=8, dark=True, seed=9)
    false_scores = [
        # An IR view of one photograph against another photograph.
        estimate_alignment([as_rgb(skdata.rocket())], [astro_ir]).score,
        # IR of one recording against RGB of a different room and walk.
        estimate_alignment(other_rgb, dark_scene[2]).score,
    ]
    assert min(true_scores) > max(false_scores) + 0.2, (true_scores, false_scores)
    assert max(false_scores) < 0.5
    assert all(0.0 <= s <= 1.0 for s in true_scores + false_scores)


# --- (d) the warp -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "point"),
    [
        (truth(2.0, 10.0, 4.0), (37, 21)),
        (truth(1.0, -5.0, 7.0), (30, 12)),
        (truth(0.8, 3.0, 5.0), (40, 30)),
    ],
)
def test_warp_puts_ir_point_on_the_right_rgb_pixel(t, point):
    ir = np.zeros((50, 60), np.uint8)
    ir[point[1], point[0]] = 255
    out = warp_ir_to_rgb(ir, t, (160, 120))
    assert out.shape == (120, 160) and out.dtype == np.uint8
    y, x = np.unravel_index(int(np.argmax(out)), out.shape)
    assert (x, y) == (t.scale * point[0] + t.shift_x, t.scale * point[1] + t.shift_y)
    # Everything the IR camera does not see is black.
    assert out[:, : int(t.shift_x) - 1].max(initial=0) == 0 if t.shift_x > 1 else True


def test_warp_small_scale_keeps_geometry_and_black_border():
    yy, xx = np.mgrid[:200, :300].astype(np.float32)
    ir = (255 * np.exp(-((xx - 120.0) ** 2 + (yy - 80.0) ** 2) / (2 * 9.0**2))).astype(np.float32)
    t = truth(0.4, 20.5, 10.25)
    out = warp_ir_to_rgb(np.dstack([ir] * 3), t, (200, 150))
    assert out.shape == (150, 200, 3)
    g = out[..., 0]
    cy, cx = (np.mgrid[:150, :200] * g).reshape(2, -1).sum(1) / g.sum()
    assert abs(cx - (0.4 * 120 + 20.5)) < 0.05 and abs(cy - (0.4 * 80 + 10.25)) < 0.05
    assert out[:, 141:].max() == 0 and out[:10].max() == 0


def test_level_conversion_round_trips():
    s, x, y = to_level(1.37, -12.5, 40.25, 1 / 3, 0.45)
    assert np.allclose(from_level(s, x, y, 1 / 3, 0.45), (1.37, -12.5, 40.25))


# --- (e) clock offset -------------------------------------------------------------------


@pytest.mark.parametrize(("fps_ir", "offset"), [(30.0, 0.37), (25.0, -0.52), (9.0, 0.11)])
def test_ir_offset_from_motion_within_one_rgb_frame(fps_ir, offset):
    rng = np.random.default_rng(int(fps_ir))
    fps_rgb, duration = 25.0, 30.0
    # Movement: bursts of activity at random times, the same in both cameras.
    bursts = rng.uniform(0, duration, 40)

    def activity(t):
        return sum(np.exp(-((t - b) ** 2) / (2 * 0.15**2)) for b in bursts) + 0.05

    t_rgb = np.arange(int(duration * fps_rgb)) / fps_rgb
    t_ir = np.arange(int(duration * fps_ir)) / fps_ir
    # IR frame j shows RGB time j / fps_ir - offset.
    rgb = activity(t_rgb) * rng.uniform(0.8, 1.2, t_rgb.size)
    ir = 5 * activity(t_ir - offset) * rng.uniform(0.8, 1.2, t_ir.size) + 2
    est, score = estimate_ir_offset(rgb, ir, t_rgb, t_ir)
    assert abs(est - offset) <= 1 / fps_rgb, est
    assert score > 0.5
    # Unrelated motion: low confidence.
    _, bad = estimate_ir_offset(rgb, rng.permutation(ir), t_rgb, t_ir)
    assert bad < 0.3


def test_motion_energy_of_frames():
    frames = [np.zeros((8, 8), np.uint8) for _ in range(4)]
    frames[2][:4, :4] = 10  # a quarter of the frame moves
    noisy = [
        f + np.random.default_rng(k).integers(0, 2, f.shape, dtype=np.uint8)
        for k, f in enumerate(frames)
    ]
    # (10 - 1 grey level of floor) * 16 / 64
    assert motion_energy(frames).tolist() == [0.0, 0.0, 2.25, 2.25]
    # Sensor noise (+-1 everywhere) stays below the floor; the moving block does not.
    e = motion_energy(noisy)
    assert e[1] < 0.3 and e[2] > 1.5


# --- (f) alignment table ----------------------------------------------------------------


def decisions() -> dict[str, AlignmentDecision]:
    return {
        "S01/dark/hall": AlignmentDecision(
            1.25,
            -80.5,
            -50.2,
            0.3,
            "fallback:daylight",
            "own score 0.20 < 0.50",
            "auto",
            0.12,
            0.8,
            12,
        ),
        "S01/daylight/hall": AlignmentDecision(
            1.2501, -80.4, -50.1, 0.93, "auto:ncc", None, "auto", None, None, 12
        ),
        "S02/x": AlignmentDecision(None, None, None, None, "native", "no ir.* file"),
    }


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_table_round_trip(tmp_path, ext):
    path = write_alignment_table(decisions(), tmp_path / f"align{ext}")
    back = read_alignment_table(path)
    assert list(back) == sorted(decisions())
    for rid, d in decisions().items():
        b = back[rid]
        assert b.mode == "file" and b.method == d.method and b.note == d.note
        for f in ("scale", "shift_x", "shift_y", "score", "ir_offset_s", "sync_score"):
            v, w = getattr(d, f), getattr(b, f)
            assert (v is None and w is None) or abs(v - w) < 1e-6, (rid, f)
        assert b.frames_used == d.frames_used
    assert not back["S02/x"].aligned and back["S01/dark/hall"].aligned
    assert not list(tmp_path.glob(".*")), "no temporary file left behind"


def test_hand_edited_csv(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text(
        "shift_y, recording, scale, shift_x, comment\n"
        "4.5, S01/dark/hall, 1.5, 10, looks right\n"
        ",S01/daylight/hall,,,\n"
    )
    back = read_alignment_table(path)
    d = back["S01/dark/hall"]
    assert (d.scale, d.shift_x, d.shift_y, d.score, d.ir_offset_s) == (1.5, 10.0, 4.5, None, None)
    assert d.method == "file" and not back["S01/daylight/hall"].aligned


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "recording,scale,shift_x\nS01,1,2\n", "missing column(s) shift_y"),
        ("a.csv", "recording,scale,shift_x,shift_y\nS01,big,2,3\n", "row 2, column scale"),
        ("a.csv", "recording,scale,shift_x,shift_y\nS01,1.2,,3\n", "together"),
        ("a.csv", "recording,scale,shift_x,shift_y\nS01,1,2,3\nS01,1,2,3\n", "appears twice"),
        ("a.csv", "recording,scale,shift_x,shift_y\nS01,-1,2,3\n", "positive"),
        ("a.txt", "whatever", ".parquet or .csv"),
        ("a.parquet", "not parquet at all", "cannot read alignment table"),
    ],
)
def test_bad_tables_have_clear_messages(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(AlignmentTableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_alignment_table(path)


def test_missing_table_says_how_to_make_one(tmp_path):
    with pytest.raises(AlignmentTableError, match="mgrdata align"):
        read_alignment_table(tmp_path / "none.csv")


# --- fallbacks --------------------------------------------------------------------------


def test_fallback_order(tmp_path, monkeypatch):
    from mgrdark_data.align import Alignment, resolve
    from mgrdark_data.testing import make_recording

    ids = [
        "S1/dark/hall",
        "S1/daylight/hall",
        "S2/dark/hall",
        "S2/daylight/hall",
        "S3/dark/lab",
        "S4/dark/hall",
    ]
    for rid in ids:
        make_recording(tmp_path, rid, rgb_frames=2, depth=None)
    fake = {
        "S1/dark/hall": 0.1,
        "S1/daylight/hall": 0.9,  # -> daylight sibling
        "S2/dark/hall": 0.2,
        "S2/daylight/hall": 0.3,  # -> scene consensus
        "S3/dark/lab": 0.1,  # -> native: no sibling, no good peer in its scene
        "S4/dark/hall": 0.8,  # good on its own
    }
    calls = []

    def estimate(files, *, frames, estimate_sync):
        calls.append(files.recording)
        k = ids.index(files.recording)
        return Alignment(1.0 + k / 100, float(k), 2.0 * k, fake[files.recording]), None, None

    monkeypatch.setattr(resolve, "estimate_recording", estimate)
    scene = {r: r.split("/")[2] for r in ids}
    subject = {r: r.split("/")[0] for r in ids}
    out = resolve_alignments(
        tmp_path,
        ["S1/dark/hall", "S2/dark/hall", "S3/dark/lab", "S4/dark/hall"],
        scene_of=scene,
        subject_of=subject,
    )
    assert out["S4/dark/hall"].method.startswith("auto:") and out["S4/dark/hall"].note is None
    d1 = out["S1/dark/hall"]
    assert d1.method == "fallback:daylight" and d1.scale == 1.01 and "S1/daylight/hall" in d1.note
    d2 = out["S2/dark/hall"]
    # The consensus of S4 (good) and S1's daylight take (good, estimated for S1's fallback).
    assert d2.method == "fallback:scene" and "scene hall" in d2.note
    d3 = out["S3/dark/lab"]
    assert d3.method == "native" and not d3.aligned and "native" in d3.note
    assert calls.count("S1/daylight/hall") == 1
    # Without annotations the daylight sibling is found by path.
    out = resolve_alignments(tmp_path, ["S1/dark/hall"])
    assert out["S1/dark/hall"].method == "fallback:daylight"

    none = resolve_alignments(tmp_path, ids, mode="none")
    assert all(not d.aligned and d.mode == "none" for d in none.values())


def test_file_mode_reads_table_and_defaults_missing_to_native(tmp_path):
    path = write_alignment_table(decisions(), tmp_path / "a.csv")
    out = resolve_alignments(tmp_path, ["S01/dark/hall", "S09/other"], mode=str(path))
    assert out["S01/dark/hall"].scale == 1.25 and out["S01/dark/hall"].ir_offset_s == 0.12
    assert out["S01/dark/hall"].mode == "file"
    assert not out["S09/other"].aligned and "not in alignment table" in out["S09/other"].note


# --- (g) the command --------------------------------------------------------------------


SMALL_TRUTH = truth(1.1, -12.25, 6.5)


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    for light, seed in (("daylight", 1), ("dark", 1)):
        rgb, ir = moving_scene(
            SMALL_TRUTH,
            rgb_size=(320, 180),
            ir_size=(236, 178),
            frames=30,
            dark=light == "dark",
            seed=seed,
        )
        folder = raw / "S01" / light / "hall"
        folder.mkdir(parents=True)
        write_video(folder / "rgb.mp4", rgb)
        write_video(folder / "ir.mp4", ir)
    (raw / "S01" / "daylight" / "hall" / "sync.json").write_text(json.dumps({"ir_offset_s": 0}))
    return raw


def test_sample_frame_pairs_reads_the_mapped_frames(small_raw):
    folder = small_raw / "S01" / "daylight" / "hall"
    pairs = sample_frame_pairs(
        folder / "rgb.mp4",
        folder / "ir.mp4",
        ir_offset_s=0.2,
        count=4,
        max_side=160,
    )
    # RGB frame 26 would need IR frame 31 of 30: that pair is dropped.
    assert pairs.rgb_indices == [3, 11, 18]
    assert pairs.ir_indices == [8, 16, 23]
    assert pairs.rgb[0].shape == (90, 160, 3) and pairs.ir[0].ndim == 2
    assert pairs.rgb_size == (320, 180) and pairs.rgb_factor == 0.5


def test_cli_align_writes_table_overlays_and_summary(small_raw, tmp_path):
    from mgrdark_data.cli import cli

    out = tmp_path / "align.csv"
    overlays = tmp_path / "overlays"
    result = CliRunner().invoke(
        cli,
        [
            "align",
            str(small_raw),
            "--out",
            str(out),
            "--overlay",
            str(overlays),
            "--sync",
            "--frames",
            "8",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    table = read_alignment_table(out)
    assert set(table) == {"S01/dark/hall", "S01/daylight/hall"}
    day = table["S01/daylight/hall"]
    assert day.aligned and alignment_error(day, SMALL_TRUTH, (236, 178)) < 1.0
    assert day.ir_offset_s is None, "sync.json present: no offset estimated"
    dark = table["S01/dark/hall"]
    assert dark.aligned and alignment_error(dark, SMALL_TRUTH, (236, 178)) < 1.5
    assert dark.sync_score is not None and abs(dark.ir_offset_s) <= 1 / 25
    assert "S01/daylight/hall" in result.output and "aligned" in result.output
    pngs = sorted(p.name for p in overlays.glob("*.png"))
    assert pngs == ["S01__dark__hall.png", "S01__daylight__hall.png"]
    img = cv2.imread(str(overlays / pngs[0]))
    assert img.shape == (180, 320, 3)


def test_cli_align_reports_a_bad_raw_folder(tmp_path):
    from mgrdark_data.cli import cli

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        cli, ["align", str(tmp_path / "empty"), "--out", str(tmp_path / "a.csv")]
    )
    assert result.exit_code == 1 and "no recordings" in result.output
    result = CliRunner().invoke(
        cli, ["align", str(tmp_path / "empty"), "--out", str(tmp_path / "a.txt")]
    )
    assert result.exit_code == 1 and "alignment tables are .parquet or .csv" in result.output


# --- against `mgrdata synth` ground truth -----------------------------------------------


@pytest.mark.slow
def test_synthetic_raw_tree_against_truth(tmp_path):
    """Every recording of a small synthetic tree: alignment and estimated clock offset."""
    synth = pytest.importorskip("mgrdark_data.synth")
    raw = tmp_path / "raw"
    synth.synthesize(
        raw,
        subjects=1,
        scenes=1,
        scale=0.25,
        seed=5,
        repeats=1,
        gesture_frames=(45, 46),
        rest_frames=(10, 11),
        write_sync=False,
    )
    truth_map = json.loads((raw / "truth.json").read_text())["recordings"]
    decisions = resolve_alignments(raw, sorted(truth_map), estimate_sync=True)
    for rid, entry in truth_map.items():
        d = decisions[rid]
        assert d.aligned, (rid, d)
        rgb, ir = (probe_stream(raw / rid / f"{s}.mp4") for s in ("rgb", "ir"))
        t = truth(entry["ir_scale"], entry["ir_shift_x"], entry["ir_shift_y"])
        err = alignment_error(d, t, (ir.width, ir.height), rgb_size=(rgb.width, rgb.height))
        err *= 1280 / rgb.width
        assert err <= (1.5 if entry["light"] == "dark" else 1.0), (rid, err)
        assert abs(d.ir_offset_s - entry["ir_offset_s"]) <= 1 / entry["rgb_fps"], rid


def test_ir_offset_from_motion_on_variable_rate_timelines():
    """A dark RGB take at 30 fps halving to 15 fps and an IR camera that drops frames: the
    motion curves are compared at their frames' own times, so the offset still comes out."""
    rng = np.random.default_rng(7)
    offset, duration = 0.23, 30.0
    bursts = rng.uniform(0, duration, 40)

    def activity(t):
        return sum(np.exp(-((t - b) ** 2) / (2 * 0.15**2)) for b in bursts) + 0.05

    ticks = np.concatenate([np.arange(0, 300), np.arange(300, 600, 2), np.arange(600, 900)])
    t_rgb = ticks / 30
    t_ir = np.arange(int(duration * 25)) / 25
    t_ir = t_ir[(np.arange(t_ir.size) % 37 != 5) & ((t_ir < 12) | (t_ir > 12.6))]
    rgb = activity(t_rgb) * rng.uniform(0.8, 1.2, t_rgb.size)
    ir = 5 * activity(t_ir - offset) * rng.uniform(0.8, 1.2, t_ir.size) + 2
    est, score = estimate_ir_offset(rgb, ir, t_rgb, t_ir)
    assert abs(est - offset) <= 1 / 30, est
    assert score > 0.5
