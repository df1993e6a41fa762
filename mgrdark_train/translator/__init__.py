"""Modality translator (MT): RGB frame -> pseudo-IR frame, trained on aligned RGB/IR pairs."""

from .apply import translate_clip
from .networks import TRANSLATORS, PatchDiscriminator, create_translator

__all__ = ["TRANSLATORS", "PatchDiscriminator", "create_translator", "translate_clip"]
