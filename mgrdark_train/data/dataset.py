"""A `torch.utils.data.Dataset` of multimodal gesture clips from an mgrdark dataset root."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from mgrdark_data.errors import ManifestError
from mgrdark_data.manifest import SPLIT_NAMES, read_frame, read_split
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.vocabulary import Vocabulary, load_vocabulary

from .cache import CacheError, cache_path
from .decode import read_clip_frames
from .sampling import crop_origin, eval_indices, train_indices
from .transforms import DEFAULT_NORMALIZATION, Normalization, crop_frames, hflip_frames, to_tensor

log = logging.getLogger(__name__)

MODALITIES = ("rgb", "ir", "depth")
_BYTES_PER_PIXEL = {"rgb": 3, "ir": 3, "depth": 2}


def load_clips(
    data: str | os.PathLike | DataRoot,
    *,
    split: str,
    subset: str,
    modalities: Sequence[str] = ("rgb",),
    light: str | None = "dark",
) -> pd.DataFrame:
    """Manifest rows of one subset of a subject split that have every requested modality.

    Args:
        data: Dataset root.
        split: Split name (`DATA/splits/<split>.parquet`).
        subset: 'train', 'val' or 'test'.
        modalities: Streams each row must have.
        light: Keep only rows with this `light` value; None keeps all.

    Returns:
        Rows sorted by clip_id, index reset.
    """
    root = data if isinstance(data, DataRoot) else DataRoot(Path(data))
    if subset not in SPLIT_NAMES:
        raise ValueError(f"unknown subset {subset!r}; expected one of {SPLIT_NAMES}")
    bad = [m for m in modalities if m not in MODALITIES]
    if bad:
        raise ValueError(f"unknown modalities {bad}; expected some of {MODALITIES}")
    clips = read_frame(root.clips_manifest, ClipRecord)
    assignment = read_split(root.split_path(split))
    subjects = set(assignment.loc[assignment["split"] == subset, "subject"])
    keep = clips["subject"].isin(subjects)
    if light is not None:
        keep &= clips["light"] == light
    rows = clips[keep.fillna(False).astype(bool)]
    for m in modalities:
        missing = rows[f"{m}_path"].isna()
        if missing.any():
            log.warning(
                "%d %s clip(s) of split %s have no %s stream; they are left out",
                int(missing.sum()),
                subset,
                split,
                m,
            )
            rows = rows[~missing]
    unknown = sorted(set(clips["subject"]) - set(assignment["subject"]))
    if unknown:
        log.info("subjects %s are in no subset of split %s", unknown, split)
    return rows.sort_values("clip_id").reset_index(drop=True)


class ClipDataset(Dataset):
    """Clips of one subset as dicts of normalised tensors, sampled like the paper.

    Every modality of one clip gets the same frame indices, the same crop and the same flip.
    An item is::

        {"rgb": (3, T, crop, crop) float32, "depth": (1, T, crop, crop), ...,
         "label": int64 (mirrored when flipped), "frames": (T,) int64 clip frame indices,
         "crop": (2,) top-left (y, x) in the resized frame, "flipped": bool,
         "clip_id": str, "index": int}

    Keys are either a row index or `(row index, epoch)` as yielded by `ClipSampler`; the latter
    makes the random frames/crop/flip a pure function of `(seed, epoch, index)`, independent of
    worker count and order, which is what lets a resumed run repeat an epoch exactly.

    Args:
        data: Dataset root.
        split: Split name.
        subset: 'train', 'val' or 'test'.
        modalities: Streams to load, e.g. ('rgb',) or ('rgb', 'ir').
        light: 'dark' (default, as in the paper's experiments), 'daylight' or None for all.
        num_frames: T, frames sampled uniformly over the clip.
        resize: Side every frame is resized to before cropping (aspect ratio not kept).
        crop: Side of the square crop.
        train: Random offsets and crop (default: subset == 'train'); else centres.
        flip: Random horizontal flip (train only) with labels mapped through the mirror column.
        vocabulary: Class vocabulary (default: the packaged one).
        normalization: Per-modality overrides of `DEFAULT_NORMALIZATION`.
        cache: Read pre-resized clips from `DATA/cache/` (`mgrtrain prepare`).
        seed: Base seed of the random sampling.
        in_memory: Decode every frame of a clip the first time it is read and keep the resized
            frames in this process's memory, so later epochs only index them (decode once, not
            once per epoch). Each DataLoader worker holds its own copy; meant for small data
            (the tiny preset: 64x64, workers 0). `memory_bytes` tells what it will cost.
    """

    def __init__(
        self,
        data: str | os.PathLike | DataRoot,
        *,
        split: str,
        subset: str,
        modalities: Sequence[str] = ("rgb",),
        light: str | None = "dark",
        num_frames: int = 32,
        resize: int = 256,
        crop: int = 224,
        train: bool | None = None,
        flip: bool = False,
        vocabulary: Vocabulary | None = None,
        normalization: Mapping[str, Normalization] | None = None,
        cache: bool = False,
        seed: int = 0,
        in_memory: bool = False,
    ) -> None:
        self.root = data if isinstance(data, DataRoot) else DataRoot(Path(data))
        self.modalities = tuple(modalities)
        self.clips = load_clips(
            self.root, split=split, subset=subset, modalities=self.modalities, light=light
        )
        self.subset = subset
        self.num_frames = num_frames
        self.resize = resize
        self.crop = crop
        if crop > resize:
            raise ValueError(f"crop {crop} is larger than resize {resize}")
        self.train = subset == "train" if train is None else train
        self.flip = flip and self.train
        self.vocabulary = vocabulary or load_vocabulary()
        self.mirror = np.asarray(self.vocabulary.mirror_labels(), dtype=np.int64)
        self.normalization = {**DEFAULT_NORMALIZATION, **(normalization or {})}
        self.cache = cache
        self.seed = seed
        labels = self.clips["label"].to_numpy(dtype=np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.vocabulary)):
            raise ManifestError(
                f"labels in {self.root.clips_manifest} exceed the vocabulary "
                f"({len(self.vocabulary)} classes); pass the --classes file used for segmenting"
            )
        self.labels = labels
        self._rows = self.clips.to_dict("records")
        self.in_memory = in_memory
        self._frames: dict[tuple[int, str], np.ndarray] = {}

    @property
    def num_classes(self) -> int:
        return len(self.vocabulary)

    def __len__(self) -> int:
        return len(self._rows)

    def memory_bytes(self) -> int:
        """Bytes the decoded frames of every clip and modality take at `resize` x `resize`."""
        frames = int(sum(int(r["num_frames"]) for r in self._rows))
        per_pixel = sum(_BYTES_PER_PIXEL[m] for m in self.modalities)
        return frames * self.resize * self.resize * per_pixel

    def _read(self, index: int, modality: str, idx: np.ndarray) -> tuple[np.ndarray, Path]:
        """Frames `idx` of one clip and modality, resized, and the file they come from."""
        path, size = self.clip_file(index, modality)
        if not self.in_memory:
            return read_clip_frames(path, idx, modality=modality, size=size), path
        key = (index, modality)
        if key not in self._frames:
            n = int(self._rows[index]["num_frames"])
            self._frames[key] = read_clip_frames(path, np.arange(n), modality=modality, size=size)
        return self._frames[key][idx], path

    def clip_file(self, index: int, modality: str) -> tuple[Path, int | None]:
        """File to decode for a row and modality, and the size to resize to (None: as stored)."""
        row = self._rows[index]
        if self.cache:
            path = cache_path(self.root, self.resize, modality, row["clip_id"])
            if not path.exists():
                raise CacheError(
                    f"{path} is missing; run `mgrtrain prepare -d {self.root.root} "
                    f"--size {self.resize}` or train without --cache"
                )
            return path, None
        return self.root.root / row[f"{modality}_path"], self.resize

    def _rng(self, index: int, epoch: int | None) -> np.random.Generator:
        if epoch is not None:
            return np.random.default_rng([self.seed, epoch, index])
        # A plain integer key: follow torch's RNG, which DataLoader seeds per worker.
        return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = (int(key[0]), int(key[1])) if isinstance(key, tuple | list) else (key, None)
        row = self._rows[index]
        n = int(row["num_frames"])
        if self.train:
            rng = self._rng(index, epoch)
            idx = train_indices(n, self.num_frames, rng)
            y, x = crop_origin(self.resize, self.crop, train=True, rng=rng)
            flipped = self.flip and bool(rng.random() < 0.5)
        else:
            idx = eval_indices(n, self.num_frames)
            y, x = crop_origin(self.resize, self.crop, train=False)
            flipped = False
        label = int(row["label"])
        sample: dict = {}
        for m in self.modalities:
            frames, path = self._read(index, m, idx)
            if frames.shape[1:3] != (self.resize, self.resize):
                raise ManifestError(
                    f"{path}: frames are {frames.shape[2]}x{frames.shape[1]}, expected "
                    f"{self.resize}x{self.resize}; re-run `mgrtrain prepare --size {self.resize}`"
                )
            frames = crop_frames(frames, y, x, self.crop)
            if flipped:
                frames = hflip_frames(frames)
            sample[m] = to_tensor(frames, self.normalization[m])
        sample["label"] = int(self.mirror[label]) if flipped else label
        sample["frames"] = torch.from_numpy(idx)
        sample["crop"] = torch.tensor([y, x])
        sample["flipped"] = flipped
        sample["clip_id"] = row["clip_id"]
        sample["index"] = index
        return sample
