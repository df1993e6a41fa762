"""MTCD settings, and resolving both configs of an MTCD run through the engine's resolver.

The networks' training recipe (data sampling, backbone, SGD schedule, epochs, precise BN) is
the engine's `TrainConfig`, shared by the teacher, assistant and student stages. This file holds
what only MTCD has: the translator, the distillation losses and the ablation row. Both resolved
configs are written into the run directory (`config.yaml`, `mtcd.yaml`); on the command line the
MTCD settings are `mtcd.*` keys (`--set mtcd.distill.alpha=0.5`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..engine.config import TrainConfig, resolve_config
from ..engine.resolver import (
    bounded,
    choice,
    config_layers,
    read_yaml,
    resolve,
    split_keys,
    write_yaml,
)
from ..translator.config import TRANSLATOR_PRESETS, TranslatorConfig
from .layout import RUN_STAGE
from .losses import KD_DISTANCES, KD_REDUCTIONS

ABLATIONS: dict[str, dict[str, bool]] = {
    # Each row names the loss terms it switches on (README, "Fidelity to the paper"):
    # ir_kd = L_kd(IR->RGB), eq. 5, on the student; assistant_kd = L_kd(IR->IRp), eq. 6, on the
    # assistant; fusion_kd = L_kd(Fusion->RGB), eq. 7, on the student.
    "baseline": {"ir_kd": False, "fusion_kd": False, "assistant_kd": False},  # Table 4 row 1
    "teacher": {"ir_kd": True, "fusion_kd": False, "assistant_kd": False},  # row 2
    # Row 3: eq. 5 + eq. 6 without fusion. The assistant then reaches the student through
    # nothing but the joint run (online mode), so offline it would equal 'teacher'.
    "teacher+irp": {"ir_kd": True, "fusion_kd": False, "assistant_kd": True},
    # Not a paper row: fusion with an assistant trained on CE alone (this was
    # 'teacher+assistant' before 0.2).
    "teacher+fusion": {"ir_kd": True, "fusion_kd": True, "assistant_kd": False},
    "full": {"ir_kd": True, "fusion_kd": True, "assistant_kd": True},  # row 4
}

RENAMED_ROWS: dict[str, str] = {"teacher+assistant": "teacher+fusion"}
"""Ablation rows renamed since; a saved run's old name is read as its new one."""

ASSISTANT_MODES = ("offline", "online")
STUDENT_MODALITIES = ("rgb", "depth")

TRAIN_DEFAULTS: dict[str, Any] = {
    # After each network stage's evaluations and last epoch, recompute BatchNorm statistics
    # over 200 training batches: dark RGB needs it (engine/precise_bn.py). Baselines: off.
    "run": {"precise_bn_batches": 200},
}
"""What `mgrtrain mtcd` changes in the training defaults (under the preset)."""


@dataclass
class DistillConfig:
    """Distillation losses (eq. 5-7, 10). The student's weights follow the paper."""

    kd_distance: str = choice("mse_l2", KD_DISTANCES)
    """'mse_l2': squared distance of L2-normalised projected feature maps (= 2 - 2 cos, per
    space-time location; IR is pixel-aligned with RGB, so locations correspond);
    'kl_logits': T^2 * KL of temperature-softened logits (class-level only)."""
    kd_reduction: str = choice("mean", KD_REDUCTIONS)
    """'mean': sum over channels, mean over batch and positions; 'batchmean': sum over
    channels and positions, mean over batch. Cross-entropy is always the batch mean."""
    temperature: float = bounded(4.0, low=0.0)
    """Softening temperature of 'kl_logits'."""
    alpha: float = bounded(0.9, low=0.0)
    """Weight of L_kd(Fusion->RGB) in eq. 10."""
    beta: float = bounded(0.3, low=0.0)
    """Weight of L_kd(IR->RGB) in eq. 10."""
    gamma: float = bounded(1.0, low=0.0)
    """Weight of L_kd(IR->IRp) in the assistant's loss (the paper gives none)."""
    fusion_weight: float = bounded(0.5, low=0.0, high=1.0)
    """Teacher share of the fused target of eq. 7; the assistant gets the rest."""


