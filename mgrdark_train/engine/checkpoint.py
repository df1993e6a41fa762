"""Atomic checkpoints with everything a resumed run needs to continue exactly, and the errors
of checkpoints and run directories."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.paths import atomic_path

LAST = "last.pt"
BEST = "best.pt"
"""Kept beside last.pt when the run validates on val subjects: the epoch of best val top-1."""


class CheckpointError(MgrdarkError):
    """A checkpoint or saved network is missing, unreadable, or does not fit this network."""


class RunDirError(MgrdarkError):
    """A run directory is not what the command needs (holds another run, is not a run, has no
    such member)."""


def capture_rng() -> dict[str, Any]:
    """This process's Python, NumPy, torch CPU and CUDA generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write a checkpoint under a temporary name and rename it: a kill never truncates one."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_weights(
    module: torch.nn.Module,
    state: dict[str, Any],
    folder: str | os.PathLike,
    *,
    what: str = "the network",
    advice: str = "it was written by another version of mgrdark or with other model settings",
) -> None:
    """`module.load_state_dict(state)`, or CheckpointError saying which saved network in
    `folder` does not fit this version's network, and what to do (`advice`)."""
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(
            f"{folder}: {what} saved there does not fit this version's network "
            f"({str(e).splitlines()[0].rstrip(':.')}); {advice}"
        ) from e


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint`.

    RNG states hold NumPy arrays and tuples, so this trusted, self-written file is loaded with
    `weights_only=False`; never point it at a file from elsewhere.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint {path}; the run has not finished an epoch yet")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, EOFError) as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
