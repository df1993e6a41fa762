"""The step-memory estimate (`engine/memory.py`): each term exactly, the activations equal to
what a real forward pass keeps, and (on a GPU) the total near the measured peak."""

from __future__ import annotations

import os

import pytest
import torch

from mgrdark_train.engine.memory import (
    activation_bytes,
    estimate_step_memory,
    meta_batch,
    optimizer_state_slots,
)
from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.models import create_resnet3d


def _step(**kw) -> ClassificationStep:
    torch.manual_seed(0)
    return ClassificationStep(create_resnet3d(num_classes=5, **kw), input_key="rgb")


def _item(t: int = 8, size: int = 32) -> dict:
    return {"rgb": torch.zeros(3, t, size, size), "label": 1, "clip_id": "c", "flipped": False}


def _real_batch(batch_size: int, t: int = 8, size: int = 32) -> dict:
    g = torch.Generator().manual_seed(1)
    rgb = torch.randn(batch_size, 3, t, size, size, generator=g)
    return {"rgb": rgb, "label": torch.ones(batch_size, dtype=torch.long)}


@pytest.mark.parametrize(("variant", "count"), [("i3d", 28_043_472), ("slowonly", 32_950_480)])
def test_parameter_terms_are_exact(variant, count):
    """At 400 classes our i3d network has PyTorchVideo i3d_r50's parameter count (28.04 M)."""
    net = create_resnet3d(num_classes=400, variant=variant)
    est = estimate_step_memory(net, {}, optimizer_slots=1)
    assert est.parameters == est.trainable == count
    buffers = sum(b.numel() * b.element_size() for b in net.buffers())
    assert est.weight_bytes == 4 * count + buffers
    assert est.grad_bytes == est.optimizer_bytes == 4 * count
    assert est.activation_bytes is None  # a network that does not take a batch dict


def test_frozen_parameters_and_optimizers():
    step = _step(depth=10, width=0.25)
    for p in step.model.layer1.parameters():
        p.requires_grad_(False)
    frozen = sum(p.numel() for p in step.model.layer1.parameters())
    total = sum(p.numel() for p in step.parameters())
    batch = meta_batch(_item(), 2)
    for name, momentum, slots in (("sgd", 0.9, 1), ("sgd", 0.0, 0), ("adamw", 0.9, 2)):
        assert optimizer_state_slots(name, momentum) == slots
        est = estimate_step_memory(step, batch, optimizer_slots=slots)
        assert est.trainable == total - frozen
        assert est.grad_bytes == 4 * (total - frozen)
        assert est.optimizer_bytes == slots * 4 * (total - frozen)


@pytest.mark.parametrize("checkpoint_stages", [0, 2])
def test_meta_activations_equal_a_real_forward(checkpoint_stages, one_torch_thread):
    step = _step(depth=18, width=0.25, checkpoint_stages=checkpoint_stages)
    rng = torch.get_rng_state()
    before = {k: v.clone() for k, v in step.state_dict().items()}
    meta = activation_bytes(step, meta_batch(_item(), 3))
    # Nothing of the network moved or changed, and no random number was drawn.
    assert torch.equal(rng, torch.get_rng_state())
    assert all(torch.equal(v, before[k]) for k, v in step.state_dict().items())
    assert meta == activation_bytes(step, _real_batch(3))
    # Linear in the batch, up to the per-channel statistics BatchNorm keeps.
    assert activation_bytes(step, meta_batch(_item(), 6)) == pytest.approx(2 * meta, rel=0.01)


def test_checkpointing_and_bf16_shrink_the_estimate():
    plain = estimate_step_memory(_step(depth=18, width=0.25), meta_batch(_item(), 4))
    ckpt = estimate_step_memory(
        _step(depth=18, width=0.25, checkpoint_stages=4), meta_batch(_item(), 4)
    )
    # What is left: the stem, the head and each checkpointed block's input.
    assert ckpt.activation_bytes < 0.8 * plain.activation_bytes
    half = estimate_step_memory(
        _step(depth=18, width=0.25), meta_batch(_item(), 4), amp=torch.bfloat16
    )
    assert half.activation_bytes == plain.activation_bytes // 2
    assert half.amp_bytes == plain.grad_bytes // 2
    assert half.total_bytes == plain.total_bytes - plain.activation_bytes // 2 + half.amp_bytes
    line = plain.describe()
    assert line == (
        "1.29 M parameters (1.29 M trainable); a training step of 4 clips needs about 17.4 MiB "
        "on the CPU (an estimate: weights 4.9 MiB, gradients 4.9 MiB, optimizer state 4.9 MiB, "
        "activations 2.6 MiB)"
    )


@pytest.mark.gpu
def test_estimate_is_near_the_measured_cuda_peak():
    device = torch.device(os.environ.get("MGRDARK_TEST_DEVICE", "cuda"))
    step = _step(depth=50, width=1.0).to(device)
    batch = {k: v.to(device) for k, v in _real_batch(4, t=16, size=112).items()}
    est = estimate_step_memory(step, meta_batch(_item(16, 112), 4), optimizer_slots=1)
    opt = torch.optim.SGD(step.parameters(), lr=0.1, momentum=0.9)
    torch.cuda.reset_peak_memory_stats(device)
    step(batch)["loss"].backward()
    opt.step()
    peak = torch.cuda.max_memory_allocated(device)
    assert 0.5 < est.total_bytes / peak < 2.0, (est.total_bytes, peak)
