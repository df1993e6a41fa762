"""MTCD settings, layered like the training config: defaults < preset < YAML < flags.

The networks' training recipe (data sampling, backbone, SGD schedule, epochs) is the
foundation's `TrainConfig`, shared by the teacher, assistant and student stages. This file holds
what only MTCD has: the translator, the distillation losses and the ablation row. Both resolved
configs are written into the run directory (`config.yaml`, `mtcd.yaml`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mgrdark_data.paths import atomic_path

from ..engine.config import ConfigError, dotted, merge, read_yaml
from ..translator.config import TRANSLATOR_PRESETS, TranslatorConfig
from ..translator.networks import TRANSLATORS
from .losses import KD_DISTANCES, KD_REDUCTIONS

ABLATIONS: dict[str, dict[str, bool]] = {
    # Table 4 rows as switches. "teacher+assistant" uses an assistant trained with CE alone;
    # "full" adds the progressive step, the assistant distilled from the teacher (eq. 6).
    "baseline": {"ir_kd": False, "fusion_kd": False, "assistant_kd": False},
    "teacher": {"ir_kd": True, "fusion_kd": False, "assistant_kd": False},
    "teacher+assistant": {"ir_kd": True, "fusion_kd": True, "assistant_kd": False},
    "full": {"ir_kd": True, "fusion_kd": True, "assistant_kd": True},
}


@dataclass
class DistillConfig:
    """Distillation losses (eq. 5-7, 10). The student's weights follow the paper."""

    kd_distance: str = "mse_l2"
    """'mse_l2': squared distance of L2-normalised projected feature maps (= 2 - 2 cos, per
    space-time location; IR is pixel-aligned with RGB, so locations correspond);
    'kl_logits': T^2 * KL of temperature-softened logits (class-level only)."""
    kd_reduction: str = "mean"
    """'mean': sum over channels, mean over batch and positions; 'batchmean': sum over
    channels and positions, mean over batch. Cross-entropy is always the batch mean."""
    temperature: float = 4.0
    """Softening temperature of 'kl_logits'."""
    alpha: float = 0.9
    """Weight of L_kd(Fusion->RGB) in eq. 10."""
    beta: float = 0.3
    """Weight of L_kd(IR->RGB) in eq. 10."""
    gamma: float = 1.0
    """Weight of L_kd(IR->IRp) in the assistant's loss (the paper gives none)."""
    fusion_weight: float = 0.5
    """Teacher share of the fused target of eq. 7; the assistant gets the rest."""


@dataclass
class MTCDConfig:
    """Everything MTCD adds to the foundation's training config."""

    ablation: str = "full"
    """Table 4 row: 'baseline', 'teacher', 'teacher+assistant' or 'full'."""
    precise_bn_batches: int = 200
    """After each network stage, recompute BatchNorm statistics over this many training batches
    with the final weights (0: off); see `mtcd/precise_bn.py` for why dark RGB needs it."""
    translator: TranslatorConfig = field(default_factory=TranslatorConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def switches(self) -> dict[str, bool]:
        """Which loss terms the ablation row keeps (``ir_kd``, ``fusion_kd``, ``assistant_kd``)."""
        return ABLATIONS[self.ablation]

    def validate(self) -> MTCDConfig:
        """Raise ConfigError on a value no stage could use; return self."""
        checks = [
            (self.ablation in ABLATIONS, f"ablation {self.ablation!r}: expected {list(ABLATIONS)}"),
            (
                self.translator.name in TRANSLATORS,
                f"translator.name {self.translator.name!r}: expected one of {TRANSLATORS}",
            ),
            (
                self.distill.kd_distance in KD_DISTANCES,
                f"distill.kd_distance {self.distill.kd_distance!r}: expected one of {KD_DISTANCES}",
            ),
            (
                self.distill.kd_reduction in KD_REDUCTIONS,
                f"distill.kd_reduction {self.distill.kd_reduction!r}: "
                f"expected one of {KD_REDUCTIONS}",
            ),
            (0.0 <= self.distill.fusion_weight <= 1.0, "distill.fusion_weight must be in [0, 1]"),
            (
                isinstance(self.precise_bn_batches, int) and self.precise_bn_batches >= 0,
                "precise_bn_batches must be an integer >= 0",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"mtcd config: {message}")
        return self


MTCD_PRESETS: dict[str, dict[str, Any]] = {
    name: {"translator": translator} for name, translator in TRANSLATOR_PRESETS.items()
}


def resolve_mtcd_config(
    *,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> MTCDConfig:
    """Build the MTCD config from its layers (same rules as the foundation's config).

    Args:
        preset: 'paper', 'tiny' or None.
        yaml_path: YAML file with any subset of the settings (the layout of ``mtcd.yaml``).
        overrides: Dotted keys from CLI flags; None values mean "flag not given".
        base: Replaces the defaults (a resumed run's ``mtcd.yaml``).
    """
    layers = MTCDConfig().to_dict()
    if base is not None:
        layers = merge(layers, base, "run mtcd.yaml")
    if preset is not None:
        if preset not in MTCD_PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; expected one of {sorted(MTCD_PRESETS)}")
        layers = merge(layers, MTCD_PRESETS[preset], f"mtcd preset {preset}")
    if yaml_path is not None:
        layers = merge(layers, read_yaml(yaml_path), str(yaml_path))
    if overrides:
        layers = merge(layers, dotted(overrides), "command line")
    try:
        cfg = MTCDConfig(
            ablation=layers["ablation"],
            precise_bn_batches=layers["precise_bn_batches"],
            translator=TranslatorConfig(**layers["translator"]),
            distill=DistillConfig(**{k: _number(k, v) for k, v in layers["distill"].items()}),
        )
    except TypeError as e:
        raise ConfigError(f"mtcd config: {e}") from e
    return cfg.validate()


def _number(key: str, value: Any) -> Any:
    # YAML reads "1" as an int; the float fields accept it.
    return (
        float(value)
        if isinstance(value, int)
        and not isinstance(value, bool)
        and key in {"temperature", "alpha", "beta", "gamma", "fusion_weight"}
        else value
    )


def write_mtcd_config(cfg: MTCDConfig, path: str | os.PathLike) -> Path:
    """Write the resolved MTCD config (atomically)."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return Path(path)


def load_mtcd_config(path: str | os.PathLike) -> MTCDConfig:
    """Read a run directory's ``mtcd.yaml`` back."""
    return resolve_mtcd_config(base=read_yaml(path))
