"""The clip dataset on index-encoded clips: which source frame lands where, for every modality."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mgrdark_data.testing import decode_index, depth_value
from mgrdark_data.vocabulary import load_vocabulary
from mgrdark_train.data import (
    ClipDataset,
    ClipSampler,
    Window,
    prepare_cache,
    read_clip,
    segment_bounds,
)
from mgrdark_train.testing import ClipSpec, write_dataset_root

ALL = ("rgb", "ir", "depth")
TURN_LEFT, TURN_RIGHT = 4, 5


@pytest.fixture(scope="session")
def index_root(tmp_path_factory):
    specs = [
        ClipSpec("S01", TURN_LEFT, 10),
        ClipSpec("S01", 0, 40),
        ClipSpec("S02", TURN_RIGHT, 5),  # shorter than T
        ClipSpec("S02", 2, 23, light="daylight"),
        ClipSpec("S02", 3, 12, modalities=("rgb",)),  # no ir/depth
        ClipSpec("S03", 1, 17),
    ]
    split = {"S01": "train", "S02": "train", "S03": "test"}
    return write_dataset_root(tmp_path_factory.mktemp("index"), specs, split)


def _frames(x: torch.Tensor) -> np.ndarray:
    """(C, T, H, W) sample -> (T, H, W[, C]) frames as decoded (uint8 or uint16 millimetres)."""
    v = x.numpy().transpose(1, 2, 3, 0)
    return v[..., 0] if v.shape[-1] == 1 else v


def test_subset_light_and_modality_filters(index_root):
    ds = ClipDataset(index_root, split="subjects", subset="train", modalities=ALL)
    assert sorted(ds.clips["subject"]) == ["S01", "S01", "S02"]  # daylight, no-depth left out
    ds = ClipDataset(index_root, split="subjects", subset="train", modalities=("rgb",), light=None)
    assert len(ds) == 5
    ds = ClipDataset(index_root, split="subjects", subset="test", modalities=ALL)
    assert ds.clips["subject"].tolist() == ["S03"]
    assert len(ClipDataset(index_root, split="subjects", subset="val")) == 0


@pytest.mark.parametrize("train", [False, True])
def test_every_modality_holds_the_sampled_source_frames(index_root, train):
    # resize == crop: nothing is cut away, so each frame's 4x4 index grid stays readable.
    ds = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=ALL,
        num_frames=8,
        resize=64,
        crop=64,
        train=train,
    )
    for epoch in range(3 if train else 1):
        for i in range(len(ds)):
            s = ds[(i, epoch)]
            frames = s["frames"].numpy()
            n = int(ds.clips.loc[i, "num_frames"])
            lo, hi = segment_bounds(n, 8)
            assert np.all(frames >= lo) and np.all(frames <= hi)
            for m in ("rgb", "ir"):
                assert s[m].dtype == torch.uint8 and s[m].shape == (3, 8, 64, 64)
                got = [decode_index(np.ascontiguousarray(f)) for f in _frames(s[m])]
                assert got == frames.tolist(), m
            assert s["depth"].dtype == torch.uint16 and s["depth"].shape == (1, 8, 64, 64)
            depth = _frames(s["depth"])
            assert [int(d[0, 0]) for d in depth] == [depth_value(int(k)) for k in frames]


def test_same_indices_and_crop_for_every_modality(index_root):
    ds = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=ALL,
        num_frames=6,
        resize=48,
        crop=30,
    )
    crops = set()
    for epoch in range(4):
        s = ds[(1, epoch)]
        y, x = s["crop"].tolist()
        crops.add((y, x))
        for m in ALL:
            path, size, _ = ds.clip_file(1, m)
            full = read_clip(path, s["frames"].numpy(), modality=m, size=size)
            assert full.shape[2:] == (48, 48)
            assert np.array_equal(s[m].numpy(), full[:, :, y : y + 30, x : x + 30])
    assert len(crops) > 1  # the crop really is random


def test_flip_mirrors_pixels_and_labels(index_root):
    mirror = load_vocabulary().mirror_labels()
    assert mirror[TURN_LEFT] == TURN_RIGHT and mirror[TURN_RIGHT] == TURN_LEFT
    ds = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=ALL,
        num_frames=4,
        resize=32,
        crop=24,
        flip=True,
    )
    no_flip = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=ALL,
        num_frames=4,
        resize=32,
        crop=24,
        flip=False,
    )
    row = ds.clips.index[ds.clips["label"] == TURN_LEFT][0]
    seen = set()
    for epoch in range(12):
        s, plain = ds[(row, epoch)], no_flip[(row, epoch)]
        seen.add(s["flipped"])
        assert s["label"] == (TURN_RIGHT if s["flipped"] else TURN_LEFT)
        assert torch.equal(s["frames"], plain["frames"]) and torch.equal(s["crop"], plain["crop"])
        for m in ALL:
            want = plain[m].numpy()[..., ::-1] if s["flipped"] else plain[m].numpy()
            assert np.array_equal(s[m].numpy(), want), m
    assert seen == {True, False}
    # A class without a mirror keeps its label when flipped.
    other = ds.clips.index[ds.clips["label"] == 0][0]
    assert {ds[(other, e)]["label"] for e in range(8)} == {0}
    # Flip never happens at test time.
    test = ClipDataset(
        index_root,
        split="subjects",
        subset="test",
        modalities=ALL,
        flip=True,
        num_frames=4,
        resize=32,
        crop=24,
    )
    assert not test[0]["flipped"]


def test_window_cuts_then_mirrors():
    a = np.arange(24).reshape(3, 8)
    assert Window(1, 2, 2).cut(a).tolist() == [[10, 11], [18, 19]]
    assert Window(1, 2, 2, flip=True).cut(a).tolist() == [[11, 10], [19, 18]]


def test_loader_workers_do_not_change_samples(index_root):
    ds = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=("rgb", "depth"),
        num_frames=4,
        resize=32,
        crop=24,
        flip=True,
    )

    def run(workers):
        sampler = ClipSampler(len(ds), shuffle=True, seed=3)
        sampler.set_epoch(2)
        loader = DataLoader(ds, batch_size=2, sampler=sampler, num_workers=workers)
        return [(b["clip_id"], b["rgb"], b["depth"], b["label"]) for b in loader]

    a, b = run(0), run(2)
    assert [x[0] for x in a] == [x[0] for x in b]
    for x, y in zip(a, b, strict=True):
        assert all(torch.equal(p, q) for p, q in zip(x[1:], y[1:], strict=True))


def test_sampler_shards_and_pads():
    shards = [ClipSampler(7, shuffle=True, seed=1, rank=r, world_size=2) for r in range(2)]
    keys = [list(s) for s in shards]
    assert len(keys[0]) == len(keys[1]) == 4
    assert {i for k in keys for i, _ in k} == set(range(7))
    ev = [list(ClipSampler(7, shuffle=False, rank=r, world_size=2)) for r in range(2)]
    assert sorted(i for k in ev for i, _ in k) == list(range(7))  # no padding at evaluation
    s = ClipSampler(7, shuffle=True, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and sorted(i for i, _ in s) == list(range(7))


@pytest.mark.parametrize("fmt", ["jpeg", "h264", "raw"])
def test_prepare_cache_resizes_once_and_skips_on_rerun(index_root, fmt):
    report = prepare_cache(index_root, size=64, modalities=ALL, fmt=fmt)
    assert report.written == 5 * 3 + 1 and not report.failed and report.bytes > 0
    again = prepare_cache(index_root, size=64, modalities=ALL, fmt=fmt)
    assert again.written == 0 and again.skipped == report.written
    assert again.bytes == report.bytes
    cached = ClipDataset(
        index_root,
        split="subjects",
        subset="train",
        modalities=ALL,
        num_frames=8,
        resize=64,
        crop=64,
        train=False,
        cache=True,
        cache_format=fmt,
    )
    path, size, tag = cached.clip_file(0, "rgb")
    assert f"cache/{fmt}-s64/rgb" in path.as_posix() and size is None and fmt in tag
    s = cached[0]
    for m in ("rgb", "ir"):
        got = [decode_index(np.ascontiguousarray(f)) for f in _frames(s[m])]
        assert got == s["frames"].tolist()
    depth = _frames(s["depth"])
    assert [int(d[0, 0]) for d in depth] == [depth_value(int(k)) for k in s["frames"]]


def test_in_memory_dataset_decodes_each_stream_once_and_returns_the_same_samples(
    index_root, monkeypatch
):
    import mgrdark_train.data.dataset as dataset_module

    kw = dict(split="subjects", subset="train", modalities=ALL, num_frames=8, resize=64, crop=48)
    plain = ClipDataset(index_root, **kw)
    memory = ClipDataset(index_root, **kw, in_memory=True)
    reads: list[tuple[str, str]] = []
    real = dataset_module.read_clip

    def counting(path, indices, **k):
        reads.append((str(path), k["modality"]))
        return real(path, indices, **k)

    monkeypatch.setattr(dataset_module, "read_clip", counting)
    epochs, streams = 3, len(memory) * len(ALL)
    expected = []
    for epoch in range(epochs):
        for i in range(len(memory)):
            expected.append(plain[(i, epoch)])
    plain_reads, reads[:] = len(reads), []
    for epoch in range(epochs):
        for i in range(len(memory)):
            got, want = memory[(i, epoch)], expected[epoch * len(memory) + i]
            assert got["frames"].tolist() == want["frames"].tolist()
            for m in ALL:
                assert torch.equal(got[m], want[m]), (epoch, i, m)
    assert plain_reads == epochs * streams  # once per clip, stream and epoch
    assert len(reads) == streams and len(set(reads)) == streams  # once per clip and stream
    frames = int(memory.clips["num_frames"].sum())
    assert memory.memory_bytes() == frames * 64 * 64 * (3 + 3 + 2)
