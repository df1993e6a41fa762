"""Precise BatchNorm: recompute running statistics with the final weights after training.

Why MTCD needs it: dark RGB is a large constant offset (every pixel near black) plus a faint
signal. BatchNorm's running mean is an exponential average over batches seen while the weights
kept moving; the offset times the weight drift shifts the mean by more than the faint signal's
spread, so in `eval()` the student sees features that are almost constant and predicts one
class, while the same weights in train mode (batch statistics) classify well. Averaging the
statistics over training batches with the weights frozen removes the lag (PySlowFast's
"precise BN"; Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


@torch.no_grad()
def recompute_batchnorm(
    step: nn.Module,
    batches: Iterable[Mapping[str, Any]],
    *,
    max_batches: int | None = None,
    device: torch.device | str = "cpu",
) -> int:
    """Replace the running statistics of every BatchNorm in ``step`` by their average over
    ``batches``, computed with the current weights.

    The step runs in train mode, so its trainable network normalises with batch statistics and
    updates its running ones; frozen networks held by MTCD steps stay in eval mode and are not
    touched. Weights do not change (no gradient, no optimizer).

    Args:
        step: A training step (or a network taking the batch).
        batches: Training batches (the stage's own inputs and augmentation).
        max_batches: Stop after this many batches (None: all).
        device: Where the step lives.

    Returns:
        The number of batches used (0 when the step has no BatchNorm).
    """
    norms = [m for m in step.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: cumulative average over all batches, not an EMA
    was_training = step.training
    step.train()
    used = 0
    try:
        for batch in batches:
            if max_batches is not None and used >= max_batches:
                break
            step({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()})
            used += 1
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        step.train(was_training)
    log.info("recomputed BatchNorm statistics of %d layers over %d batches", len(norms), used)
    return used
