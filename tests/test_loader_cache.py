"""Cache formats: exact frames, decoding only what all-intra files need, tags, damage, the CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from mgrdark_data.testing import decode_index, depth_value
from mgrdark_train.cli import cli
from mgrdark_train.data import CacheError, ClipDataset, prepare_cache, read_clip
from mgrdark_train.data import decode as decode_module
from mgrdark_train.data.raw import HEADER_BYTES, verify_raw
from mgrdark_train.testing import ClipSpec, write_dataset_root

ALL = ("rgb", "ir", "depth")
SIZE = 32


@pytest.fixture
def root(tmp_path):
    specs = [ClipSpec("S01", 4, 30), ClipSpec("S01", 0, 7), ClipSpec("S02", 2, 12)]
    return write_dataset_root(tmp_path / "data", specs, {"S01": "train", "S02": "train"})


def _dataset(root, fmt, **kw):
    kw = {"modalities": ALL, "num_frames": 8, "resize": SIZE, "crop": SIZE, "cache": True, **kw}
    return ClipDataset(root, split="subjects", subset="train", cache_format=fmt, **kw)


def _indices(sample, modality):
    if modality == "depth":
        step = depth_value(1) - depth_value(0)
        return [(int(f[0, 0]) - depth_value(0)) // step for f in sample["depth"][0].numpy()]
    frames = sample[modality].numpy().transpose(1, 2, 3, 0)
    return [decode_index(np.ascontiguousarray(f)) for f in frames]


@pytest.mark.parametrize("fmt", ["jpeg", "h264", "raw"])
def test_every_format_decodes_the_sampled_frames_exactly(root, fmt):
    prepare_cache(root, size=SIZE, fmt=fmt)
    ds = _dataset(root, fmt, train=True)
    for epoch in range(3):
        for i in range(len(ds)):
            s = ds[(i, epoch)]
            for m in ALL:
                assert _indices(s, m) == s["frames"].tolist(), (fmt, m)


def test_all_intra_files_decode_only_the_sampled_frames(root, monkeypatch):
    prepare_cache(root, size=SIZE, fmt="jpeg")
    prepare_cache(root, size=SIZE, fmt="h264", modalities=("rgb",))
    ds = _dataset(root, "jpeg")

    def sequential(*a, **k):
        raise AssertionError("an all-intra file was decoded sequentially")

    monkeypatch.setattr(decode_module, "_sequential", sequential)
    path, _, tag = ds.clip_file(0, "rgb")
    frames = list(decode_module.decoded_frames(path, np.array([3, 17, 29]), modality="rgb"))
    assert [i for i, _ in frames] == [3, 17, 29]
    for m in ALL:
        path, _, tag = ds.clip_file(0, m)
        idx = np.array([29, 3, 3])
        got = read_clip(path, idx, modality=m, tag=tag)
        assert got.shape[1] == 3
    # The h264 cache has inter frames: it is decoded sequentially.
    h264 = _dataset(root, "h264", modalities=("rgb",))
    with pytest.raises(AssertionError, match="sequentially"):
        h264[0]


def test_a_stale_cache_file_is_refused_then_remade(root):
    prepare_cache(root, size=SIZE, fmt="jpeg")
    ds = _dataset(root, "jpeg")
    a, _, _ = ds.clip_file(0, "rgb")
    b, _, _ = ds.clip_file(1, "rgb")
    shutil.copyfile(b, a)  # another clip's file under this clip's name: its tag disagrees
    with pytest.raises(CacheError, match=r"stale; run `mgrtrain prepare .* --format jpeg`"):
        ds[0]
    again = prepare_cache(root, size=SIZE, fmt="jpeg")
    assert again.written == 1 and again.skipped == 8
    s = ds[(0, 0)]
    assert _indices(s, "rgb") == s["frames"].tolist()


@pytest.mark.parametrize("fmt", ["jpeg", "raw"])
def test_a_truncated_cache_file_is_refused_then_remade(root, fmt):
    prepare_cache(root, size=SIZE, fmt=fmt)
    ds = _dataset(root, fmt)
    path, _, _ = ds.clip_file(0, "rgb")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match=r"--force`$"):
        ds[0]
    again = prepare_cache(root, size=SIZE, fmt=fmt)
    assert again.written == 1
    s = ds[(0, 0)]
    assert _indices(s, "rgb") == s["frames"].tolist()


def test_raw_files_carry_a_checksum(root):
    prepare_cache(root, size=SIZE, fmt="raw", modalities=("depth",))
    path, _, _ = _dataset(root, "raw", modalities=("depth",)).clip_file(0, "depth")
    assert verify_raw(path) == 30
    data = bytearray(path.read_bytes())
    data[HEADER_BYTES + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="checksum"):
        verify_raw(path)


def test_a_failed_encode_leaves_no_file(root, monkeypatch):
    import mgrdark_train.data.cache as cache_module

    monkeypatch.setattr(cache_module, "count_decoded_frames", lambda *a, **k: 0)
    report = prepare_cache(root, size=SIZE, fmt="jpeg", modalities=("rgb",))
    assert report.written == 0 and len(report.failed) == 3
    assert "decodes to 0 frames" in report.failed[0]
    folder = root.root / "cache" / f"jpeg-s{SIZE}" / "rgb"
    assert not list(folder.iterdir())  # neither final nor temporary files


def test_missing_cache_names_the_command(root):
    with pytest.raises(
        CacheError, match=rf"run `mgrtrain prepare -d .* --size {SIZE} --format raw`"
    ):
        _dataset(root, "raw")[0]


def test_prepare_format_from_the_cli(root):
    args = ["prepare", "-d", str(root.root), "--size", str(SIZE), "--format", "raw", "-q"]
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0 and f"cache raw s{SIZE}: 9 written" in r.output and "MiB" in r.output
    assert len(list((root.root / "cache" / f"raw-s{SIZE}" / "rgb").glob("*.raw"))) == 3
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "0 written, 9 already cached" in r.output
    r = CliRunner().invoke(cli, [*args[:-3], "--format", "webp"])
    assert r.exit_code == 2 and "'webp' is not one of" in r.output
