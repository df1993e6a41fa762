"""Clip writing: verified before it gets its final name, in both verification modes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mgrdark_data.errors import MediaError
from mgrdark_data.media import ClipWriter, EncoderSettings, count_decoded_frames, read_clip_tag
from mgrdark_data.media.probe import count_packets


def _writer(path, verify: str, expected: int) -> ClipWriter:
    return ClipWriter(
        path,
        modality="rgb",
        width=32,
        height=24,
        fps=Fraction(25),
        settings=EncoderSettings(verify=verify),
        expected_frames=expected,
        tag="mgrdark:test:5",
    )


@pytest.mark.parametrize("verify", ["decode", "packets"])
def test_clip_is_renamed_only_after_verification(tmp_path, verify):
    w = _writer(tmp_path / "c.mp4", verify, 5)
    for i in range(5):
        w.write(np.full((24, 32, 3), 40 * i, np.uint8))
        assert not (tmp_path / "c.mp4").exists()
    assert w.close() == tmp_path / "c.mp4"
    assert count_decoded_frames(tmp_path / "c.mp4") == count_packets(tmp_path / "c.mp4") == 5
    assert read_clip_tag(tmp_path / "c.mp4") == "mgrdark:test:5"
    assert [p.name for p in tmp_path.iterdir()] == ["c.mp4"]


@pytest.mark.parametrize("verify", ["decode", "packets"])
def test_short_clip_fails_and_leaves_nothing(tmp_path, verify):
    w = _writer(tmp_path / "c.mp4", verify, 6)
    for _ in range(5):
        w.write(np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(MediaError, match="got 5 source frames, expected 6"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_unknown_verify_mode():
    with pytest.raises(ValueError, match="verify must be one of"):
        EncoderSettings(verify="none")
