"""Paired translator training: L1 plus an optional PatchGAN term (pix2pix).

    L_G = L1(G(x), y) + gan_weight * BCE(D(x, G(x)), 1) [+ identity_weight * L_keep]
    L_D = (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2

``x``: an RGB frame; ``y``: the IR frame pixel-aligned with it (the data package warps IR);
``L_keep`` (``sda``): eq. 1 of frozen re-ID encoders on G(x). pix2pix weighs L1 by 100 against
a GAN weight of 1: ``gan_weight`` 0.01 here; 0 trains on L1 alone and builds no critic.

The loss is a step module in the engine's contract (`TranslatorStep`, a dict with ``loss``,
``output`` and the terms), and the loop is built from the engine's pieces: the epoch-keyed
`ClipSampler`, atomic checkpoints with RNG states (`engine/checkpoint.py`) and the metrics CSV
that a resumed run truncates to its checkpoint (`engine/metrics.py`). It is a loop of its own
because a GAN steps two optimizers in alternation, which the classification trainer does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from mgrdark_data.progress import Progress, stage_bar

from ..data.normalize import clip_input
from ..engine.checkpoint import (
    CheckpointError,
    capture_rng,
    load_checkpoint,
    load_weights,
    restore_rng,
    save_checkpoint,
)
from ..engine.distributed import (
    all_gather_objects,
    all_reduce_sum,
    average_gradients,
    barrier,
    broadcast_module,
    current,
)
from ..engine.metrics import MetricsCSV
from ..engine.steps import step_terms
from ..engine.sync_bn import convert_sync_batchnorm
from .apply import clip_to_frames
from .networks import PatchDiscriminator

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.csv"


def load_translator_weights(net: nn.Module, state: dict[str, Any], stage_dir: str | Path) -> None:
    """Translator weights into `net`, or CheckpointError when they were written by a version
    of mgrdark whose translator network differs (e.g. BatchNorm before 0.1.0's instance norm)."""
    load_weights(
        net,
        state,
        stage_dir,
        what="the translator",
        advice="delete that folder (in an MTCD run also the assistant and student folders "
        "trained on it) to train it again",
    )


def hot_l1_weights(ir: torch.Tensor, hot_weight: float) -> torch.Tensor:
    """Per-pixel L1 weights ``1 + hot_weight * h``, h in [0, 1] how much warmer than the median
    of its frame a pixel is (relative to the frame's warmest pixel).

    People are the warmest thing in a room and cover a few percent of a frame; with plain L1 a
    small translator learns the room and leaves them out (on `mgrdata synth` data the L1 on
    person pixels stayed at 1.8 normalised units while the frame L1 fell to 0.15). Shape
    (N, 1, H, W) for (N, C, H, W) IR frames.
    """
    gray = ir.mean(dim=1, keepdim=True)
    median = gray.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
    hot = (gray - median).clamp_min(0)
    hot = hot / hot.flatten(1).amax(dim=1).clamp_min(1e-6).view(-1, 1, 1, 1)
    return 1 + hot_weight * hot


def translator_losses(
    gen: nn.Module,
    disc: nn.Module | None,
    rgb: torch.Tensor,
    ir: torch.Tensor,
    *,
    gan_weight: float = 0.01,
    hot_weight: float = 0.0,
    opt_d: torch.optim.Optimizer | None = None,
) -> dict[str, torch.Tensor]:
    """One generator step's losses on (N, C, H, W) frame pairs; updates the critic if given.

    Args:
        gen: The translator being trained.
        disc: PatchGAN critic, or None for L1 alone.
        rgb: RGB frames.
        ir: Aligned IR frames.
        gan_weight: Weight of the adversarial term in the generator loss.
        hot_weight: Extra L1 weight of warm pixels (`hot_l1_weights`); 0 = plain L1.
        opt_d: Critic optimizer; when given (and the GAN term is on), the critic takes one step
            on ``L_D`` before the generator loss is computed.

    Returns:
        ``loss`` (generator objective), ``output`` (fake IR), ``l1`` and, with a critic,
        ``gan`` and ``d_loss``; all terms unweighted.
    """
    fake = gen(rgb)
    out: dict[str, torch.Tensor] = {"output": fake}
    if hot_weight > 0:
        # Normalised per frame, so that the loss is a mean over frames: under torchrun the
        # average of the ranks' gradients is then the gradient of the whole batch.
        w = hot_l1_weights(ir, hot_weight)
        out["l1"] = ((w * (fake - ir).abs()).flatten(1).mean(1) / w.flatten(1).mean(1)).mean()
    else:
        out["l1"] = F.l1_loss(fake, ir)
    out["loss"] = out["l1"]
    if disc is None or gan_weight <= 0:
        return out
    if opt_d is not None:
        real_logit = disc(rgb, ir)
        fake_logit = disc(rgb, fake.detach())
        d_loss = 0.5 * (
            F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
            + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
        )
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        average_gradients(disc.parameters())
        opt_d.step()
        out["d_loss"] = d_loss.detach()
    # The critic's parameters collect gradient from the generator loss too; they are zeroed
    # before its next step, so that gradient is never applied.
    fooled = disc(rgb, fake)
    out["gan"] = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
    out["loss"] = out["l1"] + gan_weight * out["gan"]
    return out


def _pick(batch: Mapping[str, Any], max_frames: int | None) -> torch.Tensor | None:
    """Indices of at most `max_frames` frame pairs drawn from every clip of the batch (the first
    frames would be whole clips of the batch's first few subjects: BatchNorm would then see
    a few scenes per step and its running statistics would not match any of them)."""
    b, _, t = batch["rgb"].shape[:3]
    if max_frames is None or b * t <= max_frames:
        return None
    return torch.randperm(b * t)[:max_frames]


def _frames(batch: Mapping[str, Any], key: str, pick: torch.Tensor | None) -> torch.Tensor:
    frames = clip_to_frames(batch[key])
    return frames if pick is None else frames[pick]


class TranslatorStep(nn.Module):
    """The translator's training step: L1 (optionally warm-weighted) plus the PatchGAN term.

    Returns ``{"loss", "output", "l1"[, "gan", "d_loss"]}`` (`translator_losses`). While
    training, each batch contributes at most ``frames_per_batch`` frame pairs, and the critic
    takes its own step on every batch when ``critic_optimizer`` is set.

    Args:
        gen: The translator being trained.
        gan_weight: Weight of the adversarial term; 0 builds no critic.
        hot_weight: Extra L1 weight of warm pixels (`hot_l1_weights`); 0 = plain L1.
        disc_channels: Width of the PatchGAN critic.
        frames_per_batch: Frame pairs used per training batch (None: all).
        identity, identity_weight: `reid.IdentityTerm` (``sda``) on the batch's ``identity``
            and its weight; adds the ``identity`` term while training.
    """

    def __init__(
        self,
        gen: nn.Module,
        *,
        gan_weight: float = 0.01,
        hot_weight: float = 0.0,
        disc_channels: int = 32,
        frames_per_batch: int | None = None,
        identity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        identity_weight: float = 0.1,
    ) -> None:
        super().__init__()
        self.gen = gen
        self.disc: nn.Module | None = None
        if gan_weight > 0:
            # The critic judges (RGB, IR) pairs stacked along channels.
            pair = getattr(gen, "in_channels", 3) + getattr(gen, "out_channels", 3)
            self.disc = PatchDiscriminator(in_channels=pair, base_channels=disc_channels)
        self.gan_weight, self.hot_weight = gan_weight, hot_weight
        self.frames_per_batch = frames_per_batch
        self.identity, self.identity_weight = identity, identity_weight
        self.critic_optimizer: torch.optim.Optimizer | None = None

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        clips = {k: clip_input(batch, k) for k in ("rgb", "ir")}
        pick = _pick(clips, self.frames_per_batch) if self.training else None
        rgb, ir = _frames(clips, "rgb", pick), _frames(clips, "ir", pick)
        out = translator_losses(
            self.gen,
            self.disc,
            rgb,
            ir,
            gan_weight=self.gan_weight,
            hot_weight=self.hot_weight,
            opt_d=self.critic_optimizer if self.training else None,
        )
        if self.training and self.identity is not None:
            ids = torch.as_tensor(batch["identity"], device=rgb.device)
            ids = ids.repeat_interleave(clips["rgb"].shape[2])  # frames are b-major
            out["identity"] = self.identity(out["output"], ids if pick is None else ids[pick])
            out["loss"] = out["loss"] + self.identity_weight * out["identity"]
        return out


def fit_translator(
    gen: nn.Module,
    loader: DataLoader,
    *,
    out_dir: str | Path,
    epochs: int,
    lr: float = 2e-4,
    gan_weight: float = 0.01,
    hot_weight: float = 0.0,
    disc_channels: int = 32,
    frames_per_batch: int | None = None,
    identity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    identity_weight: float = 0.1,
    val_loader: DataLoader | None = None,
    device: torch.device | str = "cpu",
    sync_batchnorm: bool = False,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Train ``gen`` on paired clip batches (keys ``rgb``, ``ir``), resumably.

    Under torchrun every rank trains on its shard of each batch (the loaders' samplers shard)
    and the gradients of both networks are averaged over the ranks before each optimizer step
    (the critic runs twice per step, which DDP's wrapper does not allow); rank 0 writes.

    Args:
        gen: The translator (``create_translator("gan", ...)``).
        loader: Batches with (B, C, T, H, W) ``rgb`` and aligned ``ir`` clips; a sampler with
            ``set_epoch`` (``ClipSampler``) makes a resumed run repeat its epochs exactly.
        out_dir: Stage folder: ``checkpoint.pt`` (after every epoch) and ``metrics.csv``.
        epochs: Total epochs; a resumed run continues after the last finished epoch.
        lr: Adam learning rate of generator and critic (betas 0.5, 0.999 as in pix2pix).
        gan_weight: Weight of the adversarial term; 0 trains on L1 alone.
        hot_weight: Extra L1 weight of warm pixels (`hot_l1_weights`); 0 = plain L1.
        disc_channels: Width of the PatchGAN critic.
        frames_per_batch: Use at most this many frames of each batch (clips repeat content
            from frame to frame; fewer frames make an epoch cheaper).
        identity, identity_weight: The identity-preservation term (`TranslatorStep`).
        val_loader: Optional batches for a held-out L1 per epoch (sharded over ranks).
        device: Where to train.
        sync_batchnorm: Under torchrun, the critic's BatchNorm statistics over every rank's
            frames (`run.sync_batchnorm`).
        progress: Progress factory: one bar per epoch (``epoch 2/8``) and one per validation.

    Returns:
        The last epoch's metrics (mean ``loss``, ``l1``, ``gan``, ``d_loss``; ``val_l1``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    step = TranslatorStep(
        gen,
        gan_weight=gan_weight,
        hot_weight=hot_weight,
        disc_channels=disc_channels,
        frames_per_batch=frames_per_batch,
        identity=identity,
        identity_weight=identity_weight,
    )
    dist = current()
    if dist.enabled and sync_batchnorm:
        step = convert_sync_batchnorm(step, device)
    step = step.to(device)
    broadcast_module(step)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    if step.disc is not None:
        step.critic_optimizer = torch.optim.Adam(step.disc.parameters(), lr=lr, betas=(0.5, 0.999))
    metrics_csv = MetricsCSV(out_dir / METRICS)
    start = _resume(step, opt_g, out_dir, metrics_csv)
    metrics: dict[str, float] = {}
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        step.train()
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        sums: dict[str, float] = {}
        n = 0
        with stage_bar(progress, f"epoch {epoch + 1}/{epochs}", len(loader), "batch") as bar:
            for batch in loader:
                terms = step({k: _to(v, device) for k, v in batch.items()})
                opt_g.zero_grad(set_to_none=True)
                terms["loss"].backward()
                average_gradients(gen.parameters())
                opt_g.step()
                for k, v in step_terms(terms).items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                n += 1
                bar.update(1)
                bar.set_postfix(l1=f"{sums['l1'] / n:.4f}")
        if n == 0:
            raise ValueError("the translator's training loader yielded no batch")
        metrics = _mean_over_ranks(sums, n)
        if val_loader is not None:
            metrics["val_l1"] = evaluate_l1(
                gen, val_loader, device=device, progress=progress, stage="val L1"
            )
        metrics["seconds"] = time.perf_counter() - t0
        # Metrics first, checkpoint second, as the engine's trainer: a kill in between leaves a
        # row that the resumed run truncates before it repeats the epoch.
        rng = all_gather_objects(capture_rng())
        if dist.is_main:
            metrics_csv.append({"epoch": epoch + 1, **metrics})
            critic = step.critic_optimizer
            state = {
                "epoch": epoch,
                "step": step.state_dict(),
                "optimizer": opt_g.state_dict(),
                "critic_optimizer": critic.state_dict() if critic is not None else None,
                "rng": rng,
            }
            save_checkpoint(out_dir / CHECKPOINT, state)
        barrier()
        logger.info("translator epoch %d: %s", epoch + 1, metrics)
    gen.eval()
    return metrics


def _resume(
    step: TranslatorStep, opt_g: torch.optim.Optimizer, out_dir: Path, metrics: MetricsCSV
) -> int:
    """Load `checkpoint.pt` if there is one; returns the first epoch (0-based) to train."""
    path = out_dir / CHECKPOINT
    if not path.exists():
        return 0
    state = load_checkpoint(path, map_location="cpu")
    if "step" not in state:
        raise CheckpointError(
            f"{path} was written by an earlier version of mgrdark; delete it to train the "
            "translator from its first epoch"
        )
    load_translator_weights(step, state["step"], out_dir)
    opt_g.load_state_dict(state["optimizer"])
    if step.critic_optimizer is not None and state.get("critic_optimizer"):
        step.critic_optimizer.load_state_dict(state["critic_optimizer"])
    rng = state["rng"]
    if isinstance(rng, dict):  # written by one process before 0.2
        rng = [rng]
    restore_rng(rng[current().rank % len(rng)])
    start = int(state["epoch"]) + 1
    if current().is_main:
        metrics.truncate(start)
    logger.info("translator: resuming after epoch %d", start)
    return start


def _mean_over_ranks(sums: dict[str, float], batches: int) -> dict[str, float]:
    """Per-batch means of each term over every rank's batches."""
    names = sorted(sums)
    vec = all_reduce_sum(torch.tensor([*(sums[k] for k in names), batches], dtype=torch.float64))
    return {k: float(v) / float(vec[-1]) for k, v in zip(names, vec[:-1], strict=True)}


def _to(value: Any, device: torch.device) -> Any:
    return value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value


@torch.no_grad()
def evaluate_l1(
    translator: nn.Module,
    loader: DataLoader | list[Mapping[str, Any]],
    *,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    stage: str = "L1",
) -> float:
    """Mean per-pixel L1 between translated RGB frames and the aligned IR frames (one bar,
    named `stage`); under torchrun over every rank's shard of the loader."""
    translator.eval()
    total, count = 0.0, 0
    with stage_bar(progress, stage, len(loader), "batch") as bar:
        for batch in loader:
            batch = {k: _to(v, device) for k, v in batch.items()}
            rgb, ir = (clip_to_frames(clip_input(batch, k)) for k in ("rgb", "ir"))
            total += F.l1_loss(translator(rgb), ir, reduction="sum").item()
            count += ir.numel()
            bar.update(1)
    both = all_reduce_sum(torch.tensor([total, count], dtype=torch.float64))
    return float(both[0]) / max(float(both[1]), 1.0)
