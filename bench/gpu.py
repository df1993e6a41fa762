"""Throughput and memory of every training step at the paper's settings, on one GPU.

For the baseline and each MTCD stage (translator, IR teacher, pseudo-IR assistant, RGB student
with its frozen teacher, assistant and translator), at the `paper` preset (T=32, 256 -> 224
crops, batch 32, bf16 autocast on CUDA; the translator at its own paper settings, batch 8 clips,
64 frames per batch, fp32 as its loop runs):

* compute: clips/s of forward + backward + optimizer step on a batch already on the device
  (one clip of the dataset repeated, so the step sees exactly what the loader hands over);
* loader: clips/s of training epochs that read the pre-resized cache through the real
  DataLoader (`Trainer.train_epoch`; the translator through its own loader), the first epoch
  left out (worker start-up), and the share of that time spent waiting for data;
* peak: the highest GPU memory allocated during the compute steps (`max_memory_allocated`);
  at a batch that does not fit, the batch is halved until it does and the table says so;
* estimate: what `engine/memory.py` estimates for that step before any work (`*`: without
  activations, which it could not trace), to check the estimate against the peak.

The data is a toy dark-RGB/IR dataset written at the preset's resize and cached with
`mgrtrain prepare` (about a minute on 16 cores), or `--data DIR`, any dataset root with aligned
rgb/ir clips and its cache. Under 5 minutes on one GPU:

    python bench/gpu.py                      # a GPU machine: the table for bench/RESULTS.md
    python bench/gpu.py --json gpu.json      # also the numbers as JSON
    python bench/gpu.py --smoke              # CPU, tiny shapes, a few steps (run by the tests)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import default_collate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgrdark_train.builders import build_dataset  # noqa: E402
from mgrdark_train.engine.config import TrainConfig  # noqa: E402
from mgrdark_train.engine.device import autocast_dtype, move_batch, resolve_device  # noqa: E402
from mgrdark_train.engine.memory import (  # noqa: E402
    estimate_step_memory,
    meta_batch,
    optimizer_state_slots,
)
from mgrdark_train.engine.optim import build_optimizer  # noqa: E402
from mgrdark_train.engine.trainer import Trainer  # noqa: E402
from mgrdark_train.engine.workers import loader_workers  # noqa: E402
from mgrdark_train.mtcd.config import MTCDConfig, resolve_mtcd_run  # noqa: E402
from mgrdark_train.mtcd.stages import (  # noqa: E402
    assistant_training_step,
    build_network,
    student_training_step,
    teacher_step,
)
from mgrdark_train.stages.baseline import build_baseline_step  # noqa: E402
from mgrdark_train.translator.stage import build_translator, translator_loader  # noqa: E402
from mgrdark_train.translator.train import TranslatorStep  # noqa: E402

STAGES = ("baseline", "translator", "teacher", "assistant", "student")
SMOKE = {
    "data.num_frames": 4,
    "data.resize": 16,
    "data.crop": 16,
    "optim.batch_size": 4,
    "mtcd.translator.batch_size": 4,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny preset and shapes, a few steps")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when visible)")
    p.add_argument("--data", type=Path, default=None, help="dataset root with its cache")
    p.add_argument("--work", type=Path, default=None, help="where the toy data is written")
    p.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset")
    p.add_argument("--steps", type=int, default=None, help="timed compute steps (default 10)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3)")
    p.add_argument("--epochs", type=int, default=None, help="loader epochs (default 3)")
    p.add_argument("--workers", default="auto", help="DataLoader workers, or auto")
    p.add_argument("--no-loader", action="store_true", help="compute and memory only")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    a = p.parse_args(argv)
    a.device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    a.steps = a.steps or (1 if a.smoke else 10)
    a.warmup = a.warmup or (1 if a.smoke else 3)
    a.epochs = a.epochs or (2 if a.smoke else 3)
    a.stages = [s for s in a.stages.split(",") if s]
    unknown = set(a.stages) - set(STAGES)
    if unknown:
        p.error(f"unknown stages {sorted(unknown)}; expected some of {list(STAGES)}")
    return a


def configs(a: argparse.Namespace, root: Path) -> tuple[TrainConfig, MTCDConfig]:
    workers = a.workers if a.workers == "auto" else int(a.workers)
    overrides = {
        "data.root": str(root),
        "data.cache": True,
        "data.in_memory": False,
        "data.workers": workers,
        "data.eval_subset": None,
        "data.light": None,
        "run.device": a.device,
        "run.tensorboard": False,
        "run.precise_bn_batches": 0,
    }
    sets = dict(SMOKE) if a.smoke else {}
    cfg, mcfg, _ = resolve_mtcd_run(
        preset="tiny" if a.smoke else "paper", overrides=overrides, sets=sets
    )
    return cfg, mcfg


def make_data(a: argparse.Namespace, cfg: TrainConfig) -> Path:
    """A toy dark-RGB/IR dataset at the preset's resize and its cache (once per work folder)."""
    from click.testing import CliRunner

    from mgrdark_train.cli import cli
    from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset

    d = cfg.data
    work = a.work or Path(__file__).resolve().parent / "_work" / "gpu"
    root = work / f"toy_s{d.resize}_t{d.num_frames}"
    # Enough clips for a few batches per epoch: 4 classes x subjects x clips per class.
    subjects, per_class = (2, 1) if a.smoke else (4, 4)
    if not (root / "splits" / "subjects.parquet").exists():
        write_dark_ir_dataset(
            root,
            classes=4,
            train_subjects=subjects,
            test_subjects=1,
            clips_per_class=per_class,
            num_frames=(d.num_frames + 1, d.num_frames + 8),
            size=d.resize,
            seed=0,
        )
    argv = ["prepare", "-d", str(root), "--size", str(d.resize), "--modality", "rgb"]
    argv += ["--modality", "ir", "--workers", str(max(1, loader_workers("auto"))), "-q"]
    res = CliRunner().invoke(cli, argv, catch_exceptions=False)
    if res.exit_code:
        sys.exit(f"mgrtrain prepare failed:\n{res.output}")
    return root


