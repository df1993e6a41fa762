"""Modality translators: factory, shapes, and that a tiny paired translator learns."""

from __future__ import annotations

import pytest
import torch

from mgrdark_train.translator import create_translator, translate_clip
from mgrdark_train.translator.apply import clip_to_frames, frames_to_clip
from mgrdark_train.translator.train import hot_l1_weights, translator_losses

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", ["gan", "grayscale", "identity"])
def test_shapes(name):
    t = create_translator(name, base_channels=4, depth=3)
    x = torch.randn(2, 3, 16, 24)
    assert t(x).shape == (2, 3, 16, 24)
    clip = torch.randn(2, 3, 5, 16, 16)
    assert translate_clip(t.eval(), clip).shape == clip.shape


def test_baselines_compute_what_they_say():
    x = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(create_translator("identity")(x), x)
    g = create_translator("grayscale", out_channels=1)(x)
    torch.testing.assert_close(g[:, 0], 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])


def test_factory_raises_on_unknown_names_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown translator"):
        create_translator("cyclegan")
    with pytest.raises(ValueError):
        create_translator("identity", out_channels=1)


def test_unet_takes_sizes_that_are_not_a_multiple_of_its_stride():
    gen = create_translator("gan", base_channels=4, depth=3)
    assert gen(torch.randn(2, 3, 12, 20)).shape == (2, 3, 12, 20)
    assert gen(torch.randn(1, 3, 56, 56)).shape == (1, 3, 56, 56)


def test_clip_frame_round_trip_keeps_frame_order():
    clip = torch.arange(2 * 3 * 4 * 2 * 2, dtype=torch.float32).reshape(2, 3, 4, 2, 2)
    frames = clip_to_frames(clip)
    torch.testing.assert_close(frames[1 * 4 + 2], clip[1, :, 2])  # batch 1, time 2
    torch.testing.assert_close(frames_to_clip(frames, 2), clip)


@pytest.mark.parametrize("gan_weight", [0.0, 0.05])
def test_tiny_paired_translator_l1_decreases(gan_weight):
    # Toy pair: "IR" is a fixed non-linear function of RGB (inverted luma, squared).
    torch.manual_seed(0)
    rgb = torch.rand(8, 3, 16, 16)
    ir = (1 - (0.3 * rgb[:, :1] + 0.6 * rgb[:, 1:2] + 0.1 * rgb[:, 2:])) ** 2
    ir = ir.expand(-1, 3, -1, -1)
    gen = create_translator("gan", base_channels=4, depth=2)
    disc = None
    if gan_weight:
        from mgrdark_train.translator import PatchDiscriminator

        disc = PatchDiscriminator(base_channels=4, layers=2)
    opt_g = torch.optim.Adam(gen.parameters(), lr=5e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-3) if disc else None
    first = last = None
    for _ in range(30):
        terms = translator_losses(gen, disc, rgb, ir, gan_weight=gan_weight, opt_d=opt_d)
        opt_g.zero_grad()
        terms["loss"].backward()
        opt_g.step()
        first = terms["l1"].item() if first is None else first
        last = terms["l1"].item()
    assert last < 0.5 * first
    assert ("gan" in terms) == bool(gan_weight)


def test_hot_l1_weights_follow_warmth_above_the_frame_median():
    # One 1x1x2x3 frame (grey levels); median 0.2, warmest pixel 0.2 + 0.8 above it.
    ir = torch.tensor([[[[0.0, 0.2, 0.2], [0.2, 0.6, 1.0]]]]).expand(1, 3, 2, 3)
    w = hot_l1_weights(ir, 4.0)
    want = torch.tensor([[[[1.0, 1.0, 1.0], [1.0, 3.0, 5.0]]]])
    assert w.shape == (1, 1, 2, 3)
    assert torch.allclose(w, want)
    flat = torch.full((2, 3, 4, 4), 0.3)  # no warm pixel: all weights 1
    assert torch.equal(hot_l1_weights(flat, 9.0), torch.ones(2, 1, 4, 4))