@dataclass
class MTCDConfig:
    """Everything MTCD adds to the engine's training config."""

    RENAMED: ClassVar[dict[str, str]] = {"precise_bn_batches": "run.precise_bn_batches"}

    ablation: str = choice("full", ABLATIONS)
    """Which loss terms are on: 'baseline' (CE), 'teacher' (+ eq. 5), 'teacher+irp' (+ eq. 6
    on the assistant; online only), 'teacher+fusion' (+ eq. 7 with a CE-only assistant),
    'full' (eq. 5, 6, 7)."""
    assistant_mode: str = choice("offline", ASSISTANT_MODES)
    """'offline': the assistant is its own stage, trained and frozen before the student (eq. 6
    on it, then eq. 5 and 7 on the student). 'online': assistant and student train together in
    one stage, each from its own terms (eq. 6 reaches only the assistant, eq. 5 and 7 only the
    student; the fused target of eq. 7 is the assistant's current output, detached)."""
    student: str = choice("rgb", STUDENT_MODALITIES)
    """The student's input: 'rgb' (the paper's main setting) or 'depth' (its Table 2 depth
    student). The teacher is IR either way; the assistant always sees pseudo-IR from RGB."""
    translator: TranslatorConfig = field(default_factory=TranslatorConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field rules as (key, message) pairs (the resolver raises the first)."""
        if self.assistant_mode == "offline" and self.ablation == "teacher+irp":
            return [
                (
                    "ablation",
                    "'teacher+irp' (Table 4 row 3) needs mtcd.assistant_mode=online; offline "
                    "the assistant's eq. 6 never reaches the student (the row equals 'teacher')",
                )
            ]
        return []

    @property
    def uses_assistant(self) -> bool:
        """Whether the row trains an assistant (for eq. 6 or for the fused target of eq. 7)."""
        sw = self.switches
        return sw["fusion_kd"] or (sw["assistant_kd"] and self.assistant_mode == "online")

    @property
    def switches(self) -> dict[str, bool]:
        """Which loss terms the ablation row keeps (``ir_kd``, ``fusion_kd``, ``assistant_kd``)."""
        return ABLATIONS[self.ablation]


MTCD_PRESETS: dict[str, dict[str, Any]] = {
    name: {"translator": translator} for name, translator in TRANSLATOR_PRESETS.items()
}


def resolve_mtcd_config(
    *,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> MTCDConfig:
    """Build the MTCD config from its layers (the same resolver as the training config).

    Args:
        preset: 'paper', 'tiny' or None.
        yaml_path: YAML file with any subset of the settings (the layout of ``mtcd.yaml``).
        overrides: Dotted keys (without ``mtcd.``) from CLI flags; None means "not given".
        sets: Dotted keys (without ``mtcd.``) from ``--set``, applied last; None is kept.
        base: Replaces the defaults (a resumed run's ``mtcd.yaml``).
    """
    layers = config_layers(
        MTCD_PRESETS, preset=preset, yaml_path=yaml_path, overrides=overrides, sets=sets, base=base
    )
    return resolve(MTCDConfig, layers, prefix="mtcd.")


def resolve_mtcd_run(
    *,
    run_dir: str | os.PathLike | None = None,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    mtcd_yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
) -> tuple[TrainConfig, MTCDConfig, Path]:
    """Both configs of an MTCD run and its directory, checked before any work starts.

    Args:
        run_dir: The run directory; when it holds both configs already, they are the base
            (re-running a run continues it) and no preset applies.
        preset: 'paper' (default for a new run) or 'tiny', for both configs.
        yaml_path: YAML file of training settings.
        mtcd_yaml_path: YAML file of MTCD settings.
        overrides: Dotted CLI flags; `mtcd.*` keys go to the MTCD config.
        sets: Dotted `--set` values, split the same way.

    Returns:
        `(training config, MTCD config, run directory)`; the run directory defaults to
        `runs/mtcd_<ablation>_<split>`.
    """
    mflags, flags = split_keys(overrides or {}, "mtcd.")
    msets, train_sets = split_keys(sets or {}, "mtcd.")
    saved = load_run_configs(run_dir) if run_dir is not None else None
    base, mbase = saved if saved else (None, None)
    chosen = None if saved else (preset or "paper")
    cfg = resolve_config(
        preset=chosen,
        yaml_path=yaml_path,
        overrides={**flags, "stage": RUN_STAGE},
        sets=train_sets,
        base=base,
        defaults=None if saved else TRAIN_DEFAULTS,
    )
    mcfg = resolve_mtcd_config(
        preset=chosen, yaml_path=mtcd_yaml_path, overrides=mflags, sets=msets, base=mbase
    )
    if run_dir is None:
        return cfg, mcfg, Path("runs") / f"mtcd_{mcfg.ablation}_{cfg.data.split}"
    return cfg, mcfg, Path(run_dir)


def load_run_configs(run_dir: str | os.PathLike) -> tuple[dict, dict] | None:
    """The saved `config.yaml` and `mtcd.yaml` of an MTCD run directory (None: not both there).

    `mtcd.precise_bn_batches` of runs written before it became `run.precise_bn_batches` moves
    to its new place, so such a run continues with the setting it was started with.
    """
    run_dir = Path(run_dir)
    if not ((run_dir / "config.yaml").exists() and (run_dir / "mtcd.yaml").exists()):
        return None
    base, mbase = read_yaml(run_dir / "config.yaml"), read_yaml(run_dir / "mtcd.yaml")
    if mbase.get("ablation") in RENAMED_ROWS:
        mbase["ablation"] = RENAMED_ROWS[mbase["ablation"]]
    if "precise_bn_batches" in mbase:
        base.setdefault("run", {})["precise_bn_batches"] = mbase.pop("precise_bn_batches")
    return base, mbase


def write_mtcd_config(cfg: MTCDConfig, path: str | os.PathLike) -> Path:
    """Write the resolved MTCD config (atomically)."""
    return write_yaml(cfg, path)


def load_mtcd_config(path: str | os.PathLike) -> MTCDConfig:
    """Read a run directory's ``mtcd.yaml`` back."""
    return resolve_mtcd_config(base=read_yaml(path))
