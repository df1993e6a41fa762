"""Tiny dataset roots for tests and demos: index-encoded clips and learnable patterns."""

from .datasets import ClipSpec, pattern_frames, write_dataset_root, write_pattern_dataset

__all__ = ["ClipSpec", "pattern_frames", "write_dataset_root", "write_pattern_dataset"]
