"""Distillation losses (eq. 5-7), fusion, and the total loss (eq. 10)."""

from __future__ import annotations

import pytest
import torch

from mgrdark_train.mtcd.losses import (
    fuse,
    kd_distance,
    kd_fusion_to_rgb,
    kd_ir_to_irp,
    kd_ir_to_rgb,
    total_loss,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


KDS = [
    {"distance": "mse_l2", "reduction": "mean"},
    {"distance": "mse_l2", "reduction": "batchmean"},
    {"distance": "kl_logits", "reduction": "mean", "temperature": 2.0},
]


def _out(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "embedding": torch.randn(2, 8, 2, 3, 3, generator=g),
        "logits": torch.randn(2, 5, generator=g),
    }


@pytest.mark.parametrize("kd", KDS)
@pytest.mark.parametrize("fn", [kd_ir_to_rgb, kd_ir_to_irp])
def test_pairwise_kd_zero_for_identical_positive_otherwise(fn, kd):
    a, b = _out(0), _out(1)
    assert fn(a, {k: v.clone() for k, v in a.items()}, **kd).item() == pytest.approx(0, abs=1e-6)
    assert fn(a, b, **kd).item() > 1e-3


@pytest.mark.parametrize("kd", KDS)
def test_fusion_kd_zero_when_all_agree_positive_otherwise(kd):
    a = _out(0)
    same = {k: v.clone() for k, v in a.items()}
    assert kd_fusion_to_rgb(a, same, same, **kd).item() == pytest.approx(0, abs=1e-6)
    assert kd_fusion_to_rgb(a, _out(1), _out(2), **kd).item() > 1e-3
    # The student is pulled towards the fused target: matching only the teacher is not zero.
    assert kd_fusion_to_rgb(a, same, _out(2), **kd).item() > 1e-3


def test_mse_l2_is_two_minus_two_cosine_and_scale_free():
    s = torch.randn(4, 16)
    t = torch.randn(4, 16)
    cos = torch.nn.functional.cosine_similarity(s, t, dim=1)
    torch.testing.assert_close(kd_distance(s, t), (2 - 2 * cos).mean())
    torch.testing.assert_close(kd_distance(s, 3.0 * t), kd_distance(s, t))


def test_reductions_differ_by_the_number_of_positions():
    s, t = torch.randn(2, 8, 2, 3, 3), torch.randn(2, 8, 2, 3, 3)
    mean = kd_distance(s, t, reduction="mean")
    batchmean = kd_distance(s, t, reduction="batchmean")
    torch.testing.assert_close(batchmean, mean * 2 * 3 * 3)


def test_teacher_side_is_detached():
    s = torch.randn(2, 8, 2, 3, 3, requires_grad=True)
    t = torch.randn(2, 8, 2, 3, 3, requires_grad=True)
    a = torch.randn(2, 8, 2, 3, 3, requires_grad=True)
    loss = kd_fusion_to_rgb({"embedding": s}, {"embedding": t}, {"embedding": a})
    loss = loss + kd_ir_to_rgb({"embedding": s}, {"embedding": t})
    loss.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None and a.grad is None


def test_fusion_is_convex_combination_of_normalised_features():
    t, a = torch.randn(2, 4), torch.randn(2, 4)
    tn, an = torch.nn.functional.normalize(t, dim=1), torch.nn.functional.normalize(a, dim=1)
    torch.testing.assert_close(fuse(t, a, weight=1.0, distance="mse_l2"), tn)
    torch.testing.assert_close(fuse(t, a, weight=0.25, distance="mse_l2"), 0.25 * tn + 0.75 * an)
    torch.testing.assert_close(fuse(t, a, weight=0.5, distance="kl_logits"), (t + a) / 2)
    with pytest.raises(ValueError):
        fuse(t, a, weight=1.5, distance="mse_l2")


def test_total_loss_eq10():
    ce, kf, ki = torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)
    assert total_loss(ce, kf, ki).item() == pytest.approx(1 + 0.9 * 2 + 0.3 * 3)
    assert total_loss(ce, None, ki).item() == pytest.approx(1 + 0.3 * 3)
    assert total_loss(ce, kf, None).item() == pytest.approx(1 + 0.9 * 2)
    assert total_loss(ce, None, None).item() == pytest.approx(1)


def test_unknown_options_raise():
    with pytest.raises(ValueError):
        kd_distance(torch.randn(2, 3), torch.randn(2, 3), distance="cosine")
    with pytest.raises(ValueError):
        kd_distance(torch.randn(2, 3), torch.randn(2, 3), reduction="sum")
