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
    """'gan' (pix2pix: U-Net trained on aligned RGB/IR pairs with L1 + PatchGAN), 'sda' (the
    same plus identity preservation through two re-ID encoders, eq. 1-4; below), 'grayscale'
    or 'identity' (no training).

    What 'sda' keeps of SDA-GAN / AlignGAN-style translators and why: the identity terms (eq. 2
    cross-entropy + eq. 4 batch-hard triplet through encoders pre-trained with eq. 1 and two
    seeds, frozen); the adversarial term (here pix2pix's conditional PatchGAN). Replaced: the
    cycle-consistency and identity-mapping terms and the IR -> RGB generator, which exist
    because re-ID sets are unpaired; MGR-Dark's IR is pixel-aligned with RGB, so the paired
    (warm-weighted) L1 constrains the output directly. Dropped: training the re-ID module on
    the generator's output (a frozen encoder cannot learn the generator's artefacts)."""
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
    # 'sda' only: the re-ID encoders (translator/reid.py) and the identity term
    identity_weight: float = bounded(0.1, low=0.0)
    """lambda_id: weight of the identity term (eq. 1 through the frozen encoders, averaged over
    them) against L1 (AlignGAN: 0.1)."""
    reid_encoders: int = bounded(2, low=1)
    """Encoders, pre-trained with seeds run.seed, run.seed + 1, ..."""
    reid_epochs: int = bounded(20, low=1)
    """Pre-training epochs over the training subjects' IR frames (eq. 1)."""
    reid_lr: float = bounded(1e-3, low=0.0)
    reid_channels: int = bounded(16, low=1)
    reid_triplet_weight: float = bounded(1.0, low=0.0)
    """lambda_pre of eq. 1."""
    reid_margin: float = bounded(0.3, low=0.0)
    """epsilon of eq. 4 (deep-person-reid's 0.3)."""
    reid_sysu: str | None = None
    """SYSU-MM01 folder (cam1..cam6/<pid>/<img>.jpg): pre-train the encoders on its infrared
    identities (cam3, cam6; exp/test_id.txt left out) before the training subjects."""
    reid_sysu_epochs: int = bounded(10, low=1)


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
        "reid_epochs": 15,
        "reid_channels": 8,
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
