"""The training loop: any step module (see `steps.py`), DDP, bf16, checkpoints, resume."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from mgrdark_data.progress import NullBar, Progress, ProgressBar, open_bar

from ..data.sampler import ClipSampler
from .checkpoint import (
    BEST,
    LAST,
    capture_rng,
    load_checkpoint,
    load_weights,
    restore_rng,
    save_checkpoint,
)
from .config import ConfigError, TrainConfig
from .device import autocast_dtype, move_batch, resolve_device
from .distributed import all_gather_objects, barrier, broadcast_buffers, current
from .memory import estimate_step_memory, meta_batch, optimizer_state_slots
from .metrics import MeanTracker, MetricsCSV
from .optim import build_optimizer, build_scheduler
from .precise_bn import update_bn_stats
from .steps import output_logits, step_terms
from .sync_bn import convert_sync_batchnorm
from .workers import loader_workers

log = logging.getLogger(__name__)


class Trainer:
    """Trains a step module for `cfg.optim.epochs` epochs in `run_dir`.

    Writes `metrics.csv` (one row per epoch; evaluation columns are prefixed with the
    evaluated subset, e.g. `val_top1`), `checkpoints/last.pt` (atomically, every
    epoch; `epoch_NNN.pt` too every `run.keep_every` epochs; `best.pt` at each new best
    `val_top1` when the evaluated subset is val, ties going to the earlier epoch) and
    TensorBoard events when available. Under `torchrun` each rank trains its shard; metrics
    are summed over ranks and only rank 0 writes.

    Args:
        step: The training step (contract in `steps.py`).
        train_set: Dataset whose items are dicts and whose keys are `(index, epoch)`.
        cfg: Resolved configuration.
        run_dir: Output directory.
        eval_set: Evaluated after every `run.eval_every` epochs (None or empty: never).
        progress: Progress factory (None: no bars); bars are named `epoch 3/60`,
            `epoch 3/60 precise BN` and `epoch 3/60 val` (the evaluated subset);
            `mgrdark_data.progress.prefixed` adds a stage name (`teacher: epoch 3/60`).
        label_key: Batch key of the labels.
    """

    def __init__(
        self,
        step: nn.Module,
        train_set: Dataset,
        *,
        cfg: TrainConfig,
        run_dir: str | Path,
        eval_set: Dataset | None = None,
        progress: Progress | None = None,
        label_key: str = "label",
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.dist = current()
        self.device = resolve_device(cfg.run.device, self.dist)
        # Every batch has the same shape (fixed T and crop): let cuDNN pick its fastest kernels.
        torch.backends.cudnn.benchmark = self.device.type == "cuda"
        self.amp = autocast_dtype(cfg.run.amp, self.device)
        self.progress = progress if self.dist.is_main else None
        self.label_key = label_key
        if cfg.optim.batch_size % self.dist.world_size:
            raise ConfigError(
                f"batch size {cfg.optim.batch_size} is not divisible by {self.dist.world_size} "
                "ranks; the batch size is global"
            )
        self.batch_size = cfg.optim.batch_size // self.dist.world_size
        if self.dist.enabled and cfg.run.sync_batchnorm:
            step = convert_sync_batchnorm(step, self.device)
        self.step = step.to(self.device)
        if cfg.run.channels_last_3d:
            self.step = self.step.to(memory_format=torch.channels_last_3d)
        params = [p for p in self.step.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("the training step has no trainable parameters")
        self.optimizer = build_optimizer(params, cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim)
        self.model: nn.Module = self.step
        if self.dist.enabled:
            self.model = DistributedDataParallel(
                self.step,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=cfg.run.find_unused_parameters,
            )
        self.train_sampler = ClipSampler(
            len(train_set),
            shuffle=True,
            seed=cfg.run.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.train_loader = self._loader(train_set, self.train_sampler)
        self.eval_loader = None
        if eval_set is not None and len(eval_set):
            sampler = ClipSampler(
                len(eval_set), shuffle=False, rank=self.dist.rank, world_size=self.dist.world_size
            )
            self.eval_loader = self._loader(eval_set, sampler)
        self.metrics = MetricsCSV(self.run_dir / "metrics.csv")
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.start_epoch = 0
        self.best: dict[str, Any] | None = None
        """`{"metric", "value", "epoch"}` of `best.pt` (None: none yet, or no val subset)."""
        self.keep_best = self.eval_loader is not None and cfg.data.eval_subset == "val"
        self._tb = None
        self._bar: ProgressBar = NullBar()

    def _loader(self, dataset: Dataset, sampler: ClipSampler) -> DataLoader:
        workers = loader_workers(self.cfg.data.workers)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
        )

    def describe(self) -> str:
        """The parameter count and the estimated memory of one training step (`memory.py`),
        for the start of a run."""
        item = self.train_loader.dataset[(0, 0)]
        estimate = estimate_step_memory(
            self.step,
            meta_batch(item, self.batch_size),
            optimizer_slots=optimizer_state_slots(self.cfg.optim.name, self.cfg.optim.momentum),
            amp=self.amp,
        )
        return estimate.describe(self.device)

    # --- state -------------------------------------------------------------------------------

    def state(self, epoch: int) -> dict[str, Any]:
        state = {
            "epoch": epoch,
            "step": self.step.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "config": self.cfg.to_dict(),
        }
        if self.best is not None:
            state["best"] = self.best
        return state

    def save(self, epoch: int, best: bool = False) -> None:
        """Checkpoint after `epoch` (0-based) with every rank's RNG state (`best`: it is the
        best epoch so far, also written as best.pt, before last.pt)."""
        rng = all_gather_objects(capture_rng())
        if self.dist.is_main:
            state = {**self.state(epoch), "rng": rng}
            if best:
                save_checkpoint(self.ckpt_dir / BEST, state)
            save_checkpoint(self.ckpt_dir / LAST, state)
            keep = self.cfg.run.keep_every
            if keep and (epoch + 1) % keep == 0:
                save_checkpoint(self.ckpt_dir / f"epoch_{epoch + 1:03d}.pt", state)
        barrier()

    def resume(self) -> bool:
        """Continue from `checkpoints/last.pt` if present; returns whether it was found."""
        path = self.ckpt_dir / LAST
        if not path.exists():
            log.warning("no checkpoint in %s; starting from epoch 1", self.ckpt_dir)
            return False
        # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest.
        state = load_checkpoint(path, map_location="cpu")
        load_weights(self.step, state["step"], self.run_dir)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        rng = state["rng"]
        if len(rng) != self.dist.world_size:
            log.warning(
                "checkpoint was written by %d ranks, now %d: RNG streams restart, the data "
                "order and augmentation stay exact",
                len(rng),
                self.dist.world_size,
            )
        restore_rng(rng[self.dist.rank % len(rng)])
        self.best = state.get("best")
        self.start_epoch = int(state["epoch"]) + 1
        if self.dist.is_main:
            self.metrics.truncate(self.start_epoch)
        log.info("resumed from %s at epoch %d", path, self.start_epoch + 1)
        return True

    # --- loop --------------------------------------------------------------------------------

    def fit(self) -> list[dict[str, float]]:
        """Train the remaining epochs; returns their metric rows."""
        rows = []
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            for epoch in range(self.start_epoch, self.cfg.optim.epochs):
                row: dict[str, float] = {"epoch": epoch + 1, "lr": self.scheduler.get_last_lr()[0]}
                row.update(self.train_epoch(epoch))
                last = epoch + 1 == self.cfg.optim.epochs
                evaluate = self.eval_loader is not None and (
                    (epoch + 1) % self.cfg.run.eval_every == 0 or last
                )
                if evaluate or last:
                    self.precise_bn(f"{self._epoch_name(epoch)} precise BN")
                # DDP broadcasts buffers at each forward only: make the BatchNorm statistics
                # of every rank rank 0's before evaluating or saving.
                broadcast_buffers(self.step)
                if evaluate:
                    subset = self.cfg.data.eval_subset or "val"
                    row.update(self.evaluate(subset, f"{self._epoch_name(epoch)} {subset}"))
                self.scheduler.step()
                if self.dist.is_main:
                    self.metrics.append(row)
                    self._log_tensorboard(row)
                    log.info("epoch %d: %s", epoch + 1, _fmt(row))
                self.save(epoch, best=evaluate and self._new_best(row, epoch))
                rows.append(row)
        finally:
            if self._tb is not None:
                self._tb.close()
        return rows

    def _new_best(self, row: Mapping[str, float], epoch: int) -> bool:
        """Whether this epoch's val top-1 beats every earlier one (a tie keeps the earlier)."""
        value = row.get("val_top1")
        if not self.keep_best or value is None:
            return False
        if self.best is not None and value <= self.best["value"]:
            return False
        self.best = {"metric": "val_top1", "value": float(value), "epoch": epoch + 1}
        return True

    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def _batches(self, loader: DataLoader, desc: str) -> Iterator[tuple[dict, float]]:
        """Batches on the device, with the seconds spent waiting for each."""
        bar = open_bar(self.progress, desc, len(loader), "batch")
        self._bar = bar
        try:
            it = iter(loader)
            while True:
                t0 = time.perf_counter()
                try:
                    batch = next(it)
                except StopIteration:
                    return
                batch = move_batch(batch, self.device, self.cfg.run.channels_last_3d)
                yield batch, time.perf_counter() - t0
                bar.update(1)
        finally:
            bar.close()
            self._bar = NullBar()

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.train_sampler.set_epoch(epoch)
        tracker = MeanTracker()
        wait = 0.0
        clips = 0
        start = time.perf_counter()
        desc = self._epoch_name(epoch)
        for i, (batch, waited) in enumerate(self._batches(self.train_loader, desc)):
            wait += waited
            with self._autocast():
                out = self.model(batch)
            loss = out["loss"]
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            labels = batch[self.label_key]
            clips += int(labels.shape[0])
            tracker.update(step_terms(out), output_logits(out["output"]).float(), labels)
            if self.progress is not None and i % 10 == 0:
                elapsed = time.perf_counter() - start
                self._postfix(loss, clips * self.dist.world_size / elapsed, wait / elapsed)
        elapsed = time.perf_counter() - start
        res = {f"train_{k}": v for k, v in tracker.compute(self.device).items()}
        if not math.isfinite(res.get("train_loss", 0.0)):
            log.warning("epoch %d: the training loss is not finite", epoch + 1)
        res["clips_per_s"] = clips * self.dist.world_size / elapsed if elapsed else 0.0
        res["data_wait"] = wait / elapsed if elapsed else 0.0
        res["epoch_s"] = elapsed
        return res

    def precise_bn(self, desc: str = "precise BN") -> int:
        """Recompute the BatchNorm statistics of the trained network over
        `run.precise_bn_batches` batches of this epoch's training data (`precise_bn.py`)."""
        if not self.cfg.run.precise_bn_batches:
            return 0
        with (
            contextlib.closing(self._batches(self.train_loader, desc)) as it,
            self._autocast(),
        ):
            return update_bn_stats(self.step, (b for b, _ in it), self.cfg.run.precise_bn_batches)

    def _epoch_name(self, epoch: int) -> str:
        return f"epoch {epoch + 1}/{self.cfg.optim.epochs}"

    def _postfix(self, loss: torch.Tensor, rate: float, wait: float) -> None:
        # float(loss) syncs the GPU: done every tenth batch only, and only with a bar.
        self._bar.set_postfix(
            {"loss": f"{float(loss.detach()):.3f}", "clips/s": f"{rate:.1f}", "wait": f"{wait:.0%}"}
        )

    @torch.no_grad()
    def evaluate(self, prefix: str = "val", desc: str | None = None) -> dict[str, float]:
        """Loss terms and top-1/top-5 of the step in eval mode on the evaluation set."""
        if self.eval_loader is None:
            return {}
        self.step.eval()
        tracker = MeanTracker()
        for batch, _ in self._batches(self.eval_loader, desc or prefix):
            with self._autocast():
                out = self.step(batch)
            labels = batch[self.label_key]
            tracker.update(step_terms(out), output_logits(out["output"]).float(), labels)
        return {f"{prefix}_{k}": v for k, v in tracker.compute(self.device).items()}

    def _log_tensorboard(self, row: Mapping[str, float]) -> None:
        if not self.cfg.run.tensorboard:
            return
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.cfg.run.tensorboard = False
                log.info("tensorboard is not installed; metrics go to metrics.csv only")
                return
            self._tb = SummaryWriter(str(self.run_dir / "tb"))
        for k, v in row.items():
            if k != "epoch":
                self._tb.add_scalar(k, v, int(row["epoch"]))
        self._tb.flush()


def _fmt(row: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch")
