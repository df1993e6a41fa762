"""`data.gpu_decode`: workers hand over compressed JPEG frames, the step decodes on its device.

On the CPU the frames are decoded with the workers' own decoder, so the hand-off must give
exactly the workers' samples; on a GPU (`-m gpu`, device from $MGRDARK_TEST_DEVICE) nvJPEG
must agree with it up to the decoders' rounding.
"""

from __future__ import annotations

import os

import pytest
import torch
from torch.utils.data import DataLoader

from mgrdark_train.data import ClipDataset, clip_input, prepare_cache
from mgrdark_train.engine.config import resolve_config
from mgrdark_train.engine.resolver import ConfigError
from mgrdark_train.testing import ClipSpec, write_dataset_root
from mgrdark_train.translator import create_translator
from mgrdark_train.translator.train import TranslatorStep, evaluate_l1

MODALITIES = ("rgb", "ir", "depth")


@pytest.fixture(scope="module")
def jpeg_root(tmp_path_factory):
    specs = [ClipSpec("S01", 4, 20), ClipSpec("S01", 0, 9), ClipSpec("S01", 5, 14)]
    root = write_dataset_root(tmp_path_factory.mktemp("jpeg"), specs, {"S01": "train"})
    prepare_cache(root, size=32, fmt="jpeg")
    return root


def _batches(root, encoded: bool):
    ds = ClipDataset(
        root,
        split="subjects",
        subset="train",
        modalities=MODALITIES,
        num_frames=6,
        resize=32,
        crop=24,
        flip=True,
        cache=True,
        encoded=encoded,
    )
    keys = [(i, e) for e in range(3) for i in range(len(ds))]
    return list(DataLoader(ds, batch_size=3, sampler=keys, num_workers=1))


def _inputs(batches, device):
    out = []
    for b in batches:
        b = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in b.items()}
        out.append({m: clip_input(b, m) for m in MODALITIES})
    return out


def test_compressed_hand_off_gives_the_workers_samples_on_the_cpu(jpeg_root):
    plain, encoded = _batches(jpeg_root, False), _batches(jpeg_root, True)
    assert isinstance(encoded[0]["rgb"], list) and isinstance(encoded[0]["rgb"][0][0], bytes)
    assert encoded[0]["depth"].dtype == torch.uint16  # depth is still decoded by the worker
    flipped = torch.cat([b["flipped"] for b in plain])
    assert flipped.any() and not flipped.all()
    for a, b in zip(_inputs(plain, "cpu"), _inputs(encoded, "cpu"), strict=True):
        for m in MODALITIES:
            assert torch.equal(a[m], b[m]), m


def test_translator_step_and_l1_take_compressed_batches(jpeg_root):
    torch.manual_seed(0)
    gen = create_translator("gan", base_channels=4, depth=2)
    step = TranslatorStep(gen, gan_weight=0.0, frames_per_batch=None).eval()
    plain, encoded = _batches(jpeg_root, False), _batches(jpeg_root, True)
    with torch.no_grad():
        for a, b in zip(plain, encoded, strict=True):
            assert torch.equal(step(a)["l1"], step(b)["l1"])
    assert evaluate_l1(gen, plain) == evaluate_l1(gen, encoded)


def test_gpu_decode_is_checked_before_any_work():
    with pytest.raises(ConfigError, match="gpu_decode"):
        resolve_config(overrides={"data.gpu_decode": True, "data.cache": False})
    cfg = resolve_config(
        overrides={"data.gpu_decode": True, "data.cache": True, "data.cache_format": "jpeg"}
    )
    assert cfg.data.gpu_decode


@pytest.mark.gpu
def test_nvjpeg_matches_the_cpu_decoder(jpeg_root):
    pytest.importorskip("torchvision")
    device = os.environ.get("MGRDARK_TEST_DEVICE", "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    plain, encoded = _batches(jpeg_root, False), _batches(jpeg_root, True)
    for a, b in zip(_inputs(plain, "cpu"), _inputs(encoded, device), strict=True):
        for m in MODALITIES:
            assert b[m].device.type == torch.device(device).type
            # Two JPEG decoders (IDCT, chroma upsampling) differ by a few levels at most.
            diff = (a[m] - b[m].cpu()).abs()
            assert diff.mean() < 0.05 and diff.max() < 0.5, m
