"""Layered training configuration: dataclass defaults < preset < YAML file < CLI flags.

The resolved configuration is written as `config.yaml` into the run directory; `--resume`
starts from that file instead of the defaults, so a resumed run trains what the killed one
trained unless a flag says otherwise (e.g. `--epochs` to extend it).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.paths import atomic_path


class ConfigError(MgrdarkError):
    """A configuration file, preset or override is invalid."""


@dataclass
class DataConfig:
    """What to train on and how clips are sampled."""

    root: str | None = None
    """Dataset root; None: `$MGRDARK_DATA`, else ./mgrdark-data."""
    split: str = "subjects"
    """Split name: DATA/splits/<split>.parquet."""
    modality: str = "rgb"
    """Input stream of a single-modality run: rgb, ir or depth."""
    light: str | None = "dark"
    """Keep only clips with this `light` ('dark' as in the paper's experiments); None = all."""
    num_frames: int = 32
    """T, frames sampled uniformly over each clip."""
    resize: int = 256
    crop: int = 224
    flip: bool = False
    """Random horizontal flip with labels mapped through the vocabulary's mirror column."""
    cache: bool = False
    """Read pre-resized clips written by `mgrtrain prepare --size <resize>`."""
    in_memory: bool = False
    """Keep every clip's decoded, resized frames in memory after its first read, so each
    stream is decoded once per run instead of once per epoch (small data: the tiny preset)."""
    classes: str | None = None
    """Vocabulary CSV (default: the packaged one)."""
    workers: int = 4
    """DataLoader worker processes per rank (decoding happens there)."""
    eval_subset: str | None = "val"
    """Subset evaluated after each epoch; skipped when empty or None."""


@dataclass
class ModelConfig:
    """Backbone; the keys after `name` are passed to its builder."""

    name: str = "resnet3d"
    depth: int = 50
    width: float = 1.0
    dropout: float = 0.5
    stem_temporal_kernel: int = 5
    pool_temporal_stride: int = 2
    pretrained_2d: str | None = None
    """A torchvision-named 2D ResNet state_dict file to inflate (no downloads)."""


OPTIMIZERS = ("sgd", "adamw")


@dataclass
class OptimConfig:
    """The optimizer (SGD as in the paper, or AdamW) with a step decay."""

    name: str = "sgd"
    """'sgd' (the paper's; uses `momentum`) or 'adamw' (trains a small network from scratch
    in far fewer epochs: the `tiny` preset uses it, see bench/RESULTS.md)."""
    batch_size: int = 32
    """Global batch: divided evenly among DDP ranks."""
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 1e-4
    """Not stated in the paper; 1e-4 is the usual value for ResNet video models."""
    lr_step: int = 20
    """Multiply the learning rate by `lr_gamma` every `lr_step` epochs."""
    lr_gamma: float = 0.1
    epochs: int = 80


@dataclass
class RunConfig:
    """Execution: device, precision, seeds, checkpoints."""

    seed: int = 0
    device: str = "auto"
    """'auto' (cuda when available), 'cpu' or 'cuda'."""
    amp: str = "auto"
    """'auto' (bf16 autocast on CUDA, none on CPU), 'bf16' or 'off'."""
    channels_last_3d: bool = False
    keep_every: int = 0
    """Besides last.pt (every epoch), keep epoch_NNN.pt every this many epochs; 0 = never."""
    eval_every: int = 1
    """Evaluate `data.eval_subset` every this many epochs, and after the last one."""
    tensorboard: bool = True
    """Write TensorBoard events when the package is installed."""
    precise_bn_batches: int = 0
    """After each epoch, recompute BatchNorm statistics over this many training batches
    (0 = off); see `engine/precise_bn.py`."""
    find_unused_parameters: bool = False
    """Passed to DDP (steps whose forward skips some trainable parameters need it)."""


@dataclass
class TrainConfig:
    """Everything a run needs; `stage` names the training step (see `mgrdark_train.stages`)."""

    stage: str = "baseline"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, dict[str, Any]] = {
    # The paper's training recipe; weight decay is not given there (see OptimConfig).
    "paper": {
        "data": {"num_frames": 32, "resize": 256, "crop": 224},
        "model": {"depth": 50, "width": 1.0},
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


def merge(base: dict[str, Any], layer: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Recursively overlay `layer` on `base`; unknown keys raise ConfigError naming `where`."""
    out = dict(base)
    for key, value in layer.items():
        if key not in out:
            raise ConfigError(f"{where}: unknown setting {key!r}; expected one of {sorted(out)}")
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {key!r} must be a mapping of settings")
            out[key] = merge(out[key], value, f"{where}: {key}")
        else:
            out[key] = value
    return out


def dotted(overrides: Mapping[str, Any], *, keep_none: bool = False) -> dict[str, Any]:
    """{'optim.lr': 0.1} -> {'optim': {'lr': 0.1}}; None values are dropped unless kept."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None and not keep_none:
            continue
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def parse_set(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`--set model.depth=18` strings -> {'model.depth': 18} (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.lr=0.01")
        out[key.strip()] = yaml.safe_load(text)
    return out


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def resolve_config(
    *,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Build a config from its layers.

    Args:
        preset: 'paper', 'tiny' or None.
        yaml_path: A YAML file with any subset of the settings.
        overrides: Dotted keys from CLI flags (`{'optim.epochs': 3}`); None = flag not given.
        sets: Dotted keys from `--set KEY=VALUE`, applied last; None values are kept
            (`--set data.light=null` trains on every light condition).
        base: Replaces the dataclass defaults (a resumed run's `config.yaml`).

    Returns:
        The resolved, type-checked configuration.
    """
    layers = TrainConfig().to_dict()
    if base is not None:
        layers = merge(layers, base, "run config.yaml")
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        layers = merge(layers, PRESETS[preset], f"preset {preset}")
    if yaml_path is not None:
        layers = merge(layers, read_yaml(yaml_path), str(yaml_path))
    if overrides:
        layers = merge(layers, dotted(overrides), "command line")
    if sets:
        layers = merge(layers, dotted(sets, keep_none=True), "--set")
    cfg = _build(TrainConfig, layers, "config")
    if cfg.optim.name not in OPTIMIZERS:
        raise ConfigError(f"optim.name {cfg.optim.name!r}: expected one of {list(OPTIMIZERS)}")
    return cfg


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        v = values[f.name]
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = _build(hint, v, f"{where}.{f.name}")
        else:
            kwargs[f.name] = _coerce(v, hint, f"{where}.{f.name}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    args = typing.get_args(hint)
    allowed = args if args else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{where} may not be empty")
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not any(t is not type(None) and isinstance(value, t) for t in allowed) or (
        isinstance(value, bool) and bool not in allowed
    ):
        names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
        raise ConfigError(f"{where} must be {names}, got {value!r}")
    return value


def write_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    """Write the resolved configuration (atomically)."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return Path(path)


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a run directory's `config.yaml` back."""
    return resolve_config(base=read_yaml(path))
