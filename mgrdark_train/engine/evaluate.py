"""Inference over a dataset and the evaluation report: metrics, confusion matrix, predictions."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mgrdark_data.paths import atomic_path
from mgrdark_data.progress import Progress, stage_bar

from .device import move_batch
from .metrics import confusion_matrix, per_class_accuracy
from .steps import output_logits
from .views import Views, clip_views

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    """Per-clip results of one pass over a dataset."""

    clip_ids: list[str]
    labels: np.ndarray
    """(N,) int64."""
    probs: np.ndarray
    """(N, num_classes) float32 softmax probabilities."""

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


@torch.no_grad()
def predict(
    step: nn.Module,
    dataset: Dataset,
    *,
    device: torch.device,
    batch_size: int = 8,
    workers: int = 0,
    amp: torch.dtype | None = None,
    label_key: str = "label",
    progress: Progress | None = None,
    stage: str = "eval",
    views: Views | None = None,
    crop: int | None = None,
) -> Predictions:
    """Run a step in eval mode over every item of `dataset` (in order); the bar is `stage`.

    Args:
        views: Several views per clip (`views.py`): the dataset's items then hold
            `views.clips` * T uncropped frames, each view is cut from them, and a clip's
            probabilities are the mean of its views' softmax scores. None: one view, the item.
        crop: Side of a view's crop (with `views`).
        batch_size: Views per forward pass.
    """
    step.eval().to(device)
    per_item = 1 if views is None else views.count
    loader = DataLoader(
        dataset,
        batch_size=max(1, batch_size // per_item),
        shuffle=False,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    ids: list[str] = []
    labels, probs = [], []
    with stage_bar(progress, stage, len(loader), "batch") as bar:
        for batch in loader:
            batch = move_batch(batch, device, channels_last=False)
            if views is None:
                with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    out = step(batch)
                probs.append(output_logits(out["output"]).float().softmax(dim=1).cpu())
            else:
                if crop is None:
                    raise ValueError("predicting several views needs their crop size")
                scores = _view_scores(step, batch, views, crop, batch_size, amp, label_key)
                probs.append(scores.mean(dim=1).cpu())
            labels.append(batch[label_key].cpu())
            ids.extend(batch["clip_id"])
            bar.update(1)
    if not ids:
        return Predictions([], np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    return Predictions(ids, torch.cat(labels).numpy(), torch.cat(probs).numpy())


def _view_scores(
    step: nn.Module,
    batch: dict,
    views: Views,
    crop: int,
    batch_size: int,
    amp: torch.dtype | None,
    label_key: str,
) -> torch.Tensor:
    """(B, views, classes) softmax scores of every view of every clip in `batch`."""
    inputs = [k for k, v in batch.items() if isinstance(v, torch.Tensor) and v.dim() == 5]
    labels = batch[label_key]
    per_clip = {k: [clip_views(x, views, crop) for x in batch[k]] for k in inputs}
    order = [(b, v) for b in range(len(labels)) for v in range(views.count)]
    scores = []
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        sub = {k: torch.stack([per_clip[k][b][v] for b, v in chunk]) for k in inputs}
        sub[label_key] = labels[[b for b, _ in chunk]]
        with torch.autocast(labels.device.type, dtype=amp, enabled=amp is not None):
            out = step(sub)
        scores.append(output_logits(out["output"]).float().softmax(dim=1))
    return torch.cat(scores).view(len(labels), views.count, -1)


def summarize(pred: Predictions, class_names: Sequence[str]) -> dict[str, Any]:
    """Top-1, top-5, per-class accuracy and the confusion matrix."""
    k = len(class_names)
    matrix = confusion_matrix(pred.labels, pred.preds, k)
    top5 = np.argsort(-pred.probs, axis=1)[:, :5]
    per_class = per_class_accuracy(matrix)
    return {
        "clips": len(pred.clip_ids),
        "top1": float((pred.preds == pred.labels).mean()),
        "top5": float((top5 == pred.labels[:, None]).any(axis=1).mean()),
        "mean_class_accuracy": float(np.nanmean(per_class)) if k else float("nan"),
        "per_class": {
            name: {"clips": int(matrix[i].sum()), "accuracy": _num(per_class[i])}
            for i, name in enumerate(class_names)
        },
        "confusion": matrix.tolist(),
    }


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def write_report(
    out_dir: str | os.PathLike,
    pred: Predictions,
    summary: dict[str, Any],
    class_names: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write metrics.json, per_class.csv, confusion.png and predictions.parquet."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps({**(extra or {}), **summary}, indent=2))
    rows = [{"label": i, "class": n, **summary["per_class"][n]} for i, n in enumerate(class_names)]
    with atomic_path(out / "per_class.csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    top5 = np.argsort(-pred.probs, axis=1)[:, :5] if len(pred.clip_ids) else np.zeros((0, 5))
    table = pa.table(
        {
            "clip_id": pa.array(pred.clip_ids, pa.string()),
            "label": pa.array(pred.labels, pa.int64()),
            "pred": pa.array(pred.preds if len(pred.clip_ids) else [], pa.int64()),
            "prob": pa.array([p.tolist() for p in pred.probs], pa.list_(pa.float32())),
            "top5": pa.array([t.tolist() for t in top5], pa.list_(pa.int64())),
        }
    )
    with atomic_path(out / "predictions.parquet") as tmp:
        pq.write_table(table, tmp)
    plot_confusion(np.asarray(summary["confusion"]), class_names, out / "confusion.png")
    return out


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path) -> None:
    """Row-normalised confusion matrix with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(class_names)
    norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.6 * k))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                color = "white" if norm[i, j] > 0.5 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6, color=color)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
