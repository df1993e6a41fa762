"""mgrdark_data: raw Kinect V2 RGB-D + IR recordings -> frame-exact multimodal clip datasets."""

__version__ = "0.1.0"

MODALITIES: tuple[str, ...] = ("rgb", "depth", "ir")
"""Every modality a clip can have, in manifest column order."""
