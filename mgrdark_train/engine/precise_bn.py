"""Precise BatchNorm statistics: recompute running means/variances with frozen weights.

BatchNorm's running statistics are an exponential average over batches seen while the weights
moved; with few steps per epoch and a high learning rate they lag behind the final weights, and
eval-mode accuracy collapses although train-mode accuracy is fine (observed with the `tiny`
preset). Dark RGB makes it worse: it is a large constant offset (every pixel near black) plus a
faint signal, so the offset times the weight drift shifts the running mean by more than the
signal's spread and an MTCD student in `eval()` sees almost constant features. Re-estimating the
statistics over training batches with the weights frozen removes the lag (PySlowFast's
`BN.USE_PRECISE_STATS`; Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021). The trainer does
it before every evaluation and after the last epoch (`run.precise_bn_batches`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import torch
from torch import nn

from .distributed import all_reduce_sum, current

log = logging.getLogger(__name__)

_BN = nn.modules.batchnorm._BatchNorm
"""BatchNorm1d/2d/3d and the synchronised kinds (`sync_bn.py`)."""


def trainable_batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers with running statistics whose parameters are being trained.

    Frozen networks (an MTCD step's teacher) keep their statistics: their parameters do not
    require gradients, and MTCD steps hold them outside the module tree anyway.
    """
    return [
        m
        for m in module.modules()
        if isinstance(m, _BN)
        and m.track_running_stats
        and any(p.requires_grad for p in m.parameters())
    ]


@torch.no_grad()
def update_bn_stats(
    module: nn.Module,
    batches: Iterable[dict],
    num_batches: int | None = None,
    *,
    forward: Callable[[dict], object] | None = None,
) -> int:
    """Replace running statistics by their plain average over training batches.

    Weights do not change (no gradient, no optimizer); under DDP the statistics are averaged
    over the ranks.

    Args:
        module: Holds the BatchNorm layers (a training step or a network).
        batches: Training batches already on the module's device.
        num_batches: How many batches to average over (None, or more than `batches` holds: all).
        forward: Runs one batch through `module` in train mode (default: `module` itself).

    Returns:
        The number of batches used, summed over DDP ranks (0 when there is no BatchNorm).
    """
    bns = trainable_batchnorms(module)
    if not bns or num_batches == 0:
        return 0
    forward = forward or module
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: the plain mean over the batches
    was_training = module.training
    module.train()
    used = 0
    try:
        for batch in batches:
            if num_batches is not None and used >= num_batches:
                break
            forward(batch)
            used += 1
    finally:
        module.train(was_training)
        for bn, momentum in zip(bns, momenta, strict=True):
            bn.momentum = momentum
    world = current().world_size
    if world > 1:
        for bn in bns:
            all_reduce_sum(bn.running_mean).div_(world)
            all_reduce_sum(bn.running_var).div_(world)
    log.info("recomputed the statistics of %d BatchNorm layers over %d batches", len(bns), used)
    return used * world
