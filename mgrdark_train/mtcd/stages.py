"""MTCD networks and steps built from a config, and their registration with `mgrtrain eval`.

Registered stages (the foundation's registry, `mgrdark_train.stages.STAGES`):

* ``mtcd_teacher``: the IR teacher (reads ``ir``);
* ``mtcd_student``: the RGB student; trains on ``rgb`` + ``ir``, evaluates on ``rgb`` alone.

For evaluation the student step is built without its frozen networks: they are not part of a
step's ``state_dict`` (see ``steps.py``), so the checkpoint loads into the RGB-only step and
inference cannot reach IR. The assistant is not registered: evaluating it needs its translator,
which lives in a sibling folder the registry cannot know about.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from ..data import CHANNELS
from ..engine.checkpoint import LAST, load_checkpoint
from ..engine.config import TrainConfig
from ..stages import STAGES, Stage
from ..stages.baseline import build_model
from .networks import MTCDNetwork
from .steps import ClassifierStep, StudentStep

log = logging.getLogger(__name__)

TEACHER_STAGE = "mtcd_teacher"
ASSISTANT_STAGE = "mtcd_assistant"
STUDENT_STAGE = "mtcd_student"


def build_network(cfg: TrainConfig, num_classes: int, modality: str) -> MTCDNetwork:
    """A teacher/assistant/student network on the backbone that ``cfg.model`` names.

    Args:
        cfg: Training config (``cfg.model`` picks the backbone, its dropout is the head's).
        num_classes: Classes of the vocabulary.
        modality: Input stream ('rgb' or 'ir'; pseudo-IR has IR's channels).
    """
    backbone = build_model(cfg, num_classes, CHANNELS[modality])
    # The MTCD head (converter -> projection -> fc) replaces the backbone's classifier; an unused
    # classifier would only hold parameters that never get a gradient (and trouble DDP).
    backbone.fc = nn.Identity()
    channels = getattr(backbone, "num_features", None)
    if channels is None:
        raise ValueError(
            f"backbone {cfg.model.name!r} does not state its res5 width (num_features)"
        )
    return MTCDNetwork(
        backbone, feature_channels=channels, num_classes=num_classes, dropout=cfg.model.dropout
    )


def load_network(
    cfg: TrainConfig, num_classes: int, modality: str, stage_dir: str | Path, prefix: str
) -> MTCDNetwork:
    """Rebuild a stage's network and load it from ``stage_dir/checkpoints/last.pt``.

    Args:
        cfg: The stage's training config.
        num_classes: Classes of the vocabulary.
        modality: The network's input stream.
        stage_dir: Stage folder.
        prefix: Submodule name of the network inside the stage's step (``net``, ``assistant``).
    """
    net = build_network(cfg, num_classes, modality)
    state = load_checkpoint(Path(stage_dir) / "checkpoints" / LAST, map_location="cpu")
    head = f"{prefix}."
    net.load_state_dict({k[len(head) :]: v for k, v in state["step"].items() if k.startswith(head)})
    return net


def _teacher_step(cfg: TrainConfig, num_classes: int) -> nn.Module:
    return ClassifierStep(build_network(cfg, num_classes, "ir"), input_key="ir")


def _student_inference_step(cfg: TrainConfig, num_classes: int) -> nn.Module:
    return StudentStep(build_network(cfg, num_classes, "rgb"), use_fusion_kd=False, use_ir_kd=False)


def register_stages() -> None:
    """Add the MTCD stages to the foundation's registry (idempotent)."""
    STAGES.setdefault(TEACHER_STAGE, Stage(_teacher_step, lambda cfg: ("ir",)))
    STAGES.setdefault(
        STUDENT_STAGE,
        Stage(_student_inference_step, lambda cfg: ("rgb", "ir"), lambda cfg: ("rgb",)),
    )
