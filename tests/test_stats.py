"""`mgrdata stats`: exact pooled mean/std, exact sampled frames, merging, plots, CLI."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mgrdark_data.media.sample as sample_module
from mgrdark_data.cli import cli
from mgrdark_data.manifest import write_records
from mgrdark_data.media import ffmpeg_exe
from mgrdark_data.media.sample import iter_sampled_frames, sample_indices
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.stats import (
    compute_brightness_stats,
    histogram_moments,
    read_stats_table,
    video_histogram,
)
from mgrdark_data.testing import decode_index, index_image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_rgb_video(path: Path, frames: list[np.ndarray]) -> Path:
    """Lossless RGB video (FFV1 bgr0 in Matroska): decodes to exactly these pixel values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "bgr0"
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def write_h264(path: Path, frames: list[np.ndarray], gop: int = 10) -> Path:
    """Lossy H.264 as the clip writer makes it: yuv420p, B-frames, a keyframe every `gop`."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"crf": "18", "preset": "veryfast", "sc_threshold": "0", "bf": "3"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def random_frames(seed: int, n: int, lo: int = 0, hi: int = 256) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(lo, hi, (24, 32, 3), np.uint8) for _ in range(n)]


def numpy_moments(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.stack(frames).reshape(-1, 3).astype(np.float64) / 255
    return pixels.mean(axis=0), pixels.std(axis=0)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Two external 'datasets' of lossless videos and a dataset root of lossless RGB clips."""
    tmp = tmp_path_factory.mktemp("stats")
    ext = {
        "bright": [random_frames(1, 5, 100, 256), random_frames(2, 3, 120, 200)],
        "dark": [random_frames(3, 4, 0, 40)],
    }
    for name, videos in ext.items():
        for i, frames in enumerate(videos):
            write_rgb_video(tmp / name / "sub" / f"v{i}.mkv", frames)
    data = DataRoot(tmp / "data")
    clips = {
        ("S01", "dark"): random_frames(4, 3, 0, 30),
        ("S02", "dark"): random_frames(5, 2),
        ("S01", "daylight"): random_frames(6, 4, 80, 256),
    }
    records = []
    for n, ((subject, light), frames) in enumerate(clips.items()):
        cid = f"{subject}__{light}__{n}"
        rel = f"clips/rgb/{cid}.mkv"
        write_rgb_video(data.root / rel, frames)
        records.append(
            ClipRecord(
                clip_id=cid,
                recording=f"{subject}/{light}",
                subject=subject,
                light=light,
                scene=None,
                gesture="stop",
                label=2,
                start_frame=0,
                end_frame=len(frames) - 1,
                num_frames=len(frames),
                fps=25.0,
                source_row=n + 2,
                rgb_path=rel,
                rgb_width=32,
                rgb_height=24,
                rgb_bytes=0,
                rgb_sha256="0" * 64,
            )
        )
    write_records(records, ClipRecord, data.clips_manifest)
    return {"tmp": tmp, "ext": ext, "data": data, "clips": clips}


def test_moments_are_exact_on_a_known_histogram():
    hist = np.zeros(256, np.int64)
    hist[[0, 255]] = [1, 3]  # values 0, 255, 255, 255: mean 0.75, std sqrt(3)/4
    mean, std, n = histogram_moments(hist)
    assert (mean, n) == (0.75, 4)
    assert std == pytest.approx(np.sqrt(3) / 4, rel=1e-15)


def test_sample_indices():
    assert sample_indices(10, 0) == list(range(10))
    assert sample_indices(10, 20) == list(range(10))
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(9, 3) == [1, 4, 7]


def test_external_datasets_exact_mean_std_against_numpy(media):
    out = media["tmp"] / "ext.parquet"
    res = compute_brightness_stats([media["tmp"] / "bright", media["tmp"] / "dark"], out=out)
    assert res.computed == ["bright", "dark"]
    for name, videos in media["ext"].items():
        frames = [f for v in videos for f in v]
        mean, std = numpy_moments(frames)
        rows = res.table[res.table["dataset"] == name].set_index("channel")
        assert rows.loc[["R", "G", "B"], "mean"].to_numpy() == pytest.approx(mean, rel=1e-12)
        assert rows.loc[["R", "G", "B"], "std"].to_numpy() == pytest.approx(std, rel=1e-12)
        assert set(rows["frames"]) == {len(frames)}
        assert set(rows["pixels"]) == {len(frames) * 24 * 32}
        assert set(rows["videos"]) == {len(videos)}
        flat = np.stack(frames).reshape(-1, 3)
        for c, ch in enumerate("RGB"):
            assert rows.at[ch, "hist"] == np.bincount(flat[:, c], minlength=256).tolist()


