"""How well the translator reproduces the person, not just the room (RESULTS.md "translator").

Trains the tiny U-Net on the dark RGB/IR frame pairs of a dataset's training subjects in memory,
once per loss variant, and reports after each epoch the L1 to the real IR of the test subjects
over whole frames and over person pixels (normalised IR > 1.2: much warmer than any room).

    python bench/translator.py -d DATA --variants plain inorm hot --epochs 8
    python bench/translator.py -d DATA --classify RUN/translator    # can pseudo-IR be learned?
    python bench/translator.py -d DATA --classify GAN_STAGE SDA_STAGE --size 32 --crop 28

`--classify STAGE_DIR ...` instead trains the tiny ResNet-10 (AdamW, 25 epochs with one x0.1
decay at 80%, CE only, centre clips preloaded, precise BN before testing; `--classify-seeds N`
classifiers per input) on IR, on dark RGB and on the pseudo-IR of each trained translator
stage, and prints the test top-1 of each (and each translator's L1 to the real IR over whole
frames and over person pixels): what an assistant could reach at best from that translator.

DATA needs aligned rgb/ir clips, a `subjects` split and, with --cache (the default), the cache
of the --size (`mgrtrain prepare -d DATA --size 64 --modality rgb --modality ir`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mgrdark_train.data.dataset import ClipDataset
from mgrdark_train.engine.precise_bn import update_bn_stats
from mgrdark_train.models.resnet3d import create_resnet3d
from mgrdark_train.translator.apply import clip_to_frames, translate_clip
from mgrdark_train.translator.networks import UNetTranslator
from mgrdark_train.translator.stage import load_translator
from mgrdark_train.translator.train import translator_losses

PERSON = 1.2
"""Normalised IR above which a pixel belongs to a person in `mgrdata synth` data."""


SIZE = {"resize": 64, "crop": 56, "cache": True}
"""Clip geometry of the probe (`--size`, `--crop`, `--no-cache` change it)."""


def load_samples(data: str, subset: str) -> list[dict]:
    """Centre clips (8 frames, 64 -> 56) of one subset with aligned rgb and ir, from the cache."""
    ds = ClipDataset(
        data,
        split="subjects",
        subset=subset,
        modalities=("rgb", "ir"),
        num_frames=8,
        **SIZE,
        train=False,
        normalized=True,
    )
    return [ds[i] for i in range(len(ds))]


def load_frames(data: str, subset: str) -> tuple[torch.Tensor, torch.Tensor]:
    samples = load_samples(data, subset)
    return tuple(clip_to_frames(torch.stack([s[k] for s in samples])) for k in ("rgb", "ir"))


def run(variant: str, data: tuple, epochs: int, seed: int) -> None:
    rgb, ir, rgb_test, ir_test = data
    torch.manual_seed(seed)
    gen = UNetTranslator(base_channels=8, depth=3)
    opt = torch.optim.Adam(gen.parameters(), lr=2e-3, betas=(0.5, 0.999))

    def prep(x: torch.Tensor) -> torch.Tensor:
        if variant != "inorm":
            return x
        mean, std = x.mean(dim=(1, 2, 3), keepdim=True), x.std(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (std + 1e-3)

    person = (ir_test[:, :1] > PERSON).float()
    start = time.perf_counter()
    for epoch in range(epochs):
        gen.train()
        for i in torch.randperm(len(rgb)).split(32):
            hot = 9.0 if variant == "hot" else 0.0
            loss = translator_losses(gen, None, prep(rgb[i]), ir[i], hot_weight=hot)["l1"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        gen.eval()
        with torch.no_grad():
            err = (gen(prep(rgb_test)) - ir_test).abs()
        frame_l1 = err.mean().item()
        person_l1 = (err * person).sum().item() / (err.shape[1] * person.sum().item())
        print(
            f"{variant:6s} epoch {epoch + 1:2d}  frame L1 {frame_l1:.3f}  person L1 "
            f"{person_l1:.3f}  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


def classify(
    data: str, stage_dirs: list[str], epochs: int = 25, seed: int = 0, seeds: int = 1
) -> None:
    translators = {}
    for stage_dir in stage_dirs:
        t = load_translator(stage_dir).eval()
        translators[f"pseudo-ir {Path(stage_dir).parent.name}/{Path(stage_dir).name}"] = t

    def load(subset: str) -> dict[str, torch.Tensor]:
        samples = load_samples(data, subset)
        rgb = torch.stack([s["rgb"] for s in samples])
        out = {
            "ir": torch.stack([s["ir"] for s in samples]),
            "rgb": rgb,
            "label": torch.tensor([s["label"] for s in samples]),
        }
        with torch.no_grad():
            out |= {name: translate_clip(t, rgb) for name, t in translators.items()}
        return out

    train, test = load("train"), load("test")
    person = test["ir"][:, :1] > PERSON
    for name in translators:
        err = (test[name] - test["ir"]).abs().mean(1, keepdim=True)
        print(
            f"{name}: L1 to real IR on test frames {err.mean().item():.3f}, "
            f"on person pixels {err[person].mean().item():.3f}",
            flush=True,
        )
    for source in ("ir", "rgb", *translators):
        accs = [_fit_and_test(train, test, source, epochs, seed + k) for k in range(seeds)]
        mean = sum(accs) / len(accs)
        print(
            f"{source:30s} test top-1 {mean:.2f} (seeds: {' '.join(f'{a:.2f}' for a in accs)}; "
            f"{len(train['label'])} train / {len(test['label'])} test clips, {epochs} epochs)",
            flush=True,
        )


def _fit_and_test(train: dict, test: dict, source: str, epochs: int, seed: int) -> float:
    """The tiny ResNet-10 trained with CE on `source` (AdamW, x0.1 at 80% of the epochs), its
    BatchNorm statistics recomputed over the training clips (precise BN, as the trainer does),
    then its test top-1."""
    torch.manual_seed(seed)
    net = create_resnet3d(depth=10, width=0.25, num_classes=10, dropout=0.2, stem_temporal_kernel=3)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, max(1, int(epochs * 0.8)), 0.1)
    x, y = train[source], train["label"]
    for _ in range(epochs):
        net.train()
        for i in torch.randperm(len(x)).split(8):
            loss = F.cross_entropy(net(x[i])["logits"], y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    batches = ({"x": x[i]} for i in torch.arange(len(x)).split(8))
    update_bn_stats(net, batches, forward=lambda b: net(b["x"]))
    net.eval()
    with torch.no_grad():
        return (net(test[source])["logits"].argmax(1) == test["label"]).float().mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--data", required=True)
    p.add_argument(
        "--variants",
        nargs="+",
        default=["plain", "inorm", "hot"],
        choices=["plain", "inorm", "hot"],
    )
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--classify",
        metavar="STAGE_DIR",
        nargs="+",
        help="train a classifier on IR, dark RGB and each translator's pseudo-IR",
    )
    p.add_argument("--size", type=int, default=64, help="resize (default 64)")
    p.add_argument("--crop", type=int, default=56, help="centre crop (default 56)")
    p.add_argument("--no-cache", action="store_true", help="decode the clips, not the cache")
    p.add_argument("--cache-format", default="jpeg", help="the cache's format (default jpeg)")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--classify-epochs", type=int, default=25)
    p.add_argument("--classify-seeds", type=int, default=1, help="classifiers per input")
    args = p.parse_args()
    SIZE.update(resize=args.size, crop=args.crop, cache=not args.no_cache)
    SIZE["cache_format"] = args.cache_format
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.classify:
        classify(
            args.data,
            args.classify,
            epochs=args.classify_epochs,
            seed=args.seed,
            seeds=args.classify_seeds,
        )
        return
    data = (*load_frames(args.data, "train"), *load_frames(args.data, "test"))
    print(
        f"{len(data[0])} training frames, {len(data[2])} test frames, person pixels "
        f"{(data[3][:, :1] > PERSON).float().mean().item():.3%} of the test frames"
    )
    for variant in args.variants:
        run(variant, data, args.epochs, args.seed)


if __name__ == "__main__":
    main()
