"""Precise BatchNorm on training steps: statistics recomputed with final weights; the frozen
networks an MTCD step holds are untouched."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mgrdark_train.engine.precise_bn import update_bn_stats
from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.mtcd.steps import StudentStep

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm3d(3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> dict:
        h = self.bn(x)
        return {"logits": self.fc(h.mean((2, 3, 4))), "embedding": h}


def _batches(n: int = 4) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [
        {
            "rgb": 5 + torch.randn(2, 3, 2, 4, 4, generator=g),
            "ir": torch.randn(2, 3, 2, 4, 4),
            "label": torch.tensor([0, 1]),
        }
        for _ in range(n)
    ]


def test_statistics_become_the_average_over_the_batches():
    net = _Net()
    net.bn.running_mean.fill_(-100.0)  # a badly lagging estimate
    step = ClassificationStep(net, input_key="rgb").eval()
    batches = _batches()
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k}
    assert update_bn_stats(step, batches) == 4
    expected = torch.stack([b["rgb"].mean((0, 2, 3, 4)) for b in batches]).mean(0)
    torch.testing.assert_close(net.bn.running_mean, expected)
    assert not step.training  # mode restored
    assert net.bn.momentum == 0.1
    for k, v in weights.items():
        if k != "bn.num_batches_tracked":
            torch.testing.assert_close(net.state_dict()[k], v)


def test_frozen_teacher_statistics_are_untouched_and_max_batches_is_honoured():
    teacher = _Net()
    before = teacher.bn.running_mean.clone()
    step = StudentStep(_Net(), teacher=teacher, use_fusion_kd=False)
    assert update_bn_stats(step, _batches(), 2) == 2
    torch.testing.assert_close(teacher.bn.running_mean, before)
    assert (step.student.bn.running_mean > 4).all()
