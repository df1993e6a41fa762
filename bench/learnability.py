"""In-memory learnability probe: how far CE alone, and CE + beta * L_kd(IR->RGB), get.

Loads the 8 evaluation-sampled frames of every clip (at SIZE x SIZE) of a
dataset's train and test subjects once into memory, then trains the tiny preset's MTCD network
with the real step modules (`ClassificationStep`, `StudentStep`) in a plain loop: random crops,
AdamW lr 2e-3, one x0.1 decay at 80% of the epochs, precise BN before each evaluation (since
2026-12-02; earlier figures were read with running statistics). About 1 s per epoch for 240
clips with two torch threads (`THREADS`), against minutes for the trainer decoding every
epoch; the figures in RESULTS.md ("tiny", "ablation") that say "probe" come from here.

    python bench/learnability.py -d DATA --epochs 100 --runs ir rgb kd1
    python bench/learnability.py -d DATA --light daylight --runs rgb

Runs: ``ir`` (also the teacher of later kd runs), ``rgb``, ``kdB`` (RGB student with beta B,
after an ``ir`` run in the same call).
"""

import argparse
import os
import time
from pathlib import Path

import torch

from mgrdark_train.data.dataset import ClipDataset
from mgrdark_train.engine.config import resolve_config
from mgrdark_train.engine.precise_bn import update_bn_stats
from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.mtcd.stages import build_network
from mgrdark_train.mtcd.steps import StudentStep

torch.set_num_threads(int(os.environ.get("THREADS", "2")))


def load(data, subset, size, light, cache):
    where = Path(data).resolve().as_posix().strip("/").replace("/", "_")
    name = f"{where}_{subset}_{size}_{light}"
    path = Path(__file__).resolve().parent / "_work" / "learnability" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return torch.load(path)
    ds = ClipDataset(
        data,
        split="subjects",
        subset=subset,
        modalities=("rgb", "ir"),
        num_frames=8,
        resize=size,
        crop=size,
        cache=cache,
        train=False,
        light=None if light == "all" else light,
        normalized=True,
    )
    s = [ds[i] for i in range(len(ds))]
    out = {k: torch.stack([x[k] for x in s]) for k in ("rgb", "ir")}
    out["label"] = torch.tensor([x["label"] for x in s])
    torch.save(out, path)
    return out


def fit(step, train, test, key, epochs, crop_size, seed, lr=2e-3, bs=8, log="", eval_every=5):
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in step.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, int(epochs * 0.8), 0.1)
    n = len(train["label"])
    t0 = time.perf_counter()
    for ep in range(epochs):
        step.train()
        sums = {}
        for idx in torch.randperm(n, generator=gen).split(bs):
            room = train["rgb"].shape[-1] - crop_size + 1
            i, j = torch.randint(0, room, (2,), generator=gen).tolist()
            b = {k: train[k][idx][..., i : i + crop_size, j : j + crop_size] for k in ("rgb", "ir")}
            b["label"] = train["label"][idx]
            out = step(b)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            for k, v in out.items():
                if k != "output":
                    sums[k] = sums.get(k, 0.0) + v.item() * len(idx)
        sched.step()
        if (ep + 1) % eval_every == 0 or ep + 1 == epochs:
            precise_bn(step, train, crop_size, bs)
            acc = evaluate(step, test, key, crop_size)
            tr = evaluate(step, train, key, crop_size)
            terms = " ".join(f"{k} {v / n:.3f}" for k, v in sums.items())
            print(
                f"{log} ep {ep + 1:2d} {terms} train {tr:.3f} test {acc:.3f} "
                f"({time.perf_counter() - t0:.0f}s)",
                flush=True,
            )
    return acc


def precise_bn(step, data, crop_size, bs=8):
    """BatchNorm statistics recomputed over the centre-cropped training clips (as the trainer
    does before it evaluates): a running average of the last batches alone is noisy enough to
    move test top-1 by tens of points between neighbouring epochs."""
    c = (data["rgb"].shape[-1] - crop_size) // 2
    batches = (
        {k: data[k][idx][..., c : c + crop_size, c : c + crop_size] for k in ("rgb", "ir")}
        | {"label": data["label"][idx]}
        for idx in torch.arange(len(data["label"])).split(bs)
    )
    update_bn_stats(step, batches)


@torch.no_grad()
def evaluate(step, data, key, crop_size):
    step.eval()
    c = (data[key].shape[-1] - crop_size) // 2
    correct = 0
    for idx in torch.arange(len(data["label"])).split(32):
        b = {
            key: data[key][idx][..., c : c + crop_size, c : c + crop_size],
            "label": data["label"][idx],
        }
        correct += (step(b)["output"].argmax(1) == b["label"]).sum().item()
    return correct / len(data["label"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-d", "--data", required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--crop", type=int, default=56)
    p.add_argument("--light", default="dark")
    p.add_argument("--cache", action="store_true")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", nargs="+", default=["ir", "rgb", "kd0.3"])
    args = p.parse_args()
    train = load(args.data, "train", args.size, args.light, args.cache)
    test = load(args.data, "test", args.size, args.light, args.cache)
    print(
        f"train {len(train['label'])} test {len(test['label'])} clips, "
        f"shape {tuple(train['rgb'].shape)}"
    )
    cfg = resolve_config(preset="tiny")
    teacher = None
    for run in args.runs:
        torch.manual_seed(args.seed)
        if run in ("ir", "rgb"):
            net = build_network(cfg, 10, run)
            step = ClassificationStep(net, input_key=run)
            acc = fit(step, train, test, run, args.epochs, args.crop, args.seed, log=run)
            if run == "ir":
                teacher = net
        elif run.startswith("kd"):
            if teacher is None:
                raise SystemExit(f"{run} needs an 'ir' run before it (the teacher)")
            beta = float(run[2:])
            step = StudentStep(
                build_network(cfg, 10, "rgb"),
                teacher=teacher,
                use_fusion_kd=False,
                use_ir_kd=True,
                beta=beta,
            )
            acc = fit(step, train, test, "rgb", args.epochs, args.crop, args.seed, log=run)
        print(f"== {run}: test {acc:.3f}", flush=True)


if __name__ == "__main__":
    main()
