"""The smallest MTCD runs: a toy dark-RGB/IR dataset and the command-line settings that train
every stage on it in seconds."""

from __future__ import annotations

from pathlib import Path

from mgrdark_data.paths import DataRoot

from ..mtcd.synthetic import write_dark_ir_dataset

TINY_MTCD_ARGS = [
    "--preset",
    "tiny",
    "--epochs",
    "1",
    "--workers",
    "0",
    "--set",
    "data.resize=16",
    "--set",
    "data.crop=16",
    "--set",
    "data.num_frames=4",
    "--set",
    "mtcd.translator.epochs=1",
    "--set",
    "run.tensorboard=false",
    "-q",
]
"""`mgrtrain mtcd`/`ablation` options: the tiny preset at 16x16, 4 frames, one epoch a stage."""


def write_tiny_dark_ir_dataset(
    root: str | Path, *, clips_per_class: int = 1, depth: bool = False
) -> DataRoot:
    """3 classes, 2 training subjects and 1 test subject, clips of 6-8 frames at 16x16 (with
    a depth stream when `depth`)."""
    return write_dark_ir_dataset(
        root,
        classes=3,
        train_subjects=2,
        test_subjects=1,
        clips_per_class=clips_per_class,
        num_frames=(6, 8),
        size=16,
        depth=depth,
    )
