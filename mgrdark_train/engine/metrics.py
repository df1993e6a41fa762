"""Classification metrics, rank-summed accumulators and the per-epoch CSV."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from .distributed import all_reduce_sum


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)):
    """Number of samples whose label is among the top-k logits, for each k (as tensors)."""
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices
    hit = top == labels.view(-1, 1)
    return {k: hit[:, : min(k, kmax)].any(dim=1).sum() for k in ks}


class MeanTracker:
    """Sample-weighted sums of loss terms and top-k hit counts, summed across DDP ranks.

    Values stay on their device until `compute()`, so tracking never forces a GPU sync.
    """

    def __init__(self, ks: tuple[int, ...] = (1, 5)) -> None:
        self.ks = ks
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def update(self, terms: Mapping[str, torch.Tensor], logits: torch.Tensor, labels) -> None:
        n = int(labels.shape[0])
        self.count += n
        for name, value in terms.items():
            self._add(name, value.detach().float() * n)
        for k, hits in topk_correct(logits.detach(), labels, self.ks).items():
            self._add(f"top{k}", hits.float())

    def _add(self, name: str, value: torch.Tensor) -> None:
        self.sums[name] = self.sums[name] + value if name in self.sums else value

    def compute(self, device: torch.device) -> dict[str, float]:
        """Means over every sample of every rank (top-k as fractions)."""
        names = sorted(self.sums)
        vec = (
            torch.stack(
                [self.sums[n].to(device) for n in names]
                + [torch.tensor(float(self.count), device=device)]
            )
            if names
            else torch.tensor([float(self.count)], device=device)
        )
        vec = all_reduce_sum(vec)
        total = float(vec[-1])
        if total == 0:
            return {}
        return {n: float(v) / total for n, v in zip(names, vec[:-1].tolist(), strict=True)}


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
    """`m[i, j]` = number of clips of class i predicted as class j."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels, preds), 1)
    return m


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class; NaN for classes with no clips."""
    total = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.diag(matrix) / np.maximum(total, 1), np.nan)


class MetricsCSV:
    """Per-epoch rows appended to a CSV; columns grow when a new metric appears."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))

    def append(self, row: Mapping[str, object]) -> None:
        rows = self.rows()
        columns = list(rows[0]) if rows else []
        columns += [k for k in row if k not in columns]
        if rows and columns == list(rows[0]):
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, columns).writerow(dict(row))
            return
        self._write([*rows, {k: str(v) for k, v in row.items()}], columns)

    def truncate(self, last_epoch: int) -> None:
        """Drop rows after `last_epoch` (a resumed run repeats the epochs it lost)."""
        rows = self.rows()
        keep = [r for r in rows if int(r["epoch"]) <= last_epoch]
        if len(keep) != len(rows):
            self._write(keep, list(rows[0]))

    def _write(self, rows: list[Mapping[str, object]], columns: list[str]) -> None:
        from mgrdark_data.paths import atomic_path

        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, columns, restval="")
            w.writeheader()
            w.writerows(rows)
