"""Attentive feature converter (eq. 8-9)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mgrdark_train.mtcd.converter import AttentiveFeatureConverter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _zero(module: nn.Module) -> None:
    for p in module.parameters():
        nn.init.zeros_(p)


def test_shape_is_preserved():
    conv = AttentiveFeatureConverter(16)
    f = torch.randn(2, 16, 4, 5, 6)
    assert conv(f).shape == f.shape
    att_s, att_t = conv.attentions(f)
    assert att_s.shape == (2, 1, 4, 5, 6)
    assert att_t.shape == (2, 1, 4, 1, 1)
    assert ((att_s > 0) & (att_s < 1)).all() and ((att_t > 0) & (att_t < 1)).all()


def test_zero_weights_give_one_and_a_half_f():
    # Conv(F) = 0 and Att_s = Att_t = sigmoid(0) = 0.5: F + (F + 0) * 0.5 = 1.5 F.
    conv = AttentiveFeatureConverter(8)
    _zero(conv)
    f = torch.randn(3, 8, 2, 4, 4)
    torch.testing.assert_close(conv(f), 1.5 * f)


def test_matches_the_equation_by_hand():
    torch.manual_seed(0)
    conv = AttentiveFeatureConverter(4, temporal_kernel=1)
    f = torch.randn(2, 4, 3, 5, 5)
    # Eq. 9 by hand: spatial conv over a 3x3 window, temporal conv over the pooled map.
    att_s = torch.sigmoid(
        nn.functional.conv3d(f, conv.spatial.weight, conv.spatial.bias, padding=(0, 1, 1))
    )
    pooled = f.mean(dim=(3, 4), keepdim=True)
    att_t = torch.sigmoid(
        (pooled * conv.temporal.weight.view(1, 4, 1, 1, 1)).sum(1, keepdim=True)
        + conv.temporal.bias
    )
    conv_f = torch.einsum("oc,bcthw->bothw", conv.transform.weight[:, :, 0, 0, 0], f)
    conv_f = conv_f + conv.transform.bias.view(1, 4, 1, 1, 1)
    expected = f + (f + conv_f * att_s) * att_t  # eq. 8
    torch.testing.assert_close(conv(f), expected, atol=1e-5, rtol=1e-5)


def test_temporal_attention_is_constant_over_space_and_spatial_over_time_only():
    conv = AttentiveFeatureConverter(4)
    f = torch.randn(1, 4, 3, 5, 5)
    att_s, att_t = conv.attentions(f)
    # Changing frame 0 must not change the spatial attention of frame 2 (1x3x3 kernel).
    g = f.clone()
    g[:, :, 0] += 10
    att_s2, _ = conv.attentions(g)
    torch.testing.assert_close(att_s[:, :, 2], att_s2[:, :, 2])


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        AttentiveFeatureConverter(4, temporal_kernel=2)
    with pytest.raises(ValueError):
        AttentiveFeatureConverter(4)(torch.randn(2, 4, 5, 5))
