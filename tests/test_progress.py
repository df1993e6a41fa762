"""The one progress type: plain lines off a terminal, nothing when quiet, stage names kept."""

from __future__ import annotations

import io

from mgrdark_data.cli.progress import LineBar, progress_factory
from mgrdark_data.progress import NullBar, open_bar, prefixed


def test_quiet_gives_no_factory_and_library_gets_a_silent_bar():
    assert progress_factory(True) is None
    assert isinstance(open_bar(None, "segment", 10, "clip"), NullBar)


def test_off_a_terminal_progress_is_plain_lines_at_most_about_twenty_per_stage():
    out = io.StringIO()
    factory = progress_factory(False, stream=out, interval=0.0)
    bar = factory("segment", 100, "clip")
    assert isinstance(bar, LineBar)
    for _ in range(100):
        bar.update(1)
    bar.set_postfix(loss=0.3125)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 21  # every 5th of 100 updates, plus the closing line
    assert lines[0].startswith("segment: 5/100 clip (5%) ")
    assert lines[-1].startswith("segment: 100/100 clip (100%) ")
    assert lines[-1].endswith(" loss=0.3125")


def test_line_bar_waits_for_its_interval():
    out = io.StringIO()
    bar = LineBar("stats", 1000, "video", stream=out, interval=3600.0)
    for _ in range(1000):
        bar.update()
    assert out.getvalue().count("\n") == 1  # the first step only; the rest within the hour
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("stats: 1000/1000 video (100%)")


def test_prefixed_names_the_stage():
    seen = []

    def factory(stage, total, unit):
        seen.append((stage, total, unit))
        return NullBar()

    prefixed(factory, "teacher")("epoch 1/3", 7, "batch")
    assert seen == [("teacher: epoch 1/3", 7, "batch")]
    assert prefixed(None, "teacher") is None
