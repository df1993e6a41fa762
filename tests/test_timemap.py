"""One time mapping: `mgrdark_data.timemap.match` is the only implementation, and every user of
the frame of one stream for a time of another (segmentation, alignment sampling, the
synthesizer) calls it. On constant-rate streams it is exactly the old index formulas."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

import mgrdark_data.align as align
from mgrdark_data.align import sample_frame_pairs
from mgrdark_data.synth.plan import make_subject, plan_take
from mgrdark_data.synth.scene import make_scene
from mgrdark_data.testing import decode_index, make_recording
from mgrdark_data.timeline import Timeline
from mgrdark_data.timemap import Times, covers, frame_times, grid, ir_index, match, virtual_index


def float_ir_index(i: int, fps_rgb: float, fps_ir: float, ir_offset_s: float) -> int:
    """The float formula an old copy used; it rounds halfway frames either way."""
    return math.floor((i / fps_rgb + ir_offset_s) * fps_ir + 0.5)


def test_ir_index_time_mapping():
    assert ir_index(0, 25, 30, 0.0) == 0
    assert ir_index(10, 25, 30, 0.0) == 12
    assert ir_index(10, 25, 30, 0.1) == 15
    assert ir_index(10, 25, 9, -0.2) == 2
    rgb, ir = Timeline.cfr(20, 25), Timeline.cfr(100, 30)
    assert match(ir, frame_times(rgb, 9, 11).shifted(0.1)).indices.tolist() == [14, 15, 16]


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
    assert not hasattr(align, "ir_index") and not hasattr(align, "match")
    assert align.sample.match is match


def test_alignment_samples_the_frames_segmentation_would_cut(tmp_path):
    folder = make_recording(
        tmp_path, "S01/dark/hall", rgb_frames=100, ir_frames=122, ir_fps=30, depth=None
    )
    pairs = sample_frame_pairs(folder / "rgb.mp4", folder / "ir.mp4", ir_offset_s=0.05, count=12)
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


def old_ir_index(i: int, fps_rgb: Fraction, fps_ir: Fraction, ir_offset_s: float) -> int:
    """The index formula of DESIGN.md section 2, in exact arithmetic, as the old code had it."""
    t = Fraction(i) / fps_rgb + Fraction(ir_offset_s)
    return math.floor(t * fps_ir + Fraction(1, 2))


RATES = [Fraction(r) for r in ("25", "30", "30000/1001", "15", "9", "50", "24000/1001", "12.5")]
OFFSETS = [0.0, 0.05, 0.1, -0.2, 0.02, -0.04, 1 / 3, 0.0333, -0.05, 0.5]


@pytest.mark.parametrize("fps_rgb", RATES)
def test_match_is_the_old_formula_on_constant_rate_streams(fps_rgb):
    """Nearest in time with ties to the later frame equals floor(t * fps + 1/2), halfway ties
    included (decided exactly, not by float luck), and coverage equals 0 <= index < frames."""
    rnd = random.Random(int(fps_rgb * 1001))
    rgb = Timeline.cfr(300, fps_rgb)
    ties = 0
    for fps_ir in RATES:
        ir = Timeline.cfr(360, fps_ir)
        for offset in OFFSETS + [rnd.uniform(-1, 1) for _ in range(2)]:
            targets = frame_times(rgb, 0, 299).shifted(offset)
            got = match(ir, targets).indices
            for i in range(300):
                want = old_ir_index(i, fps_rgb, fps_ir, offset)
                t = targets.exact(i)
                ties += (t * fps_ir).denominator == 2
                assert covers(ir, t) == (0 <= want < 360)
                if 0 <= want < 360:
                    assert got[i] == want, (fps_rgb, fps_ir, offset, i)
            for i in (0, 150, 299):
                assert virtual_index(ir, targets.exact(i)) == old_ir_index(
                    i, fps_rgb, fps_ir, offset
                )
    assert ties > 0


def test_depth_frames_are_the_old_index_plus_offset():
    """Depth at the RGB rate with depth_offset_frames k: frame i + k, as before."""
    rgb, depth = Timeline.cfr(100, 25), Timeline.cfr(100, 25)
    for k in (-3, 0, 2):
        m = match(depth, frame_times(rgb, 10, 80).shifted(Fraction(k, 25)))
        assert m.indices.tolist() == list(range(10 + k, 81 + k))
        assert np.abs(m.errors).max() < 1e-12  # exact up to float rounding


def test_ties_go_to_the_later_frame_and_gaps_show_as_errors():
    stream = Timeline(np.array([0, 2, 4, 10, 12]), Fraction(1, 10), Fraction(10), "pts")
    targets = Times(np.array([1, 3, 6, 7, 8]), Fraction(1, 10))
    m = match(stream, targets)
    assert m.indices.tolist() == [1, 2, 2, 3, 3]  # 0.1 and 0.3 are ties; 0.7 is nearer 1.0
    assert np.allclose(m.errors, [0.1, 0.1, -0.2, 0.3, 0.2])
    assert m.largest_error == pytest.approx(0.3)


def test_grid_runs_from_start_while_times_do_not_pass_the_end():
    g = grid(Fraction(1, 30), Fraction(31, 30), Fraction(25))
    assert len(g) == 26 and g.exact(25) == Fraction(1, 30) + 1
    assert len(grid(Fraction(0), Fraction(99, 100), Fraction(25))) == 25
