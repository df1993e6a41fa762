"""Start a `ResNet3d` from a weights file: Kinetics-400 3D checkpoints or 2D ImageNet weights.

The file is renamed to our names (`layouts.py`), then every tensor of the network is filled:

* the same shape: copied;
* a conv whose temporal size differs (another variant, or a 2D kernel, temporal size 1) is
  reshaped so that a clip of identical frames gets the file's response: temporal size 1 -> t is
  the weight divided by t and repeated (I3D's inflation), t -> 1 is the sum over time, t -> t'
  both; an `i3d` network takes the Kinetics-400 I3D checkpoints one-to-one;
* a one-channel input (depth) from three: the kernels summed over the input channels (a gray
  image fed as three equal channels gives that response);
* the classifier is never loaded: the file's classes are not ours, so `fc` keeps its
  initialisation for our class count;
* a BatchNorm counter (`num_batches_tracked`) absent from the file (old torchvision files)
  keeps its initial value.

A file that fits too little is refused (`MIN_MATCH` of the network's backbone tensors must
load, and that much of the file's must be used): a ResNet of another depth or width, or another
architecture, would otherwise leave a half-initialised network without a word.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .layouts import INPUT_NORMALIZATION, WeightsError, detect_layout, read_weights, rename

log = logging.getLogger(__name__)

MIN_MATCH = 0.8
"""Share of the network's backbone tensors that must load, and of the file's that must be
used."""

_COUNTER = "num_batches_tracked"


@dataclass
class LoadReport:
    """What `load_pretrained` did with each tensor (our names unless said otherwise)."""

    path: str
    layout: str
    """'pytorchvideo', 'mmaction2' or 'torchvision' (`layouts.py`)."""
    copied: list[str] = field(default_factory=list)
    reshaped: dict[str, str] = field(default_factory=dict)
    """Key -> how it was reshaped ('collapsed t3->1 (sum over time)', ...)."""
    missing: list[str] = field(default_factory=list)
    """Backbone tensors the file lacks (left at their initial values)."""
    mismatched: dict[str, str] = field(default_factory=dict)
    """Key -> the file's and the network's shapes, for tensors no rule can fit."""
    unexpected: list[str] = field(default_factory=list)
    """The file's keys (its own names) that nothing of the network took."""
    ignored: list[str] = field(default_factory=list)
    """The file's keys that are not weights (MMAction2's `data_preprocessor.*`)."""
    head: str = ""
    """What happened to the classifier."""
    backbone_tensors: int = 0
    """The network's tensors outside the classifier, counters excluded."""
    file_tensors: int = 0
    """The file's tensors outside its classifier, counters and ignored keys excluded."""
    used_file_tensors: int = 0
    input_mean: tuple[float, ...] = ()
    """The per-channel mean the weights expect of inputs on [0, 1] (RGB order)."""
    input_std: tuple[float, ...] = ()

    @property
    def loaded(self) -> int:
        """Backbone tensors taken from the file (copied or reshaped)."""
        return sum(1 for k in [*self.copied, *self.reshaped] if not k.endswith(_COUNTER))

    @property
    def match(self) -> float:
        """Share of the network's backbone tensors that were loaded."""
        return self.loaded / self.backbone_tensors if self.backbone_tensors else 0.0

    @property
    def file_match(self) -> float:
        """Share of the file's backbone tensors that were used."""
        return self.used_file_tensors / self.file_tensors if self.file_tensors else 0.0

    def summary(self) -> str:
        """One paragraph for the user."""
        ops = Counter(self.reshaped.values())
        how = "; ".join(f"{n} {op}" for op, n in sorted(ops.items()))
        parts = [
            f"pretrained {self.path} ({self.layout} layout): {self.loaded} of "
            f"{self.backbone_tensors} backbone tensors loaded, {len(self.reshaped)} of them "
            f"reshaped" + (f" ({how})" if how else ""),
            f"{len(self.missing) + len(self.mismatched)} left at their initial values",
            f"{len(self.unexpected)} of the file's unused",
            self.head,
            f"the weights expect inputs normalised with mean {self.input_mean} and std "
            f"{self.input_std} on [0, 1]",
        ]
        if self.reshaped:
            parts.append(
                "reshaped kernels keep the file's response to a static clip only; "
                "model.variant=i3d takes Kinetics-400 I3D checkpoints one-to-one"
            )
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loaded": self.loaded, "match": self.match}


def fit_temporal(w: torch.Tensor, kt: int) -> tuple[torch.Tensor, str | None]:
    """A 5-D conv weight (O, I, t, h, w) brought to temporal size `kt`, and how (None: as is).

    Every rule keeps the response to a clip of identical frames (away from temporal borders).
    """
    t = w.shape[2]
    if t == kt:
        return w, None
    if t == 1:
        return w.repeat(1, 1, kt, 1, 1) / kt, f"inflated t1->{kt} (weight/{kt} repeated)"
    summed = w.sum(dim=2, keepdim=True)
    if kt == 1:
        return summed, f"collapsed t{t}->1 (sum over time)"
    return summed.repeat(1, 1, kt, 1, 1) / kt, f"t{t}->{kt} (summed over time, /{kt} repeated)"


