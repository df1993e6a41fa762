"""A toy dataset where IR is easy and dark RGB is hard: MTCD's premise in a few kilobytes.

Every clip shows one moving stripe pattern whose orientation is the class. The IR stream sees
it bright and clean; the RGB stream, pixel-aligned with IR (as after `mgrdata segment --align
auto`), sees it through a dim, tinted, noisy camera, so an RGB network struggles where an IR
one does not. Used by the MTCD tests and by `bench/ablation.py` when no synthetic raw data can
be rendered and segmented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mgrdark_data.paths import DataRoot
from mgrdark_data.testing import write_index_video, write_lossless_rgb

from ..testing.datasets import ClipSpec, write_dataset_root


def stripe_scene(label: int, classes: int, num_frames: int, size: int, rng: np.random.Generator):
    """Clean scene (T, H, W) float32 in [0, 1]: stripes at angle ``label * pi / classes``.

    Period and phase are random per clip and the phase drifts over time, so no single pixel or
    frame gives the class away.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = np.pi * label / classes
    coord = xx * np.cos(angle) + yy * np.sin(angle)
    period = rng.uniform(5, 9)
    phase = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(0.2, 0.5) * rng.choice([-1, 1])
    t = np.arange(num_frames, dtype=np.float32)[:, None, None]
    return 0.5 + 0.5 * np.sin(2 * np.pi * coord / period + phase + drift * t)


def ir_frames(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bright, low-noise grey frames (T, H, W, 3) uint8: what the thermal camera sees."""
    img = 0.15 + 0.7 * scene + rng.normal(0, 0.03, size=scene.shape)
    return np.repeat(_u8(img)[..., None], 3, axis=3)


def dark_rgb_frames(
    scene: np.ndarray, rng: np.random.Generator, *, gain: float = 0.05, noise: float = 0.03
) -> np.ndarray:
    """Dim, tinted, noisy RGB frames (T, H, W, 3) uint8 of the same scene.

    With the defaults the stripes' amplitude (``gain / 2``) is below the noise level, about
    six grey levels in 8 bits.
    """
    tint = np.array([0.8, 1.0, 1.3], np.float32)
    base = 0.04 + gain * scene[..., None] * tint
    return _u8(base + rng.normal(0, noise, size=base.shape))


def _u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def write_dark_ir_dataset(
    root: str | Path,
    *,
    classes: int = 4,
    train_subjects: int = 4,
    test_subjects: int = 2,
    clips_per_class: int = 3,
    num_frames: tuple[int, int] = (12, 20),
    size: int = 32,
    gain: float = 0.05,
    noise: float = 0.03,
    seed: int = 0,
    depth: bool = False,
) -> DataRoot:
    """Write a dataset root with aligned ``rgb`` and ``ir`` clips and its subject split.

    Subjects S01.. are 'train', the last ``test_subjects`` are 'test'; every clip is 'dark'.

    Args:
        root: Dataset root to create.
        classes: Number of classes (labels 0..classes-1 of the packaged vocabulary).
        train_subjects: Subjects in the training subset.
        test_subjects: Subjects in the test subset.
        clips_per_class: Clips per subject and class.
        num_frames: Inclusive range of clip lengths.
        size: Frame side in pixels (both streams).
        gain: Stripe contrast in the dark RGB stream.
        noise: Noise standard deviation in the dark RGB stream.
        seed: Everything random derives from it.
        depth: Also write a ``depth`` stream (16-bit index frames: plumbing for depth
            students, it carries no class).
    """
    rng = np.random.default_rng(seed)
    subjects = [f"S{i + 1:02d}" for i in range(train_subjects + test_subjects)]
    split = {s: "train" if i < train_subjects else "test" for i, s in enumerate(subjects)}
    streams = ("rgb", "ir", "depth") if depth else ("rgb", "ir")
    specs = [
        ClipSpec(s, c, int(rng.integers(num_frames[0], num_frames[1] + 1)), modalities=streams)
        for s in subjects
        for c in range(classes)
        for _ in range(clips_per_class)
    ]
    seeds = rng.integers(0, 2**31, size=len(specs))

    def writer(path: Path, modality: str, spec: ClipSpec, k: int, _size) -> None:
        if modality == "depth":
            write_index_video(path, spec.num_frames, size=(size, size), kind="depth")
            return
        # One scene per clip, drawn from the clip's seed, so both streams show the same one.
        clip_rng = np.random.default_rng(int(seeds[k]))
        scene = stripe_scene(spec.label, classes, spec.num_frames, size, clip_rng)
        noise_rng = np.random.default_rng([int(seeds[k]), 0 if modality == "rgb" else 1])
        frames = (
            dark_rgb_frames(scene, noise_rng, gain=gain, noise=noise)
            if modality == "rgb"
            else ir_frames(scene, noise_rng)
        )
        write_lossless_rgb(path, frames)

    sizes = {m: (size, size) for m in streams}
    return write_dataset_root(root, specs, split, sizes=sizes, writer=writer)
