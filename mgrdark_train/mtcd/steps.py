"""Training steps of the MTCD assistant and student, as modules that return dicts.

The IR teacher is the engine's plain ``ClassificationStep`` on ``ir``. Every step returns
``{"loss", "output", <each unweighted loss term>}`` (``engine/steps.py``), so the engine's
trainer logs each term and an ablation is nothing more than a missing key. Losses are computed
in float32 even under bf16 autocast (softmax and normalisation lose precision in bf16).

Frozen networks (the teacher, the assistant, the translator) are held *outside* the module
tree: they are not in ``parameters()``, so no optimizer built from the step can update them,
and not in ``state_dict()``, so a stage checkpoint holds only what that stage trains. They are
still moved by ``.to(...)``, stay in ``eval()`` whatever ``train()`` is called with, and run
under ``torch.no_grad()``.

At evaluation (``step.eval()``) a step runs only its own network on its own input: the student
on RGB, the assistant on pseudo-IR translated from RGB. No IR is read at inference. Input clips
are normalised on the step's device (``data.normalize.clip_input``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.normalize import clip_input
from ..translator.apply import translate_clip
from .losses import kd_fusion_to_rgb, kd_ir_to_irp, kd_ir_to_rgb, total_loss
from .networks import freeze

Batch = Mapping[str, Any]


class _FrozenNetworksStep(nn.Module):
    """Base class keeping frozen networks out of ``parameters()`` and ``state_dict()``."""

    def __init__(self) -> None:
        super().__init__()
        self._frozen: dict[str, nn.Module] = {}

    def _hold_frozen(self, name: str, module: nn.Module | None) -> None:
        if module is not None:
            self._frozen[name] = freeze(module)

    def frozen(self, name: str) -> nn.Module | None:
        """The frozen network held under ``name`` (``teacher``, ``assistant``, ``translator``)."""
        return self._frozen.get(name)

    def _apply(self, fn: Callable, recurse: bool = True) -> nn.Module:
        # .to()/.cuda()/.half() reach submodules through _apply; frozen ones must move too.
        for m in self._frozen.values():
            m._apply(fn)
        return super()._apply(fn, recurse)

    def train(self, mode: bool = True) -> nn.Module:
        super().train(mode)
        for m in self._frozen.values():
            m.eval()  # BatchNorm statistics and dropout of frozen networks never change
        return self

    @torch.no_grad()
    def _run_frozen(self, name: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
        net = self._frozen[name]
        net.eval()
        return net(x)

    @staticmethod
    def _require(batch: Batch, key: str, why: str) -> torch.Tensor:
        if key not in batch or batch[key] is None:
            raise KeyError(f"batch has no {key!r} clip, which {why} needs during training")
        return clip_input(batch, key)


class AssistantStep(_FrozenNetworksStep):
    """Pseudo-IR assistant: ``CE + gamma * L_kd(IR->IRp)`` (eq. 6) with a frozen IR teacher.

    Args:
        assistant: The network trained in this stage (its projection is T_a).
        translator: Frozen RGB -> pseudo-IR translator.
        teacher: Frozen IR teacher; None (or ``use_kd=False``) trains on CE alone.
        use_kd: Switch for the eq. 6 term.
        gamma: Weight of the eq. 6 term (the paper gives none; 1.0 by default).
        kd: Keyword arguments of the kd distance (``distance``, ``reduction``, ``temperature``).
        rgb_key: Batch key of the RGB clip.
        ir_key: Batch key of the aligned IR clip (read only while training with ``use_kd``).
        label_key: Batch key of the labels.
    """

    def __init__(
        self,
        assistant: nn.Module,
        *,
        translator: nn.Module,
        teacher: nn.Module | None = None,
        use_kd: bool = True,
        gamma: float = 1.0,
        kd: Mapping[str, Any] | None = None,
        rgb_key: str = "rgb",
        ir_key: str = "ir",
        label_key: str = "label",
    ) -> None:
        super().__init__()
        if use_kd and teacher is None:
            raise ValueError("use_kd=True needs a teacher")
        self.assistant = assistant
        self._hold_frozen("translator", translator)
        self._hold_frozen("teacher", teacher if use_kd else None)
        self.use_kd, self.gamma, self.kd = use_kd, gamma, dict(kd or {})
        self.rgb_key, self.ir_key, self.label_key = rgb_key, ir_key, label_key

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            pseudo_ir = translate_clip(self._frozen["translator"], clip_input(batch, self.rgb_key))
        a = self.assistant(pseudo_ir)
        ce = F.cross_entropy(a["logits"].float(), batch[self.label_key])
        result = {"output": a["logits"], "ce": ce}
        loss = ce
        if self.training and self.use_kd:
            ir = self._require(batch, self.ir_key, "the L_kd(IR->IRp) term")
            t = self._run_frozen("teacher", ir)
            result["kd_ir_irp"] = kd_ir_to_irp(a, t, **self.kd)  # eq. 6
            loss = ce + self.gamma * result["kd_ir_irp"]
        result["loss"] = loss
        return result


class StudentStep(_FrozenNetworksStep):
    """RGB student: ``CE + alpha * L_kd(Fusion->RGB) + beta * L_kd(IR->RGB)`` (eq. 10).

    Args:
        student: The network trained in this stage (its projection is T_s).
        teacher: Frozen IR teacher (needed by either kd term).
        assistant: Frozen pseudo-IR assistant (needed by the fusion term).
        translator: Frozen translator feeding the assistant (needed by the fusion term).
        use_fusion_kd: Switch for the alpha term (eq. 7).
        use_ir_kd: Switch for the beta term (eq. 5).
        alpha: Weight of ``L_kd(Fusion->RGB)``.
        beta: Weight of ``L_kd(IR->RGB)``.
        fusion_weight: Teacher share of the fused target (assistant: ``1 - fusion_weight``).
        kd: Keyword arguments of the kd distance.
        rgb_key: Batch key of the student's input clip ('depth' for a depth student).
        ir_key: Batch key of the aligned IR clip (read only while training with a kd term).
        label_key: Batch key of the labels.
        translator_key: Batch key of the RGB clip the translator turns into pseudo-IR for the
            assistant (the student's own input when it is RGB).
    """

    def __init__(
        self,
        student: nn.Module,
        *,
        teacher: nn.Module | None = None,
        assistant: nn.Module | None = None,
        translator: nn.Module | None = None,
        # loss switches and weights (eq. 10)
        use_fusion_kd: bool = True,
        use_ir_kd: bool = True,
        alpha: float = 0.9,
        beta: float = 0.3,
        fusion_weight: float = 0.5,
        kd: Mapping[str, Any] | None = None,
        # batch keys
        rgb_key: str = "rgb",
        ir_key: str = "ir",
        label_key: str = "label",
        translator_key: str = "rgb",
    ) -> None:
        super().__init__()
        if (use_fusion_kd or use_ir_kd) and teacher is None:
            raise ValueError("a kd term needs the IR teacher")
        if use_fusion_kd and (assistant is None or translator is None):
            raise ValueError("L_kd(Fusion->RGB) needs the assistant and the translator")
        self.student = student
        self._hold_frozen("teacher", teacher if (use_fusion_kd or use_ir_kd) else None)
        self._hold_frozen("assistant", assistant if use_fusion_kd else None)
        self._hold_frozen("translator", translator if use_fusion_kd else None)
        self.use_fusion_kd, self.use_ir_kd = use_fusion_kd, use_ir_kd
        self.alpha, self.beta, self.fusion_weight = alpha, beta, fusion_weight
        self.kd = dict(kd or {})
        self.rgb_key, self.ir_key, self.label_key = rgb_key, ir_key, label_key
        self.translator_key = translator_key

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        rgb = clip_input(batch, self.rgb_key)
        s = self.student(rgb)
        ce = F.cross_entropy(s["logits"].float(), batch[self.label_key])
        result: dict[str, torch.Tensor] = {"output": s["logits"], "ce": ce}
        kd_fusion = kd_ir = None
        # Inference path: RGB only; the frozen networks are not even called.
        if self.training and (self.use_fusion_kd or self.use_ir_kd):
            ir = self._require(batch, self.ir_key, "distillation from the IR teacher")
            t = self._run_frozen("teacher", ir)
            if self.use_ir_kd:
                kd_ir = result["kd_ir_rgb"] = kd_ir_to_rgb(s, t, **self.kd)  # eq. 5
            if self.use_fusion_kd:
                source = rgb if self.translator_key == self.rgb_key else None
                if source is None:
                    source = self._require(batch, self.translator_key, "the assistant")
                with torch.no_grad():
                    pseudo_ir = translate_clip(self._frozen["translator"], source)
                a = self._run_frozen("assistant", pseudo_ir)
                kd_fusion = result["kd_fusion_rgb"] = kd_fusion_to_rgb(  # eq. 7
                    s, t, a, fusion_weight=self.fusion_weight, **self.kd
                )
        result["loss"] = total_loss(ce, kd_fusion, kd_ir, alpha=self.alpha, beta=self.beta)
        return result


class OnlineStep(_FrozenNetworksStep):
    """Assistant and student trained together (``mtcd.assistant_mode: online``).

    ``loss = L_student + L_assistant`` over disjoint parameters, so one optimizer step is the
    step each network would take on its own loss:

    * ``L_assistant = CE(assistant) + gamma * L_kd(IR->IRp)`` (eq. 6, when ``use_assistant_kd``);
    * ``L_student = CE(student) + alpha * L_kd(Fusion->RGB) + beta * L_kd(IR->RGB)`` (eq. 10
      with eq. 7 and eq. 5 as switched); the fused target of eq. 7 is the assistant's output on
      this batch, detached (`losses.fuse`), so eq. 7 never reaches the assistant and eq. 6
      never reaches the student.

    The frozen teacher and translator are held outside the module tree as in the other steps.
    In eval mode only the student runs, on RGB (what `mgrtrain eval` measures).

    Args:
        student: The RGB network (T_s).
        assistant: The pseudo-IR network (T_a), trained in the same stage.
        teacher: Frozen IR teacher (needed by any kd term).
        translator: Frozen RGB -> pseudo-IR translator (needed while training).
        use_fusion_kd: Switch for eq. 7.
        use_ir_kd: Switch for eq. 5.
        use_assistant_kd: Switch for eq. 6.
        alpha, beta, gamma: Weights of eq. 7, eq. 5 and eq. 6.
        fusion_weight: Teacher share of the fused target.
        kd: Keyword arguments of the kd distance.
        rgb_key: Batch key of the student's input ('depth' for a depth student).
        translator_key: Batch key of the RGB clip the translator reads.
    """

    def __init__(
        self,
        student: nn.Module,
        assistant: nn.Module,
        *,
        teacher: nn.Module | None = None,
        translator: nn.Module | None = None,
        # loss switches and weights
        use_fusion_kd: bool = True,
        use_ir_kd: bool = True,
        use_assistant_kd: bool = True,
        alpha: float = 0.9,
        beta: float = 0.3,
        gamma: float = 1.0,
        fusion_weight: float = 0.5,
        kd: Mapping[str, Any] | None = None,
        # batch keys
        rgb_key: str = "rgb",
        ir_key: str = "ir",
        label_key: str = "label",
        translator_key: str = "rgb",
    ) -> None:
        super().__init__()
        if (use_fusion_kd or use_ir_kd or use_assistant_kd) and teacher is None:
            raise ValueError("a kd term needs the IR teacher")
        self.student, self.assistant = student, assistant
        self._hold_frozen("teacher", teacher)
        self._hold_frozen("translator", translator)
        self.use_fusion_kd, self.use_ir_kd = use_fusion_kd, use_ir_kd
        self.use_assistant_kd = use_assistant_kd
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.fusion_weight, self.kd = fusion_weight, dict(kd or {})
        self.rgb_key, self.ir_key, self.label_key = rgb_key, ir_key, label_key
        self.translator_key = translator_key

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        rgb = clip_input(batch, self.rgb_key)
        labels = batch[self.label_key]
        s = self.student(rgb)
        ce = F.cross_entropy(s["logits"].float(), labels)
        result: dict[str, torch.Tensor] = {"output": s["logits"], "ce": ce}
        if not self.training:
            result["loss"] = ce
            return result
        if self.frozen("translator") is None:
            raise ValueError("training the online assistant needs the translator")
        source = rgb if self.translator_key == self.rgb_key else None
        if source is None:
            source = self._require(batch, self.translator_key, "the assistant")
        with torch.no_grad():
            pseudo_ir = translate_clip(self._frozen["translator"], source)
        a = self.assistant(pseudo_ir)
        a_ce = result["assistant_ce"] = F.cross_entropy(a["logits"].float(), labels)
        a_loss, kd_fusion, kd_ir = a_ce, None, None
        if self.use_fusion_kd or self.use_ir_kd or self.use_assistant_kd:
            ir = self._require(batch, self.ir_key, "distillation from the IR teacher")
            t = self._run_frozen("teacher", ir)
            if self.use_assistant_kd:
                result["kd_ir_irp"] = kd_ir_to_irp(a, t, **self.kd)  # eq. 6: assistant only
                a_loss = a_ce + self.gamma * result["kd_ir_irp"]
            if self.use_ir_kd:
                kd_ir = result["kd_ir_rgb"] = kd_ir_to_rgb(s, t, **self.kd)  # eq. 5
            if self.use_fusion_kd:
                kd_fusion = result["kd_fusion_rgb"] = kd_fusion_to_rgb(  # eq. 7, target detached
                    s, t, a, fusion_weight=self.fusion_weight, **self.kd
                )
        s_loss = total_loss(ce, kd_fusion, kd_ir, alpha=self.alpha, beta=self.beta)  # eq. 10
        result["loss"] = s_loss + a_loss
        return result
