"""How many DataLoader worker processes a rank starts (`data.workers: auto`).

Workers decode clips while the training process computes. 'auto' gives each rank the cores it
may use (`os.sched_getaffinity`: a container's or `taskset`'s limit, not the machine's count),
shared by the ranks `torchrun` starts on this node, minus one for the training process itself,
and at most `MAX_AUTO_WORKERS`. On a 1-core machine that is 0 (decode in the training
process); on 2 cores 1: one worker then overlaps decoding with the model's step (measured in
bench/RESULTS.md, "workers").
"""

from __future__ import annotations

import os

MAX_AUTO_WORKERS = 8
"""Beyond about 8 decoding processes per GPU the cache or the disk, not the CPU, limits."""


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ranks_on_this_node() -> int:
    """Processes `torchrun` started on this machine (1 without torchrun)."""
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def loader_workers(setting: int | str) -> int:
    """The worker count of `data.workers`: a number as it is, 'auto' from the cores."""
    if setting != "auto":
        return int(setting)
    per_rank = usable_cores() // ranks_on_this_node()
    return max(0, min(MAX_AUTO_WORKERS, per_rank - 1))