def test_histogram_matches_ffmpeg_rgb24(tmp_path):
    """Our planar-RGB conversion gives exactly the values of `ffmpeg -pix_fmt rgb24`."""
    path = write_h264(tmp_path / "noise.mp4", random_frames(7, 12))
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    pixels = np.frombuffer(raw, np.uint8).reshape(-1, 3)
    expected = np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(3)])
    vh = video_histogram(path)
    assert vh.frames == 12
    np.testing.assert_array_equal(vh.hist, expected)


@pytest.mark.parametrize("k", [1, 3, 8, 29, 60, 200])
def test_sampled_mode_decodes_exactly_the_sampled_frames(tmp_path_factory, k):
    folder = tmp_path_factory.getbasetemp() / "index-videos"
    path = folder / "idx.mp4"
    if not path.exists():
        folder.mkdir(exist_ok=True)
        write_h264(path, [index_image(i, 48, 64) for i in range(60)], gop=7)
    got = [decode_index(f.to_ndarray(format="rgb24")) for f in iter_sampled_frames(path, k)]
    assert got == sample_indices(60, k)
    assert video_histogram(path, k).frames == min(k, 60)


def test_sequential_fallback_counts_the_same_frames(tmp_path, monkeypatch):
    path = write_h264(tmp_path / "idx.mp4", [index_image(i, 48, 64) for i in range(30)], gop=7)
    seeking = video_histogram(path, 4)

    def no_index(*args):
        raise sample_module.SeekUnreliable("test")

    monkeypatch.setattr(sample_module._FrameIndex, "build", no_index)
    sequential = video_histogram(path, 4)
    assert sequential.frames == seeking.frames == 4
    np.testing.assert_array_equal(sequential.hist, seeking.hist)


def test_merge_replaces_same_name_and_plots_every_dataset(media, tmp_path):
    for suffix in (".parquet", ".csv"):
        out = tmp_path / f"merged{suffix}"
        compute_brightness_stats([media["tmp"] / "bright"], out=out)
        compute_brightness_stats([media["tmp"] / "dark"], out=out, name="night")
        # the same name again, from other videos: its rows are replaced in place
        res = compute_brightness_stats(
            [media["tmp"] / "dark"],
            out=out,
            name="bright",
            frames_per_video=1,
            plot=tmp_path / f"fig{suffix}.png",
        )
        table = read_stats_table(out)
        assert table["dataset"].tolist() == ["bright"] * 3 + ["night"] * 3
        assert table["channel"].tolist() == ["R", "G", "B"] * 2
        assert set(table.loc[table["dataset"] == "bright", "frames"]) == {1}
        night, bright = (table[table["dataset"] == d] for d in ("night", "bright"))
        assert night["mean"].tolist() != bright["mean"].tolist()
        assert [p.name for p in res.plots] == [f"fig{suffix}.png", f"fig{suffix}_hist.png"]
        for p in res.plots:
            assert p.read_bytes()[:8] == PNG_MAGIC
        pd.testing.assert_frame_equal(table, res.table, check_dtype=False)


def test_dataset_root_groups_by_light_and_cli(media, tmp_path):
    data = media["data"]
    res = compute_brightness_stats(data=data)
    assert res.out == data.stats_dir / "brightness.parquet"
    assert res.computed == ["MGR-Dark (dark)", "MGR-Dark (daylight)"]
    for light in ("dark", "daylight"):
        frames = [f for (_, lt), fs in media["clips"].items() if lt == light for f in fs]
        mean, std = numpy_moments(frames)
        rows = res.table[res.table["dataset"] == f"MGR-Dark ({light})"]
        assert rows["mean"].to_numpy() == pytest.approx(mean, rel=1e-12)
        assert rows["std"].to_numpy() == pytest.approx(std, rel=1e-12)

    png = tmp_path / "fig4.png"
    r = CliRunner().invoke(
        cli,
        [
            "stats",
            str(media["tmp"] / "dark"),
            "-d",
            str(data.root),
            "--name",
            "ExDark-like",
            "--frames-per-video",
            "2",
            "--plot",
            str(png),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    for name in ("MGR-Dark (dark)", "MGR-Dark (daylight)", "ExDark-like"):
        assert name in r.output
    assert png.exists() and (tmp_path / "fig4_hist.png").exists()
    table = read_stats_table(data.stats_dir / "brightness.parquet")
    assert list(dict.fromkeys(table["dataset"])) == [
        "MGR-Dark (dark)",
        "MGR-Dark (daylight)",
        "ExDark-like",
    ]
    assert set(table.loc[table["dataset"] == "ExDark-like", "frames"]) == {2}


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(
        cli, ["stats", str(tmp_path / "empty"), "--out", str(tmp_path / "x.parquet")]
    )
    assert r.exit_code == 1
    assert "no videos" in r.output
