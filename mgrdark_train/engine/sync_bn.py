"""BatchNorm over the global batch under `torchrun` (`run.sync_batchnorm`).

Under DDP each rank normalises its own share of the batch: with 32 clips on 4 GPUs BatchNorm
sees 8, so a run's result depends on how many GPUs it had. Synchronised BatchNorm computes
the statistics over every rank's clips, which makes a DDP run compute what one process on the
same global batch computes (`tests/test_mtcd_ddp.py` checks it), at the price of two small
collectives per BatchNorm layer and step.

torch's `nn.SyncBatchNorm` has kernels for accelerators only; on the CPU (gloo: tests, CPU-only
machines) `GlobalBatchNorm` computes the same in plain tensor operations.
"""

from __future__ import annotations

import itertools

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _channel_dims(x: torch.Tensor) -> list[int]:
    return [0, *range(2, x.dim())]


def _per_channel(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.view(1, -1, *([1] * (x.dim() - 2)))


class _GlobalBatchNormFn(torch.autograd.Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias with mean and (biased) var over the
    samples of every rank; returns y, the mean and the unbiased variance (running stats)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):  # noqa: D102 - autograd's signature
        dims = _channel_dims(x)
        xf = x.float()
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float64, device=x.device)
        head = torch.cat([xf.sum(dims).double(), count])
        dist.all_reduce(head)
        n = float(head[-1])
        mean = (head[:-1] / n).float()
        centred = xf - _per_channel(mean, x)
        m2 = centred.pow(2).sum(dims).double()
        dist.all_reduce(m2)  # two passes: exact where sum-of-squares would cancel
        var = (m2 / n).float()
        invstd = torch.rsqrt(var + eps)
        y = centred * _per_channel(invstd, x)
        if weight is not None:
            y = y * _per_channel(weight.float(), x) + _per_channel(bias.float(), x)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.n = n
        unbiased = var * (n / max(n - 1, 1))
        ctx.mark_non_differentiable(mean, unbiased)
        return y.to(x.dtype), mean, unbiased

    @staticmethod
    def backward(ctx, dy, _dmean, _dvar):  # noqa: D102
        x, weight, mean, invstd = ctx.saved_tensors
        dims = _channel_dims(x)
        dyf = dy.float()
        xhat = (x.float() - _per_channel(mean, x)) * _per_channel(invstd, x)
        sum_dy = dyf.sum(dims)
        sum_dy_xhat = (dyf * xhat).sum(dims)
        # The weight's gradient is this rank's share (DDP averages it); the input's includes
        # every rank's samples, through the shared mean and variance.
        both = torch.cat([sum_dy, sum_dy_xhat])
        dist.all_reduce(both)
        g_dy, g_dy_xhat = both.split(sum_dy.numel())
        scale = invstd if weight is None else invstd * weight.float()
        dx = dyf - _per_channel(g_dy / ctx.n, x) - xhat * _per_channel(g_dy_xhat / ctx.n, x)
        dx = dx * _per_channel(scale, x)
        grad_w = sum_dy_xhat.to(weight.dtype) if weight is not None else None
        grad_b = sum_dy.to(weight.dtype) if weight is not None else None
        return dx.to(x.dtype), grad_w, grad_b, None


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics cover the samples of every DDP rank (any input
    rank: (N, C), (N, C, L), (N, C, H, W), (N, C, T, H, W)); outside a process group, or in
    eval mode, it is plain BatchNorm."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...), got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _distributed()):
            return super().forward(x)
        self._check_input_dim(x)
        y, mean, var = _GlobalBatchNormFn.apply(x, self.weight, self.bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None  # cumulative average (precise BN)
                    else self.momentum
                )
                self.running_mean.mul_(1 - f).add_(mean.to(self.running_mean.dtype), alpha=f)
                self.running_var.mul_(1 - f).add_(var.to(self.running_var.dtype), alpha=f)
        return y


def _to_global(bn: _BatchNorm) -> GlobalBatchNorm:
    new = GlobalBatchNorm(
        bn.num_features,
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
    )
    new.load_state_dict(bn.state_dict())
    new.train(bn.training)
    held = next(itertools.chain(bn.parameters(), bn.buffers()), None)
    return new if held is None else new.to(held.device)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """`module` with every BatchNorm layer synchronised over the ranks (state_dict keys and
    values unchanged, so checkpoints load either way).

    Args:
        module: A step or network (converted in place; returned for a BatchNorm root).
        device: Where it runs: torch's `SyncBatchNorm` on an accelerator, `GlobalBatchNorm`
            on the CPU.
    """
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        return _to_global(module)
    for name, child in module.named_children():
        converted = convert_sync_batchnorm(child, device)
        if converted is not child:
            setattr(module, name, converted)
    return module


__all__ = ["GlobalBatchNorm", "convert_sync_batchnorm"]
