"""Evaluation as in the video literature: C x K views, the best checkpoint on val, and what
`mgrtrain eval` says it used."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from math import floor

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from torch import nn
from torch.utils.data import Dataset

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.manifest import write_split
from mgrdark_data.testing import decode_index
from mgrdark_train.cli import cli
from mgrdark_train.data import ClipDataset, crop_origin, eval_indices
from mgrdark_train.engine.checkpoint import load_checkpoint
from mgrdark_train.engine.evaluate import predict
from mgrdark_train.engine.views import (
    Views,
    clip_views,
    crop_origins,
    parse_views,
    view_frame_indices,
)
from mgrdark_train.testing import ClipSpec, write_dataset_root, write_pattern_dataset

DEVICE = os.environ.get("MGRDARK_TEST_DEVICE", "cpu")


def test_views_parse_as_clips_by_crops():
    assert parse_views("10x3") == Views(10, 3) and str(Views(10, 3)) == "10x3"
    assert parse_views("1x1").count == 1 and parse_views(" 4 x 2 ").count == 8
    for bad in ("10", "0x3", "3x", "ax3", "10x3x1"):
        with pytest.raises(MgrdarkError, match=r"expected CxK, C temporal clips by K spatial"):
            parse_views(bad)


@pytest.mark.parametrize(("n", "t", "clips"), [(40, 8, 10), (17, 8, 3), (5, 8, 2), (23, 4, 1)])
def test_temporal_views_shift_every_segment_instant(n, t, clips):
    got = view_frame_indices(n, t, clips)
    # Frame i of clip c covers the instant (i + (c + 1/2) / C) * n / T (exact arithmetic).
    want = [
        [floor((i + (c + Fraction(1, 2)) / clips) * Fraction(n, t)) for i in range(t)]
        for c in range(clips)
    ]
    assert got.tolist() == want
    if clips == 1:
        assert got[0].tolist() == eval_indices(n, t).tolist()  # one clip: today's sample


def test_spatial_crops_spread_from_left_to_right():
    assert crop_origins(64, 56, 1) == [crop_origin(64, 56, train=False)] == [(4, 4)]
    assert crop_origins(64, 56, 3) == [(4, 0), (4, 4), (4, 8)]
    assert crop_origins(64, 56, 2) == [(4, 0), (4, 8)]
    assert crop_origins(10, 3, 5) == [(3, 0), (3, 1), (3, 3), (3, 5), (3, 7)]


def test_clip_views_cut_exact_frames_and_boxes():
    clips, t, size, crop = 3, 4, 10, 6
    # Value = frame * 10000 + row * 100 + column, on both channels.
    f, y, x = torch.meshgrid(
        torch.arange(clips * t), torch.arange(size), torch.arange(size), indexing="ij"
    )
    clip = (f * 10000 + y * 100 + x).float().expand(2, -1, -1, -1)
    views = clip_views(clip, Views(clips, 2), crop)
    assert len(views) == 6
    for v, view in enumerate(views):
        c, k = divmod(v, 2)
        y0, x0 = crop_origins(size, crop, 2)[k]
        assert view.shape == (2, t, crop, crop)
        frames = (view[0, :, 0, 0] // 10000).long().tolist()
        assert frames == [clips * i + c for i in range(t)]
        assert int(view[1, 0, 0, 0]) % 10000 == y0 * 100 + x0  # top-left pixel of the box
        assert int(view[1, 0, -1, -1]) % 10000 == (y0 + crop - 1) * 100 + x0 + crop - 1


@pytest.fixture(scope="module")
def index_root(tmp_path_factory):
    specs = [ClipSpec("S01", 0, 40), ClipSpec("S01", 1, 17), ClipSpec("S01", 2, 5)]
    return write_dataset_root(tmp_path_factory.mktemp("views_index"), specs, {"S01": "test"})


def _decoded(x: torch.Tensor) -> list[int]:
    """Frame indices spelled by a (3, T, H, W) uint8 clip as the loader hands it over."""
    return [decode_index(f.contiguous().numpy()) for f in x.permute(1, 2, 3, 0)]


def test_views_of_decoded_clips_hold_the_sampled_frames_and_crops(index_root):
    clips, t = 4, 6
    wide = ClipDataset(index_root, split="subjects", subset="test", num_frames=clips * t,
                       resize=64, crop=64)  # fmt: skip
    plain = ClipDataset(index_root, split="subjects", subset="test", num_frames=t,
                        resize=64, crop=64)  # fmt: skip
    for i in range(len(wide)):
        n = int(wide.clips.loc[i, "num_frames"])
        views = clip_views(wide[i]["rgb"], Views(clips, 1), 64)
        # Each temporal view holds the frames of the formula, read back from the pixels.
        assert [_decoded(v) for v in views] == view_frame_indices(n, t, clips).tolist()
        # Three crops of one clip are the boxes of the plain sample's whole frames.
        full = plain[i]["rgb"]
        for view, (y, x) in zip(clip_views(full, Views(1, 3), 48), crop_origins(64, 48, 3),
                                strict=True):  # fmt: skip
            assert torch.equal(view, full[:, :, y : y + 48, x : x + 48])


class _MeanLogits(nn.Module):
    """Logits that depend on the view: (mean, -mean, 2 * first pixel) of the input."""

    def forward(self, batch):
        x = batch["rgb"].float()
        m = x.mean(dim=(1, 2, 3, 4))
        first = x[:, 0, 0, 0, 0]
        logits = torch.stack([m, -m, 2 * first], dim=1)
        return {"loss": logits.sum(), "output": logits}


class _CodedClips(Dataset):
    """Clips whose values code frame, row and column, scaled down to small logits."""

    def __init__(self, clips: int, t: int, size: int) -> None:
        f, y, x = torch.meshgrid(
            torch.arange(clips * t), torch.arange(size), torch.arange(size), indexing="ij"
        )
        self.base = (f * 0.05 + y * 0.01 - x * 0.02).float()[None]

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i):
        return {"rgb": self.base + i * 0.1, "label": i % 3, "clip_id": f"c{i}"}


def test_a_clips_score_is_the_mean_of_its_views_softmax():
    views, crop = Views(2, 3), 6
    data = _CodedClips(2, 4, 10)
    step = _MeanLogits()
    cpu = torch.device("cpu")
    pred = predict(step, data, device=cpu, batch_size=4, views=views, crop=crop)
    for i in range(len(data)):
        scores = [
            step({"rgb": v[None]})["output"].softmax(dim=1)[0]
            for v in clip_views(data[i]["rgb"], views, crop)
        ]
        torch.testing.assert_close(
            torch.from_numpy(pred.probs[i]), torch.stack(scores).mean(0), rtol=0, atol=1e-7
        )
    # How views are batched changes nothing.
    other = predict(step, data, device=cpu, batch_size=64, views=views, crop=crop)
    np.testing.assert_allclose(other.probs, pred.probs, rtol=0, atol=1e-7)
    assert pred.clip_ids == ["c0", "c1", "c2"] and pred.labels.tolist() == [0, 1, 2]


@pytest.fixture(scope="module")
def val_root(tmp_path_factory):
    root = write_pattern_dataset(
        tmp_path_factory.mktemp("views_val"),
        train_subjects=2,
        test_subjects=1,
        clips_per_class=2,
        num_frames=(10, 14),
        size=32,
    )
    write_split({"S01": "train", "S02": "val", "S03": "test"}, root.split_path("withval"))
    return root


SMALL = [
    "--preset", "tiny", "--modality", "rgb", "--device", DEVICE, "--batch-size", "4",
    "--set", "data.num_frames=4", "--set", "data.resize=32", "--set", "data.crop=28",
    "--set", "run.tensorboard=false", "--set", "run.eval_every=1",
]  # fmt: skip


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_best_checkpoint_on_val_and_eval_reports_checkpoint_and_views(tmp_path, val_root):
    run = tmp_path / "run"
    common = ["baseline", "-d", str(val_root.root), *SMALL, "--split", "withval"]
    r = _run([*common, "--set", "data.eval_subset=val", "--epochs", "4", "--out", str(run)])
    assert r.exit_code == 0, r.output
    assert "M parameters" in r.stderr and "a training step of 4 clips needs about" in r.stderr
    val = pd.read_csv(run / "metrics.csv")["val_top1"].tolist()
    best_epoch = val.index(max(val)) + 1  # ties go to the earlier epoch
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert int(best["epoch"]) + 1 == best_epoch
    assert best["best"] == {"metric": "val_top1", "value": max(val), "epoch": best_epoch}

    r = _run(["eval", str(run), "--views", "2x3", "-q"])
    assert r.exit_code == 0, r.output
    assert f"best.pt of epoch {best_epoch}, views 2x3): top1=" in r.stdout
    m = json.loads((run / "eval" / "metrics.json").read_text())
    assert (m["checkpoint"], m["epoch"], m["views"]) == ("best.pt", best_epoch, "2x3")
    assert m["selected_by"]["value"] == max(val)

    r = _run(["eval", str(run), "--checkpoint", "last.pt", "--out", str(tmp_path / "e"), "-q"])
    assert "last.pt of epoch 4, views 1x1)" in r.stdout


def test_one_view_is_todays_evaluation(tmp_path, val_root):
    """The 1x1 report equals predictions of the plain centre-crop sample, and the view path
    cutting one view from an uncropped item gives the same scores."""
    from mgrdark_train.builders import build_dataset
    from mgrdark_train.engine.config import load_config
    from mgrdark_train.stages import get_stage

    run = tmp_path / "run"
    r = _run(["baseline", "-d", str(val_root.root), *SMALL, "--epochs", "1", "--out", str(run)])
    assert r.exit_code == 0, r.output
    r = _run(["eval", str(run), "-q"])
    assert "last.pt of epoch 1, views 1x1)" in r.stdout
    reported = pd.read_parquet(run / "eval" / "predictions.parquet")

    cfg = load_config(run / "config.yaml")
    step = get_stage("baseline").build_step(cfg, 10, run)
    step.load_state_dict(load_checkpoint(run / "checkpoints" / "last.pt")["step"])
    cpu = torch.device("cpu")
    plain = predict(step, build_dataset(cfg, "test", ("rgb",), train=False), device=cpu)
    np.testing.assert_array_equal(np.stack(reported["prob"]), plain.probs)
    cfg.data.crop = cfg.data.resize  # items of whole frames; the view is cut from them
    whole = build_dataset(cfg, "test", ("rgb",), train=False)
    one = predict(step, whole, device=cpu, views=Views(1, 1), crop=28)
    np.testing.assert_allclose(one.probs, plain.probs, rtol=0, atol=1e-6)


def test_without_val_subjects_validation_is_off_and_said_so_once(tmp_path, val_root):
    run = tmp_path / "run"
    args = ["baseline", "-d", str(val_root.root), *SMALL, "--epochs", "2", "--out", str(run)]
    r = _run([*args, "--set", "data.eval_subset=val"])
    assert r.exit_code == 0, r.output
    note = "per-epoch validation is off: split 'subjects' has no val clips with data.light=dark"
    assert r.stderr.count(note) == 1
    assert not (run / "checkpoints" / "best.pt").exists()
    assert "val_top1" not in pd.read_csv(run / "metrics.csv")
