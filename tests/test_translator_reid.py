"""The `sda` translator's re-ID pieces: eq. 1-4 by hand, the identity term's gradient, the
SYSU-MM01 folder reader, and the stage on a tiny dataset."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch

from mgrdark_train.translator.reid import (
    IdentityTerm,
    ReIDEncoder,
    SYSUFolderError,
    batch_hard_triplet,
    identity_ce,
    load_sysu_ir,
    pairwise_distances,
    pretrain_encoder,
    reid_loss,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_eq2_identity_cross_entropy_by_hand():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    ids = torch.tensor([0, 1])
    # -log softmax: row 0, class 0: log(1 + 2 e^-2); row 1, class 1: log(1 + e^-1 + e^2)
    expected = (math.log(1 + 2 * math.exp(-2)) + math.log(1 + math.exp(-1) + math.exp(2))) / 2
    assert identity_ce(logits, ids).item() == pytest.approx(expected, abs=1e-6)


def test_eq3_euclidean_distances_not_squared():
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    d = pairwise_distances(f)
    assert d[0, 1].item() == pytest.approx(5.0, abs=1e-5)
    assert d[1, 2].item() == pytest.approx(math.sqrt(9 + 9), abs=1e-5)
    assert d[0, 0].item() == pytest.approx(0.0, abs=1e-5)


def test_eq4_batch_hard_triplet_picks_the_hardest_positive_and_negative():
    # 1-D features; identities 0 0 0 1 1. Per anchor: farthest positive, closest negative:
    #   f=0: pos {1, 5} -> 5, neg {2, 9} -> 2: m + 3
    #   f=1: pos {0, 5} -> 4, neg {2, 9} -> 1: m + 3
    #   f=5: pos {0, 1} -> 5, neg {2, 9} -> 3: m + 2
    #   f=2: pos {9}    -> 7, neg {0,1,5} -> 1: m + 6
    #   f=9: pos {2}    -> 7, neg {0,1,5} -> 4: m + 3
    f = torch.tensor([[0.0], [1.0], [5.0], [2.0], [9.0]])
    ids = torch.tensor([0, 0, 0, 1, 1])
    m = 0.5
    expected = ((m + 3) + (m + 3) + (m + 2) + (m + 6) + (m + 3)) / 5
    assert batch_hard_triplet(f, ids, m).item() == pytest.approx(expected, abs=1e-4)
    # The hinge: identities far apart give 0.
    far = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    assert batch_hard_triplet(far, torch.tensor([0, 0, 1, 1]), 0.3).item() == 0.0
    # Only one anchor side hinged: anchor 0 of [0, 1 | 1.5] has pos 1, neg 1.5: m - 0.5.
    f3 = torch.tensor([[0.0], [1.0], [1.5]])
    tri = batch_hard_triplet(f3, torch.tensor([0, 0, 1]), 1.0)
    # anchors 0 and 1 usable (anchor 2 has no positive): [1 + 1 - 1.5]_+, [1 + 1 - 0.5]_+
    assert tri.item() == pytest.approx((0.5 + 1.5) / 2, abs=1e-4)


def test_eq4_no_usable_anchor_is_zero_and_keeps_the_graph():
    f = torch.randn(3, 4, requires_grad=True)
    tri = batch_hard_triplet(f, torch.tensor([0, 1, 2]), 0.3)  # no positives
    assert tri.item() == 0.0
    tri.backward()
    assert torch.equal(f.grad, torch.zeros_like(f))


def test_eq1_is_ce_plus_lambda_times_triplet():
    out = {
        "logits": torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]]),
        "features": torch.tensor([[0.0], [3.0], [1.0]]),
    }
    ids = torch.tensor([0, 1, 0])
    terms = reid_loss(out, ids, triplet_weight=0.7, margin=0.3)
    ce = identity_ce(out["logits"], ids)
    tri = batch_hard_triplet(out["features"], ids, 0.3)
    assert terms["ce"].item() == pytest.approx(ce.item())
    assert terms["triplet"].item() == pytest.approx(tri.item())
    assert terms["loss"].item() == pytest.approx(ce.item() + 0.7 * tri.item(), abs=1e-6)
    # anchor f=0: pos 1 -> 1, neg 3 -> 3: [0.3 + 1 - 3]_+ = 0; anchor f=1: pos 1, neg 2: 0;
    # anchor f=3 has no positive: the triplet term is 0 here.
    assert tri.item() == 0.0


def test_identity_term_reaches_the_translator_output_not_the_encoders():
    encoders = [ReIDEncoder(num_ids=2, channels=4) for _ in range(2)]
    term = IdentityTerm(encoders, triplet_weight=1.0, margin=0.3)
    fake = torch.randn(6, 3, 16, 16, requires_grad=True)
    loss = term(fake, torch.tensor([0, 0, 0, 1, 1, 1]))
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    for enc in encoders:
        assert all(p.grad is None and not p.requires_grad for p in enc.parameters())
        assert not enc.training


def test_two_seeds_give_two_different_encoders_that_learn_identities():
    g = torch.Generator().manual_seed(0)
    # Two identities: bright frames and dark frames.
    frames = torch.randn(32, 3, 8, 8, generator=g)
    frames[:16] += 2
    frames[16:] -= 2
    ids = torch.tensor([0] * 16 + [1] * 16)
    common = {"num_ids": 2, "epochs": 10, "batch_size": 8, "channels": 4}
    a, ma = pretrain_encoder(frames, ids, seed=0, **common)
    b, _ = pretrain_encoder(frames, ids, seed=1, **common)
    assert ma["accuracy"] >= 0.9
    assert not torch.equal(a.classifier.weight, b.classifier.weight)


def _sysu(root, ids=(1, 2, 3), per_cam=2):
    for cam in ("cam1", "cam2", "cam3", "cam4", "cam5", "cam6"):
        for pid in ids:
            d = root / cam / f"{pid:04d}"
            d.mkdir(parents=True)
            for k in range(per_cam):
                value = 40 * pid + (0 if cam in ("cam3", "cam6") else 200)  # RGB would be bright
                img = np.full((24, 12, 3), min(value, 255), np.uint8)
                cv2.imwrite(str(d / f"{k + 1:04d}.jpg"), img)
    return root


def test_sysu_folder_reads_ir_cameras_and_leaves_test_ids_out(tmp_path):
    root = _sysu(tmp_path / "SYSU-MM01")
    (root / "exp").mkdir()
    (root / "exp" / "test_id.txt").write_text("3")
    frames, ids, names = load_sysu_ir(root, size=8)
    assert names == ["0001", "0002"]  # 0003 is a test identity
    assert frames.shape == (8, 3, 8, 8)  # 2 ids x 2 IR cameras x 2 images
    assert ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # IR images only (values 40 and 80, not the RGB cameras' 240+), normalised like IR clips.
    from mgrdark_train.data.normalize import DEFAULT_NORMALIZATION, normalize_clip

    want = normalize_clip(
        torch.full((3, 1, 1, 1), 40, dtype=torch.uint8), DEFAULT_NORMALIZATION["ir"]
    )
    assert frames[0].mean().item() == pytest.approx(want.mean().item(), abs=0.05)


def test_sysu_folder_errors_are_one_line_and_actionable(tmp_path):
    with pytest.raises(SYSUFolderError, match="cam3 or cam6"):
        load_sysu_ir(tmp_path, size=8)
    (tmp_path / "cam3" / "0001").mkdir(parents=True)
    with pytest.raises(SYSUFolderError, match="no .jpg image"):
        load_sysu_ir(tmp_path, size=8)


def test_sda_stage_pretrains_two_encoders_on_training_subjects_and_sysu(tmp_path):
    from mgrdark_train.engine.config import resolve_config
    from mgrdark_train.testing.mtcd import write_tiny_dark_ir_dataset
    from mgrdark_train.translator.config import TranslatorConfig
    from mgrdark_train.translator.stage import load_translator, train_translator_stage

    data = write_tiny_dark_ir_dataset(tmp_path / "data")
    sysu = _sysu(tmp_path / "sysu", ids=(1, 2))
    cfg = resolve_config(
        preset="tiny",
        sets={
            "data.root": str(data.root),
            "data.resize": 16,
            "data.crop": 16,
            "data.num_frames": 4,
            "data.workers": 0,
        },
    )
    tcfg = TranslatorConfig(
        name="sda",
        base_channels=4,
        depth=2,
        epochs=1,
        reid_epochs=2,
        reid_channels=4,
        reid_sysu=str(sysu),
        reid_sysu_epochs=1,
    )
    summary = train_translator_stage(cfg, tcfg, tmp_path / "translator")
    assert len(summary["train"]["reid"]) == 2  # two encoders
    assert summary["train"]["identity"] > 0  # the identity term was trained
    assert set(summary["l1"]) == {"sda", "grayscale", "identity"}
    state = torch.load(tmp_path / "translator" / "reid_encoders.pt", weights_only=True)
    assert state["num_ids"] == 2  # the 2 training subjects, never the test subject
    assert json.loads((tmp_path / "translator" / "translator.json").read_text())["name"] == "sda"
    t = load_translator(tmp_path / "translator")
    assert t(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)
