"""Activation checkpointing of one residual block, BatchNorm statistics kept exact.

`torch.utils.checkpoint` runs a block's forward a second time during the backward pass. In
training mode that second run would move every BatchNorm's running statistics a second time,
so the checkpointed network would drift away from the plain one; here the recomputation puts
them back, and outputs, gradients and statistics are those of the plain network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

_OBSERVERS: list[Callable[[torch.Tensor], None]] = []


@contextmanager
def observe_kept_inputs(callback: Callable[[torch.Tensor], None]) -> Iterator[None]:
    """Call `callback(x)` with each input a checkpointed block keeps for the backward pass
    (the checkpoint holds it outside autograd's saved tensors; memory estimates count it)."""
    _OBSERVERS.append(callback)
    try:
        yield
    finally:
        _OBSERVERS.remove(callback)


def checkpoint_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`block(x)`, keeping only `x` for the backward pass (the block's activations are
    recomputed there)."""
    for observe in _OBSERVERS:
        observe(x)
    calls = 0

    def run(inp: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 1:
            return block(inp)
        # A recomputation (the backward pass): same batch statistics, no second update.
        saved = [
            (m, [b.clone() for b in _stat_buffers(m)])
            for m in block.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats
        ]
        try:
            return block(inp)
        finally:  # also when torch stops the recomputation early (it raises to do so)
            with torch.no_grad():
                for m, buffers in saved:
                    for current, old in zip(_stat_buffers(m), buffers, strict=True):
                        current.copy_(old)

    return checkpoint(run, x, use_reentrant=False)


def _stat_buffers(m: _BatchNorm) -> list[torch.Tensor]:
    return [b for b in (m.running_mean, m.running_var, m.num_batches_tracked) if b is not None]
