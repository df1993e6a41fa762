"""The training-step contract and the plain classification step.

A step is an `nn.Module` whose `forward(batch)` returns a dict with

* `"loss"`: the scalar to minimise,
* `"output"`: the logits (B, num_classes) (or a model output dict with `"logits"`),
* one scalar tensor per loss term (`"ce"`, `"kd_ir"`, ...), logged as `train_<term>`.

The trainer optimises `[p for p in step.parameters() if p.requires_grad]`, checkpoints
`step.state_dict()` and evaluates by calling the step in `eval()` mode under `no_grad`, so a
step decides alone which networks train, which stay frozen and what runs at inference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.normalize import clip_input


def output_logits(output: Any) -> torch.Tensor:
    """The logits inside a step's `output` (a tensor or a dict with `logits`)."""
    return output["logits"] if isinstance(output, Mapping) else output


def step_terms(out: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The scalar loss terms of a step's output (everything but `output`), `loss` included."""
    return {
        k: v
        for k, v in out.items()
        if k != "output" and isinstance(v, torch.Tensor) and v.dim() == 0
    }


class ClassificationStep(nn.Module):
    """Cross-entropy on one modality: the single-modality baseline and the MTCD IR teacher.

    The input clip is normalised here, on the step's device (`data.normalize.clip_input`).

    Args:
        model: Network returning a dict with `logits`.
        input_key: Batch key of its input clip (`rgb`, `ir` or `depth`).
        label_key: Batch key of the integer labels.
        label_smoothing: Passed to the cross-entropy.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        input_key: str = "rgb",
        label_key: str = "label",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.input_key = input_key
        self.label_key = label_key
        self.label_smoothing = label_smoothing

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        logits = self.model(clip_input(batch, self.input_key))["logits"]
        # CE in float32 even under bf16 autocast: the softmax of bf16 logits loses precision.
        ce = F.cross_entropy(
            logits.float(), batch[self.label_key], label_smoothing=self.label_smoothing
        )
        return {"loss": ce, "output": logits, "ce": ce}
