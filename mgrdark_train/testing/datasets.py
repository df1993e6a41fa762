"""Write small but complete dataset roots (clips, clips.parquet, a split) for training tests.

Two kinds of content:

* index clips (`mgrdark_data.testing`): every frame spells its own index, so a test can read
  back which source frame a sample holds, and depth frames hold `depth_value(i)`;
* pattern clips: the class is a visual pattern (stripe orientation) under noise and a random
  phase, which a tiny network learns in a few epochs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mgrdark_data.manifest import write_records, write_split
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.testing import write_index_video, write_lossless_rgb
from mgrdark_data.vocabulary import load_vocabulary

FPS = 25


@dataclass(frozen=True)
class ClipSpec:
    """One clip of a test dataset."""

    subject: str
    label: int
    num_frames: int
    light: str = "dark"
    modalities: tuple[str, ...] = ("rgb", "ir", "depth")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(root: DataRoot, n: int, spec: ClipSpec, sizes: dict[str, tuple[int, int]]):
    vocab = load_vocabulary()
    clip_id = f"{spec.subject}__{spec.light}__take__{n:06d}_{n + spec.num_frames - 1:06d}"
    rec: dict = {
        "clip_id": clip_id,
        "recording": f"{spec.subject}/{spec.light}/take",
        "subject": spec.subject,
        "light": spec.light,
        "scene": "lab",
        "gesture": vocab.classes[spec.label].name,
        "label": spec.label,
        "start_frame": n,
        "end_frame": n + spec.num_frames - 1,
        "num_frames": spec.num_frames,
        "fps": float(FPS),
        "source_row": n + 2,
    }
    for m in spec.modalities:
        rel = root.clip_relpath(m, clip_id)
        w, h = sizes[m]
        rec.update({f"{m}_path": rel, f"{m}_width": w, f"{m}_height": h})
    return clip_id, rec


def _finish(root: DataRoot, rec: dict, spec: ClipSpec) -> ClipRecord:
    for m in spec.modalities:
        path = root.root / rec[f"{m}_path"]
        rec[f"{m}_bytes"] = path.stat().st_size
        rec[f"{m}_sha256"] = _sha(path)
        if m != "rgb":
            rec[f"{m}_start_frame"] = rec["start_frame"]
            rec[f"{m}_end_frame"] = rec["end_frame"]
    if "ir" in spec.modalities:
        rec["ir_aligned"] = True
    return ClipRecord.from_dict(rec)


def write_dataset_root(
    root: str | Path,
    specs: Sequence[ClipSpec],
    split: dict[str, str],
    *,
    split_name: str = "subjects",
    sizes: dict[str, tuple[int, int]] | None = None,
    writer: Callable[[Path, str, ClipSpec, int, tuple[int, int]], None] | None = None,
) -> DataRoot:
    """Write clips, `manifest/clips.parquet` and `splits/<split_name>.parquet`.

    Args:
        root: Dataset root to create.
        specs: The clips.
        split: Subject -> 'train' | 'val' | 'test'.
        split_name: Name of the split file.
        sizes: Native (width, height) per modality (default rgb 64x48, ir 44x34, depth 32x24:
            all different, so a test sees that every modality is resized alike).
        writer: `writer(path, modality, spec, clip_number, size)` writes one clip; default:
            index-encoded clips.

    Returns:
        The dataset root.
    """
    data = DataRoot(Path(root))
    sizes = sizes or {"rgb": (64, 48), "ir": (44, 34), "depth": (32, 24)}
    writer = writer or _write_index_clip
    records = []
    start = 0
    for k, spec in enumerate(specs):
        _, rec = _record(data, start, spec, sizes)
        for m in spec.modalities:
            writer(data.root / rec[f"{m}_path"], m, spec, k, sizes[m])
        records.append(_finish(data, rec, spec))
        start += spec.num_frames
    write_records(records, ClipRecord, data.clips_manifest)
    write_split(split, data.split_path(split_name))
    return data


def _write_index_clip(path: Path, modality: str, spec: ClipSpec, k: int, size) -> None:
    write_index_video(path, spec.num_frames, fps=FPS, size=size, kind=modality)


def pattern_frames(label: int, num_frames: int, size: int, rng: np.random.Generator):
    """Frames (T, H, W, 3) uint8 of a dim, noisy scene whose stripes encode the class.

    Class 0: horizontal stripes, 1: vertical, 2: diagonal; other classes: no stripes. The
    stripe period and phase are random per clip and the phase drifts over time, so neither a
    single pixel nor a single frame position gives the class away.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(6, 10)
    phase = rng.uniform(0, 2 * np.pi)
    coord = {0: yy, 1: xx, 2: (xx + yy) / np.sqrt(2)}.get(label)
    out = np.empty((num_frames, size, size, 3), np.uint8)
    for t in range(num_frames):
        base = np.full((size, size), 0.25, np.float32)
        if coord is not None:
            base += 0.2 * np.sin(2 * np.pi * coord / period + phase + 0.3 * t)
        img = base + rng.normal(0, 0.08, size=(size, size))
        out[t] = (np.clip(img, 0, 1) * 255).astype(np.uint8)[..., None]
    return out


def write_pattern_dataset(
    root: str | Path,
    *,
    classes: int = 3,
    train_subjects: int = 4,
    test_subjects: int = 2,
    clips_per_class: int = 4,
    num_frames: tuple[int, int] = (12, 20),
    size: int = 32,
    seed: int = 0,
) -> DataRoot:
    """A dataset root of rgb pattern clips (see `pattern_frames`) and its subject split.

    Each subject has `clips_per_class` clips of every class; clip lengths are drawn from
    `num_frames` (inclusive). Subjects S01.. are train, the last `test_subjects` are test.
    """
    rng = np.random.default_rng(seed)
    subjects = [f"S{i + 1:02d}" for i in range(train_subjects + test_subjects)]
    split = {s: "train" if i < train_subjects else "test" for i, s in enumerate(subjects)}
    specs = [
        ClipSpec(s, c, int(rng.integers(num_frames[0], num_frames[1] + 1)), modalities=("rgb",))
        for s in subjects
        for c in range(classes)
        for _ in range(clips_per_class)
    ]
    seeds = rng.integers(0, 2**31, size=len(specs))

    def writer(path: Path, modality: str, spec: ClipSpec, k: int, _size) -> None:
        clip_rng = np.random.default_rng(int(seeds[k]))
        write_lossless_rgb(path, pattern_frames(spec.label, spec.num_frames, size, clip_rng))

    return write_dataset_root(root, specs, split, sizes={"rgb": (size, size)}, writer=writer)
