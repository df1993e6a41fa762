"""Settings of the translator stage (part of the MTCD config, usable alone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TranslatorConfig:
    """The RGB -> pseudo-IR translator and its paired training."""

    name: str = "gan"
    """'gan' (U-Net trained on aligned RGB/IR pairs), 'grayscale' or 'identity' (no training)."""
    base_channels: int = 64
    depth: int = 5
    epochs: int = 20
    batch_size: int = 8
    """Clips per batch; every frame of a clip is a training pair."""
    frames_per_batch: int | None = 64
    """At most this many frame pairs per batch, drawn at random from all its clips (consecutive
    frames are nearly alike)."""
    lr: float = 2e-4
    gan_weight: float = 0.01
    """Weight of the PatchGAN term against L1 (pix2pix: 1 against 100); 0 = L1 alone."""
    hot_weight: float = 0.0
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
