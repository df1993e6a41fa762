"""MTCD: progressive cross-modal distillation from an IR teacher and a pseudo-IR assistant
into a student that sees only dark RGB."""

from .converter import AttentiveFeatureConverter
from .losses import fuse, kd_distance, kd_fusion_to_rgb, kd_ir_to_irp, kd_ir_to_rgb, total_loss
from .networks import MTCDNetwork, freeze
from .steps import AssistantStep, StudentStep

__all__ = [
    "AssistantStep",
    "AttentiveFeatureConverter",
    "MTCDNetwork",
    "StudentStep",
    "freeze",
    "fuse",
    "kd_distance",
    "kd_fusion_to_rgb",
    "kd_ir_to_irp",
    "kd_ir_to_rgb",
    "total_loss",
]
