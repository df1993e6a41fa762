"""A `torch.utils.data.Dataset` of multimodal gesture clips from an mgrdark dataset root."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from mgrdark_data.errors import ManifestError, MediaError
from mgrdark_data.manifest import SPLIT_NAMES, read_frame, read_split
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.vocabulary import Vocabulary, load_vocabulary

from .cache import CACHE_FORMATS, CacheError, cache_path, cache_tag, prepare_command
from .decode import StaleFileError, compressed_frames, decoded_frames, read_clip
from .normalize import DEFAULT_NORMALIZATION, normalize_clip
from .raw import raw_frames
from .sampling import crop_origin, eval_indices, train_indices
from .transforms import Window, gather_clip

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
        light: Keep only rows with this `light` value; None keeps all. Rows without a light
            value (a dataset with no light column, such as NvGesture) are always kept.

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
        keep &= clips["light"].isna() | (clips["light"] == light)
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
    """Clips of one subset as dicts of tensors, sampled like the paper.

    Every modality of one clip gets the same frame indices, the same crop and the same flip.
    Clips keep their decoded values (a quarter of float32's bytes to hand over from a
    DataLoader worker); the training steps normalise them on their device
    (`normalize.clip_input`). An item is::

        {"rgb": (3, T, crop, crop) uint8, "depth": (1, T, crop, crop) uint16 millimetres, ...,
         "label": int64 (mirrored when flipped), "frames": (T,) int64 clip frame indices,
         "crop": (2,) top-left (y, x) in the resized frame, "flipped": bool,
         "clip_id": str, "index": int, "identity": int (the subject, numbered within the
         subset: `subjects[identity]`)}

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
        cache: Read pre-resized clips from `DATA/cache/` (`mgrtrain prepare`).
        cache_format: The cache's format (`cache.CACHE_FORMATS`).
        seed: Base seed of the random sampling.
        in_memory: Decode every frame of a clip the first time it is read and keep the resized
            frames in this process's memory, so later epochs only index them (decode once, not
            once per epoch). Each DataLoader worker holds its own copy; meant for small data
            (the tiny preset: 64x64, workers 0). `memory_bytes` tells what it will cost.
        normalized: Return normalised float32 clips (`DEFAULT_NORMALIZATION`), for code that
            reads samples itself instead of through a training step.
        encoded: With the `jpeg` cache, hand rgb/ir over as their T compressed frames (a list
            of bytes) plus `"window"` (y, x, side, flip); the step decodes them on its device
            (`device_decode.py`, `data.gpu_decode`).
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
        cache: bool = False,
        cache_format: str = CACHE_FORMATS[0],
        seed: int = 0,
        in_memory: bool = False,
        normalized: bool = False,
        encoded: bool = False,
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
        if cache_format not in CACHE_FORMATS:
            raise ValueError(f"unknown cache format {cache_format!r}; expected {CACHE_FORMATS}")
        self.cache = cache
        self.cache_format = cache_format
        self._prepare = prepare_command(self.root, resize, cache_format)
        self.normalized = normalized
        if encoded and not (cache and cache_format == "jpeg" and not in_memory):
            raise ValueError("encoded frames come from the jpeg cache, not kept in memory")
        self.encoded = encoded
        self.seed = seed
        labels = self.clips["label"].to_numpy(dtype=np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.vocabulary)):
            raise ManifestError(
                f"labels in {self.root.clips_manifest} exceed the vocabulary "
                f"({len(self.vocabulary)} classes); pass the --classes file used for segmenting"
            )
        self.labels = labels
        self._rows = self.clips.to_dict("records")
        # Person identity of each clip, numbered over this subset's subjects (re-ID terms).
        self.subjects = sorted(set(self.clips["subject"]))
        self._identity = {s: i for i, s in enumerate(self.subjects)}
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

    def _read(self, index: int, modality: str, idx: np.ndarray, window: Window) -> np.ndarray:
        """Frames `idx` of one clip and modality, resized and cut to `window`: (C, T, h, w)."""
        if self.in_memory:
            key = (index, modality)
            if key not in self._frames:
                self._frames[key] = self.all_frames(index, modality)
            clip = self._frames[key]
            frames = ((int(i), clip[:, i]) for i in np.unique(idx))
            return gather_clip(frames, idx, window, source=f"{self.clip_id(index)} {modality}")
        return self._decode(index, modality, idx, window)

    def all_frames(self, index: int, modality: str) -> np.ndarray:
        """Every frame of a clip, resized as the loader resizes it: (C, n, resize, resize)."""
        n = int(self._rows[index]["num_frames"])
        return self._decode(index, modality, np.arange(n), None)

    def _decode(
        self, index: int, modality: str, idx: np.ndarray, window: Window | None
    ) -> np.ndarray:
        path, size, tag = self.clip_file(index, modality)
        if not self.cache:
            return read_clip(path, idx, modality=modality, size=size, window=window)
        try:
            return gather_clip(
                self._cached(path, modality, idx, tag), idx, window, source=str(path)
            )
        except StaleFileError as e:
            raise CacheError(f"{e}: the cache is stale; run `{self._prepare}`") from e
        except MediaError as e:
            raise CacheError(f"{e}; re-make the cache with `{self._prepare} --force`") from e

    def _cached(self, path: Path, modality: str, idx: np.ndarray, tag: str | None) -> Iterator:
        wanted = np.unique(idx)
        if self.cache_format == "raw":
            return raw_frames(path, wanted, tag=tag)
        return decoded_frames(path, wanted, modality=modality, tag=tag)

    def clip_id(self, index: int) -> str:
        return self._rows[index]["clip_id"]

    def clip_file(self, index: int, modality: str) -> tuple[Path, int | None, str | None]:
        """File to decode for a row and modality, the size to resize to (None: as stored) and
        the tag it must carry (None: any)."""
        row = self._rows[index]
        if self.cache:
            path = cache_path(self.root, self.resize, modality, row["clip_id"], self.cache_format)
            if not path.exists():
                raise CacheError(
                    f"{path} is missing; run `{self._prepare}` or train without --cache"
                )
            return path, None, cache_tag(row, modality, self.resize, self.cache_format)
        return self.root.root / row[f"{modality}_path"], self.resize, None

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
        window = Window(y, x, self.crop, flipped)
        sample: dict = {}
        for m in self.modalities:
            if self.encoded and m != "depth":
                path, _, tag = self.clip_file(index, m)
                sample[m] = compressed_frames(path, idx, tag=tag)
                sample["window"] = torch.tensor([y, x, self.crop, int(flipped)])
                continue
            clip = torch.from_numpy(self._read(index, m, idx, window))
            sample[m] = normalize_clip(clip, DEFAULT_NORMALIZATION[m]) if self.normalized else clip
        sample["label"] = int(self.mirror[label]) if flipped else label
        sample["frames"] = torch.from_numpy(idx)
        sample["crop"] = torch.tensor([y, x])
        sample["flipped"] = flipped
        sample["clip_id"] = row["clip_id"]
        sample["index"] = index
        sample["identity"] = self._identity[row["subject"]]
        return sample
