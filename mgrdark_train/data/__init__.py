"""Training data: clip sampling, decoding, cropping, the dataset, its sampler and cache, and
the normalisation the steps apply on their device."""

from .cache import CACHE_FORMATS, CacheError, CacheReport, cache_path, prepare_cache
from .dataset import MODALITIES, ClipDataset, load_clips
from .decode import StaleFileError, read_clip
from .normalize import DEFAULT_NORMALIZATION, Normalization, clip_input, normalize_clip
from .sampler import ClipSampler
from .sampling import crop_origin, eval_indices, segment_bounds, train_indices
from .transforms import CHANNELS, Window

__all__ = [
    "CACHE_FORMATS",
    "CHANNELS",
    "DEFAULT_NORMALIZATION",
    "MODALITIES",
    "CacheError",
    "CacheReport",
    "ClipDataset",
    "ClipSampler",
    "Normalization",
    "StaleFileError",
    "Window",
    "cache_path",
    "clip_input",
    "crop_origin",
    "eval_indices",
    "load_clips",
    "normalize_clip",
    "prepare_cache",
    "read_clip",
    "segment_bounds",
    "train_indices",
]
