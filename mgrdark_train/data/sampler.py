"""Epoch-aware sampler that shards clips across DDP ranks and tells the dataset the epoch."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ClipSampler(Sampler[tuple[int, int]]):
    """Yields `(index, epoch)` keys for `ClipDataset`, sharded over `world_size` ranks.

    Training (`shuffle=True`) permutes with a generator seeded by `(seed, epoch)` and pads by
    wrapping around so that every rank gets the same number of keys (DDP needs equal batch
    counts). Evaluation (`shuffle=False`) gives rank r the rows r, r+world, ... without padding,
    so summed metrics count every clip exactly once.

    Args:
        length: Dataset length.
        shuffle: Permute each epoch (training) or keep order (evaluation).
        seed: Base seed of the permutation.
        rank: This process's rank.
        world_size: Number of processes.
    """

    def __init__(
        self, length: int, *, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        self.length = length
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation (and the dataset's augmentation) of `epoch`."""
        self.epoch = epoch

    def _indices(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.rank, self.length, self.world_size))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.length, generator=g).tolist()
        per_rank = -(-self.length // self.world_size)
        total = per_rank * self.world_size
        if order:
            order = (order * (total // len(order) + 1))[:total]
        return order[self.rank : total : self.world_size]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter([(i, self.epoch) for i in self._indices()])

    def __len__(self) -> int:
        return len(self._indices())
