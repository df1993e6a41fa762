"""Clips leave the workers as decoded values; the steps normalise them to the numbers the
loader used to produce (exhaustively, for every uint8 and uint16 value)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgrdark_train.data import DEFAULT_NORMALIZATION, ClipDataset, clip_input, normalize_clip
from mgrdark_train.data.normalize import Normalization
from mgrdark_train.engine.steps import ClassificationStep
from mgrdark_train.mtcd.steps import StudentStep
from mgrdark_train.testing import ClipSpec, write_dataset_root
from mgrdark_train.testing.reference import normalize_before
from mgrdark_train.translator import create_translator

ALL = ("rgb", "ir", "depth")


def _exact(clip: torch.Tensor, norm: Normalization) -> torch.Tensor:
    t = clip.double() / norm.scale
    if norm.clip:
        t = t.clamp(0.0, 1.0)
    mean = torch.tensor(norm.mean, dtype=torch.float64).view(-1, 1, 1, 1)
    return (t - mean) / torch.tensor(norm.std, dtype=torch.float64).view(-1, 1, 1, 1)


def _every_value(modality: str) -> np.ndarray:
    """(T, H, W[, C]) frames holding every value the modality can decode to."""
    if modality == "depth":
        return np.arange(65536, dtype=np.uint16).reshape(1, 256, 256)
    v = np.arange(256, dtype=np.uint8)
    return np.ascontiguousarray(np.broadcast_to(v[None, :, None, None], (1, 256, 1, 3)))


@pytest.mark.parametrize("modality", ALL)
def test_device_normalisation_gives_the_loaders_numbers(modality):
    norm = DEFAULT_NORMALIZATION[modality]
    frames = _every_value(modality)
    clip = torch.from_numpy(frames if frames.ndim == 4 else frames[..., None]).permute(3, 0, 1, 2)
    new, old, exact = normalize_clip(clip, norm), normalize_before(frames, norm), _exact(clip, norm)
    assert new.dtype == torch.float32 and new.shape == old.shape
    # Units of one ulp at the largest input magnitude (the sums cancel near zero, where a
    # relative ulp means nothing): the fused op is within 1 of the exact value, the old
    # step-by-step formula within 1.2, and the two within 2 of each other.
    ulp = torch.finfo(torch.float32).eps * exact.abs().max().item()
    assert (new.double() - exact).abs().max().item() <= ulp
    assert (new - old).abs().max().item() <= 2 * ulp
    # In bf16, the GPU autocast dtype, the numbers are the same (one depth value of 65,536
    # rounds the other way at a tie).
    bf16 = normalize_clip(clip, norm, torch.bfloat16)
    assert bf16.dtype == torch.bfloat16
    assert int((bf16 != old.to(torch.bfloat16)).sum()) <= (1 if modality == "depth" else 0)


def test_depth_beyond_the_far_limit_reads_as_far():
    norm = DEFAULT_NORMALIZATION["depth"]
    clip = torch.tensor([0, 4500, 4501, 65535], dtype=torch.uint16).view(1, 1, 1, 4)
    out = normalize_clip(clip, norm).flatten().tolist()
    assert out[0] == pytest.approx(-2.0) and out[1] == out[2] == out[3] == pytest.approx(2.0)


def test_clip_input_normalises_integers_in_the_autocast_dtype_and_passes_floats():
    batch = {
        "rgb": torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8),
        "ir": torch.randn(2, 3, 4, 8, 8),
    }
    assert clip_input(batch, "ir") is batch["ir"]  # already normalised (pseudo-IR, tests)
    want = normalize_clip(batch["rgb"], DEFAULT_NORMALIZATION["rgb"])
    assert torch.equal(clip_input(batch, "rgb"), want)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = clip_input(batch, "rgb")
    assert got.dtype == torch.bfloat16 and torch.equal(got, want.to(torch.bfloat16))
    with pytest.raises(ValueError, match="1 channels, the clip has 3"):
        clip_input(batch, "rgb", modality="depth")
    with pytest.raises(TypeError, match="integer"):
        normalize_clip(batch["ir"], DEFAULT_NORMALIZATION["ir"])


def test_normalisation_keeps_the_memory_format():
    x = torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8)
    x = x.contiguous(memory_format=torch.channels_last_3d)
    out = normalize_clip(x, DEFAULT_NORMALIZATION["rgb"])
    assert out.is_contiguous(memory_format=torch.channels_last_3d)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    specs = [ClipSpec("S01", 4, 12), ClipSpec("S01", 0, 9)]
    return write_dataset_root(tmp_path_factory.mktemp("norm"), specs, {"S01": "train"})


def test_samples_are_decoded_values_and_normalise_to_the_old_samples(small_root):
    kw = dict(split="subjects", subset="train", modalities=ALL, num_frames=4, resize=32, crop=24)
    raw, normalized = ClipDataset(small_root, **kw), ClipDataset(small_root, **kw, normalized=True)
    for i in range(len(raw)):
        s, n = raw[(i, 0)], normalized[(i, 0)]
        for m in ALL:
            norm = DEFAULT_NORMALIZATION[m]
            assert torch.equal(normalize_clip(s[m], norm), n[m])
            frames = s[m].numpy().transpose(1, 2, 3, 0)
            old = normalize_before(frames[..., 0] if m == "depth" else frames, norm)
            torch.testing.assert_close(n[m], old, rtol=0, atol=3e-7)


class _Net(torch.nn.Module):
    """A network with the MTCD output contract (logits and an embedding), a few weights."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc = torch.nn.Linear(3, 5)

    def forward(self, x: torch.Tensor) -> dict:
        pooled = x.float().mean((2, 3, 4))
        return {"logits": self.fc(pooled), "embedding": pooled}


def test_steps_normalise_loader_batches_like_normalised_ones():
    g = torch.Generator().manual_seed(0)
    rgb, ir = (torch.randint(0, 256, (2, 3, 2, 4, 4), dtype=torch.uint8, generator=g) for _ in "ab")
    loader = {"rgb": rgb, "ir": ir, "label": torch.tensor([1, 3])}
    normalised = {
        **loader,
        "rgb": normalize_clip(rgb, DEFAULT_NORMALIZATION["rgb"]),
        "ir": normalize_clip(ir, DEFAULT_NORMALIZATION["ir"]),
    }
    step = ClassificationStep(_Net(0), input_key="ir")
    a, b = step(loader), step(normalised)
    assert torch.equal(a["output"], b["output"]) and torch.equal(a["loss"], b["loss"])
    student = StudentStep(
        _Net(0), teacher=_Net(1), assistant=_Net(2), translator=create_translator("grayscale")
    ).train()
    a, b = student(loader), student(normalised)
    for term in ("loss", "kd_ir_rgb", "kd_fusion_rgb"):
        assert torch.equal(a[term], b[term]), term
