"""MTCD distillation losses (paper eq. 5-7, 10) and the teacher/assistant fusion.

The paper names the terms but does not give the distance inside ``L_kd``; two are offered and
the choice is a config field (``kd_distance``):

* ``"mse_l2"`` (default): squared Euclidean distance between L2-normalised projected feature
  maps, i.e. ``||s/|s| - t/|t|||^2 = 2 - 2 cos(s, t)`` per space-time location. IR clips are
  pixel-aligned with RGB and use the same crop, so location-wise matching is meaningful, and the
  normalisation makes the term scale-free (in [0, 4]) and so comparable across networks whose
  feature magnitudes differ, which keeps alpha and beta meaningful.
* ``"kl_logits"``: Hinton's ``T^2 * KL(softmax(t / T) || softmax(s / T))`` on logits, for
  comparison; it transfers only class-level knowledge.

Reduction (config ``kd_reduction``): ``"mean"`` sums over channels and averages over batch and
space-time positions (for ``kl_logits``: sums over classes, averages over the batch);
``"batchmean"`` sums over channels and positions and averages over the batch. Cross-entropy is
always the batch mean.

Teacher-side tensors are detached inside every loss, so a caller cannot leak gradient into a
teacher or assistant by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

KD_DISTANCES = ("mse_l2", "kl_logits")
KD_REDUCTIONS = ("mean", "batchmean")


def _match_shape(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """Pool a teacher feature map to the student's (T, H, W) when the inputs differed in size."""
    if teacher.shape[2:] == student.shape[2:]:
        return teacher
    return F.adaptive_avg_pool3d(teacher, student.shape[2:])


def kd_distance(
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    distance: str = "mse_l2",
    reduction: str = "mean",
    temperature: float = 4.0,
) -> torch.Tensor:
    """Distance between a student tensor and a (detached) teacher tensor.

    Args:
        student: (B, C, T, H, W) or (B, C) features for ``mse_l2``; (B, K) logits for
            ``kl_logits``.
        teacher: Same kind of tensor from the teacher side; detached here.
        distance: ``"mse_l2"`` or ``"kl_logits"`` (module docstring).
        reduction: ``"mean"`` or ``"batchmean"`` (module docstring).
        temperature: Softening temperature for ``kl_logits``.

    Returns:
        A scalar, zero when the two inputs are equal (for ``mse_l2``: equal up to a positive
        scale per location).
    """
    if distance not in KD_DISTANCES:
        raise ValueError(f"unknown kd distance {distance!r}; expected one of {KD_DISTANCES}")
    if reduction not in KD_REDUCTIONS:
        raise ValueError(f"unknown kd reduction {reduction!r}; expected one of {KD_REDUCTIONS}")
    student, teacher = student.float(), teacher.detach().float()
    if distance == "kl_logits":
        log_p_s = F.log_softmax(student / temperature, dim=1)
        log_p_t = F.log_softmax(teacher / temperature, dim=1)
        per_sample = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
        # T^2 keeps the gradient scale independent of the temperature (Hinton et al. 2015).
        return per_sample.mean() * temperature**2
    if student.dim() == 5:
        teacher = _match_shape(teacher, student)
    s = F.normalize(student, dim=1)
    t = F.normalize(teacher, dim=1)
    per_position = (s - t).pow(2).sum(dim=1)  # (B,) or (B, T, H, W)
    if reduction == "mean":
        return per_position.mean()
    return per_position.reshape(per_position.shape[0], -1).sum(dim=1).mean()


def kd_input(out: Mapping[str, torch.Tensor], distance: str) -> torch.Tensor:
    """The tensor of a network's output that ``distance`` compares: projected map or logits."""
    return out["logits"] if distance == "kl_logits" else out["embedding"]


def fuse(
    teacher: torch.Tensor, assistant: torch.Tensor, *, weight: float, distance: str
) -> torch.Tensor:
    """Fusion of teacher and assistant knowledge, the target of eq. 7.

    A fixed convex combination (no trainable part, so the fused target cannot drift towards the
    student): for ``mse_l2`` of the L2-normalised projected features (each network counts
    equally whatever its feature norm), for ``kl_logits`` of the logits.

    Args:
        teacher: Teacher (IR) tensor, detached here.
        assistant: Assistant (pseudo-IR) tensor, detached here.
        weight: Teacher share in [0, 1]; the assistant gets ``1 - weight``.
        distance: The kd distance the fused tensor will be compared with.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight must lie in [0, 1], got {weight}")
    teacher, assistant = teacher.detach(), assistant.detach()
    if distance == "mse_l2":
        assistant = _match_shape(assistant, teacher)
        teacher, assistant = F.normalize(teacher, dim=1), F.normalize(assistant, dim=1)
    return weight * teacher + (1.0 - weight) * assistant


def kd_ir_to_rgb(
    student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor], **kw
) -> torch.Tensor:
    """``L_kd(IR->RGB)`` (eq. 5): RGB student T_s features towards IR teacher T_t features."""
    d = kw.get("distance", "mse_l2")
    return kd_distance(kd_input(student, d), kd_input(teacher, d), **kw)  # eq. 5


def kd_ir_to_irp(
    assistant: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor], **kw
) -> torch.Tensor:
    """``L_kd(IR->IRp)`` (eq. 6): pseudo-IR assistant T_a features towards IR teacher T_t."""
    d = kw.get("distance", "mse_l2")
    return kd_distance(kd_input(assistant, d), kd_input(teacher, d), **kw)  # eq. 6


def kd_fusion_to_rgb(
    student: Mapping[str, torch.Tensor],
    teacher: Mapping[str, torch.Tensor],
    assistant: Mapping[str, torch.Tensor],
    *,
    fusion_weight: float = 0.5,
    **kw,
) -> torch.Tensor:
    """``L_kd(Fusion->RGB)`` (eq. 7): RGB student towards the fused teacher+assistant target."""
    d = kw.get("distance", "mse_l2")
    target = fuse(kd_input(teacher, d), kd_input(assistant, d), weight=fusion_weight, distance=d)
    return kd_distance(kd_input(student, d), target, **kw)  # eq. 7


def total_loss(
    ce: torch.Tensor,
    kd_fusion: torch.Tensor | None,
    kd_ir: torch.Tensor | None,
    *,
    alpha: float = 0.9,
    beta: float = 0.3,
) -> torch.Tensor:
    """``L_total = CE + alpha * L_kd(Fusion->RGB) + beta * L_kd(IR->RGB)`` (eq. 10).

    A term passed as ``None`` is switched off (an ablation row) and contributes nothing.
    """
    loss = ce
    if kd_fusion is not None:
        loss = loss + alpha * kd_fusion  # eq. 10, alpha term
    if kd_ir is not None:
        loss = loss + beta * kd_ir  # eq. 10, beta term
    return loss