def fit_tensor(w: torch.Tensor, shape: torch.Size) -> tuple[torch.Tensor | None, str | None]:
    """`w` made to fit `shape`: `(tensor, how)`, `(w, None)` when it fits as is, or
    `(None, None)` when no rule applies."""
    if w.shape == shape:
        return w, None
    if len(shape) != 5 or w.dim() not in (4, 5):
        return None, None
    how = []
    if w.dim() == 4:
        w = w.unsqueeze(2)
        how.append("from 2D")
    if w.shape[1] != shape[1] and shape[1] == 1:
        how.append(f"{w.shape[1]} input channels summed to 1")
        w = w.sum(dim=1, keepdim=True)
    if w.shape[:2] != shape[:2] or w.shape[3:] != shape[3:]:
        return None, None
    w, temporal = fit_temporal(w, shape[2])
    how += [temporal] if temporal else []
    return w, ", ".join(how)


def map_pretrained(
    state: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    *,
    path: str = "",
    head_prefix: str = "fc.",
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """Map a weights file's tensors onto a network's `state_dict()` (nothing is loaded).

    Args:
        state: The file's tensors (`layouts.read_weights`).
        target: The network's `state_dict()` (names and shapes are what matter).
        path: The file, for the report.
        head_prefix: The classifier's key prefix (never loaded).

    Returns:
        `(tensors, report)`: tensors for `load_state_dict(strict=False)`, in the target dtypes.
    """
    layout = detect_layout(list(state))
    names, ignored = rename(state, layout)
    mean, std = INPUT_NORMALIZATION[layout]
    report = LoadReport(path, layout, ignored=ignored, input_mean=mean, input_std=std)
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, current in target.items():
        if key.startswith(head_prefix):
            continue
        source = names.get(key)
        is_counter = key.endswith(_COUNTER)
        report.backbone_tensors += not is_counter
        if source is None:
            if not is_counter:  # old files lack BatchNorm counters: harmless
                report.missing.append(key)
            continue
        w, how = fit_tensor(state[source], current.shape)
        if w is None:
            report.mismatched[key] = (
                f"file {tuple(state[source].shape)}, network {tuple(current.shape)}"
            )
            continue
        used.add(source)
        out[key] = w.to(current.dtype).contiguous()
        if how:
            report.reshaped[key] = how
        else:
            report.copied.append(key)
    head = [s for k, s in names.items() if k.startswith(head_prefix)]
    report.unexpected = [k for k in state if k not in used and k not in ignored and k not in head]
    file_backbone = [s for k, s in names.items() if not k.startswith(head_prefix)]
    file_backbone = [s for s in file_backbone if not s.endswith(_COUNTER)]
    report.file_tensors = len(file_backbone)
    report.used_file_tensors = sum(1 for s in file_backbone if s in used)
    report.head = _head_note(target, state, names, head_prefix)
    return out, report


def _head_note(target, state, names, head_prefix: str) -> str:
    ours = target.get(f"{head_prefix}weight")
    if ours is None:
        return "the network has no classifier"
    theirs = names.get(f"{head_prefix}weight")
    had = f"the file's has {state[theirs].shape[0]}" if theirs else "the file has none"
    return f"classifier re-initialised for {ours.shape[0]} classes ({had})"


def load_pretrained(
    model: nn.Module, path: str | os.PathLike, *, head_prefix: str = "fc."
) -> LoadReport:
    """Load a weights file into `model` (see the module docstring) and report what happened.

    Raises:
        WeightsError: The file cannot be read, has an unknown layout, or fits too little of
            `model` (names the tensors that did not fit).
    """
    path = Path(path)
    tensors, report = map_pretrained(
        read_weights(path), model.state_dict(), path=str(path), head_prefix=head_prefix
    )
    if report.match < MIN_MATCH or report.file_match < MIN_MATCH:
        raise WeightsError(_refusal(report))
    model.load_state_dict(tensors, strict=False)
    log.info("%s", report.summary())
    return report


def pretrained_reports(module: nn.Module) -> list[LoadReport]:
    """The load reports of every network inside `module` built with `pretrained`."""
    found = (getattr(m, "pretrained_report", None) for m in module.modules())
    return [r for r in found if isinstance(r, LoadReport)]


def _refusal(report: LoadReport) -> str:
    unmatched = [f"{k} ({v})" for k, v in report.mismatched.items()] + report.missing
    unused = [f"file's {k}" for k in report.unexpected]
    top = ", ".join((unmatched + unused)[:5])
    return (
        f"{report.path} ({report.layout} layout) fits too little of this network: "
        f"{report.loaded} of {report.backbone_tensors} backbone tensors load and "
        f"{report.used_file_tensors} of the file's {report.file_tensors} are used "
        f"(at least {MIN_MATCH:.0%} of each needed); not matched: {top}; the Kinetics-400 "
        "and ImageNet files fit model.depth 50 at model.width 1.0"
    )
