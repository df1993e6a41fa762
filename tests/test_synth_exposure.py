"""`--dark-exposure`: the dark takes' mean RGB level, and with it the person's contrast."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.errors import OptionError
from mgrdark_data.synth import plan_dataset
from mgrdark_data.synth.plan import DARK_OFFSET, make_subject, plan_take
from mgrdark_data.synth.scene import make_scene
from mgrdark_data.synth.writer import build_composers

TINY = dict(subjects=2, scenes=1, scale=0.05, seed=3, gesture_frames=(10, 16), rest_frames=(3, 6))


def _dark_rgb(exposure: float):
    plan = plan_take(
        "S01/dark/hall",
        subject=make_subject("S01", 2),
        light="dark",
        scene=make_scene("hall", 2),
        seed=2,
        rgb_size=(192, 108),
        repeats=0,
        min_gestures=1,
        dark_noise=0.0,
        dark_exposure=(exposure, exposure),
    )
    rgb, _, _ = build_composers(plan, np.random.default_rng(list(plan.seed_words)))
    return plan, rgb


def test_default_range_keeps_every_plan_and_the_new_range_moves_only_dark_exposure():
    old = plan_dataset(**TINY)
    assert old == plan_dataset(**TINY, dark_exposure=(0.07, 0.11))  # the default
    bright = plan_dataset(**TINY, dark_exposure=(0.25, 0.30))
    for a, b in zip(old, bright, strict=True):
        assert a.gestures == b.gestures and a.clocks == b.clocks
        if a.light == "dark":
            assert 0.07 <= a.exposure <= 0.11 and 0.25 <= b.exposure <= 0.30
            # One uniform draw either way: the same point of each range.
            assert (a.exposure - 0.07) / 0.04 == pytest.approx((b.exposure - 0.25) / 0.05)
        else:
            assert a.exposure == b.exposure


def test_exposure_sets_the_mean_level_and_scales_every_contrast_above_the_black_level():
    plan_lo, lo = _dark_rgb(0.10)
    plan_hi, hi = _dark_rgb(0.30)
    assert plan_lo.exposure == 0.10 and plan_hi.exposure == 0.30
    # Noiseless mean level of the exposed room: exactly the exposure (offset included).
    for e, rgb in ((0.10, lo), (0.30, hi)):
        level = float((rgb.background * rgb.gain).mean()) + rgb.offset
        assert level == pytest.approx(e * 255, rel=1e-4)
    # The gain, so the step between any two reflectances (person vs room), grows by the
    # ratio of the levels above the black level: (76.5 - 9) / (25.5 - 9) = 4.09.
    ratio = (0.30 * 255 - DARK_OFFSET) / (0.10 * 255 - DARK_OFFSET)
    np.testing.assert_allclose(hi.gain / lo.gain, ratio, rtol=1e-5)


def test_exposure_at_or_below_the_black_level_or_reversed_is_refused(tmp_path):
    with pytest.raises(OptionError, match=r"dark exposure 0.03..0.1: need 0.035 < MIN"):
        plan_dataset(**TINY, dark_exposure=(0.03, 0.1))
    with pytest.raises(OptionError, match="dark exposure 0.3..0.2"):
        plan_dataset(**TINY, dark_exposure=(0.3, 0.2))
    raw = tmp_path / "RAW"
    out = CliRunner().invoke(cli, ["synth", str(raw), "--dark-exposure", "0.5", "1.5"])
    assert out.exit_code != 0 and "dark exposure 0.5..1.5" in out.output
    assert not raw.exists()  # refused before anything is written
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1
