"""How much memory one training step needs, estimated before any work (the one estimate;
`bench/gpu.py` and the start-of-run line use it).

    weights + gradients + optimizer state + activations (+ bf16 weight copies under autocast)

* weights: every parameter and buffer as stored; gradients: one per trainable parameter;
  optimizer state: `optimizer_state_slots` tensors per trainable parameter (SGD with momentum
  1, AdamW 2);
* activations: exactly what autograd keeps for the backward pass, measured by running the
  step's forward on the `meta` device (shapes only, no memory, no randomness consumed) at the
  real batch size, counting each saved tensor's storage once; parameters excluded, the input
  and the inputs checkpointed blocks keep (`model.checkpoint_stages`) included. Autocast does
  not reach meta tensors, so under bf16 the activations are counted at half their float32
  size (convolutions and their inputs run in bf16; an estimate).

Not counted: the CUDA context (~0.5 GiB), cuDNN workspaces, allocator slack and the
temporaries of the backward pass, so a measured peak (`torch.cuda.max_memory_allocated`)
runs somewhat above the estimate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from ..models.checkpointing import observe_kept_inputs

log = logging.getLogger(__name__)

GiB = 2**30


@dataclass(frozen=True)
class MemoryEstimate:
    """The terms of one training step's memory, in bytes (see the module docstring)."""

    parameters: int
    """Number of parameters (trainable and frozen)."""
    trainable: int
    """Number of trainable parameters."""
    weight_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    activation_bytes: int | None
    """None when the forward pass could not run on the meta device."""
    amp_bytes: int
    batch_size: int
    """Clips per process the activations were measured for."""

    @property
    def total_bytes(self) -> int:
        terms = (self.weight_bytes, self.grad_bytes, self.optimizer_bytes, self.amp_bytes)
        return sum(terms) + (self.activation_bytes or 0)

    def describe(self, device: torch.device | None = None) -> str:
        """One line for the start of a run."""
        count = f"{self.parameters / 1e6:.2f} M parameters ({self.trainable / 1e6:.2f} M trainable)"
        terms = [
            f"weights {_size(self.weight_bytes)}",
            f"gradients {_size(self.grad_bytes)}",
            f"optimizer state {_size(self.optimizer_bytes)}",
            "activations not estimated (the forward pass does not run on 'meta')"
            if self.activation_bytes is None
            else f"activations {_size(self.activation_bytes)}",
        ]
        if self.amp_bytes:
            terms.append(f"bf16 weight copies {_size(self.amp_bytes)}")
        where = "per GPU" if device is not None and device.type == "cuda" else "on the CPU"
        line = (
            f"{count}; a training step of {self.batch_size} clips needs about "
            f"{_size(self.total_bytes)} {where} (an estimate: {', '.join(terms)})"
        )
        if device is not None and device.type == "cuda":
            free, total = torch.cuda.mem_get_info(device)
            line += f"; {_size(free)} of {_size(total)} free"
        return line


def _size(n: int) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / 2**20:.1f} MiB"


def optimizer_state_slots(name: str, momentum: float = 0.0) -> int:
    """Tensors of a parameter's size the optimizer keeps per trainable parameter."""
    if name == "sgd":
        return 1 if momentum else 0
    return 2  # AdamW's two moments (and the safe guess for anything else)


def meta_batch(item: Mapping[str, Any], batch_size: int) -> dict[str, Any]:
    """A batch of `batch_size` copies of one dataset item, as `meta` tensors (shapes only)."""
    out: dict[str, Any] = {}
    for k, v in item.items():
        if isinstance(v, torch.Tensor):
            out[k] = torch.empty((batch_size, *v.shape), dtype=v.dtype, device="meta")
        elif isinstance(v, bool | int | float):
            out[k] = torch.zeros(batch_size, dtype=torch.tensor(v).dtype, device="meta")
        else:
            out[k] = [v] * batch_size
    return out


def activation_bytes(step: nn.Module, batch: Mapping[str, Any], *, train: bool = True) -> int:
    """Bytes of the tensors the forward pass of `step` keeps for its backward pass.

    Runs on `meta` copies of the parameters and buffers when `batch` holds meta tensors
    (nothing is allocated or changed), or as it is otherwise (to check the meta count).
    """
    meta = any(isinstance(v, torch.Tensor) and v.is_meta for v in batch.values())
    tensors = {k: v for k, v in step.named_parameters()} | dict(step.named_buffers())
    if meta:
        tensors = {
            k: torch.empty_like(v, device="meta").requires_grad_(v.requires_grad)
            for k, v in tensors.items()
        }
    held = {t.untyped_storage()._cdata for t in tensors.values()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage._cdata not in held:
            saved[storage._cdata] = storage.nbytes()
        return t

    was_training = step.training
    step.train(train)
    try:
        with (
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
            observe_kept_inputs(pack),
        ):
            functional_call(step, tensors, (batch,))
    finally:
        step.train(was_training)
    return sum(saved.values())


def estimate_step_memory(
    step: nn.Module,
    batch: Mapping[str, Any],
    *,
    optimizer_slots: int = 1,
    amp: torch.dtype | None = None,
) -> MemoryEstimate:
    """Estimate the memory of one training step of `step` on `batch` (module docstring).

    Args:
        step: The training step (or any module taking `batch`).
        batch: A batch at the per-process batch size, best as meta tensors (`meta_batch`).
        optimizer_slots: `optimizer_state_slots(optim.name, optim.momentum)`.
        amp: The autocast dtype (`device.autocast_dtype`), None without autocast.
    """
    params = list(step.parameters())
    trainable = [p for p in params if p.requires_grad]
    weight = sum(t.numel() * t.element_size() for t in [*params, *step.buffers()])
    grad = sum(p.numel() * p.element_size() for p in trainable)
    try:
        acts: int | None = activation_bytes(step, batch)
    except Exception as e:  # an estimate never stops a run: an op without a meta kernel, ...
        log.debug("activations not estimated: %s", e)
        acts = None
    half = amp is not None and torch.finfo(amp).bits == 16
    if acts is not None and half:
        acts //= 2
    return MemoryEstimate(
        parameters=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in trainable),
        weight_bytes=weight,
        grad_bytes=grad,
        optimizer_bytes=grad * optimizer_slots,
        activation_bytes=acts,
        amp_bytes=grad // 2 if half else 0,
        batch_size=_batch_size(batch),
    )


def _batch_size(batch: Mapping[str, Any]) -> int:
    for v in batch.values():
        if isinstance(v, torch.Tensor) and v.dim():
            return int(v.shape[0])
    return 0