def test_hot_weighted_l1_is_the_mean_over_frames_of_weighted_means():
    torch.manual_seed(0)
    gen = torch.nn.Identity()
    rgb = torch.rand(2, 3, 5, 5)
    ir = torch.rand(2, 3, 5, 5)
    plain = translator_losses(gen, None, rgb, ir)["l1"]
    assert torch.allclose(plain, (rgb - ir).abs().mean())
    hot = translator_losses(gen, None, rgb, ir, hot_weight=9.0)["l1"]
    w = hot_l1_weights(ir, 9.0)
    per_frame = [(w[i] * (rgb[i] - ir[i]).abs()).sum() / (3 * w[i].sum()) for i in range(2)]
    assert torch.allclose(hot, torch.stack(per_frame).mean())
    assert not torch.allclose(hot, plain)
    # A mean over frames: the loss of a batch is the mean of its halves' losses, so averaging
    # the gradients of two DDP ranks gives the gradient of the whole batch.
    halves = [translator_losses(gen, None, rgb[:1], ir[:1], hot_weight=9.0)["l1"]]
    halves.append(translator_losses(gen, None, rgb[1:], ir[1:], hot_weight=9.0)["l1"])
    assert torch.allclose(hot, torch.stack(halves).mean())


def test_weights_of_another_network_version_give_a_clear_error(tmp_path):
    from mgrdark_data.errors import MgrdarkError
    from mgrdark_train.translator.train import load_translator_weights

    net = create_translator("gan", base_channels=4, depth=2)
    old = {**net.state_dict(), "encoder.1.1.running_mean": torch.zeros(8)}  # a BatchNorm buffer
    with pytest.raises(
        MgrdarkError,
        match=r"stage: the translator saved there does not fit "
        r"this version's network \(Error\(s\) in loading state_dict for "
        r"UNetTranslator\); delete that folder \(in an MTCD run also the "
        r"assistant and student folders trained on it\) to train it again",
    ):
        load_translator_weights(net, old, tmp_path / "stage")
    load_translator_weights(net, net.state_dict(), tmp_path / "stage")  # the matching weights load


class _Killed(RuntimeError):
    pass


def test_killed_between_metrics_and_checkpoint_resumes_without_a_duplicate_row(
    tmp_path, monkeypatch
):
    import pandas as pd

    import mgrdark_train.translator.train as train_module
    from mgrdark_train.engine.checkpoint import load_checkpoint
    from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset
    from mgrdark_train.translator.config import resolve_translator_run
    from mgrdark_train.translator.stage import train_translator_stage

    root = write_dark_ir_dataset(
        tmp_path / "data", classes=2, train_subjects=2, test_subjects=1, clips_per_class=2
    )
    cfg, tcfg = resolve_translator_run(
        preset="tiny",
        overrides={"data.root": str(root.root)},
        sets={"data.resize": 16, "data.crop": 16, "data.num_frames": 4, "translator.epochs": 3},
    )
    straight = tmp_path / "straight"
    train_translator_stage(cfg, tcfg, straight)

    killed = tmp_path / "killed"
    real_save = train_module.save_checkpoint

    def save_or_die(path, state):
        if state["epoch"] == 1:  # epoch 2's row is in metrics.csv, its checkpoint is not
            raise _Killed("simulated kill")
        return real_save(path, state)

    monkeypatch.setattr(train_module, "save_checkpoint", save_or_die)
    with pytest.raises(_Killed):
        train_translator_stage(cfg, tcfg, killed)
    assert pd.read_csv(killed / "metrics.csv")["epoch"].tolist() == [1, 2]
    assert load_checkpoint(killed / "checkpoint.pt")["epoch"] == 0
    monkeypatch.undo()

    torch.manual_seed(1234)  # a fresh process: other RNG state until the checkpoint's is restored
    train_translator_stage(cfg, tcfg, killed)
    a, b = pd.read_csv(straight / "metrics.csv"), pd.read_csv(killed / "metrics.csv")
    assert b["epoch"].tolist() == [1, 2, 3]  # epoch 2 once, not twice
    assert b["l1"].tolist() == a["l1"].tolist() and b["val_l1"].tolist() == a["val_l1"].tolist()
    wa = torch.load(straight / "translator.pt", weights_only=True)
    wb = torch.load(killed / "translator.pt", weights_only=True)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
