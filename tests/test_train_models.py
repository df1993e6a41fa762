"""3D ResNet: output contract, the factory, the variants, activation checkpointing, and 2D -> 3D
inflation equivalence (the other weights files: test_train_pretrained.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mgrdark_data.errors import MgrdarkError
from mgrdark_train.models import STAGE_NAMES, create_model, create_resnet3d, temporal_stride


class _Bottleneck2d(nn.Module):
    """torchvision's ResNet v1.5 bottleneck, with its parameter names."""

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + idt)


class _ResNet50_2d(nn.Module):
    """A reference 2D ResNet-50 named like torchvision's (no torchvision needed)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes, layers = 64, []
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            down = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )
            stage = [_Bottleneck2d(inplanes, planes, stride, down)]
            stage += [_Bottleneck2d(planes * 4, planes, 1, None) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
            inplanes = planes * 4
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        stem = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        r2 = self.layer1(stem)
        r3 = self.layer2(r2)
        r4 = self.layer3(r3)
        r5 = self.layer4(r4)
        return {
            "stem": stem,
            "res2": r2,
            "res3": r3,
            "res4": r4,
            "res5": r5,
            "logits": self.fc(r5.mean(dim=(2, 3))),
        }


@pytest.mark.parametrize(("depth", "channels"), [(10, 1), (18, 3), (50, 3)])
def test_output_contract(depth, channels):
    model = create_resnet3d(depth=depth, num_classes=7, in_channels=channels, width=0.25)
    out = model(torch.randn(2, channels, 8, 32, 32))
    assert set(out) == {"logits", "features", "pooled"}
    assert tuple(out["features"]) == STAGE_NAMES
    assert out["logits"].shape == (2, 7)
    c5 = out["features"]["res5"].shape[1]
    assert out["pooled"].shape == (2, c5) and c5 == model.num_features
    assert out["features"]["stem"].shape[2:] == (4, 8, 8)  # T/2 after the stem pool, H/4
    assert out["features"]["res5"].shape[2:] == (4, 1, 1)
    torch.testing.assert_close(out["pooled"], out["features"]["res5"].mean(dim=(2, 3, 4)))


def test_factory_raises_on_unknown_names():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet2plus1d", num_classes=3)
    with pytest.raises(ValueError, match="unknown ResNet depth"):
        create_model("resnet3d", depth=42, num_classes=3)


def _randomised_2d(num_classes: int) -> _ResNet50_2d:
    torch.manual_seed(0)
    net = _ResNet50_2d(num_classes)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):  # non-trivial statistics so BN copying is tested
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return net.eval()


def test_inflated_static_clip_reproduces_2d_activations(tmp_path):
    net2d = _randomised_2d(num_classes=5)
    path = tmp_path / "r50.pt"
    torch.save(net2d.state_dict(), path)
    net3d = create_resnet3d(depth=50, num_classes=5, pretrained=path, dropout=0.0).eval()
    frame = torch.randn(1, 3, 16, 16)
    # 64 identical frames: zero temporal padding only disturbs frames near the ends (the
    # temporal receptive field is 2 + 1 + 13 frames wide at 1/2 rate), so the centre is clean.
    clip = frame.unsqueeze(2).repeat(1, 1, 64, 1, 1)
    with torch.no_grad():
        ref = net2d(frame)
        out = net3d(clip)
    for name in STAGE_NAMES:
        f3 = out["features"][name]
        centre = f3[:, :, f3.shape[2] // 2]
        torch.testing.assert_close(centre, ref[name], rtol=1e-4, atol=1e-4)
    # The file's classes are not ours: the classifier is never loaded, even of the same shape.
    assert not net3d.fc.weight.equal(net2d.fc.weight)
    report = net3d.pretrained_report
    assert report.layout == "torchvision" and report.loaded == report.backbone_tensors == 265
    assert report.head == "classifier re-initialised for 5 classes (the file's has 5)"


def test_inflation_skips_other_classifier_and_checks_shapes(tmp_path):
    net2d = _randomised_2d(num_classes=1000)
    path = tmp_path / "r50.pt"
    torch.save({"state_dict": net2d.state_dict()}, path)
    net3d = create_resnet3d(depth=50, num_classes=4, in_channels=1, pretrained=path)
    w2 = net2d.conv1.weight.sum(dim=1, keepdim=True)  # depth: RGB kernels summed
    torch.testing.assert_close(net3d.conv1.weight, w2.unsqueeze(2).repeat(1, 1, 5, 1, 1) / 5)
    assert net3d.fc.weight.shape == (4, 2048)
    assert net3d.pretrained_report.reshaped["conv1.weight"] == (
        "from 2D, 3 input channels summed to 1, inflated t1->5 (weight/5 repeated)"
    )
    with pytest.raises(MgrdarkError, match=r"fits too little.*model\.width 1\.0"):
        create_resnet3d(depth=50, num_classes=4, width=0.5, pretrained=path)


def _first_conv_kernels(model) -> list[list[int]]:
    return [[int(b.conv1.weight.shape[2]) for b in stage] for stage in model.stages()]


# Temporal size of each block's first conv in res2..res5 (PyTorchVideo's i3d_r50 and MMAction2's
# I3D R50 have exactly these: docs/architecture.md, "Backbone variants").
I3D_KERNELS = [[3, 3, 3], [3, 1, 3, 1], [3, 1, 3, 1, 3, 1], [1, 3, 1]]


def test_variants_place_temporal_kernels_and_pools():
    i3d = create_resnet3d(num_classes=3, variant="i3d", width=0.25)
    slow = create_resnet3d(num_classes=3, width=0.25)
    assert _first_conv_kernels(i3d) == I3D_KERNELS
    assert _first_conv_kernels(slow) == [[1, 1, 1], [3] * 4, [3] * 6, [3] * 3]
    assert i3d.maxpool.kernel_size == (1, 3, 3) and slow.maxpool.kernel_size == (3, 3, 3)
    # The variant changes no parameter name: every checkpoint key is the same in both.
    assert list(i3d.state_dict()) == list(slow.state_dict())
    # MMAction2's 32x2x1 strides (the paper preset): 32 frames -> 8 in res2 -> 4 in res3..res5.
    mma = create_resnet3d(
        num_classes=3, variant="i3d", width=0.25, stem_temporal_stride=2, pool_temporal_stride=2
    ).eval()
    with torch.no_grad():
        feats = mma(torch.randn(1, 3, 32, 32, 32))["features"]
    assert [feats[n].shape[2] for n in STAGE_NAMES] == [8, 8, 4, 4, 4]
    assert temporal_stride(variant="i3d", stem_temporal_stride=2, pool_temporal_stride=2) == 8
    assert temporal_stride() == 2


def test_activation_checkpointing_gives_the_same_outputs_gradients_and_statistics(
    one_torch_thread,
):
    torch.manual_seed(0)
    plain = create_resnet3d(depth=18, num_classes=4, width=0.25, dropout=0.0)
    ckpt = create_resnet3d(depth=18, num_classes=4, width=0.25, dropout=0.0, checkpoint_stages=4)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 8, 32, 32)
    outs = []
    for net in (plain, ckpt):
        net.train()
        out = net(x)
        (out["logits"].square().sum() + out["features"]["res3"].mean()).backward()
        outs.append(out["logits"].detach())
    assert torch.equal(outs[0], outs[1])
    grads = {n: p.grad for n, p in plain.named_parameters()}
    for n, p in ckpt.named_parameters():
        assert torch.equal(p.grad, grads[n]), n
    # The backward pass recomputes the blocks in training mode; the statistics move once.
    for (n, a), b in zip(plain.state_dict().items(), ckpt.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
