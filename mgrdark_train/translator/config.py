"""Settings of the translator stage (part of the MTCD config, usable alone), and resolving them
together with the training config for `mgrtrain translator`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.config import TrainConfig, resolve_config
from ..engine.resolver import bounded, choice, config_layers, resolve, split_keys
from .networks import TRANSLATORS


@dataclass
class TranslatorConfig:
    """The RGB -> pseudo-IR translator and its paired training."""

    name: str = choice("gan", TRANSLATORS)
    """'gan' (U-Net trained on aligned RGB/IR pairs), 'grayscale' or 'identity' (no training)."""
    base_channels: int = bounded(64, low=1)
    depth: int = bounded(5, low=1)
    epochs: int = bounded(20, low=1)
    batch_size: int = bounded(8, low=1)
    """Clips per batch; every frame of a clip is a training pair."""
    frames_per_batch: int | None = bounded(64, low=1)
    """At most this many frame pairs per batch, drawn at random from all its clips (consecutive
    frames are nearly alike)."""
    lr: float = bounded(2e-4, low=0.0)
    gan_weight: float = bounded(0.01, low=0.0)
    """Weight of the PatchGAN term against L1 (pix2pix: 1 against 100); 0 = L1 alone."""
    hot_weight: float = bounded(0.0, low=0.0)
    """Extra L1 weight of pixels warmer than their frame's median, up to 1 + hot_weight at the
    warmest (`translator.train.hot_l1_weights`); 0 = plain L1, as in pix2pix."""


TRANSLATOR_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # Trains in about two minutes on CPU at the tiny training preset's 56x56 crops; a
    # from-scratch U-Net that sees a few hundred frames needs a larger step than pix2pix's 2e-4.
    # On the demo's synth data the validation L1 stops improving after about 8 epochs, and a
    # network this small reproduces the people only with the warm pixels weighted up (probe:
    # L1 on person pixels 1.8 plain, 0.6 with hot_weight 9; bench/RESULTS.md, "translator").
    "tiny": {
        "base_channels": 8,
        "depth": 3,
        "epochs": 8,
        "frames_per_batch": 32,
        "lr": 2e-3,
        "hot_weight": 9.0,
    },
}


def resolve_translator_run(
    *,
    preset: str = "paper",
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
) -> tuple[TrainConfig, TranslatorConfig]:
    """The training config (data, device, seed) and the translator config of `mgrtrain
    translator`, both checked before any work.

    Args:
        preset: 'paper' or 'tiny', for both configs.
        overrides: Dotted CLI flags; `translator.*` keys go to the translator config.
        sets: Dotted `--set` values, split the same way.
    """
    tflags, flags = split_keys(overrides or {}, "translator.")
    tsets, train_sets = split_keys(sets or {}, "translator.")
    cfg = resolve_config(preset=preset, overrides=flags, sets=train_sets)
    layers = config_layers(TRANSLATOR_PRESETS, preset=preset, overrides=tflags, sets=tsets)
    return cfg, resolve(TranslatorConfig, layers, prefix="translator.")
