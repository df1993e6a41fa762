"""The training configuration (`TrainConfig`), its presets, and resolving it from its layers.

Layers, later ones winning (`engine/resolver.py` checks them all before any work starts):
dataclass defaults < a resumed run's `config.yaml` < command defaults < preset < YAML file
< CLI flags < --set. The resolved configuration is written as `config.yaml` into the run
directory; `--resume` starts from that file instead of the defaults, so a resumed run trains what
the killed one trained unless a flag says otherwise (e.g. `--epochs` to extend it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mgrdark_data.manifest import SPLIT_NAMES

from ..data import CACHE_FORMATS, MODALITIES
from ..models import MODELS, VARIANTS, model_problems, temporal_stride
from .device import AMP_MODES, DEVICES
from .optim import OPTIMIZERS
from .resolver import (
    ConfigError,
    bounded,
    choice,
    config_layers,
    parse_set,
    read_yaml,
    resolve,
    write_yaml,
)

LIGHTS = ("dark", "daylight")
"""`data.light` values; null keeps every clip (`--light all`)."""


@dataclass
class DataConfig:
    """What to train on and how clips are sampled."""

    root: str | None = None
    """Dataset root; None: `$MGRDARK_DATA`, else ./mgrdark-data."""
    split: str = "subjects"
    """Split name: DATA/splits/<split>.parquet."""
    modality: str = choice("rgb", MODALITIES)
    """Input stream of a single-modality run: rgb, ir or depth."""
    light: str | None = choice("dark", LIGHTS)
    """Keep only clips with this `light` ('dark' as in the paper's experiments); None = all.
    Clips without a light value (NvGesture has none) are always kept."""
    num_frames: int = bounded(32, low=1)
    """T, frames sampled uniformly over each clip."""
    resize: int = bounded(256, low=1)
    crop: int = bounded(224, low=1)
    flip: bool = False
    """Random horizontal flip with labels mapped through the vocabulary's mirror column."""
    cache: bool = False
    """Read pre-resized clips written by `mgrtrain prepare --size <resize>`."""
    cache_format: str = choice(CACHE_FORMATS[0], CACHE_FORMATS)
    """Which cache `data.cache` reads: `mgrtrain prepare --format jpeg|h264|raw`."""
    gpu_decode: bool = False
    """Decode the jpeg cache's rgb/ir frames on the GPU (nvJPEG through torchvision) instead of
    in the DataLoader workers; needs `data.cache` with `cache_format: jpeg`."""
    in_memory: bool = False
    """Keep every clip's decoded, resized frames in memory after its first read, so each
    stream is decoded once per run instead of once per epoch (small data: the tiny preset)."""
    classes: str | None = None
    """Vocabulary CSV (default: the packaged one)."""
    workers: int | str = "auto"
    """DataLoader worker processes per rank (decoding happens there); 'auto': from the cores
    this rank may use (`engine/workers.py`)."""
    eval_subset: str | None = choice("val", SPLIT_NAMES)
    """Subset evaluated after each epoch; skipped when None or empty."""

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.crop > self.resize:
            out.append(("crop", f"{self.crop} is larger than data.resize {self.resize}"))
        if self.workers != "auto" and (isinstance(self.workers, str) or self.workers < 0):
            out.append(("workers", f"expected 'auto' or a count >= 0, got {self.workers!r}"))
        if self.gpu_decode and not (self.cache and self.cache_format == "jpeg"):
            out.append(("gpu_decode", "reads the jpeg cache: set data.cache and cache_format=jpeg"))
        if self.gpu_decode and self.in_memory:
            out.append(("gpu_decode", "decodes every epoch: set data.in_memory=false"))
        return out


@dataclass
class ModelConfig:
    """Backbone; the keys after `name` are passed to its builder."""

    RENAMED: ClassVar[dict[str, str]] = {"pretrained_2d": "model.pretrained"}

    name: str = choice("resnet3d", MODELS)
    variant: str = choice("slowonly", VARIANTS)
    """Where the temporal kernels are: 'slowonly' (res3-res5) or 'i3d' (the Kinetics-400 I3D
    ResNet-50 of PyTorchVideo and MMAction2; the `paper` preset); `models/resnet3d.py`."""
    depth: int = 50
    width: float = bounded(1.0, low=0.0)
    dropout: float = bounded(0.5, low=0.0, high=1.0)
    stem_temporal_kernel: int = 5
    stem_temporal_stride: int = bounded(1, low=1)
    """Temporal stride of the stem conv (MMAction2's I3D: 2)."""
    pool_temporal_stride: int = bounded(2, low=1)
    """Temporal stride of the stem max-pool."""
    checkpoint_stages: int = bounded(0, low=0, high=4)
    """Activation checkpointing: recompute the first N residual stages (res2 first, the
    largest activations) in the backward pass instead of keeping their activations (less
    memory, about a third more compute; the same results)."""
    pretrained: str | None = None
    """A weights file to fine-tune from (`--pretrained`): a Kinetics-400 checkpoint of
    PyTorchVideo (`.pyth`) or MMAction2, or a 2D torchvision ImageNet ResNet; nothing is
    downloaded. The classifier is re-initialised; see `models/pretrained.py`."""

    def builder_kwargs(self) -> dict[str, Any]:
        """What `create_model` gets besides the name."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}

    def problems(self) -> list[tuple[str, str]]:
        if self.pretrained is not None and not Path(self.pretrained).is_file():
            return [("pretrained", f"{self.pretrained!r}: no such file")]
        return model_problems(self.name, **self.builder_kwargs())


@dataclass
class OptimConfig:
    """The optimizer (SGD as in the paper, or AdamW) with a step decay."""

    name: str = choice("sgd", OPTIMIZERS)
    """'sgd' (the paper's; uses `momentum`) or 'adamw' (trains a small network from scratch
    in far fewer epochs: the `tiny` preset uses it, see bench/RESULTS.md)."""
    batch_size: int = bounded(32, low=1)
    """Global batch: divided evenly among DDP ranks."""
    lr: float = bounded(1e-4, low=0.0)
    momentum: float = bounded(0.9, low=0.0)
    weight_decay: float = bounded(1e-4, low=0.0)
    """Not stated in the paper; 1e-4 is the usual value for ResNet video models."""
    lr_step: int = bounded(20, low=1)
    """Multiply the learning rate by `lr_gamma` every `lr_step` epochs."""
    lr_gamma: float = bounded(0.1, low=0.0)
    epochs: int = bounded(80, low=1)


@dataclass
class RunConfig:
    """Execution: device, precision, seeds, checkpoints."""

    seed: int = 0
    device: str = choice("auto", DEVICES)
    """'auto' (cuda when available), 'cpu' or 'cuda'."""
    amp: str = choice("auto", AMP_MODES)
    """'auto' (bf16 autocast on CUDA, none on CPU), 'bf16' or 'off'."""
    channels_last_3d: bool = False
    keep_every: int = bounded(0, low=0)
    """Besides last.pt (every epoch), keep epoch_NNN.pt every this many epochs; 0 = never."""
    eval_every: int = bounded(1, low=1)
    """Evaluate `data.eval_subset` every this many epochs, and after the last one."""
    tensorboard: bool = True
    """Write TensorBoard events when the package is installed."""
    precise_bn_batches: int = bounded(0, low=0)
    """Before every evaluation and after the last epoch, recompute BatchNorm statistics over
    this many training batches with the epoch's final weights (0 = off; `mgrtrain mtcd`
    defaults to 200); see `engine/precise_bn.py`."""
    find_unused_parameters: bool = False
    """Passed to DDP (steps whose forward skips some trainable parameters need it)."""
    sync_batchnorm: bool = False
    """Under torchrun, BatchNorm statistics over the global batch instead of each rank's
    share: the result then equals one process's on the same batch, whatever the GPU count
    (`engine/sync_bn.py`); off, as in mmaction2's and PyTorchVideo's recipes."""


@dataclass
class EvalConfig:
    """How `mgrtrain eval` (and MTCD's final test) views each clip: C x K views whose softmax
    scores are averaged (`engine/views.py`); per-epoch validation always uses one view."""

    clips: int = bounded(1, low=1)
    """C: temporal views, each T frames spread over the whole clip at shifted offsets."""
    crops: int = bounded(1, low=1)
    """K: spatial crops of the resized frame, spread evenly from left to right (1: centre)."""


@dataclass
class TrainConfig:
    """Everything a run needs; `stage` names the training step (`mgrdark_train.stages`)."""

    stage: str = "baseline"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def problems(self) -> list[tuple[str, str]]:
        if self.model.name != "resnet3d":
            return []
        stride = temporal_stride(**self.model.builder_kwargs())
        if self.data.num_frames < stride:
            return [
                (
                    "data.num_frames",
                    f"{self.data.num_frames} frames are fewer than the network's temporal "
                    f"stride {stride} (model.variant, model.stem_temporal_stride, "
                    "model.pool_temporal_stride); sample more frames or lower a stride",
                )
            ]
        return []


PRESETS: dict[str, dict[str, Any]] = {
    # The paper's training recipe; weight decay is not given there (see OptimConfig). Its
    # learning rate is a fine-tuning rate: the recipe starts from Kinetics-400 (or ImageNet)
    # weights the user passes (`--pretrained FILE`, model.pretrained); from scratch
    # `mgrtrain` warns. The network is MMAction2's I3D ResNet-50 32x2x1 (temporal strides 2 in
    # the stem conv and pool, 2 after res2: 32 frames -> 4 at res5), which both I3D
    # checkpoints fit one-to-one.
    "paper": {
        "data": {"num_frames": 32, "resize": 256, "crop": 224},
        "model": {
            "depth": 50,
            "width": 1.0,
            "variant": "i3d",
            "stem_temporal_kernel": 5,
            "stem_temporal_stride": 2,
            "pool_temporal_stride": 2,
        },
        "optim": {
            "batch_size": 32,
            "lr": 1e-4,
            "momentum": 0.9,
            "weight_decay": 1e-4,
            "lr_step": 20,
            "lr_gamma": 0.1,
            "epochs": 80,
        },
    },
    # The whole pipeline on a CPU in minutes (synthetic data): a narrow ResNet-10, 8 frames of
    # 56x56, AdamW from scratch, clips decoded once and kept in memory. On `mgrdata synth` IR
    # clips SGD at lr 0.01 is near chance for 25 epochs where AdamW at 2e-3 reaches ~60% test
    # top-1; 60 epochs with one decay at 50 reach ~90% (bench/RESULTS.md, "tiny").
    "tiny": {
        "data": {
            "num_frames": 8,
            "resize": 64,
            "crop": 56,
            "workers": 0,
            "eval_subset": "test",
            "in_memory": True,
        },
        "model": {"depth": 10, "width": 0.25, "dropout": 0.2, "stem_temporal_kernel": 3},
        "optim": {
            "name": "adamw",
            "batch_size": 8,
            "lr": 2e-3,
            "weight_decay": 1e-4,
            "lr_step": 50,
            "epochs": 60,
        },
        "run": {"device": "cpu", "eval_every": 10},
    },
}


def resolve_config(
    *,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Build a training config from its layers.

    Args:
        preset: 'paper', 'tiny' or None.
        yaml_path: A YAML file with any subset of the settings.
        overrides: Dotted keys from CLI flags (`{'optim.epochs': 3}`); None = flag not given.
        sets: Dotted keys from `--set KEY=VALUE`, applied last; None values are kept
            (`--set data.light=null` trains on every light condition).
        base: A resumed run's `config.yaml` (over the dataclass defaults).
        defaults: A command's own defaults (`mgrtrain mtcd`: precise BN), under the preset.

    Returns:
        The resolved, checked configuration.
    """
    layers = config_layers(
        PRESETS,
        preset=preset,
        yaml_path=yaml_path,
        overrides=overrides,
        sets=sets,
        base=None if base is None else upgrade_saved(base),
        defaults=defaults,
    )
    return resolve(TrainConfig, layers)


def upgrade_saved(saved: Mapping[str, Any]) -> dict[str, Any]:
    """A run's saved config written by an earlier version, in today's keys (a renamed key
    given by the user is refused, but a run directory must stay readable)."""
    out = dict(saved)
    model = out.get("model")
    if isinstance(model, Mapping) and "pretrained_2d" in model:
        model = dict(model)
        old = model.pop("pretrained_2d")
        model.setdefault("pretrained", old)
        out["model"] = model
    return out


def write_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    """Write the resolved configuration (atomically)."""
    return write_yaml(cfg, path)


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a run directory's `config.yaml` back."""
    return resolve_config(base=read_yaml(path))


__all__ = [
    "PRESETS",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "TrainConfig",
    "load_config",
    "parse_set",
    "resolve_config",
    "write_config",
]