@dataclasses.dataclass
class Bench:
    """One stage: its step, what it reads, and how one training step runs."""

    name: str
    step: nn.Module
    modalities: tuple[str, ...]
    batch_size: int
    amp: torch.dtype | None


def build(name: str, cfg: TrainConfig, mcfg: MTCDConfig, classes: int, amp) -> Bench:
    if name == "translator":
        t = mcfg.translator
        step = TranslatorStep(
            build_translator(t),
            gan_weight=t.gan_weight,
            hot_weight=t.hot_weight,
            frames_per_batch=t.frames_per_batch,
        )
        return Bench(name, step, ("rgb", "ir"), t.batch_size, None)  # fit_translator: fp32
    if name == "baseline":
        rgb = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, modality="rgb"))
        return Bench(name, build_baseline_step(rgb, classes), ("rgb",), cfg.optim.batch_size, amp)
    if name == "teacher":
        return Bench(name, teacher_step(cfg, classes), ("ir",), cfg.optim.batch_size, amp)
    # Frozen networks as the full row uses them; untrained weights cost the same.
    teacher, translator = build_network(cfg, classes, "ir"), build_translator(mcfg.translator)
    if name == "assistant":
        step = assistant_training_step(cfg, mcfg, classes, translator=translator, teacher=teacher)
    else:
        assistant = build_network(cfg, classes, "ir")
        step = student_training_step(
            cfg, mcfg, classes, teacher=teacher, assistant=assistant, translator=translator
        )
    return Bench(name, step, ("rgb", "ir"), cfg.optim.batch_size, amp)


def trainer(b: Bench, cfg: TrainConfig) -> Callable[[dict], None]:
    """One training step on a batch on the device, as the stage's own loop runs it."""
    params = [p for p in b.step.parameters() if p.requires_grad]
    if b.name == "translator":
        opt = torch.optim.Adam(b.step.gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
        if b.step.disc is not None:
            b.step.critic_optimizer = torch.optim.Adam(b.step.disc.parameters(), lr=2e-4)
    else:
        opt = build_optimizer(params, cfg.optim)

    def one(batch: dict) -> None:
        ctx = torch.autocast(batch_device(batch).type, dtype=b.amp) if b.amp else None
        with ctx or contextlib.nullcontext():
            loss = b.step(batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return one


def batch_device(batch: dict) -> torch.device:
    return next(v.device for v in batch.values() if isinstance(v, torch.Tensor))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def estimate(b: Bench, cfg: TrainConfig, item: dict, batch_size: int) -> dict:
    """`engine/memory.py`'s estimate of the step (before its optimizers exist)."""
    slots = (
        2 if b.name == "translator" else optimizer_state_slots(cfg.optim.name, cfg.optim.momentum)
    )
    est = estimate_step_memory(
        b.step, meta_batch(item, batch_size), optimizer_slots=slots, amp=b.amp
    )
    return {
        "estimate_bytes": est.total_bytes,
        "estimate_has_activations": est.activation_bytes is not None,
    }


def compute(b: Bench, cfg, dataset, device, a) -> dict:
    """clips/s on a fixed batch and the peak memory; halves the batch until it fits."""
    item = dataset[(0, 0)]
    batch_size = b.batch_size
    while True:
        try:
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            b.step.to(device).train()
            guess = estimate(b, cfg, item, batch_size)
            one = trainer(b, cfg)
            batch = move_batch(default_collate([item] * batch_size), device, False)
            for _ in range(a.warmup):
                one(batch)
            sync(device)
            t0 = time.perf_counter()
            for _ in range(a.steps):
                one(batch)
            sync(device)
            rate = batch_size * a.steps / (time.perf_counter() - t0)
            peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
            return {"batch": batch_size, "compute_clips_s": rate, "peak_bytes": peak, **guess}
        except torch.OutOfMemoryError:
            if batch_size == 1:
                return {"batch": 0, "compute_clips_s": None, "peak_bytes": None, **guess}
            batch_size //= 2
            print(f"  {b.name}: out of memory, trying batch {batch_size}", flush=True)


def loader(b: Bench, cfg: TrainConfig, mcfg: MTCDConfig, dataset, batch: int, a) -> dict:
    """clips/s and data-wait share of real epochs (the first one left out)."""
    if b.name != "translator":
        c = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, batch_size=batch))
        with tempfile.TemporaryDirectory() as tmp:
            t = Trainer(b.step, dataset, cfg=c, run_dir=tmp)
            rows = [t.train_epoch(e) for e in range(a.epochs)][1:]
        return {
            "loader_clips_s": statistics.mean(r["clips_per_s"] for r in rows),
            "data_wait": statistics.mean(r["data_wait"] for r in rows),
        }
    tcfg = dataclasses.replace(mcfg.translator, batch_size=batch)
    device = resolve_device(cfg.run.device)
    dl = translator_loader(dataset, cfg, tcfg, shuffle=True)
    one = trainer(b, cfg)
    rates, waits = [], []
    for epoch in range(a.epochs):
        dl.sampler.set_epoch(epoch)
        wait, clips, start = 0.0, 0, time.perf_counter()
        it = iter(dl)
        while True:
            t0 = time.perf_counter()
            try:
                cpu_batch = next(it)
            except StopIteration:
                break
            batch_on_device = move_batch(cpu_batch, device, False)
            wait += time.perf_counter() - t0
            one(batch_on_device)
            clips += int(cpu_batch["label"].shape[0])
        sync(device)
        elapsed = time.perf_counter() - start
        rates.append(clips / elapsed)
        waits.append(wait / elapsed)
    return {"loader_clips_s": statistics.mean(rates[1:]), "data_wait": statistics.mean(waits[1:])}


