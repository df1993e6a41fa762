"""MTCD training steps: ablation switches, frozen networks, RGB-only inference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.mtcd.networks import MTCDNetwork
from mgrdark_train.mtcd.steps import AssistantStep, StudentStep
from mgrdark_train.translator import create_translator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


K = 4


class _TinyBackbone(nn.Module):
    """Stands in for create_resnet3d: same output contract, a few hundred parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 6, 3, stride=(1, 2, 2), padding=1)

    def forward(self, x: torch.Tensor) -> dict:
        f = torch.relu(self.conv(x))
        return {"features": {"res5": f}, "logits": None, "pooled": f.mean((2, 3, 4))}


def _net(seed: int, use_converter: bool = True) -> MTCDNetwork:
    torch.manual_seed(seed)
    return MTCDNetwork(
        _TinyBackbone(),
        feature_channels=6,
        num_classes=K,
        embed_dim=8,
        use_converter=use_converter,
        dropout=0.0,
    )


def _batch(with_ir: bool = True) -> dict:
    g = torch.Generator().manual_seed(0)
    b = {"rgb": torch.randn(2, 3, 4, 16, 16, generator=g), "label": torch.tensor([0, 3])}
    if with_ir:
        b["ir"] = torch.randn(2, 3, 4, 16, 16, generator=g)
    return b


def _student(**kw) -> StudentStep:
    return StudentStep(
        _net(0),
        teacher=_net(1),
        assistant=_net(2),
        translator=create_translator("grayscale"),
        **kw,
    )


@pytest.mark.parametrize(
    ("fusion", "ir", "keys"),
    [
        (False, False, set()),
        (False, True, {"kd_ir_rgb"}),
        (True, False, {"kd_fusion_rgb"}),
        (True, True, {"kd_ir_rgb", "kd_fusion_rgb"}),
    ],
)
def test_each_switch_removes_exactly_its_term(fusion, ir, keys):
    full = _student()(_batch())
    out = _student(use_fusion_kd=fusion, use_ir_kd=ir)(_batch())
    assert set(out) == {"loss", "output", "ce"} | keys
    # Same seeds, same weights: the surviving terms are unchanged by switching others off.
    for k in keys | {"ce"}:
        torch.testing.assert_close(out[k], full[k])
    expected = out["ce"] + 0.9 * out.get("kd_fusion_rgb", 0) + 0.3 * out.get("kd_ir_rgb", 0)
    torch.testing.assert_close(out["loss"], expected)  # eq. 10
    assert all(out[k].item() > 0 for k in keys)


def test_frozen_networks_get_no_gradient_and_are_not_in_the_optimizer():
    translator = create_translator("gan", base_channels=4, depth=2)
    teacher, assistant = _net(1), _net(2)
    step = StudentStep(_net(0), teacher=teacher, assistant=assistant, translator=translator)
    step.train()
    frozen = {id(p) for m in (teacher, assistant, translator) for p in m.parameters()}
    opt_params = list(step.parameters())
    assert opt_params and not frozen & {id(p) for p in opt_params}
    assert not any(k.startswith(("teacher", "assistant", "translator")) for k in step.state_dict())
    # Frozen networks stay in eval() even after step.train().
    assert not teacher.training and not assistant.training and not translator.training
    before = {n: p.clone() for n, p in teacher.named_parameters()}
    out = step(_batch())
    out["loss"].backward()
    for m in (teacher, assistant, translator):
        assert all(p.grad is None and not p.requires_grad for p in m.parameters())
    assert any(p.grad is not None for p in step.student.parameters())
    torch.optim.SGD(step.parameters(), lr=1.0).step()
    for n, p in teacher.named_parameters():
        torch.testing.assert_close(p, before[n])


def test_frozen_networks_move_with_the_step():
    teacher = _net(1)
    step = StudentStep(_net(0), teacher=teacher, use_fusion_kd=False)
    step.to(torch.float64)
    assert next(teacher.parameters()).dtype == torch.float64


def test_student_inference_never_touches_ir_or_teacher():
    teacher, assistant = _net(1), _net(2)
    translator = create_translator("grayscale")
    step = StudentStep(_net(0), teacher=teacher, assistant=assistant, translator=translator)

    def _forbid(*_):
        raise AssertionError("a frozen network ran at inference")

    for m in (teacher, assistant, translator):
        m.register_forward_pre_hook(_forbid)
    step.eval()
    out = step(_batch(with_ir=False))  # no "ir" key at all
    assert set(out) == {"loss", "output", "ce"}
    assert out["output"].shape == (2, K)
    with pytest.raises(AssertionError):
        step.train()(_batch())


def test_training_without_ir_says_what_is_missing():
    with pytest.raises(KeyError, match="ir"):
        _student().train()(_batch(with_ir=False))


def test_assistant_step_terms_and_rgb_only_eval():
    teacher = _net(1)
    step = AssistantStep(_net(2), translator=create_translator("grayscale"), teacher=teacher)
    out = step.train()(_batch())
    assert set(out) == {"loss", "output", "ce", "kd_ir_irp"}
    torch.testing.assert_close(out["loss"], out["ce"] + out["kd_ir_irp"])
    off = AssistantStep(_net(2), translator=create_translator("grayscale"), use_kd=False)
    assert set(off.train()(_batch())) == {"loss", "output", "ce"}
    teacher.register_forward_pre_hook(lambda *_: (_ for _ in ()).throw(AssertionError()))
    assert set(step.eval()(_batch(with_ir=False))) == {"loss", "output", "ce"}


def test_classifier_step_and_missing_networks():
    out = ClassificationStep(_net(1), input_key="ir")(_batch())
    assert set(out) == {"loss", "output", "ce"}
    with pytest.raises(ValueError):
        StudentStep(_net(0))  # kd switched on but no teacher
    with pytest.raises(ValueError):
        StudentStep(_net(0), teacher=_net(1), use_fusion_kd=True)  # no assistant
    assert set(StudentStep(_net(0), use_fusion_kd=False, use_ir_kd=False)(_batch())) == {
        "loss",
        "output",
        "ce",
    }
