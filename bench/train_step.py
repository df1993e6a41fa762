"""Training-step throughput: fp32 vs bf16 autocast vs channels_last_3d, and the data-wait share.

(a) step only: a `ClassificationStep` around the 3D ResNet on a random batch already on the
    device (forward, backward, SGD update), after warm-up steps;
(b) end to end: one `Trainer` epoch over synthetic pattern clips read by DataLoader workers,
    reporting the trainer's own clips/s and data-wait fraction.

    python bench/train_step.py --device cpu  --depth 10 --width 0.25 --frames 8 --crop 56
    python bench/train_step.py --device cuda --depth 50 --frames 32 --crop 224 --batch 8
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgrdark_train.engine.config import resolve_config  # noqa: E402
from mgrdark_train.engine.steps import ClassificationStep  # noqa: E402
from mgrdark_train.models import create_resnet3d  # noqa: E402


def make_step(a: argparse.Namespace, *, bf16: bool, channels_last: bool):
    """A closure running one training step (forward, backward, SGD) on a fixed batch."""
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model = create_resnet3d(depth=a.depth, width=a.width, num_classes=10)
    step = ClassificationStep(model).to(dev)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    step = step.to(memory_format=fmt)
    opt = torch.optim.SGD(step.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(a.batch, 3, a.frames, a.crop, a.crop, device=dev).contiguous(memory_format=fmt)
    batch = {"rgb": x, "label": torch.randint(0, 10, (a.batch,), device=dev)}
    ctx = (
        (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    )

    def one() -> None:
        with ctx():
            loss = step(batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        one()
    return one


def step_rates(a: argparse.Namespace) -> dict[str, list[float]]:
    """clips/s of each mode, measured in interleaved rounds (a shared machine drifts)."""
    modes = {
        "fp32": (False, False),
        "bf16": (True, False),
        "fp32 channels_last_3d": (False, True),
        "bf16 channels_last_3d": (True, True),
    }
    steps = {name: make_step(a, bf16=b, channels_last=c) for name, (b, c) in modes.items()}
    rates: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(a.rounds):
        for name, one in steps.items():
            if a.device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                one()
            if a.device == "cuda":
                torch.cuda.synchronize()
            rates[name].append(a.batch * a.steps / (time.perf_counter() - t0))
    return rates


def end_to_end(a: argparse.Namespace, workers: int) -> dict[str, float]:
    from mgrdark_train.stages.run import train_run
    from mgrdark_train.testing import write_pattern_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = write_pattern_dataset(
            Path(tmp) / "data",
            train_subjects=4,
            test_subjects=1,
            clips_per_class=4,
            num_frames=(40, 60),
            size=a.resize,
        )
        cfg = resolve_config(
            preset="tiny",
            overrides={
                "data.root": str(root.root),
                "data.num_frames": a.frames,
                "data.resize": a.resize,
                "data.crop": a.crop,
                "data.workers": workers,
                "data.eval_subset": None,
                "optim.batch_size": a.batch,
                "optim.epochs": 1,
                "model.depth": a.depth,
                "model.width": a.width,
                "run.device": a.device,
                "run.tensorboard": False,
            },
        )
        (row,) = train_run(cfg, Path(tmp) / "run")
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--depth", type=int, default=10)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--resize", type=int, default=64)
    p.add_argument("--crop", type=int, default=56)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="*", default=[0, 1])
    a = p.parse_args()
    print(
        f"device {a.device}  ResNet3d-{a.depth} width {a.width}  batch {a.batch} x "
        f"{a.frames} x {a.crop}^2  torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for name, r in step_rates(a).items():
        print(
            f"  step  {name:22s} best {max(r):7.2f}  median {statistics.median(r):7.2f} "
            f"clips/s  ({a.rounds} rounds of {a.steps} steps)"
        )
    for w in a.workers:
        row = end_to_end(a, w)
        print(
            f"  epoch workers={w}: {row['clips_per_s']:.2f} clips/s, "
            f"data wait {row['data_wait']:.0%}"
        )


if __name__ == "__main__":
    main()
