"""What a training command checks and says before any work: the `paper` preset refused on a
CPU, and how many DataLoader workers the run starts."""

from __future__ import annotations

import torch

from .config import ConfigError, TrainConfig
from .workers import loader_workers, ranks_on_this_node, usable_cores

GPU_PRESETS = ("paper",)
"""Presets sized for GPUs: ResNet-50 on 32 frames of 224x224 in batches of 32. On a CPU one
epoch takes days and the first batch tens of GB (a 2-core VM was killed at 21 GB)."""


def runs_on_cpu(cfg: TrainConfig) -> bool:
    """Whether `run.device` resolves to the CPU on this machine."""
    return cfg.run.device == "cpu" or (cfg.run.device == "auto" and not torch.cuda.is_available())


def check_preset_device(cfg: TrainConfig, preset: str | None, *, allow_cpu: bool = False) -> None:
    """Refuse a GPU-sized preset on a CPU unless asked to insist.

    Args:
        cfg: The resolved config.
        preset: The preset in effect (None: none applied, e.g. a continued run).
        allow_cpu: Run anyway (`--allow-cpu`).

    Raises:
        ConfigError: The preset is GPU-sized and the run would compute on the CPU.
    """
    if preset not in GPU_PRESETS or allow_cpu or not runs_on_cpu(cfg):
        return
    m, d, o = cfg.model, cfg.data, cfg.optim
    raise ConfigError(
        f"the {preset} preset ({m.name}-{m.depth}, {d.num_frames} frames of {d.crop}x{d.crop}, "
        f"batch {o.batch_size}) is for GPUs, and this run would compute on the CPU, where it "
        "needs tens of GB and days per epoch; use --preset tiny (minutes on a CPU), or "
        "--allow-cpu to run it anyway"
    )


def workers_note(cfg: TrainConfig) -> str:
    """How many DataLoader workers each process starts, and why."""
    n = loader_workers(cfg.data.workers)
    what = f"{n} DataLoader worker{'s' * (n != 1)} per process"
    if cfg.data.workers != "auto":
        return f"{what} (data.workers)"
    ranks = ranks_on_this_node()
    share = f", {ranks} processes on this machine" if ranks > 1 else ""
    return f"{what} (data.workers auto: {usable_cores()} usable cores{share})"