def header(a: argparse.Namespace, cfg: TrainConfig, device: torch.device) -> str:
    d, o = cfg.data, cfg.optim
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    amp = autocast_dtype(cfg.run.amp, device)
    return (
        f"bench/gpu.py{' --smoke' if a.smoke else ''}: {where}, torch {torch.__version__}, "
        f"{cfg.model.name}-{cfg.model.depth} width {cfg.model.width:g}, T={d.num_frames}, "
        f"{d.resize} -> {d.crop}, batch {o.batch_size}, "
        f"{'bf16 autocast' if amp is not None else 'fp32'}, "
        f"{loader_workers(cfg.data.workers)} DataLoader workers, {os.cpu_count()} CPUs"
    )


def fmt(r: dict) -> str:
    rate = r.get("compute_clips_s")
    peak = r.get("peak_bytes")
    loaded = r.get("loader_clips_s")
    cells = [
        f"{r['stage']:10s}",
        f"{r['batch']:5d}",
        "      OOM" if rate is None else f"{rate:9.1f}",
        "        -" if loaded is None else f"{loaded:9.1f}",
        "     -" if loaded is None else f"{100 * r['data_wait']:5.0f}%",
        "        -" if peak is None else f"{peak / 2**30:6.1f} GiB",
        _gib(r.get("estimate_bytes")) + ("" if r.get("estimate_has_activations") else " *"),
    ]
    return "  ".join(cells)


def _gib(n: int | None) -> str:
    if n is None:
        return "        -"
    return f"{n / 2**30:6.1f} GiB" if n >= 2**28 else f"{n / 2**20:6.1f} MiB"


def main(argv: list[str] | None = None) -> list[dict]:
    a = parse_args(argv)
    if a.smoke and a.device == "cpu":
        torch.set_num_threads(1)  # tiny tensors gain nothing from threads, and shared CPUs lose
    cfg, mcfg = configs(a, a.data or Path("."))
    root = a.data or make_data(a, cfg)
    cfg, mcfg = configs(a, root)
    device = resolve_device(cfg.run.device)
    amp = autocast_dtype(cfg.run.amp, device)
    print(header(a, cfg, device), flush=True)
    print("stage       batch  compute/s  loader/s   wait       peak   estimate", flush=True)
    results = []
    for name in a.stages:
        torch.manual_seed(0)
        dataset = None
        b = build(name, cfg, mcfg, 10, amp)
        dataset = build_dataset(cfg, "train", b.modalities)
        row = {"stage": name, **compute(b, cfg, dataset, device, a)}
        if not a.no_loader and row["batch"]:
            row.update(loader(b, cfg, mcfg, dataset, row["batch"], a))
        results.append(row)
        print(fmt(row), flush=True)
        del b
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if a.json:
        a.json.write_text(json.dumps({"header": header(a, cfg, device), "rows": results}, indent=2))
    return results


if __name__ == "__main__":
    main()
