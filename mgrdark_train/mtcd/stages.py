"""MTCD networks and steps built from a config, for training and for `mgrtrain eval`.

The stage registry (`mgrdark_train.stages.registry`) lists three MTCD stages:

* ``mtcd_teacher``: the IR teacher (reads ``ir``);
* ``mtcd_assistant``: the pseudo-IR assistant; evaluates on ``rgb`` translated by the frozen
  translator its stage was trained with (``inputs.json``, see ``layout.py``);
* ``mtcd_student``: the RGB student; trains on ``rgb`` + ``ir``, evaluates on ``rgb`` alone.
* ``mtcd_online``: student and assistant trained together (``mtcd.assistant_mode: online``);
  evaluates the student on ``rgb`` alone.

For evaluation the steps are built without the frozen networks they distil from: those are not
part of a step's ``state_dict`` (see ``steps.py``), so the checkpoint loads into the inference
step and inference cannot reach IR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ..builders import build_model
from ..data import CHANNELS
from ..engine.checkpoint import (
    LAST,
    CheckpointError,
    RunDirError,
    load_checkpoint,
    load_weights,
)
from ..engine.config import TrainConfig
from ..engine.steps import ClassificationStep
from ..translator.stage import load_translator
from .config import MTCDConfig
from .layout import input_dir
from .networks import MTCDNetwork
from .steps import AssistantStep, OnlineStep, StudentStep


def build_network(cfg: TrainConfig, num_classes: int, modality: str) -> MTCDNetwork:
    """A teacher/assistant/student network on the backbone that ``cfg.model`` names.

    Args:
        cfg: Training config (``cfg.model`` picks the backbone, its dropout is the head's).
        num_classes: Classes of the vocabulary.
        modality: Input stream ('rgb', 'depth' or 'ir'; pseudo-IR has IR's channels).
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
        prefix: Submodule name of the network inside the stage's step (``model``,
            ``assistant``).
    """
    net = build_network(cfg, num_classes, modality)
    path = Path(stage_dir) / "checkpoints" / LAST
    state = load_checkpoint(path, map_location="cpu")
    head = f"{prefix}."
    weights = {k[len(head) :]: v for k, v in state["step"].items() if k.startswith(head)}
    if not weights:
        raise CheckpointError(
            f"{path} holds no {prefix!r} network (written by another version of mgrdark?); "
            f"delete {stage_dir} and the stages trained after it to train them again"
        )
    load_weights(net, weights, stage_dir, advice=f"delete {stage_dir} and the stages after it")
    return net


def kd_kwargs(mcfg: MTCDConfig) -> dict[str, Any]:
    """The distance settings every distillation term of a run shares."""
    d = mcfg.distill
    return {"distance": d.kd_distance, "reduction": d.kd_reduction, "temperature": d.temperature}


def assistant_training_step(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    num_classes: int,
    *,
    translator: nn.Module,
    teacher: nn.Module | None,
) -> AssistantStep:
    """A fresh assistant, trained with CE (+ L_kd(IR->IRp) when the row's `assistant_kd`)."""
    use_kd = mcfg.switches["assistant_kd"]
    return AssistantStep(
        build_network(cfg, num_classes, "ir"),
        translator=translator,
        teacher=teacher if use_kd else None,
        use_kd=use_kd,
        gamma=mcfg.distill.gamma,
        kd=kd_kwargs(mcfg),
    )


def student_training_step(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    num_classes: int,
    *,
    teacher: nn.Module | None,
    assistant: nn.Module | None,
    translator: nn.Module | None,
) -> StudentStep:
    """A fresh RGB student with the loss terms of the row's switches (eq. 10)."""
    sw, d = mcfg.switches, mcfg.distill
    return StudentStep(
        build_network(cfg, num_classes, cfg.data.modality),
        teacher=teacher,
        assistant=assistant,
        translator=translator,
        use_fusion_kd=sw["fusion_kd"],
        use_ir_kd=sw["ir_kd"],
        alpha=d.alpha,
        beta=d.beta,
        fusion_weight=d.fusion_weight,
        kd=kd_kwargs(mcfg),
        rgb_key=cfg.data.modality,
    )


def online_training_step(
    cfg: TrainConfig,
    mcfg: MTCDConfig,
    num_classes: int,
    *,
    teacher: nn.Module | None,
    translator: nn.Module,
) -> OnlineStep:
    """A fresh student and a fresh assistant trained together, with the row's terms."""
    sw, d = mcfg.switches, mcfg.distill
    return OnlineStep(
        build_network(cfg, num_classes, cfg.data.modality),
        build_network(cfg, num_classes, "ir"),
        teacher=teacher,
        translator=translator,
        use_fusion_kd=sw["fusion_kd"],
        use_ir_kd=sw["ir_kd"],
        use_assistant_kd=sw["assistant_kd"],
        alpha=d.alpha,
        beta=d.beta,
        gamma=d.gamma,
        fusion_weight=d.fusion_weight,
        kd=kd_kwargs(mcfg),
        rgb_key=cfg.data.modality,
    )


def online_inference_step(
    cfg: TrainConfig, num_classes: int, stage_dir: str | Path | None = None
) -> nn.Module:
    """The online stage's networks without teacher and translator; in eval mode only the
    student runs, on its own modality."""
    return OnlineStep(
        build_network(cfg, num_classes, cfg.data.modality),
        build_network(cfg, num_classes, "ir"),
        use_fusion_kd=False,
        use_ir_kd=False,
        use_assistant_kd=False,
        rgb_key=cfg.data.modality,
    )


def teacher_step(
    cfg: TrainConfig, num_classes: int, stage_dir: str | Path | None = None
) -> nn.Module:
    """The IR teacher's step: cross-entropy on ``ir``."""
    return ClassificationStep(build_network(cfg, num_classes, "ir"), input_key="ir")


def student_inference_step(
    cfg: TrainConfig, num_classes: int, stage_dir: str | Path | None = None
) -> nn.Module:
    """The student (RGB, or depth) without its teachers: what ``mgrtrain eval`` runs."""
    return StudentStep(
        build_network(cfg, num_classes, cfg.data.modality),
        use_fusion_kd=False,
        use_ir_kd=False,
        rgb_key=cfg.data.modality,
    )


def assistant_inference_step(
    cfg: TrainConfig, num_classes: int, stage_dir: str | Path | None = None
) -> nn.Module:
    """The assistant on pseudo-IR from its own frozen translator (found from ``stage_dir``)."""
    if stage_dir is None:
        raise RunDirError("evaluating the assistant needs its stage folder (for its translator)")
    translator = load_translator(input_dir(stage_dir, "translator"))
    return AssistantStep(build_network(cfg, num_classes, "ir"), translator=translator, use_kd=False)
