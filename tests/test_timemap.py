"""One time mapping: `mgrdark_data.timemap` is the only implementation, and every user of the
IR frame for an RGB frame (segmentation, alignment sampling, the synthesizer) calls it."""

from __future__ import annotations

import math
from fractions import Fraction

import mgrdark_data.align as align
from mgrdark_data.align import sample_frame_pairs
from mgrdark_data.synth.plan import make_subject, plan_take
from mgrdark_data.synth.scene import make_scene
from mgrdark_data.testing import decode_index, make_recording
from mgrdark_data.timemap import ir_index, ir_indices


def float_ir_index(i: int, fps_rgb: float, fps_ir: float, ir_offset_s: float) -> int:
    """The float formula an old copy used; it rounds halfway frames either way."""
    return math.floor((i / fps_rgb + ir_offset_s) * fps_ir + 0.5)


def test_ir_index_time_mapping():
    assert ir_index(0, 25, 30, 0.0) == 0
    assert ir_index(10, 25, 30, 0.0) == 12
    assert ir_index(10, 25, 30, 0.1) == 15
    assert ir_index(10, 25, 9, -0.2) == 2
    assert ir_indices(9, 11, Fraction(25), Fraction(30), 0.1) == [14, 15, 16]


def test_exact_rounding_where_floats_disagree():
    """25 -> 30 fps with a 0.05 s offset: RGB frame 50 is exactly halfway between IR frames
    61 and 62 (the tie goes to the later frame); floats land just below and pick 61."""
    assert ir_index(50, Fraction(25), Fraction(30), 0.05) == 62
    assert float_ir_index(50, 25.0, 30.0, 0.05) == 61
    differ = [
        i
        for i in range(20_000)
        if ir_index(i, Fraction(25), Fraction(30), 0.05) != float_ir_index(i, 25.0, 30.0, 0.05)
    ]
    assert len(differ) == 755


def test_the_float_copy_is_gone():
    assert not hasattr(align, "ir_index")
    assert align.sample.ir_index is ir_index


def test_alignment_samples_the_frames_segmentation_would_cut(tmp_path):
    folder = make_recording(
        tmp_path, "S01/dark/hall", rgb_frames=100, ir_frames=122, ir_fps=30, depth=None
    )
    pairs = sample_frame_pairs(
        folder / "rgb.mp4", folder / "ir.mp4", fps_rgb=25, fps_ir=30, ir_offset_s=0.05, count=12
    )
    assert 70 in pairs.rgb_indices and 95 in pairs.rgb_indices  # two frames floats get wrong
    expected = [ir_index(i, Fraction(25), Fraction(30), 0.05) for i in pairs.rgb_indices]
    assert pairs.ir_indices == expected
    assert [decode_index(f) for f in pairs.ir] == expected
    assert [decode_index(f) for f in pairs.rgb] == pairs.rgb_indices
    floats = [float_ir_index(i, 25, 30, 0.05) for i in pairs.rgb_indices]
    assert floats != expected


def test_synthesizer_uses_the_same_mapping():
    take = plan_take(
        "S01/dark/hall",
        subject=make_subject("S01", 0),
        light="dark",
        scene=make_scene("hall", 0),
        seed=0,
        scale=0.125,
    )
    fps_rgb, fps_ir = Fraction(take.rgb_fps), Fraction(take.ir_fps)
    for i in range(take.rgb_frames):
        assert take.ir_frame_for(i) == ir_index(i, fps_rgb, fps_ir, take.ir_offset_s)
    assert take.ir_frames == ir_index(take.rgb_frames - 1, fps_rgb, fps_ir, take.ir_offset_s) + 1
