"""Paired translator training: L1 plus an optional PatchGAN term (pix2pix).

    L_G = L1(G(x), y) + gan_weight * BCE(D(x, G(x)), 1)
    L_D = (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2

``x`` is an RGB frame and ``y`` the IR frame pixel-aligned with it (the data package warps IR
into the RGB view). pix2pix weighs L1 by 100 against a GAN weight of 1, i.e. ``gan_weight``
0.01 here; ``gan_weight = 0`` trains on L1 alone and builds no critic.

The translator is trained by its own small loop (not the shared trainer) because a GAN needs
two optimizers stepping in alternation. It checkpoints after every epoch and resumes from the
last complete epoch.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mgrdark_data.errors import MgrdarkError

from .apply import clip_to_frames
from .networks import PatchDiscriminator

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.csv"


def load_weights(net: nn.Module, state: dict[str, Any], stage_dir: str | Path) -> None:
    """`net.load_state_dict(state)`, or a clear error when the weights were written by a
    version of mgrdark whose translator network differs (e.g. BatchNorm before 0.1.0's
    instance norm)."""
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise MgrdarkError(
            f"{stage_dir}: the translator saved there does not fit this version's network "
            f"({str(e).splitlines()[0].rstrip(':.')}); delete that folder (in an MTCD run also "
            "the assistant and student folders trained on it) to train it again"
        ) from e


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
        w = hot_l1_weights(ir, hot_weight)
        out["l1"] = (w * (fake - ir).abs()).mean() / w.mean()
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


def fit_translator(
    gen: nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    out_dir: str | Path,
    epochs: int,
    lr: float = 2e-4,
    gan_weight: float = 0.01,
    hot_weight: float = 0.0,
    disc_channels: int = 32,
    frames_per_batch: int | None = None,
    val_loader: Iterable[Mapping[str, Any]] | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """Train ``gen`` on paired clip batches (keys ``rgb``, ``ir``), resumably.

    Args:
        gen: The translator (``create_translator("gan", ...)``).
        loader: Yields batches with (B, C, T, H, W) ``rgb`` and aligned ``ir`` clips.
        out_dir: Stage folder: ``checkpoint.pt`` (after every epoch) and ``metrics.csv``.
        epochs: Total epochs; a resumed run continues after the last finished epoch.
        lr: Adam learning rate of generator and critic (betas 0.5, 0.999 as in pix2pix).
        gan_weight: Weight of the adversarial term; 0 trains on L1 alone.
        hot_weight: Extra L1 weight of warm pixels (`hot_l1_weights`); 0 = plain L1.
        disc_channels: Width of the PatchGAN critic.
        frames_per_batch: Use at most this many frames of each batch (clips repeat content
            from frame to frame; fewer frames make an epoch cheaper).
        val_loader: Optional batches for a held-out L1 per epoch.
        device: Where to train.
        progress: Called after every epoch with the epoch number and its metrics.

    Returns:
        The last epoch's metrics (mean ``l1``, ``gan``, ``d_loss``, ``val_l1``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    gen.to(device)
    disc = None
    if gan_weight > 0:
        # The critic judges (RGB, IR) pairs stacked along channels.
        pair_channels = getattr(gen, "in_channels", 3) + getattr(gen, "out_channels", 3)
        disc = PatchDiscriminator(in_channels=pair_channels, base_channels=disc_channels)
        disc.to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999)) if disc else None

    start, metrics = 0, {}
    ckpt_path = out_dir / CHECKPOINT
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        load_weights(gen, state["gen"], out_dir)
        opt_g.load_state_dict(state["opt_g"])
        if disc is not None and "disc" in state:
            disc.load_state_dict(state["disc"])
            opt_d.load_state_dict(state["opt_d"])
        start = state["epoch"]
        logger.info("translator: resuming after epoch %d", start)

    for epoch in range(start + 1, epochs + 1):
        t0 = time.perf_counter()
        gen.train()
        sums: dict[str, float] = {}
        n = 0
        for batch in loader:
            pick = _pick(batch, frames_per_batch)
            rgb = _frames(batch, "rgb", pick).to(device)
            ir = _frames(batch, "ir", pick).to(device)
            terms = translator_losses(
                gen, disc, rgb, ir, gan_weight=gan_weight, hot_weight=hot_weight, opt_d=opt_d
            )
            opt_g.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt_g.step()
            for k, v in terms.items():
                if k != "output":
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
            n += 1
        if n == 0:
            raise ValueError("the translator's training loader yielded no batch")
        metrics = {k: v / n for k, v in sums.items()}
        if val_loader is not None:
            metrics["val_l1"] = evaluate_l1(gen, val_loader, device=device)
        metrics["seconds"] = time.perf_counter() - t0
        _append_metrics(out_dir / METRICS, epoch, metrics)
        state = {"gen": gen.state_dict(), "opt_g": opt_g.state_dict(), "epoch": epoch}
        if disc is not None:
            state |= {"disc": disc.state_dict(), "opt_d": opt_d.state_dict()}
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt_path)  # atomic: a kill mid-save leaves the previous epoch intact
        logger.info("translator epoch %d: %s", epoch, metrics)
        if progress is not None:
            progress(epoch, metrics)
    gen.eval()
    return metrics


@torch.no_grad()
def evaluate_l1(
    translator: nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    device: torch.device | str = "cpu",
) -> float:
    """Mean per-pixel L1 between translated RGB frames and the aligned IR frames."""
    translator.eval()
    total, count = 0.0, 0
    for batch in loader:
        rgb = clip_to_frames(batch["rgb"]).to(device)
        ir = clip_to_frames(batch["ir"]).to(device)
        total += F.l1_loss(translator(rgb), ir, reduction="sum").item()
        count += ir.numel()
    return total / max(count, 1)


def _append_metrics(path: Path, epoch: int, metrics: Mapping[str, float]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", *sorted(metrics)])
        if new:
            writer.writeheader()
        writer.writerow({"epoch": epoch, **metrics})
