"""DDP set-up from `torchrun`'s environment, and the few collectives the engine needs.

A process started without `torchrun` (no WORLD_SIZE) is a world of one and every collective
here is a no-op, so single-process code paths need no special cases.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)

COLLECTIVE_TIMEOUT = timedelta(hours=1)
"""How long a rank waits in a collective before the job fails."""


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group `torchrun` describes (nccl on CUDA, gloo on CPU).

    Args:
        device_type: 'cuda', 'cpu', or 'auto' (cuda when a CUDA device is visible), as
            `run.device` says.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if device_type == "auto":
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        # Rank 0 alone writes and evaluates some results (an MTCD run's final test) while the
        # others wait in a collective: longer than the 10 minutes NCCL allows by default.
        dist.init_process_group(backend=backend, timeout=COLLECTIVE_TIMEOUT)
        log.info("rank %d/%d joined (%s)", rank, world, backend)
    return DistInfo(rank, world, local_rank)


def is_main_process() -> bool:
    """Whether this process is rank 0 (or alone), also before the process group is joined:
    commands print their results once under torchrun."""
    return int(os.environ.get("RANK", "0")) == 0


def current() -> DistInfo:
    """The job as seen by an already initialised process group (or a world of one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (in place, also returned)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_objects(obj: object) -> list[object]:
    """Every rank's `obj`, in rank order."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: object) -> object:
    """Rank 0's `obj` on every rank: one decision for all (e.g. "is this stage finished?",
    read from files that rank 0 writes)."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Replace every gradient by its mean over ranks, as DDP does, for loops that cannot hand
    their module to DDP (the translator's GAN runs its critic twice per step)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])  # one collective, not one per tensor
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(dist.get_world_size())
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (what DDP does when it wraps a
    module), for loops that average gradients themselves."""
    if dist.is_available() and dist.is_initialized():
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last training batch
    every rank holds statistics updated by its own shard only; evaluation on sharded data
    must see the same network everywhere.
    """
    if dist.is_available() and dist.is_initialized():
        for b in module.buffers():
            dist.broadcast(b, src=0)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
