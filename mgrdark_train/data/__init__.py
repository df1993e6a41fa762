"""Training data: clip sampling, decoding, transforms, the dataset, its sampler and cache."""

from .cache import CacheReport, cache_path, prepare_cache
from .dataset import MODALITIES, ClipDataset, load_clips
from .decode import read_clip_frames
from .sampler import ClipSampler
from .sampling import crop_origin, eval_indices, segment_bounds, train_indices
from .transforms import CHANNELS, DEFAULT_NORMALIZATION, Normalization

__all__ = [
    "CHANNELS",
    "DEFAULT_NORMALIZATION",
    "MODALITIES",
    "CacheReport",
    "ClipDataset",
    "ClipSampler",
    "Normalization",
    "cache_path",
    "crop_origin",
    "eval_indices",
    "load_clips",
    "prepare_cache",
    "read_clip_frames",
    "segment_bounds",
    "train_indices",
]
